"""Contract tests: every rule of the message, metric and tenant record models, valid and invalid.

Each refusal is checked for the field it names (`loc`, with the camelCase names of the wire
format) and for a fragment of the message a user would see.
"""

from __future__ import annotations

import copy
import json
import re
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from ingestion.records import contracts
from ingestion.records.contracts import (
    EARLIEST_TIMESTAMP,
    FUTURE_SKEW_SECONDS,
    RECORD_MODELS,
    Classification,
    Message,
    Metric,
    MetricType,
    Reference,
    TenantRecord,
    period_granularity,
)
from tenancy.roster import Plan, Tenant, TenantStatus

SEED_DIR = Path(__file__).resolve().parents[3] / "seed_data"
MISSING = object()  # an override that removes the field

# A fixed "now" for the timestamp rules (2026-01-15 00:00:00 UTC), later than every seed record.
FROZEN_NOW = 1_768_435_200


# --- helpers -------------------------------------------------------------------------------


def loads(text: str) -> Any:
    """JSON as the ingestion reads it: floats and NaN/Infinity as exact Decimals."""
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


def _with(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is MISSING:
            record.pop(key, None)
        else:
            record[key] = value
    return record


VALID_MESSAGE: dict[str, Any] = {
    "tenantId": "acme-corp-001",
    "messageId": "msg-acme-0002",
    "sessionId": "sess-acme-2026-01-12-a",
    "senderId": "assistant",
    "timestamp": 1_768_212_004,
    "content": "Revenue grew from $12.5M in Q2 to $14.1M in Q4 2025.",
    "classification": {"intent": "revenue_trend", "confidence": Decimal("0.91")},
    "references": [
        {"source": "salestalk-metrics", "sourceId": "acme-corp-001:revenue:2025-Q4"},
        {"source": "netsuite", "sourceId": "GL-REV-2025-Q4", "title": "Q4 2025 revenue ledger"},
    ],
}

VALID_METRIC: dict[str, Any] = {
    "tenantId": "acme-corp-001",
    "subject": "customers",
    "period": "2025-Q4",
    "metricType": "customer",
    "value": 410,
    "unit": "count",
    "dimension": "region:us",
    "confidence": Decimal("0.99"),
    "source": "salesforce",
    "sourceId": "RPT-ACCOUNTS-US-2025-Q4",
}

VALID_TENANT: dict[str, Any] = {
    "tenantId": "acme-corp-001",
    "name": "ACME Corporation",
    "industry": "Manufacturing",
    "region": "North America",
    "plan": "standard",
    "ownerEmail": "data-owner@acme-corp.example",
    "status": "active",
}


def message(**overrides: Any) -> dict[str, Any]:
    """A valid message record with some top-level fields replaced (or removed with MISSING)."""
    return _with(VALID_MESSAGE, overrides)


def metric(**overrides: Any) -> dict[str, Any]:
    """A valid metric record with some fields replaced (or removed with MISSING)."""
    return _with(VALID_METRIC, overrides)


def tenant(**overrides: Any) -> dict[str, Any]:
    return _with(VALID_TENANT, overrides)


def classification(**overrides: Any) -> dict[str, Any]:
    return message(classification=_with(VALID_MESSAGE["classification"], overrides))


def reference(**overrides: Any) -> dict[str, Any]:
    """A message whose first reference has some fields replaced (or removed)."""
    record = message()
    record["references"][0] = _with(record["references"][0], overrides)
    return record


PLACEHOLDER = "<number>"


def json_text(record: dict[str, Any], number: str) -> str:
    """The record as JSON text with the PLACEHOLDER string replaced by a raw JSON number."""
    return json.dumps(record, default=float).replace(json.dumps(PLACEHOLDER), number)


def refusal(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """The one error raised when validating data; fails if it validates or has several errors."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return errors[0]


def assert_refused(model: type[BaseModel], data: Any, loc: tuple, fragment: str) -> None:
    error = refusal(model, data)
    assert error["loc"] == loc
    assert fragment in error["msg"], error["msg"]


def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("*/*.json"))


def seed_cases() -> list[Any]:
    cases = []
    for path in seed_files():
        model = Message if path.stem == "messages" else Metric
        for index, record in enumerate(loads(path.read_text())):
            cases.append(
                pytest.param(
                    model, path.parent.name, record, id=f"{path.parent.name}/{path.stem}[{index}]"
                )
            )
    return cases


SEED_CASES = seed_cases()


@pytest.fixture
def frozen_clock(monkeypatch):
    """The contracts' clock fixed at FROZEN_NOW (only the contracts module sees it)."""
    monkeypatch.setattr(contracts, "time", SimpleNamespace(time=lambda: float(FROZEN_NOW)))
    return FROZEN_NOW


# --- seed data, round trips and shared model behaviour ----------------------------------------


def test_the_seed_data_is_there():
    assert len(seed_files()) == 4
    assert len(SEED_CASES) >= 20


@pytest.mark.parametrize(("model", "tenant_id", "record"), SEED_CASES)
def test_every_seed_record_validates(model, tenant_id, record):
    validated = model.model_validate(record)
    assert validated.tenant_id == tenant_id


@pytest.mark.parametrize(("model", "tenant_id", "record"), SEED_CASES)
def test_seed_records_round_trip_through_model_dump_by_alias(model, tenant_id, record):
    validated = model.model_validate(record)
    dumped = validated.model_dump(by_alias=True)
    assert model.model_validate(dumped) == validated
    assert model.model_validate(validated.to_record()) == validated


@pytest.mark.parametrize(("model", "tenant_id", "record"), SEED_CASES)
def test_to_record_gives_back_the_seed_record_exactly(model, tenant_id, record):
    # Decimals compare by value, so compare numbers as text: 34.0 must stay 34.0, not 34.
    def exact(data: Any) -> Any:
        if isinstance(data, dict):
            return {key: exact(value) for key, value in data.items()}
        if isinstance(data, list):
            return [exact(value) for value in data]
        if isinstance(data, int | Decimal) and not isinstance(data, bool):
            return f"number {Decimal(data)}"
        return data

    assert exact(model.model_validate(record).to_record()) == exact(record)


@pytest.mark.parametrize(("model", "tenant_id", "record"), SEED_CASES)
def test_seed_records_parsed_with_plain_floats_give_the_same_model(model, tenant_id, record):
    plain = json.loads(json.dumps(record, default=float))
    assert model.model_validate(plain) == model.model_validate(record)


def test_model_dump_by_alias_uses_camel_case_names():
    dumped = Message.model_validate(message()).model_dump(by_alias=True)
    assert set(dumped) == {
        "tenantId",
        "messageId",
        "sessionId",
        "senderId",
        "timestamp",
        "content",
        "classification",
        "references",
    }
    assert dumped["references"][0] == {
        "source": "salestalk-metrics",
        "sourceId": "acme-corp-001:revenue:2025-Q4",
        "title": None,
        "url": None,
    }
    assert set(Metric.model_validate(metric()).model_dump(by_alias=True)) == set(VALID_METRIC)


def test_to_record_leaves_out_absent_optional_fields():
    record = Metric.model_validate(metric(dimension=MISSING)).to_record()
    assert "dimension" not in record
    assert record["value"] == Decimal(410)
    assert isinstance(record["value"], Decimal)


def test_optional_fields_have_defaults():
    assert Message.model_validate(message(references=MISSING)).references == []
    assert Metric.model_validate(metric(dimension=MISSING)).dimension is None
    assert Metric.model_validate(metric(dimension=None)).dimension is None
    ref = Message.model_validate(message()).references[0]
    assert (ref.title, ref.url) == (None, None)


def test_records_are_immutable():
    validated = Metric.model_validate(metric())
    with pytest.raises(ValidationError, match="frozen"):
        validated.value = Decimal(1)  # type: ignore[misc]


def test_record_models_are_registered_by_kind():
    assert dict(RECORD_MODELS) == {"message": Message, "metric": Metric}
    assert Message.kind == "message"
    assert Metric.kind == "metric"


def test_the_tenant_record_is_the_rosters_tenant_model():
    assert TenantRecord is Tenant


# --- confidence: within [0.0, 1.0] -----------------------------------------------------------

GOOD_CONFIDENCES = [0, 1, 0.0, 1.0, 0.5, 0.94, Decimal("0"), Decimal("1.000"), Decimal("0.999")]
BAD_CONFIDENCES = [
    (-0.01, "greater than or equal to 0"),
    (-1, "greater than or equal to 0"),
    (Decimal("-0.0000001"), "greater than or equal to 0"),
    (1.01, "less than or equal to 1"),
    (2, "less than or equal to 1"),
    (Decimal("1.0000001"), "less than or equal to 1"),
    (94, "less than or equal to 1"),  # a percentage is not a confidence
]


@pytest.mark.parametrize("confidence", GOOD_CONFIDENCES)
def test_confidence_within_zero_and_one_is_accepted(confidence):
    assert Metric.model_validate(metric(confidence=confidence)).confidence == Decimal(
        str(confidence)
    )
    validated = Message.model_validate(classification(confidence=confidence))
    assert validated.classification.confidence == Decimal(str(confidence))


@pytest.mark.parametrize(("confidence", "fragment"), BAD_CONFIDENCES)
def test_metric_confidence_outside_zero_and_one_is_refused(confidence, fragment):
    assert_refused(Metric, metric(confidence=confidence), ("confidence",), fragment)


@pytest.mark.parametrize(("confidence", "fragment"), BAD_CONFIDENCES)
def test_message_confidence_outside_zero_and_one_is_refused(confidence, fragment):
    assert_refused(
        Message, classification(confidence=confidence), ("classification", "confidence"), fragment
    )


def test_classification_alone_checks_its_confidence():
    assert_refused(
        Classification, {"intent": "x", "confidence": 1.5}, ("confidence",), "less than or equal"
    )


# --- timestamps: plausible Unix seconds -----------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        EARLIEST_TIMESTAMP,  # 2000-01-01T00:00:00Z
        1_768_212_004,
        FROZEN_NOW,
        FROZEN_NOW + 3600,
        FROZEN_NOW + FUTURE_SKEW_SECONDS,  # a day of clock skew is allowed
    ],
)
def test_plausible_timestamps_are_accepted(frozen_clock, timestamp):
    assert Message.model_validate(message(timestamp=timestamp)).timestamp == timestamp


