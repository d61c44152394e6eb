"""Figures the reliability tests measure, printed at the end of the run (RELIABILITY.md)."""

from __future__ import annotations

FIGURES: dict[str, dict[str, object]] = {}


def record(scenario: str, **figures: object) -> None:
    FIGURES.setdefault(scenario, {}).update(figures)


def lines() -> list[str]:
    return [
        f"{scenario}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
        for scenario, figures in FIGURES.items()
    ]
