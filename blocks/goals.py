"""Shared goals in words, one style for Slack, App Home, the digest and the terminal: a KPI's target,
its status, its change marked good or bad, its small sample and the month a revenue KPI describes.

Slack has no coloured text (a table cell is raw text), so a status is a coloured circle and its words
(``🟢 on track``, ``🟡 at risk``, ``🔴 off track``, ``⚪ no target``) and a change says ``good`` or
``bad`` after its arrow (``▲ 1.2 pts good``): legible without colour, and to colour-blind readers.
"""

from __future__ import annotations

import re

from blocks import format as fmt
from blocks.text import slack_escape
from services.goals import STATUS_WORDS, Status, Target, TargetLine, TargetUpdate
from services.scorecard import Kpi
from storage.targets import TargetChange

STATUS_MARKS: dict[Status, str] = {
    "on_track": "🟢",
    "at_risk": "🟡",
    "off_track": "🔴",
    "no_target": "⚪",
    "no_value": "⚪",
}


def status(k: Kpi) -> str:
    """``🟢 on track``; ``⚪ no target``."""
    return f"{STATUS_MARKS[k.status]} {STATUS_WORDS[k.status]}"


def target(k: Kpi, currency: str, *, compact: bool = False) -> str:
    """The target's value, or ``—`` when none is set."""
    if k.target is None:
        return "—"
    return fmt.value(k.target.value, k.unit, currency, compact=compact)


def verdict(k: Kpi) -> str:
    """``good`` or ``bad`` for a move, nothing without one."""
    return "" if k.good is None else ("good" if k.good else "bad")


def change(k: Kpi, currency: str, *, weekly: bool = False) -> str:
    """The change against the previous period, marked good or bad by the KPI's direction. A revenue
    KPI on a weekly scorecard whose month has not moved says which month it describes instead of
    ``= 0.0 pts``; when its month moved, which months the change compares."""
    if k.monthly and k.month is not None:
        return f"{k.month:%b %Y} figure · changes monthly"
    words = fmt.change(k.change, k.unit, currency)
    mark = verdict(k)
    if mark:
        words += f" {mark}"
    if weekly and k.month is not None and k.previous_month is not None and k.change is not None:
        words += f" ({k.month:%b} vs {k.previous_month:%b})"
    return words


def sample(k: Kpi) -> str:
    """``from 2 flags`` when the value rests on fewer than 10 accounts or events, else nothing."""
    if not k.small_sample or k.sample is None or k.current.value is None:
        return ""
    n, of = k.sample
    if n == 1:  # "from 1 flag", "from 1 account with seat data"
        first, _, rest = of.partition(" ")
        of = (first[:-1] if first.endswith("s") else first) + (f" {rest}" if rest else "")
    return f"from {n} {of}"


def value(k: Kpi, currency: str, *, compact: bool = False) -> str:
    """The value, with its small sample: ``50.0% (from 2 flags)``."""
    words = fmt.value(k.current.value, k.unit, currency, compact=compact)
    small = sample(k)
    return f"{words} ({small})" if small else words


def who(by: str | None, *, slack: bool) -> str:
    """Who set a target: a Slack user is mentioned in Slack; the CLI's ``cli:<user>`` and the policy
    file are written out."""
    if by is None:
        return "policy file"
    if slack and re.fullmatch(r"[UW][A-Z0-9]{2,31}", by):
        return f"<@{by}>"
    return slack_escape(by) if slack else by


def target_line(line: TargetLine, unit: str, currency: str, *, slack: bool) -> str:
    """``quarter 110.0% (set by <@U1> on 2026-11-23)``; ``quarter, segment ent 115.0% (policy file)``."""
    t = line.target
    where = line.kind + (
        f", segment {slack_escape(line.segment) if slack else line.segment}" if line.segment else ""
    )
    source = "policy file" if t.source == "policy" else f"set by {who(t.by, slack=slack)}"
    if t.at is not None:
        source += f" on {t.at:%Y-%m-%d}"
    return f"{where} {fmt.value(t.value, unit, currency)} ({source})"


def change_line(c: TargetChange, label: str, unit: str, currency: str, *, slack: bool) -> str:
    """One change of the history: ``2026-11-23 09:00 NRR (12 mo) quarter: 105.0% → 110.0% by <@U1>``."""
    seg = f", segment {slack_escape(c.segment) if slack else c.segment}" if c.segment else ""
    layer = "" if c.layer == "set" else " (policy file)"
    old = "none" if c.old is None else fmt.value(c.old, unit, currency)
    new = "cleared" if c.new is None else fmt.value(c.new, unit, currency)
    by = who(c.by, slack=slack)
    return f"{c.at:%Y-%m-%d %H:%M} UTC {label} {c.period_kind}{seg}: {old} → {new}{layer} by {by}"


def applies(t: Target | None, update: TargetUpdate, currency: str, *, slack: bool) -> str:
    """What is in force after a clear: ``the policy file's 105.0% applies``; ``no target applies``."""
    if t is None:
        return "no target applies"
    v = fmt.value(t.value, update.unit, currency)
    words = f"the policy file's {v}" if t.source == "policy" else f"{v} set by {who(t.by, slack=slack)}"
    if update.segment is not None and t.segment is None:
        words += " for every segment"
    return f"{words} applies"


def after_clear(update: TargetUpdate, currency: str, *, slack: bool) -> str:
    """``the policy file's 105.0% applies``, or per kind when they differ:
    ``the policy file's 105.0% applies (quarter); no target applies (week, month)``."""
    groups: dict[str, list[str]] = {}
    for kind in update.kinds:
        groups.setdefault(applies(update.in_force.get(kind), update, currency, slack=slack), []).append(kind)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{words} ({', '.join(kinds)})" for words, kinds in groups.items())