@pytest.mark.parametrize(
    ("timestamp", "fragment"),
    [
        (EARLIEST_TIMESTAMP - 1, "is before 2000-01-01"),
        (0, "is before 2000-01-01"),
        (-1, "is before 2000-01-01"),
        (915_148_800, "is before 2000-01-01"),  # 1999-01-01
        (1_768_212_004_000, "looks like milliseconds"),
        (FROZEN_NOW * 1000, "looks like milliseconds"),
        (100_000_000_000, "looks like milliseconds"),
        (1_768_212_004_000_000, "looks like milliseconds"),  # microseconds
        (FROZEN_NOW + FUTURE_SKEW_SECONDS + 1, "is in the future"),
        (FROZEN_NOW + 30 * 86_400, "is in the future"),
        (99_999_999_999, "is in the future"),
    ],
)
def test_implausible_timestamps_are_refused(frozen_clock, timestamp, fragment):
    assert_refused(Message, message(timestamp=timestamp), ("timestamp",), fragment)


def test_the_future_limit_follows_the_real_clock():
    now = int(time.time())
    Message.model_validate(message(timestamp=now))
    assert_refused(
        Message, message(timestamp=now + 2 * FUTURE_SKEW_SECONDS), ("timestamp",), "future"
    )


@pytest.mark.parametrize(
    "timestamp",
    [
        1_768_212_004.0,
        1_768_212_004.5,
        Decimal("1768212004"),
        "1768212004",
        True,
        None,
        [1_768_212_004],
    ],
)
def test_timestamps_must_be_integers(frozen_clock, timestamp):
    assert_refused(Message, message(timestamp=timestamp), ("timestamp",), "valid integer")


