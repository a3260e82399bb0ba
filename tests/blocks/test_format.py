from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from blocks import format as fmt
from storage.periods import Period, add_months, latest_complete_month


@pytest.mark.parametrize(
    ("kind", "as_of", "start", "end"),
    [
        ("week", "2026-11-23", "2026-11-16", "2026-11-23"),  # a Monday: last week
        ("week", "2026-11-22", "2026-11-09", "2026-11-16"),  # a Sunday: its week is not complete
        ("month", "2026-11-23", "2026-10-01", "2026-11-01"),
        ("month", "2026-01-01", "2025-12-01", "2026-01-01"),
        ("quarter", "2026-11-23", "2026-07-01", "2026-10-01"),
        ("quarter", "2026-01-15", "2025-10-01", "2026-01-01"),
    ],
)
def test_latest_complete_period(kind: str, as_of: str, start: str, end: str) -> None:
    p = Period.latest(kind, dt.date.fromisoformat(as_of))  # type: ignore[arg-type]
    assert (p.start, p.end) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert p.previous().end == p.start


def test_months() -> None:
    assert latest_complete_month(dt.date(2026, 11, 23)) == dt.date(2026, 10, 1)
    assert add_months(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 1)
    assert Period.latest("quarter", dt.date(2026, 11, 23)).flow_months == [
        dt.date(2026, m, 1) for m in (7, 8, 9)
    ]


def test_display() -> None:
    assert fmt.percent(0.95349) == "95.3%"
    assert fmt.percent(None) == "n/a"
    assert fmt.money(Decimal("1234567.49")) == "$1,234,567"
    assert fmt.money(Decimal("1234567"), compact=True) == "$1.2M"
    assert fmt.money(Decimal("12345"), "EUR", compact=True) == "€12.3k"
    assert fmt.money(Decimal("999"), "CHF") == "CHF 999"
    assert fmt.change(0.0123, "ratio") == "▲ 1.2 pts"
    assert fmt.change(-0.02, "ratio") == "▼ 2.0 pts"
    assert fmt.change(Decimal("-1500"), "money") == "▼ $1,500"
    assert fmt.change(0, "days") == "= 0.0"
    assert fmt.change(None, "money") == "n/a"
