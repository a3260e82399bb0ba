"""How numbers read (docs/metrics.md): percentages to one decimal, money with its symbol and
thousands separators (k/M when space is tight), changes with ▲/▼ and points, "n/a" when undefined."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from services.subscriptions import WEEKDAYS, Subscription

if TYPE_CHECKING:
    from services.health import Driver

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
NA = "n/a"


def percent(value: float | None) -> str:
    return NA if value is None else f"{value * 100:.1f}%"


def money(value: Decimal | None, currency: str = "USD", *, compact: bool = False) -> str:
    if value is None:
        return NA
    symbol = SYMBOLS.get(currency, currency + " ")
    sign = "-" if value < 0 else ""
    amount = abs(Decimal(value))
    if compact and amount >= 1_000_000:
        return f"{sign}{symbol}{amount / 1_000_000:.1f}M"
    if compact and amount >= 10_000:
        return f"{sign}{symbol}{amount / 1_000:.1f}k"
    whole = amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return f"{sign}{symbol}{whole:,}"


def number(value: float | Decimal | None, digits: int = 1) -> str:
    return NA if value is None else f"{float(value):,.{digits}f}"


def arrow(delta: float) -> str:
    if abs(delta) < 1e-12:
        return "="
    return "▲" if delta > 0 else "▼"


def change(delta: float | Decimal | None, unit: str, currency: str = "USD") -> str:
    """A change against the previous period: ``▲ 1.2 pts``, ``▼ $12.3k``, ``▲ 3.0 days``."""
    if delta is None:
        return NA
    d = float(delta)
    if unit == "ratio":
        return f"{arrow(d)} {abs(d) * 100:.1f} pts"
    if unit == "money":
        return f"{arrow(d)} {money(abs(Decimal(delta)), currency, compact=True)}"
    return f"{arrow(d)} {abs(d):,.1f}"


def value(v: float | Decimal | None, unit: str, currency: str = "USD", *, compact: bool = False) -> str:
    if unit == "ratio":
        return percent(None if v is None else float(v))
    if unit == "money":
        return money(None if v is None else Decimal(v), currency, compact=compact)
    return number(v)


def driver(d: Driver, digits: int = 1) -> str:
    """A health driver: ``usage -4.2``, or ``support +3.0 (no data 30 days ago)`` for a component
    that appeared or disappeared (docs/metrics.md, "Top drivers")."""
    moved = f"{d.component} {d.change:+.{digits}f}"
    return moved if d.note is None else f"{moved} ({d.note})"


def duration_words(delta: dt.timedelta) -> str:
    """ "2 d 3 h", "1 h 30 min", "5 min", "less than a minute"."""
    minutes = max(int(delta.total_seconds()) // 60, 0)
    if minutes == 0:
        return "less than a minute"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def slack_date(when: dt.datetime) -> str:
    """A time every reader sees in their own time zone (fallback: UTC)."""
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


def schedule_words(sub: Subscription) -> str:
    """ "Mondays at 09:00 America/New_York, segment enterprise" (plain text: escape it for mrkdwn)."""
    seg = f", segment {sub.segment}" if sub.segment else ""
    team = f", team {sub.team}" if sub.team else ""
    paused = f" — paused: {sub.problem}" if not sub.active and sub.problem else ""
    when = {
        "month": "Monthly, the first weekday of the month",
        "quarter": "Quarterly, the first weekday of the quarter",
    }.get(sub.cadence, f"{WEEKDAYS[sub.weekday].capitalize()}s")
    return f"{when} at {sub.local_time:%H:%M} {sub.timezone}{seg}{team}{paused}"


def span_words(delta: dt.timedelta) -> str:
    """A span of time, either way, as a card shows it: "5h" under two days, else "2d"."""
    hours = abs(delta.total_seconds()) / 3600
    return f"{hours:.0f}h" if hours < 48 else f"{hours / 24:.0f}d"


def due_words(due_at: dt.datetime, paused: bool, now: dt.datetime) -> str:
    """ "due in 5h", "overdue by 2d" or "paused", as the card, /sla and App Home show a handoff."""
    if paused:
        return "paused"
    left = due_at - now
    return f"due in {span_words(left)}" if left.total_seconds() >= 0 else f"overdue by {span_words(left)}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 breach", "3 breaches"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