# --- periods: real calendar periods ----------------------------------------------------------

GOOD_PERIODS = [
    ("2025", "year"),
    ("1900", "year"),
    ("2100", "year"),
    ("2025-Q1", "quarter"),
    ("2025-Q2", "quarter"),
    ("2025-Q3", "quarter"),
    ("2025-Q4", "quarter"),
    ("1900-Q1", "quarter"),
    ("2025-01", "month"),
    ("2025-12", "month"),
    ("2100-12", "month"),
    ("2025-01-01", "day"),
    ("2025-12-31", "day"),
    ("2025-04-30", "day"),
    ("2025-02-28", "day"),
    ("2024-02-29", "day"),  # leap year
    ("2000-02-29", "day"),  # divisible by 400: leap year
    ("1900-01-01", "day"),
    ("2100-12-31", "day"),
]

BAD_PERIODS = [
    # not a period shape at all
    ("", "must be YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD"),
    ("25", "must be YYYY"),
    ("20250", "must be YYYY"),
    ("2025-Q0", "must be YYYY"),
    ("2025-Q5", "must be YYYY"),
    ("2025-q1", "must be YYYY"),
    ("2025Q1", "must be YYYY"),
    ("Q1-2025", "must be YYYY"),
    ("2025-Q1-01", "must be YYYY"),
    ("2025-1", "must be YYYY"),
    ("2025-001", "must be YYYY"),
    ("2025-01-1", "must be YYYY"),
    ("2025/01", "must be YYYY"),
    ("2025-W01", "must be YYYY"),
    ("2025-H1", "must be YYYY"),
    ("FY2025", "must be YYYY"),
    (" 2025", "must be YYYY"),
    ("2025 ", "must be YYYY"),
    ("2025-01-01T00:00:00", "must be YYYY"),
    # years outside 1900..2100
    ("1899", "year must be between 1900 and 2100"),
    ("2101", "year must be between 1900 and 2100"),
    ("0000", "year must be between 1900 and 2100"),
    ("9999-Q1", "year must be between 1900 and 2100"),
    ("1899-12", "year must be between 1900 and 2100"),
    ("2101-01-01", "year must be between 1900 and 2100"),
    # months that do not exist
    ("2025-00", "month 00 does not exist"),
    ("2025-13", "month 13 does not exist"),
    ("2025-99-01", "month 99 does not exist"),
    # days that do not exist
    ("2025-02-29", "February 2025 has no day 29"),
    ("1900-02-29", "February 1900 has no day 29"),  # divisible by 100: not a leap year
    ("2100-02-29", "February 2100 has no day 29"),
    ("2024-02-30", "February 2024 has no day 30"),
    ("2025-04-31", "April 2025 has no day 31"),
    ("2025-06-31", "June 2025 has no day 31"),
    ("2025-01-32", "January 2025 has no day 32"),
    ("2025-04-00", "April 2025 has no day 00"),
]

# Periods that are not YYYY... in ASCII digits, yet are accepted today.
UNREAL_PERIODS_ACCEPTED = [
    pytest.param("2025\n", id="trailing-newline-year"),
    pytest.param("2025-Q4\n", id="trailing-newline-quarter"),
    pytest.param("2025-12-31\n", id="trailing-newline-day"),
    pytest.param("\u0662\u0660\u0662\u0665", id="arabic-indic-digits"),
    pytest.param("\uff12\uff10\uff12\uff15-Q1", id="fullwidth-digits"),
]


@pytest.mark.parametrize(("period", "granularity"), GOOD_PERIODS)
def test_period_granularity_of_real_periods(period, granularity):
    assert period_granularity(period) == granularity


@pytest.mark.parametrize(("period", "granularity"), GOOD_PERIODS)
def test_metrics_accept_real_periods_and_know_their_granularity(period, granularity):
    validated = Metric.model_validate(metric(period=period))
    assert validated.period == period
    assert validated.granularity == granularity


