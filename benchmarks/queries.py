"""Query cost per access pattern (issue item 6): requests, items read and time, at two sizes.

    python -c "from benchmarks.queries import run; print(run().to_json())"

One tenant of the local stack is loaded in two steps (5,000 messages and 1,000 metrics, then up
to 50,000 and 10,000), and every public pattern of `TenantReader` is measured after each step.
The session, sender, series, type and dimension that are queried are complete after the first
step, so each result is the same at both sizes: if a query touches only its own key range, its
requests and the items it reads stay the same while the table grows tenfold.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from benchmarks import harness
from benchmarks.harness import PROJECT_DIR, RequestCounter, Result, Target, client, endpoint, timed
from ingestion.reading.queries import TenantReader
from ingestion.records.contracts import MetricType
from ingestion.records.items import MESSAGE, METRIC, RecordKind
from ingestion.records.sources import SourceRecord
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.settings import StackSettings
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs

# Pages of 100 items (the reader's `page_size`, sent as Limit) make paging visible in the
# request counts; with the default 1 MB pages each of these results would be one request.
PAGE_ITEMS = 100
BASE_TIMESTAMP = 1_700_000_000  # Unix seconds; one message every 30 s from there
FIRST_YEAR = 2015  # monthly periods from 2015-01
RANGE = ("2020-01", "2020-12")  # the period range of the ranged patterns: 12 months
MONTHS_IN_RANGE = 12
# Repetitions stop early once a pattern has used this much time (at least one run): the slowest
# pattern on a local engine may take seconds per call, and its median needs no five runs to be
# stable.
REPEAT_BUDGET_SECONDS = 5.0
# The queried metric type is used by the first group of series only; later groups cycle
# through the other types, so "all financial metrics" does not grow with the table.
QUERIED_TYPE = MetricType.FINANCIAL
OTHER_TYPES = [t for t in MetricType if t is not QUERIED_TYPE]


@dataclass(frozen=True)
class Scale:
    """The two table sizes and the shape of the generated data."""

    messages: tuple[int, int]  # after the first load, after the second
    metrics: tuple[int, int]
    repeats: int  # timed repetitions per pattern and size (the median is reported)
    session_size: int = 10  # messages per session
    sender_span: int = 250  # consecutive messages per sender
    series_length: int = 120  # monthly periods per series: 2015-01 .. 2024-12
    group_series: int = 8  # series sharing one metric type; the odd ones share one dimension

    def check(self) -> None:
        """The queried entities must be complete after the first (small) load."""
        if self.messages[0] < 2 * self.sender_span or self.messages[0] < 4 * self.session_size:
            raise ValueError("the first load must hold the queried session and sender")
        if self.metrics[0] < self.group_series * self.series_length:
            raise ValueError("the first load must hold the queried type and dimension")
        if self.group_series < 2 or self.series_length < 12 * (2021 - FIRST_YEAR):
            raise ValueError("series must cover the queried period range")


FULL = Scale(messages=(5_000, 50_000), metrics=(1_000, 10_000), repeats=5)
QUICK = Scale(messages=(120, 240), metrics=(240, 480), repeats=1, sender_span=50, group_series=2)

# The queried entities (see the generators below).
SESSION = 3
SENDER = 1
SERIES = 1  # kpi_000 in dimension region:r000 (series 0 is the same subject's total)


def session_id(n: int) -> str:
    return f"sess-{n:05d}"


def sender_id(n: int) -> str:
    return f"user-{n:04d}"


def message_record(tenant_id: str, n: int, scale: Scale) -> dict[str, Any]:
    """Message n: sessions of `session_size` consecutive messages, timestamps increasing."""
    session = n // scale.session_size
    return {
        "tenantId": tenant_id,
        "messageId": f"msg-{n:06d}",
        "sessionId": session_id(session),
        "senderId": sender_id(n // scale.sender_span),
        "timestamp": BASE_TIMESTAMP + 30 * n,
        "content": f"Message {n} of session {session}: pricing questions before the renewal.",
        "classification": {"intent": "pricing", "confidence": Decimal("0.8")},
        "references": [{"source": "crm", "sourceId": f"opp-{n % 997}"}],
    }


def series_subject(series: int) -> str:
    return f"kpi_{series // 2:03d}"  # even series: the total; odd: the same subject by region


def series_dimension(series: int, scale: Scale) -> str | None:
    return f"region:r{series // scale.group_series:03d}" if series % 2 else None


def series_type(series: int, scale: Scale) -> MetricType:
    group = series // scale.group_series
    return QUERIED_TYPE if group == 0 else OTHER_TYPES[(group - 1) % len(OTHER_TYPES)]


def month(index: int) -> str:
    return f"{FIRST_YEAR + index // 12}-{index % 12 + 1:02d}"


def metric_record(tenant_id: str, n: int, scale: Scale) -> dict[str, Any]:
    """Metric n: series of `series_length` consecutive months; types and dimensions by group."""
    series = n // scale.series_length
    metric_type = series_type(series, scale)
    record = {
        "tenantId": tenant_id,
        "subject": series_subject(series),
        "period": month(n % scale.series_length),
        "metricType": metric_type.value,
        "value": Decimal(n * 3) + Decimal("0.25"),
        "unit": "USD" if metric_type is MetricType.FINANCIAL else "count",
        "confidence": Decimal("0.9"),
        "source": "bench",
        "sourceId": f"row-{n}",
    }
    dimension = series_dimension(series, scale)
    if dimension:
        record["dimension"] = dimension
    return record


def load(
    dynamodb,
    settings: StackSettings,
    tenant_id: str,
    kind: RecordKind,
    records: Iterable[dict[str, Any]],
) -> int:
    """Bulk load (BatchWriteItem) through the platform's own writer; returns records written."""
    writer = TenantWriter(dynamodb, settings, tenant_id, kind, mode=WriteMode.BATCH)
    sources = (SourceRecord(f"item {n}", data=r) for n, r in enumerate(records, start=1))
    report = writer.ingest(sources)
    if report.rejected or report.conflicts:
        raise RuntimeError(f"bulk load refused records: {report.rejections[:3]}")
    return report.written


