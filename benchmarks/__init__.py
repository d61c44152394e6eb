"""Benchmarks of the platform: figures printed and written to BENCHMARKS.md, never timed tests.

Run them all with `python -m benchmarks` (see `benchmarks/__main__.py`).
"""