@pytest.mark.parametrize(("period", "fragment"), BAD_PERIODS)
def test_period_granularity_refuses_unreal_periods(period, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        period_granularity(period)


@pytest.mark.parametrize(("period", "fragment"), BAD_PERIODS)
def test_metrics_refuse_unreal_periods(period, fragment):
    assert_refused(Metric, metric(period=period), ("period",), fragment)


@pytest.mark.parametrize("period", [2025, 2025.0, Decimal(2025), None, ["2025"]])
def test_periods_must_be_text(period):
    assert_refused(Metric, metric(period=period), ("period",), "valid string")


@pytest.mark.parametrize("period", UNREAL_PERIODS_ACCEPTED)
def test_metrics_refuse_periods_with_a_trailing_newline_or_non_ascii_digits(period):
    assert_refused(Metric, metric(period=period), ("period",), "must be YYYY")


def test_metric_granularity_of_seed_metrics():
    granularities = {
        Metric.model_validate(record).granularity
        for model, _, record in (case.values for case in SEED_CASES)
        if model is Metric
    }
    assert granularities <= {"year", "quarter", "month", "day"}
    assert "quarter" in granularities


# --- required strings: present and non-empty ------------------------------------------------

BLANKS = ["", " ", "   ", "\t", "\n", "\t \n", "\u00a0"]

MESSAGE_TEXT_FIELDS = ["messageId", "sessionId", "senderId", "content"]
METRIC_TEXT_FIELDS = ["source", "sourceId"]
TENANT_TEXT_FIELDS = ["name", "industry", "region"]


def blank_reason(blank: str, field: str) -> str:
    """The reason a blank value is refused: empty text is too short; whitespace is refused as
    surrounding an id, as blank content, or as a blank label."""
    if not blank:
        return "at least 1 character"
    return {"content": "more than whitespace", "title": "blank"}.get(field, "whitespace")


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", MESSAGE_TEXT_FIELDS)
def test_message_strings_must_not_be_blank(field, blank):
    assert_refused(Message, message(**{field: blank}), (field,), blank_reason(blank, field))


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", METRIC_TEXT_FIELDS)
def test_metric_strings_must_not_be_blank(field, blank):
    assert_refused(Metric, metric(**{field: blank}), (field,), blank_reason(blank, field))


@pytest.mark.parametrize("blank", BLANKS)
def test_classification_intent_must_not_be_blank(blank):
    assert_refused(
        Message,
        classification(intent=blank),
        ("classification", "intent"),
        blank_reason(blank, "intent"),
    )


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", ["source", "sourceId", "title", "url"])
def test_reference_strings_must_not_be_blank(field, blank):
    assert_refused(
        Message, reference(**{field: blank}), ("references", 0, field), blank_reason(blank, field)
    )


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", TENANT_TEXT_FIELDS)
def test_tenant_strings_must_not_be_blank(field, blank):
    assert_refused(TenantRecord, tenant(**{field: blank}), (field,), "at least 1 character")


@pytest.mark.parametrize("value", [5, 1.5, True, None, ["text"], {"text": "x"}, b"bytes"])
@pytest.mark.parametrize("field", MESSAGE_TEXT_FIELDS)
def test_message_strings_must_be_text(field, value):
    assert_refused(Message, message(**{field: value}), (field,), "valid string")


@pytest.mark.parametrize("value", [5, None, b"bytes"])
@pytest.mark.parametrize("field", METRIC_TEXT_FIELDS)
def test_metric_strings_must_be_text(field, value):
    assert_refused(Metric, metric(**{field: value}), (field,), "valid string")


# --- nothing is silently changed: ids are refused, not trimmed; content is kept exactly -----

SURROUNDED = [" x", "x ", "x\u00a0", "\u00a0x", "x\t", "\nx", "x\u3000", "x\u2029"]
UNPRINTABLE = {
    "ESC": "sess\x1b[2Jone",
    "NUL": "a\x00b",
    "DEL": "a\x7fb",
    "C1 control (CSI)": "a\x9bb",
    "NEL": "a\x85b",
    "zero-width space": "a\u200bb",
    "right-to-left override": "user\u202egnp.exe",
    "line separator": "a\u2028b",
    "private use": "a\ue000b",
    "unassigned": "a\U000e0080b",
    "non-breaking space inside": "a\u00a0b",
}
ID_FIELDS = ["messageId", "sessionId", "senderId"]


@pytest.mark.parametrize("value", SURROUNDED)
@pytest.mark.parametrize("field", ID_FIELDS)
def test_ids_with_surrounding_whitespace_are_refused_not_trimmed(field, value):
    assert_refused(Message, message(**{field: value}), (field,), "leading or trailing whitespace")


@pytest.mark.parametrize("value", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
@pytest.mark.parametrize("field", ID_FIELDS)
def test_ids_with_characters_that_do_not_print_are_refused(field, value):
    assert_refused(Message, message(**{field: value}), (field,), "which does not print")


@pytest.mark.parametrize("value", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
@pytest.mark.parametrize(
    ("model", "make", "location"),
    [
        (Metric, lambda v: metric(sourceId=v), ("sourceId",)),
        (Metric, lambda v: metric(source=v), ("source",)),
        (Message, lambda v: classification(intent=v), ("classification", "intent")),
        (Message, lambda v: reference(sourceId=v), ("references", 0, "sourceId")),
        (Message, lambda v: reference(url=v), ("references", 0, "url")),
    ],
)
def test_every_identifier_field_follows_the_same_rule(model, make, location, value):
    assert_refused(model, make(value), location, "which does not print")


def test_an_id_names_the_character_it_refuses_without_printing_it():
    error = refusal(Message, message(senderId="bob\x1b[31m"))
    assert "U+001B (ESC)" in error["msg"] and "\x1b" not in error["msg"]


@pytest.mark.parametrize(
    "content",
    [
        "    def f():\n        return 1\n",  # a code block: its indentation is content
        "  leading and trailing  ",
        "\u00a0non-breaking\u00a0",
        "tab\tseparated\r\n",
        "colour \x1b[31mcodes\x1b[0m are content too (escaped when printed)",
        "x",
    ],
)
def test_content_is_kept_character_for_character(content):
    assert Message.model_validate(message(content=content)).content == content


@pytest.mark.parametrize("title", ["  Q4 report", "Q4 report ", "Revenue\u00a0Q4"])
def test_a_title_is_kept_as_sent(title):
    ref = Message.model_validate(reference(title=title)).references[0]
    assert ref.title == title


@pytest.mark.parametrize("title", ["two\nlines", "bell\x07", "rtl\u202eoverride"])
def test_a_title_is_one_printable_line(title):
    assert_refused(Message, reference(title=title), ("references", 0, "title"), "one line")


@pytest.mark.parametrize("field", ["messageId", "sessionId", "senderId"])
def test_short_texts_are_at_most_256_characters(field):
    Message.model_validate(message(**{field: "x" * 256}))
    assert_refused(Message, message(**{field: "x" * 257}), (field,), "at most 256 characters")


@pytest.mark.parametrize(
    "field",
    ["tenantId", "messageId", "sessionId", "senderId", "timestamp", "content", "classification"],
)
def test_message_required_fields(field):
    assert_refused(Message, message(**{field: MISSING}), (field,), "Field required")


@pytest.mark.parametrize("field", ["intent", "confidence"])
def test_classification_required_fields(field):
    assert_refused(
        Message, classification(**{field: MISSING}), ("classification", field), "Field required"
    )


@pytest.mark.parametrize(
    "field",
    [
        "tenantId",
        "subject",
        "period",
        "metricType",
        "value",
        "unit",
        "confidence",
        "source",
        "sourceId",
    ],
)
def test_metric_required_fields(field):
    assert_refused(Metric, metric(**{field: MISSING}), (field,), "Field required")


def test_classification_must_be_an_object():
    assert_refused(
        Message, message(classification="revenue_trend"), ("classification",), "valid dictionary"
    )


# --- unknown fields are refused --------------------------------------------------------------


@pytest.mark.parametrize("name", ["extra", "tenant", "tenantID", "messageID", "schemaVersion", ""])
def test_unknown_message_fields_are_refused(name):
    assert_refused(Message, message(**{name: "x"}), (name,), "Extra inputs are not permitted")


@pytest.mark.parametrize("name", ["extra", "granularity", "metricID", "currency", "kind"])
def test_unknown_metric_fields_are_refused(name):
    assert_refused(Metric, metric(**{name: "x"}), (name,), "Extra inputs are not permitted")


@pytest.mark.parametrize("name", ["extra", "score", "intents"])
def test_unknown_classification_fields_are_refused(name):
    assert_refused(
        Message,
        classification(**{name: "x"}),
        ("classification", name),
        "Extra inputs are not permitted",
    )


@pytest.mark.parametrize("name", ["extra", "sourceID", "link", "id"])
def test_unknown_reference_fields_are_refused(name):
    assert_refused(
        Message,
        reference(**{name: "x"}),
        ("references", 0, name),
        "Extra inputs are not permitted",
    )


def test_unknown_fields_in_a_later_reference_name_its_index():
    record = message()
    record["references"][1]["note"] = "x"
    assert_refused(Message, record, ("references", 1, "note"), "Extra inputs are not permitted")


@pytest.mark.parametrize("name", ["extra", "owner", "tiers"])
def test_unknown_tenant_fields_are_refused(name):
    assert_refused(TenantRecord, tenant(**{name: "x"}), (name,), "Extra inputs are not permitted")


@pytest.mark.parametrize("field", ["tier", "moveTo", "copyLeftIn"])
def test_a_tenant_tier_is_silo_or_pool(field):
    assert TenantRecord.model_validate(tenant(**{field: "pool"})).model_dump(by_alias=True)[field]
    assert_refused(TenantRecord, tenant(**{field: "shared"}), (field,), "'silo' or 'pool'")


# --- references need source and sourceId --------------------------------------------------


@pytest.mark.parametrize("field", ["source", "sourceId"])
def test_references_need_source_and_source_id(field):
    assert_refused(Message, reference(**{field: MISSING}), ("references", 0, field), "required")


def test_reference_optional_fields_are_accepted():
    validated = Message.model_validate(
        reference(title="Q4 ledger", url="https://erp.example/gl/rev-q4")
    )
    assert validated.references[0].title == "Q4 ledger"
    assert validated.references[0].url == "https://erp.example/gl/rev-q4"


def test_reference_alone():
    assert Reference.model_validate({"source": "crm", "sourceId": "c-1"}).source_id == "c-1"
    assert_refused(Reference, {"source": "crm"}, ("sourceId",), "Field required")


@pytest.mark.parametrize("references", ["GL-REV", {"source": "a", "sourceId": "b"}, None])
def test_references_must_be_a_list(references):
    assert_refused(Message, message(references=references), ("references",), "valid list")


def test_references_must_be_objects():
    assert_refused(Message, message(references=["GL-REV"]), ("references", 0), "valid dictionary")


# --- numbers: exact Decimals, finite, real numbers, within DynamoDB's range ----------------


@pytest.mark.parametrize(
    ("given", "exact"),
    [
        (0.1, "0.1"),
        (0.98, "0.98"),
        (32.5, "32.5"),
        (34.0, "34.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-7, "1E-7"),
        (12_500_000, "12500000"),
        (-5, "-5"),
        (0, "0"),
        (Decimal("1.10"), "1.10"),
        (Decimal("0.000"), "0"),  # zero is zero, whatever its exponent (DynamoDB agrees)
    ],
)
def test_numbers_become_exact_decimals(given, exact):
    value = Metric.model_validate(metric(value=given)).value
    assert isinstance(value, Decimal)
    assert str(value) == exact


def test_a_float_is_converted_through_its_shortest_text_not_its_binary_value():
    value = Metric.model_validate(metric(value=0.1)).value
    assert value == Decimal("0.1")
    assert value != Decimal.from_float(0.1)  # 0.1000000000000000055511151231257827...


@pytest.mark.parametrize("text", ["1.10", "0.10", "1.0", "100.00", "1e2", "-0.5"])
def test_json_parsed_with_decimals_stays_exact(text):
    record = loads(json_text(metric(value=PLACEHOLDER), text))
    validated = Metric.model_validate(record)
    assert str(validated.value) == str(Decimal(text))
    assert validated.to_record()["value"].as_tuple() == Decimal(text).as_tuple()


def test_json_confidence_parsed_with_decimals_stays_exact():
    record = loads('{"intent": "x", "confidence": 0.90}')
    assert str(Classification.model_validate(record).confidence) == "0.90"


NON_FINITE = [
    pytest.param(Decimal("NaN"), id="Decimal-NaN"),
    pytest.param(Decimal("-NaN"), id="Decimal--NaN"),
    pytest.param(Decimal("sNaN"), id="Decimal-sNaN"),
    pytest.param(Decimal("Infinity"), id="Decimal-Infinity"),
    pytest.param(Decimal("-Infinity"), id="Decimal--Infinity"),
    pytest.param(float("nan"), id="float-nan"),
    pytest.param(float("inf"), id="float-inf"),
    pytest.param(float("-inf"), id="float--inf"),
]


@pytest.mark.parametrize("value", NON_FINITE)
def test_metric_values_must_be_finite(value):
    assert_refused(Metric, metric(value=value), ("value",), "must be a finite number")


@pytest.mark.parametrize("value", NON_FINITE)
def test_metric_confidences_must_be_finite(value):
    assert_refused(Metric, metric(confidence=value), ("confidence",), "must be a finite number")


@pytest.mark.parametrize("value", NON_FINITE)
def test_message_confidences_must_be_finite(value):
    assert_refused(
        Message,
        classification(confidence=value),
        ("classification", "confidence"),
        "must be a finite number",
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_constants_are_refused_with_the_field_named(constant):
    record = loads(json_text(metric(value=PLACEHOLDER), constant))
    assert isinstance(record["value"], Decimal)
    assert_refused(Metric, record, ("value",), "must be a finite number")


NOT_NUMBERS = ["0.9", "1", "", "NaN", True, False, None, [0.9], {"value": 0.9}, b"1"]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_metric_values_must_be_numbers(value):
    assert_refused(Metric, metric(value=value), ("value",), "must be a number")


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_metric_confidences_must_be_numbers(value):
    assert_refused(Metric, metric(confidence=value), ("confidence",), "must be a number")


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_message_confidences_must_be_numbers(value):
    assert_refused(
        Message,
        classification(confidence=value),
        ("classification", "confidence"),
        "must be a number",
    )


@pytest.mark.parametrize(
    "value",
    [
        Decimal("9.99E+125"),
        Decimal("-9.999999999999999999999999999E+125"),  # 28 digits
        Decimal("1E-130"),  # DynamoDB's smallest positive
        Decimal("-1E-130"),
        Decimal("1E+125"),
        10**125,
        1e125,
        Decimal("9" * 38),  # exactly 38 significant digits
        int("9" * 38),
        Decimal("0." + "1" * 38),
        Decimal("1" + "0" * 60),  # trailing zeros are not significant
        Decimal("1." + "0" * 60),
    ],
)
def test_numbers_within_dynamodb_limits_are_accepted(value):
    assert Metric.model_validate(metric(value=value)).value == Decimal(str(value))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Decimal("9.9999999999999999999999999999999999999E+125"), id="max-38-digits"),
        pytest.param(Decimal("-9.9999999999999999999999999999999999999E+125"), id="min-38-digits"),
        pytest.param(Decimal("9.9999999999999999999999999999E+125"), id="29-digits"),
    ],
)
def test_dynamodb_largest_numbers_are_accepted(value):
    assert Metric.model_validate(metric(value=value)).value == value


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+126"),
        Decimal("-1E+126"),
        10**126,
        -(10**130),
        1e300,
        -1e300,
        Decimal("1E-131"),
        Decimal("-1E-131"),
        1e-200,
        Decimal("1E-300"),
    ],
)
def test_numbers_outside_dynamodb_range_are_refused(value):
    assert_refused(Metric, metric(value=value), ("value",), "outside DynamoDB's number range")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Decimal("9.99999999999999999999999999999E-131"), id="positive"),
        pytest.param(Decimal("-9.99999999999999999999999999999E-131"), id="negative"),
    ],
)
def test_numbers_just_below_dynamodb_smallest_magnitude_are_refused(value):
    assert_refused(Metric, metric(value=value), ("value",), "outside DynamoDB's number range")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Decimal("1" * 39), id="39-digit-decimal"),
        pytest.param(10**39 + 1, id="40-digit-int"),
        pytest.param(Decimal("1." + "1" * 40), id="41-digit-fraction"),
        pytest.param(Decimal("0." + "1" * 39), id="39-digit-fraction"),
    ],
)
def test_numbers_with_more_than_38_significant_digits_are_refused(value):
    assert_refused(Metric, metric(value=value), ("value",), "more than 38 significant digits")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Decimal("1." + "0" * 42), id="43-digits-written-1-significant"),
        pytest.param(Decimal("12.5" + "0" * 40), id="trailing-zeros"),
        pytest.param(Decimal("0." + "0" * 40 + "5"), id="leading-zeros"),
        pytest.param(Decimal("1" * 38 + "0" * 20), id="38-significant-then-zeros"),
    ],
)
def test_numbers_written_long_but_with_at_most_38_significant_digits_are_accepted(value):
    assert Metric.model_validate(metric(value=value)).value == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Decimal("1." + "2" * 37 + "E-130"), id="38-digits-at-1e-130"),
        pytest.param(Decimal("-9." + "9" * 37 + "E-129"), id="38-digits-near-1e-129"),
    ],
)
def test_numbers_dynamodb_cannot_hold_exactly_at_the_bottom_of_its_range_are_refused(value):
    assert_refused(Metric, metric(value=value), ("value",), "cannot be stored exactly")