@dataclass(frozen=True)
class Pattern:
    name: str
    served_by: str
    call: Callable[[TenantReader], Any]
    items: Callable[[int], int]  # expected items given the metrics loaded
    fixed: bool = True  # the same result at both sizes


def patterns(tenant_id: str, scale: Scale) -> list[Pattern]:
    """Every public access pattern of TenantReader, each on entities of the first load."""
    subject, dimension = series_subject(SERIES), series_dimension(SERIES, scale)
    assert dimension is not None
    start, end = RANGE
    group = scale.group_series * scale.series_length
    in_dimension = scale.group_series // 2
    return [
        Pattern(
            "a message by id",
            "table key (GetItem)",
            lambda r: r.message(f"msg-{SESSION * scale.session_size + 1:06d}"),
            lambda _: 1,
        ),
        Pattern(
            "a session's messages",
            "SessionIndex",
            lambda r: r.session_messages(session_id(SESSION)),
            lambda _: scale.session_size,
        ),
        Pattern(
            "a sender's messages",
            "SenderIndex",
            lambda r: r.sender_messages(sender_id(SENDER)),
            lambda _: scale.sender_span,
        ),
        Pattern(
            "a metric by idempotency key",
            "table key (GetItem)",
            lambda r: r.metric(f"{tenant_id}:{subject}:{start}:{dimension}"),
            lambda _: 1,
        ),
        Pattern(
            "a metric series",
            "table key (Query)",
            lambda r: r.metric_series(subject, dimension=dimension),
            lambda _: scale.series_length,
        ),
        Pattern(
            "a metric series, period range",
            "table key (Query, BETWEEN)",
            lambda r: r.metric_series(subject, dimension=dimension, start=start, end=end),
            lambda _: MONTHS_IN_RANGE,
        ),
        Pattern(
            "metrics of a type",
            "MetricTypeIndex",
            lambda r: r.metrics_by_type(QUERIED_TYPE.value),
            lambda _: group,
        ),
        Pattern(
            "metrics of a type, period range",
            "MetricTypeIndex (BETWEEN)",
            lambda r: r.metrics_by_type(QUERIED_TYPE.value, start=start, end=end),
            lambda _: scale.group_series * MONTHS_IN_RANGE,
        ),
        Pattern(
            "metrics of a dimension",
            "DimensionIndex",
            lambda r: r.metrics_by_dimension(dimension),
            lambda _: in_dimension * scale.series_length,
        ),
        Pattern(
            "metrics of a dimension, period range",
            "DimensionIndex (BETWEEN)",
            lambda r: r.metrics_by_dimension(dimension, start=start, end=end),
            lambda _: in_dimension * MONTHS_IN_RANGE,
        ),
        Pattern(
            "all metrics of the tenant",
            f"MetricTypeIndex, {len(MetricType)} queries",
            lambda r: r.all_metrics(),
            lambda metrics: metrics,
            fixed=False,
        ),
    ]


