"""An ingest report counts every record exactly but keeps a bounded number of details."""

from __future__ import annotations

from ingestion.writing.ingest_report import (
    DETAILS_KEPT,
    Conflict,
    FieldError,
    IngestReport,
    Rejection,
)


def rejection(n: int) -> Rejection:
    return Rejection(f"line {n}", (FieldError("timestamp", "is in the future"),))


def report() -> IngestReport:
    return IngestReport(kind="message", tenant_id="acme-corp-001")


def test_counts_stay_exact_while_details_stop_at_the_limit():
    total = report()
    for n in range(DETAILS_KEPT + 500):
        total.add_rejection(rejection(n))
        total.add_conflict(Conflict(f"line {n}", f"key-{n}", ("content",)))
    assert (total.rejected, total.conflicts) == (DETAILS_KEPT + 500, DETAILS_KEPT + 500)
    assert len(total.rejections) == len(total.conflict_details) == DETAILS_KEPT
    assert total.rejections[-1].location == f"line {DETAILS_KEPT - 1}"  # the first ones


def test_merged_chunks_keep_the_first_details_in_order_and_every_count():
    total, size = report(), DETAILS_KEPT * 3 // 5
    for start in (0, size):
        part = report()
        for n in range(start, start + size):
            part.add_rejection(rejection(n))
        total.merge(part)
    assert total.rejected == 2 * size
    assert [r.location for r in total.rejections] == [f"line {n}" for n in range(DETAILS_KEPT)]