def test_zero_with_an_exponent_outside_dynamodb_range_is_stored_as_plain_zero():
    value = Metric.model_validate(metric(value=Decimal("0E-200"))).value
    assert value == 0 and value.as_tuple().exponent == 0


@pytest.mark.parametrize(
    "confidence",
    [
        pytest.param(Decimal("0." + "1" * 40), id="40-digits"),
        pytest.param(Decimal("1E-200"), id="below-1e-130"),
    ],
)
def test_confidences_outside_dynamodb_limits_are_refused(confidence):
    assert_refused(Metric, metric(confidence=confidence), ("confidence",), "DynamoDB")


# --- slugs, dimensions and units ----------------------------------------------------------

GOOD_SLUGS = ["revenue", "renewal_rate", "a", "arr2025", "net_revenue_retention", "a" + "b" * 63]
BAD_SLUGS = [
    "",
    "Revenue",
    "REVENUE",
    "renewal-rate",
    "renewal rate",
    "2025revenue",
    "_revenue",
    "revenue#q4",
    "revenue:q4",
    "r\u00e9venue",
    "revenue\n",
    " revenue",
    "a" * 65,
]


@pytest.mark.parametrize("slug", GOOD_SLUGS)
def test_lowercase_subject_slugs_are_accepted(slug):
    assert Metric.model_validate(metric(subject=slug)).subject == slug


