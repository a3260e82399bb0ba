"""The weekly digest: the week's numbers gathered (queries), then rendered by the Jinja2 templates into
one channel message and one thread reply, always within Slack's limits."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from blocks import format as fmt
from blocks.text import MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, clip, message_problems, slack_escape
from digests.scorecard import Scorecard, build_scorecard
from digests.templates import environment
from services.policies import Policies
from storage import health
from storage import models as m
from storage.accounts import sla_state
from storage.periods import Period
from storage.wins import WINS_LIMIT, count_wins_between, team_contributions, wins_between

TOP = 5  # lines in the message; the rest go to the thread reply
MAX_DETAIL = 25


class DigestError(Exception):
    """A digest could not be built (for example an operator's template is not valid Block Kit JSON)."""


@dataclass
class DigestMessage:
    text: str
    blocks: list[dict[str, Any]]
    thread_text: str
    thread_blocks: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    def post_args(self, channel: str) -> dict[str, Any]:
        """The chat.postMessage arguments of the digest itself."""
        return {
            "channel": channel,
            "text": self.text,
            "blocks": self.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }

    def thread_args(self, channel: str, thread_ts: str | None = None) -> dict[str, Any]:
        """The thread reply's arguments; the outbox adds ``thread_ts`` once the message is posted."""
        args: dict[str, Any] = {
            "channel": channel,
            "text": self.thread_text,
            "blocks": self.thread_blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        return args


def _lines(rows: list[str], limit: int, where: str = " (in the thread)", total: int | None = None) -> str:
    """The first ``limit`` rows, then how many more (of ``total``, when the rows are only the first
    ones a query returned) and where they are."""
    total = len(rows) if total is None else total
    more = f"\n…and {total - limit} more{where}" if total > limit else ""
    return clip("\n".join(rows[:limit]), MAX_SECTION_TEXT - 80) + more


def movers(session: Session, ws: int, as_of: dt.date, policies: Policies) -> list[str]:
    """Accounts whose health moved most over 30 days, with the component that moved it most."""
    hs = m.HealthSnapshot
    day = session.scalar(select(func.max(hs.day)).where(hs.workspace_id == ws, hs.day <= as_of))
    if day is None:
        return []
    # Against the latest snapshot at least 30 days older (snapshot days need not be exactly 30 apart).
    then_day = session.scalar(
        select(func.max(hs.day)).where(
            hs.workspace_id == ws, hs.day <= day - dt.timedelta(days=health.TREND_DAYS)
        )
    )
    if then_day is None:
        return []
    rows = health.movers(session, ws, day, limit=MAX_DETAIL, then_day=then_day)
    if not rows:
        return []
    ids = [aid for aid, _, _ in rows]
    names = dict(session.execute(select(m.Account.id, m.Account.name).where(m.Account.id.in_(ids))).all())
    comps = {
        (aid, d): c
        for aid, d, c in session.execute(
            select(hs.account_id, hs.day, hs.components).where(
                hs.account_id.in_(ids), hs.day.in_([day, then_day])
            )
        )
    }
    out = []
    for aid, now, then in rows:
        new = health.from_snapshot(comps.get((aid, day)) or {}, policies.health)
        old = health.from_snapshot(comps.get((aid, then_day)) or {}, policies.health)
        top = health.drivers(new, old, policies.health, limit=1)
        why = f" — mostly {fmt.driver(top[0], 0)}" if top else ""
        out.append(
            f"{fmt.arrow(now - then)} *{slack_escape(names.get(aid, '?'))}* {then:.0f} → {now:.0f}{why}"
        )
    return out


def breaches(session: Session, ws: int, period: Period, now: dt.datetime) -> list[str]:
    """Handoffs due in the period and not done in time (done late, or still open)."""
    h = m.Handoff
    rows = session.execute(
        select(
            m.Account.name, h.kind, h.from_team, h.to_team, m.Person.name, h.effective_due_at, h.completed_at
        )
        .join(m.Account, m.Account.id == h.account_id)
        .outerjoin(m.Person, m.Person.id == h.owner_id)
        .where(
            h.workspace_id == ws,
            h.paused_since.is_(None),
            h.effective_due_at >= period.start_utc,
            h.effective_due_at < period.end_utc,
            or_(
                h.completed_at.is_(None),
                and_(h.completed_at.is_not(None), h.completed_at > h.effective_due_at),
            ),
        )
        .order_by(h.effective_due_at)
        .limit(200)
    ).all()
    out = []
    for account, kind, src, dst, owner, due, done in rows:
        late = (
            f"done {sla_state(due, False, done).replace('overdue by', '').strip()} late"
            if done
            else sla_state(due, False, now)
        )
        out.append(
            f"• *{slack_escape(account)}* {slack_escape(kind)} {src}→{dst} "
            f"({slack_escape(owner or 'no owner')}): {late}"
        )
    return out


def gather(
    session: Session,
    ws: int,
    *,
    as_of: dt.date,
    now: dt.datetime,
    policies: Policies,
    segment: str | None = None,
) -> dict[str, Any]:
    """Everything the templates show, computed (templates never query)."""
    card: Scorecard = build_scorecard(
        session, ws, as_of=as_of, period_kind="week", policies=policies, segment=segment
    )
    period = card.period
    wins = wins_between(session, ws, period.start, period.end)
    win_total = (
        len(wins) if len(wins) < WINS_LIMIT else count_wins_between(session, ws, period.start, period.end)
    )
    teams = team_contributions(session, ws, period.start, period.end)
    win_rows = [
        f"• *{slack_escape(account)}* {kind}: {clip(slack_escape(text), 300)} — {', '.join(win_teams)}"
        for _, account, kind, text, win_teams in wins
    ]
    move_rows = movers(session, ws, period.last_day, policies)
    breach_rows = breaches(session, ws, period, now)
    sla = card.kpi("sla_adherence")
    sla_line = (
        f"{fmt.percent(sla.current.value)} on time ({sla.current.detail.get('met', 0)} of "
        f"{sla.current.detail.get('due', 0)} due), {fmt.change(sla.change, 'ratio')}"
        if sla.current.value is not None
        else f"n/a ({slack_escape(sla.current.reason)})"
    )
    notes = [f"• *{k.label}*: {slack_escape(k.current.reason)}" for k in card.kpis if k.current.reason]
    return {
        "period": card.period.label,
        "period_range": f"{period.start:%b %d} – {period.last_day:%b %d}",
        "segment": segment,
        "kpis": [
            {
                "label": k.label,
                "value": fmt.value(k.current.value, k.unit, card.currency, compact=True),
                "change": fmt.change(k.change, k.unit, card.currency),
                "owners": ", ".join(k.owners),
            }
            for k in card.kpis
        ],
        "movers_text": _lines(move_rows, TOP),
        "all_movers_text": _lines(move_rows, MAX_DETAIL, ""),
        "sla_line": sla_line,
        "breaches_text": _lines(breach_rows, TOP),
        "all_breaches_text": _lines(breach_rows, MAX_DETAIL, " — `/sla team` lists them"),
        "wins_text": _lines(win_rows, 8, total=win_total),
        "all_wins_text": _lines(win_rows, MAX_DETAIL, " — `/wins last week` lists them", total=win_total),
        "contributions": ", ".join(f"{team} {n}" for team, n in teams),
        "notes_text": _lines(notes, MAX_DETAIL, ""),
        "fallback": "; ".join(
            f"{k.label} {fmt.value(k.current.value, k.unit, card.currency, compact=True)}"
            for k in card.kpis[:4]
        ),
    }


def render(context: dict[str, Any], templates: Path | None = None) -> DigestMessage:
    env = environment(templates)
    try:
        blocks = json.loads(env.get_template("digest.json.j2").render(**context))
        thread = json.loads(env.get_template("digest_detail.json.j2").render(**context))
    except (TemplateError, json.JSONDecodeError) as exc:
        raise DigestError(f"digest template error: {exc} (check the templates in DIGEST_TEMPLATES)") from None
    text = clip(f"Retention scorecard — {context['period']}: {context['fallback']}", MAX_MESSAGE_TEXT)
    thread_text = f"Details for {context['period']}"
    problems = message_problems(blocks, text) + message_problems(thread, thread_text)
    return DigestMessage(text, blocks, thread_text, thread, problems)
