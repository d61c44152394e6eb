"""Synthetic tenant data shaped like the seed tenants', in any quantity, always the same.

Records are valid against the contracts and distinct by key: record n is the same record in
every run, so a second ingest of a file is all duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingestion.records.contracts import MetricType

TENANT = "acme-corp-001"
START = 1_704_067_200  # 2024-01-01T00:00:00Z: 200,000 messages end months later, in the past
MESSAGES_PER_SESSION = 10
SENDERS = ("user-jdoe", "user-asmith", "user-kwong", "user-mlopez", "assistant")
SUBJECTS_PER_TYPE = 20
PERIODS_PER_SERIES = 120  # ten years of months
DIMENSIONS = ("region", "segment", "team", "product", "channel")

_TYPES = tuple(MetricType)
_INTENTS = ("revenue_trend", "pipeline_review", "churn_risk", "forecast", "smalltalk")


def message(n: int, tenant_id: str = TENANT) -> dict[str, Any]:
    """Message n: sessions of ten, ten minutes apart, five senders, a reference or two."""
    session = n // MESSAGES_PER_SESSION
    return {
        "tenantId": tenant_id,
        "messageId": f"msg-{n:08d}",
        "sessionId": f"sess-{session:07d}",
        "senderId": SENDERS[n % len(SENDERS)],
        "timestamp": START + session * 600 + (n % MESSAGES_PER_SESSION) * 7,
        "content": (
            f"Message {n} of session {session}: how did pipeline coverage and win rate develop "
            "for the enterprise segment this quarter, and which deals are at risk?"
        ),
        "classification": {"intent": _INTENTS[n % len(_INTENTS)], "confidence": 0.9},
        "references": [
            {
                "source": "salestalk-metrics",
                "sourceId": f"{tenant_id}:win_rate:2026-{n % 9 + 1:02d}",
            },
            {"source": "crm", "sourceId": f"OPP-{n:08d}", "title": "Opportunity record"},
        ],
    }


def metric(n: int, tenant_id: str = TENANT) -> dict[str, Any]:
    """Metric n: series of monthly periods, per type, subject and dimension."""
    period = n % PERIODS_PER_SERIES
    series = n // PERIODS_PER_SERIES
    metric_type = _TYPES[series % len(_TYPES)]
    return {
        "tenantId": tenant_id,
        "subject": f"{metric_type.value}_kpi_{series // len(_TYPES) % SUBJECTS_PER_TYPE:02d}",
        "period": f"{2016 + period // 12}-{period % 12 + 1:02d}",
        "metricType": metric_type.value,
        "value": round(1000 + n * 1.25, 2),
        "unit": "USD",
        "dimension": f"{DIMENSIONS[series % len(DIMENSIONS)]}:{dimension_value(series)}",
        "confidence": 0.95,
        "source": "netsuite",
        "sourceId": f"GL-{n:08d}",
    }


def dimension_value(series: int) -> str:
    """Each (type, subject) pair repeats across dimension values, so every series is distinct."""
    return f"d{series // (len(_TYPES) * SUBJECTS_PER_TYPE):04d}"


GENERATORS = {"message": message, "metric": metric}


def records(kind: str, count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    make = GENERATORS[kind]
    return (make(n) for n in range(start, start + count))


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")))
            out.write("\n")
    return path