@pytest.mark.parametrize("slug", BAD_SLUGS)
def test_subject_must_be_a_lowercase_slug(slug):
    assert_refused(Metric, metric(subject=slug), ("subject",), "should match pattern")


def test_subject_must_be_text():
    assert_refused(Metric, metric(subject=7), ("subject",), "valid string")


@pytest.mark.parametrize("metric_type", [t.value for t in MetricType])
def test_every_metric_type_of_the_vocabulary_is_accepted(metric_type):
    assert Metric.model_validate(metric(metricType=metric_type)).metric_type == metric_type


@pytest.mark.parametrize("metric_type", ["Financial", "finance", "", "customer-type", 7])
def test_metric_type_outside_the_vocabulary_is_refused(metric_type):
    assert_refused(Metric, metric(metricType=metric_type), ("metricType",), "Input should be")


@pytest.mark.parametrize(
    "dimension",
    [
        "region:emea",
        "region:us",
        "region:canada",
        "segment:SMB",
        "plan_tier:enterprise-plus",
        "product:v2.1",
        "k:v",
        "a" * 32 + ":" + "x" * 64,
    ],
)
def test_key_value_dimensions_are_accepted(dimension):
    assert Metric.model_validate(metric(dimension=dimension)).dimension == dimension


@pytest.mark.parametrize(
    "dimension",
    [
        "",
        "region",
        "emea",
        "region:",
        ":emea",
        "Region:emea",
        "1region:emea",
        "region:em ea",
        "region : emea",
        "region:emea:north",
        "region=emea",
        "region#emea",
        "region:emea\n",
        "region:\u00e9mea",
        "a" * 33 + ":emea",
        "region:" + "x" * 65,
    ],
)
def test_dimensions_must_look_like_key_value(dimension):
    assert_refused(Metric, metric(dimension=dimension), ("dimension",), "should match pattern")