class ReadCounter:
    """Items DynamoDB read for the requests sent: a Query's `ScannedCount` (the items of its
    key range, before any filter), 1 for a GetItem that found its item.

    The local engines compute ScannedCount as DynamoDB defines it, so the figure is the
    key-range size a real table would read, not the work the engine does to find it.
    """

    def __init__(self, dynamodb_client):
        self.items = 0
        events = dynamodb_client.meta.events
        events.register("after-call.dynamodb.Query", self._query)
        events.register("after-call.dynamodb.GetItem", self._get)

    def _query(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items += parsed.get("ScannedCount", 0)

    def _get(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items += 1 if parsed.get("Item") else 0

    def reset(self) -> None:
        self.items = 0


@dataclass(frozen=True)
class Measured:
    items: int
    requests: int
    read: int
    median_ms: float


def _count(result: Any) -> int:
    if result is None:
        return 0
    return len(result) if isinstance(result, list) else 1


def measure(
    reader: TenantReader, requests: RequestCounter, reads: ReadCounter, pattern: Pattern, repeats
) -> Measured:
    """Requests and items read by one call (the same on every repetition), median time."""
    counted: set[tuple[int, int, int]] = set()
    seconds: list[float] = []
    while len(seconds) < repeats and sum(seconds) < REPEAT_BUDGET_SECONDS:
        requests.reset()
        reads.reset()
        timing = timed(lambda: pattern.call(reader))
        seconds.append(timing.seconds)
        counted.add((_count(timing.value), requests.total, reads.items))
    if len(counted) != 1:
        raise RuntimeError(f"{pattern.name}: repetitions differ: {sorted(counted)}")
    items, total, read = counted.pop()
    return Measured(items, total, read, statistics.median(seconds) * 1000)


def load_step(
    dynamodb, settings: StackSettings, tenant_id: str, scale: Scale, messages: range, metrics: range
) -> int:
    """Load messages and metrics numbered by the ranges; fails unless every one was written."""
    new_messages = (message_record(tenant_id, n, scale) for n in messages)
    new_metrics = (metric_record(tenant_id, n, scale) for n in metrics)
    written = load(dynamodb, settings, tenant_id, MESSAGE, new_messages)
    written += load(dynamodb, settings, tenant_id, METRIC, new_metrics)
    if written != len(messages) + len(metrics):
        raise RuntimeError(f"wrote {written:,} of {len(messages) + len(metrics):,} records")
    return written


def _ranges(scale: Scale) -> Iterator[tuple[range, range]]:
    """The message and metric numbers each load step adds."""
    previous = (0, 0)
    for messages, metrics in zip(scale.messages, scale.metrics, strict=True):
        yield range(previous[0], messages), range(previous[1], metrics)
        previous = (messages, metrics)


def run(quick: bool = False) -> Result:
    scale = QUICK if quick else FULL
    scale.check()
    settings = StackFile.load("local", PROJECT_DIR).settings()
    tenant_id = settings.roster.ids[0]
    pattern_list = patterns(tenant_id, scale)
    measured: list[list[Measured]] = []  # per size, per pattern
    load_seconds = []
    with endpoint() as url:
        dynamodb = client(url)
        Provisioner(dynamodb).apply(all_table_specs(settings))
        reader = TenantReader(dynamodb, settings, tenant_id, page_size=PAGE_ITEMS)
        default_reader = TenantReader(dynamodb, settings, tenant_id)  # 1 MB pages
        requests, reads = RequestCounter(dynamodb), ReadCounter(dynamodb)
        for new_messages, new_metrics in _ranges(scale):
            loading = timed(
                lambda m=new_messages, k=new_metrics: load_step(
                    dynamodb, settings, tenant_id, scale, m, k
                )
            )
            load_seconds.append(loading.seconds)
            measured.append(
                [
                    measure(reader, requests, reads, pattern, scale.repeats)
                    for pattern in pattern_list
                ]
            )
        default_pages = [
            measure(default_reader, requests, reads, pattern, 1).requests
            for pattern in pattern_list
        ]
    return _result(scale, tenant_id, pattern_list, measured, default_pages, load_seconds)


def _result(
    scale: Scale,
    tenant_id: str,
    pattern_list: list[Pattern],
    measured: list[list[Measured]],
    default_pages: list[int],
    load_seconds: list[float],
) -> Result:
    small, large = measured
    rows, targets = [], []
    for pattern, at_small, at_large, default_requests in zip(
        pattern_list, small, large, default_pages, strict=True
    ):
        for size, found in enumerate((at_small, at_large)):
            expected = pattern.items(scale.metrics[size])
            if found.items != expected:
                raise RuntimeError(f"{pattern.name}: {found.items} items, expected {expected}")
        items = (
            f"{at_small.items:,}" if pattern.fixed else f"{at_small.items:,} → {at_large.items:,}"
        )
        rows.append(
            [
                pattern.name,
                pattern.served_by,
                items,
                at_small.requests,
                at_large.requests,
                default_requests,
                at_small.read,
                at_large.read,
                round(at_small.median_ms, 1),
                round(at_large.median_ms, 1),
            ]
        )
        if pattern.fixed:
            targets.append(
                Target(
                    f"{pattern.name}: requests at the large size (same result)",
                    at_large.requests,
                    at_small.requests,
                    at_most=True,
                )
            )
        else:
            queries = len(MetricType)
            targets.append(
                Target(
                    f"{pattern.name}: requests at the large size, at most one page per "
                    f"{PAGE_ITEMS} items plus one per query",
                    at_large.requests,
                    at_large.items // PAGE_ITEMS + queries,
                    at_most=True,
                )
            )
    return Result(
        title="Query cost per access pattern",
        method=_method(scale, tenant_id),
        columns=[
            "access pattern",
            "served by",
            "items returned",
            "requests (small)",
            "requests (large)",
            "requests (large, 1 MB pages)",
            "items read (small)",
            "items read (large)",
            "median ms (small)",
            "median ms (large)",
        ],
        rows=rows,
        targets=targets,
        notes=_notes(scale, pattern_list, small, large, load_seconds),
    )


def _method(scale: Scale, tenant_id: str) -> str:
    (small_msg, large_msg), (small_met, large_met) = scale.messages, scale.metrics
    return (
        f"On a fresh {harness.ENGINE.describe()} (its own process, over HTTP) the local stack is "
        f"provisioned and tenant `{tenant_id}` is bulk loaded with the platform's writer "
        "(`TenantWriter`, `WriteMode.BATCH`) in two steps: *small* = "
        f"{small_msg:,} messages and {small_met:,} metrics, then *large* = {large_msg:,} and "
        f"{large_met:,}. Messages come in sessions of {scale.session_size} and runs of "
        f"{scale.sender_span} per sender, timestamps increasing; metrics in monthly series of "
        f"{scale.series_length} periods, a total and a regional series per subject, "
        f"{scale.group_series} series per metric type and dimension. After each step every "
        "public `TenantReader` pattern is called on a session, sender, series, type and "
        "dimension that the first step already completed, so results are the same at both "
        f"sizes. The reader pages {PAGE_ITEMS} items per request (`page_size`). For each call: "
        "requests counted per HTTP attempt (botocore `before-send`), items returned, items read "
        "(the Query responses' `ScannedCount`; 1 per GetItem hit), and the median wall time of "
        f"up to {scale.repeats} repetitions (fewer once a pattern has spent "
        f"{REPEAT_BUDGET_SECONDS:.0f} s). The requests of the reader's default pages (1 MB, "
        "no Limit) are counted once at the large size. Loading time is not part of the "
        "measurement."
    )


def _ratio(large: float, small: float) -> float:
    return large / small if small > 0 else float("inf")


def _notes(
    scale: Scale,
    pattern_list: list[Pattern],
    small: list[Measured],
    large: list[Measured],
    load_seconds: list[float],
) -> list[str]:
    growth = scale.messages[1] / scale.messages[0]
    time_growth: dict[str, list[float]] = {"GetItem": [], "Query": []}
    moved = []
    for pattern, at_small, at_large in zip(pattern_list, small, large, strict=True):
        if not pattern.fixed:
            all_metrics = (at_small, at_large)
            continue
        kind = "GetItem" if "GetItem" in pattern.served_by else "Query"
        time_growth[kind].append(_ratio(at_large.median_ms, at_small.median_ms))
        if (at_small.requests, at_small.read) != (at_large.requests, at_large.read):
            moved.append(pattern.name)
    get_growth = statistics.median(time_growth["GetItem"])
    query_growth = statistics.median(time_growth["Query"])
    invariance = (
        "Requests and items read are the same at both sizes for every fixed-result pattern"
        if not moved
        else "Requests or items read CHANGED with the table size for: " + ", ".join(moved)
    )
    verdict = (
        "so query time grows with the table although requests and items read do not: the "
        "engine walks more than the key range"
        if query_growth > 2 * get_growth
        else "query time follows the result, not the table, as on DynamoDB"
    )
    all_small, all_large = all_metrics
    all_time = _ratio(all_large.median_ms, all_small.median_ms)
    all_items = all_large.items / all_small.items
    all_requests = all_large.requests / all_small.requests
    return [
        f"{invariance}, with the table {growth:.0f} times larger. Items read equal items "
        "returned: each query reads its own key range and nothing else. Requests follow the "
        f"result at one page per {PAGE_ITEMS} items (on DynamoDB a result that fills its last "
        "page exactly costs one more, empty, request; some local engines leave it out). "
        f"`all_metrics` is one query per metric type ({len(MetricType)}), so its requests "
        f"grow with the metrics it returns: {all_small.requests} requests for {all_small.items:,}, "
        f"{all_large.requests} for {all_large.items:,}.",
        f"Times on {harness.ENGINE.describe()} are not DynamoDB's. Measured with the tables "
        f"{growth:.0f} times larger: GetItem time x{get_growth:.1f}, Query time "
        f"x{query_growth:.1f} (medians over the fixed-result patterns); {verdict}. "
        f"`all_metrics`: x{all_time:.1f} in time for x{all_items:.0f} in items and "
        f"x{all_requests:.1f} in requests. Real DynamoDB reads only the key range, so its "
        "query time follows the result.",
        f"Bulk loading ({scale.messages[1] + scale.metrics[1]:,} records in two steps) took "
        + " + ".join(f"{seconds:.1f}" for seconds in load_seconds)
        + " s; it is setup, not the measurement.",
        "MetadataReader's patterns (a tenant by id, by owner, by status) are not measured: the "
        "metadata table holds one item per tenant and is read through the same `_get` and "
        "`_query` as the tenant patterns.",
    ]


if __name__ == "__main__":
    import json

    print(json.dumps(run().to_json(), indent=1))
