"""Property-based tests for the import parsers: any input gives a value or an ImportRowError."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from shopbot.importers import ImportRowError, parse_event, parse_product, parse_timestamp

FIELD_VALUES = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=True))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "title",
                "category",
                "brand",
                "price",
                "list_price",
                "stock",
                "tags",
                "attributes",
                "created_at",
            ]
        ),
        FIELD_VALUES,
    ),
    st.integers(min_value=1, max_value=10_000),
)
def test_product_parser_never_crashes(row: dict, line: int) -> None:
    try:
        parsed = parse_product(row, line)
    except ImportRowError as exc:
        assert exc.line == line and exc.field and exc.reason
        return
    assert parsed["price"] >= 0 and parsed["list_price"] >= parsed["price"]
    assert math.isfinite(parsed["price"]) and parsed["stock"] >= 0


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "shopper_id", "product_id", "type", "ts", "query", "dwell_seconds"]),
        FIELD_VALUES,
    )
)
def test_event_parser_never_crashes(row: dict) -> None:
    try:
        parsed = parse_event(row, 7)
    except ImportRowError as exc:
        assert exc.line == 7
        return
    assert parsed["ts"].tzinfo is None and parsed["id"]
    assert parsed["dwell_seconds"] is None or parsed["dwell_seconds"] >= 0


@given(
    st.datetimes(
        min_value=datetime(2001, 1, 1),
        max_value=datetime(2099, 1, 1),
        timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8))]),
    )
)
def test_timestamps_round_trip_to_naive_utc(moment: datetime) -> None:
    expected = moment.astimezone(timezone.utc).replace(tzinfo=None)
    assert parse_timestamp(moment.isoformat(), 1, "ts") == expected
    epoch = parse_timestamp(str(moment.timestamp()), 1, "ts")
    assert abs((epoch - expected).total_seconds()) < 1e-3