@pytest.mark.parametrize(
    "unit",
    ["USD", "EUR", "GBP", "JPY", "percent", "count", "ratio", "score", "days", "hours", "minutes"],
)
def test_currency_codes_and_known_units_are_accepted(unit):
    assert Metric.model_validate(metric(unit=unit)).unit == unit


@pytest.mark.parametrize(
    "unit",
    [
        "",
        "usd",
        "Usd",
        "US",
        "USDD",
        "US$",
        "$",
        "%",
        "Percent",
        "PERCENT",
        "percentage",
        "seconds",
        "weeks",
        "dollars",
        "USD ",
        " USD",
        "percent\n",
        "\u00c9UR",
    ],
)
def test_units_must_be_a_currency_code_or_a_known_unit(unit):
    assert_refused(Metric, metric(unit=unit), ("unit",), "ISO 4217")


@pytest.mark.parametrize("code", ["ABC", "QQQ", "XTS", "XXX", "EUX", "ZZZ"])
def test_three_capital_letters_are_not_enough_to_be_a_currency(code):
    assert_refused(Metric, metric(unit=code), ("unit",), f"{code!r} is not an ISO 4217")


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY", "CHF", "GBP", "INR", "BRL", "XAU", "XDR"])
def test_iso_4217_currencies_are_accepted(code):
    assert Metric.model_validate(metric(unit=code)).unit == code


def test_units_must_be_text():
    assert_refused(Metric, metric(unit=None), ("unit",), "valid string")


# --- tenant ids in records and tenant metadata --------------------------------------------

BAD_TENANT_IDS = [
    ("ab", "at least 3 characters"),
    ("a" * 33, "at most 32 characters"),
    ("-acme", "should match pattern"),
    ("acme-", "should match pattern"),
    ("ACME", "should match pattern"),
    ("acme_corp", "should match pattern"),
    ("acme corp", "should match pattern"),
    ("acm\u00e9", "should match pattern"),
    ("acme-corp-001\n", "should match pattern"),
]


@pytest.mark.parametrize(("tenant_id", "fragment"), BAD_TENANT_IDS)
@pytest.mark.parametrize("model", [Message, Metric, TenantRecord])
def test_tenant_ids_follow_the_roster_pattern(model, tenant_id, fragment):
    base = {Message: message, Metric: metric, TenantRecord: tenant}[model]
    assert_refused(model, base(tenantId=tenant_id), ("tenantId",), fragment)


@pytest.mark.parametrize("tenant_id", ["abc", "acme-corp-001", "a" * 32, "1st-tenant", "a-b"])
@pytest.mark.parametrize("model", [Message, Metric, TenantRecord])
def test_good_tenant_ids_are_accepted(model, tenant_id):
    base = {Message: message, Metric: metric, TenantRecord: tenant}[model]
    assert model.model_validate(base(tenantId=tenant_id)).tenant_id == tenant_id


@pytest.mark.parametrize("model", [Message, Metric, TenantRecord])
def test_tenant_ids_must_be_text(model):
    base = {Message: message, Metric: metric, TenantRecord: tenant}[model]
    assert_refused(model, base(tenantId=1), ("tenantId",), "valid string")


def test_a_valid_tenant_record():
    record = TenantRecord.model_validate(tenant())
    assert record.tenant_id == "acme-corp-001"
    assert record.plan is Plan.STANDARD
    assert record.status is TenantStatus.ACTIVE
    assert TenantRecord.model_validate(record.model_dump(by_alias=True)) == record
    assert record.to_config() == VALID_TENANT


def test_tenant_status_defaults_to_active():
    assert TenantRecord.model_validate(tenant(status=MISSING)).status is TenantStatus.ACTIVE


@pytest.mark.parametrize("plan", ["trial", "standard", "professional", "enterprise"])
def test_every_plan_is_accepted(plan):
    assert TenantRecord.model_validate(tenant(plan=plan)).plan == plan


@pytest.mark.parametrize("status", ["onboarding", "active", "suspended", "offboarding"])
def test_every_status_is_accepted(status):
    assert TenantRecord.model_validate(tenant(status=status)).status == status


@pytest.mark.parametrize("plan", ["gold", "free", "Standard", "ENTERPRISE", "", None, 1])
def test_unknown_plans_are_refused(plan):
    assert_refused(TenantRecord, tenant(plan=plan), ("plan",), "Input should be 'trial'")


@pytest.mark.parametrize("status", ["deleted", "inactive", "Active", "", None])
def test_unknown_statuses_are_refused(status):
    assert_refused(TenantRecord, tenant(status=status), ("status",), "Input should be 'onboarding'")


@pytest.mark.parametrize("field", ["tenantId", "name", "industry", "region", "plan", "ownerEmail"])
def test_tenant_required_fields(field):
    assert_refused(TenantRecord, tenant(**{field: MISSING}), (field,), "Field required")


@pytest.mark.parametrize(
    "email", ["owner@example.com", "data-owner@acme-corp.example", "first.last+tag@sub.example.org"]
)
def test_valid_owner_emails_are_accepted(email):
    assert TenantRecord.model_validate(tenant(ownerEmail=email)).owner_email == email


@pytest.mark.parametrize(
    "email",
    [
        "",
        "not-an-email",
        "owner@",
        "@example.com",
        "owner@example",
        "owner@@example.com",
        "owner example@example.com",
        "owner@exa mple.com",
        "owner@.example.com",
    ],
)
def test_invalid_owner_emails_are_refused(email):
    assert_refused(
        TenantRecord, tenant(ownerEmail=email), ("ownerEmail",), "not a valid email address"
    )


def test_tenant_text_is_at_most_200_characters():
    TenantRecord.model_validate(tenant(name="x" * 200))
    assert_refused(TenantRecord, tenant(name="x" * 201), ("name",), "at most 200 characters")


# --- exported JSON Schemas --------------------------------------------------------------


def schema_validator(model: type[BaseModel]) -> jsonschema.Draft202012Validator:
    schema = model.model_json_schema(by_alias=True)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in schema_patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in schema_patterns(value)]
    return []


@pytest.mark.parametrize("model", [Message, Metric])
def test_the_json_schemas_are_valid_draft_2020_12_schemas(model):
    schema_validator(model)


@pytest.mark.parametrize("model", [Message, Metric])
def test_the_json_schemas_use_camel_case_names(model):
    schema = model.model_json_schema(by_alias=True)
    assert set(schema["properties"]) == set(
        model.model_validate(VALID_MESSAGE if model is Message else VALID_METRIC).model_dump(
            by_alias=True
        )
    )


@pytest.mark.parametrize(("model", "tenant_id", "record"), SEED_CASES)
def test_the_json_schemas_accept_every_seed_record(model, tenant_id, record):
    validator = schema_validator(model)
    assert validator.is_valid(json.loads(json.dumps(record, default=float)))  # plain JSON
    assert validator.is_valid(record)  # parsed with Decimals


@pytest.mark.parametrize(
    ("model", "record"),
    [(Message, message()), (Metric, metric()), (Metric, metric(dimension=MISSING))],
)
def test_the_json_schemas_accept_the_valid_base_records(model, record):
    assert schema_validator(model).is_valid(json.loads(json.dumps(record, default=float)))


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(message(extra="x"), id="top-level"),
        pytest.param(classification(extra="x"), id="classification"),
        pytest.param(reference(extra="x"), id="reference"),
        pytest.param(message(timestamp="1768212004"), id="timestamp-as-text"),
        pytest.param(message(content=""), id="empty-content"),
        pytest.param(message(tenantId="ACME"), id="bad-tenant-id"),
        pytest.param(message(messageId=MISSING), id="missing-message-id"),
        pytest.param(classification(confidence=1.5), id="confidence-above-1"),
        pytest.param(classification(confidence=-0.1), id="confidence-below-0"),
        pytest.param(classification(confidence="0.9"), id="confidence-as-text"),
        pytest.param(classification(confidence=True), id="confidence-boolean"),
        pytest.param(reference(sourceId=MISSING), id="reference-without-source-id"),
        pytest.param(reference(source=MISSING), id="reference-without-source"),
        pytest.param(reference(source=""), id="reference-empty-source"),
    ],
)
def test_the_message_json_schema_refuses_what_it_can_express(record):
    assert not schema_validator(Message).is_valid(json.loads(json.dumps(record, default=float)))


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(metric(extra="x"), id="top-level"),
        pytest.param(metric(value="0.9"), id="value-as-text"),
        pytest.param(metric(value=True), id="value-boolean"),
        pytest.param(metric(value=None), id="value-null"),
        pytest.param(metric(confidence=1.01), id="confidence-above-1"),
        pytest.param(metric(subject="Revenue"), id="subject-not-a-slug"),
        pytest.param(metric(metricType="customer-type"), id="metric-type-not-in-vocabulary"),
        pytest.param(metric(dimension="region"), id="dimension-without-value"),
        pytest.param(metric(unit="usd"), id="lowercase-currency"),
        pytest.param(metric(period="2025-Q5"), id="period-quarter-5"),
        pytest.param(metric(period="2025/01"), id="period-shape"),
        pytest.param(metric(tenantId="ab"), id="short-tenant-id"),
        pytest.param(metric(sourceId=""), id="empty-source-id"),
        pytest.param(metric(sourceId=MISSING), id="missing-source-id"),
    ],
)
def test_the_metric_json_schema_refuses_what_it_can_express(record):
    assert not schema_validator(Metric).is_valid(json.loads(json.dumps(record, default=float)))


def test_the_schema_patterns_use_portable_regex_syntax():
    patterns = schema_patterns(Metric.model_json_schema(by_alias=True))
    assert patterns
    assert not [p for p in patterns if "(?P<" in p]
