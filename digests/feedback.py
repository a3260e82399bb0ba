"""What the customer feedback loop posts unasked:

- the weekly "voice of the customer" digest, in the channels subscribed to it (``/feedback subscribe``),
  on the scorecard digest's schedule rules (weekday and local time in an IANA time zone, DST-correct,
  only the latest occurrence after downtime) and its exactly-once claim: the delivery-ledger key
  (workspace, "voc", "CHANNEL:2026-W48");
- when a theme ships, one DM to each owner (CSM, AE) of the accounts that asked for it, listing their
  accounts and what they asked: claimed once per theme and person ("fb_shipped", "THEME:PERSON").

Customer words are escaped and quoted, and only ever go to the channels that subscribed and to the
accounts' own owners.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from blocks import format as fmt
from blocks import kit
from blocks.text import MAX_MESSAGE_TEXT, clip, message_problems, slack_escape
from digests.notices import claim_unbuildable
from digests.schedule import latest_occurrence, period_key
from services import feedback as fb
from storage import deliveries
from storage import feedback as store
from storage.db import Database

VOC = "voc"
SHIPPED = "fb_shipped"
STATUS_WORDS = {"new": "new", "planned": "planned", "shipped": "shipped", "wont_do": "won't do"}
QUOTE = 280
MAX_ACCOUNTS = 15  # listed in one shipped notice; more are counted


@dataclass(frozen=True)
class VocDue:
    workspace_id: int
    channel_id: str
    segment: str | None
    occurrence: dt.datetime
    period: str

    @property
    def subject(self) -> str:
        return f"{self.channel_id}:{self.period}"


def due(db: Database, now: dt.datetime) -> list[VocDue]:
    """Active voice-of-the-customer subscriptions whose latest occurrence has no digest claimed yet."""
    with db.read() as session:
        candidates = []
        for sub in store.active_subscriptions(session):
            occurrence = latest_occurrence(sub.weekday, sub.local_time, sub.timezone, now)
            if occurrence < sub.created_at:
                continue  # a new subscription starts at its next occurrence
            candidates.append(
                VocDue(
                    sub.workspace_id,
                    sub.channel_id,
                    sub.segment,
                    occurrence,
                    period_key(occurrence, sub.timezone),
                )
            )
        if not candidates:
            return []
        taken = deliveries.taken(session, VOC, [c.subject for c in candidates])
    return [c for c in candidates if (c.workspace_id, c.subject) not in taken]


def _quote(text: str) -> str:
    body = clip(slack_escape(" ".join(text.split())), QUOTE)
    return f">{body}"


def voc_message(facts: fb.VocFacts, currency: str, timezone: str = "UTC") -> dict[str, Any]:
    """chat.postMessage arguments (no channel) for the digest."""
    week = facts.since.astimezone(ZoneInfo(timezone)).date()
    title = f"Voice of the customer — week of {week:%b %d}" + (f" ({facts.segment})" if facts.segment else "")
    blocks: list[dict[str, Any]] = [kit.header(title)]
    text_lines = [slack_escape(title)]
    if facts.top:
        blocks.append(kit.section("*Top themes by ARR at risk*"))
        for n, t in enumerate(facts.top, 1):
            line = (
                f"*{n}. {slack_escape(t.name)}* ({STATUS_WORDS.get(t.status, t.status)}) — "
                f"*{fmt.money(t.arr_at_risk, currency)} at risk* of {fmt.money(t.arr, currency)} ARR, "
                f"{t.accounts} account{'s' if t.accounts != 1 else ''}, "
                f"{t.renewals_90d} renewing in 90 days; "
                f"{t.last_4w} in the last 4 weeks ({t.prior_4w} the 4 before)"
            )
            quote = facts.quotes.get(t.theme_id)
            blocks.append(kit.section(line + (f"\n{_quote(quote)}" if quote else "")))
            text_lines.append(line)
    else:
        blocks.append(kit.section("No open theme has customer feedback yet."))
    if facts.new_themes:
        listed = ", ".join(
            f"*{slack_escape(name)}* ({n} item{'s' if n != 1 else ''})" for name, n in facts.new_themes
        )
        blocks.append(kit.section(f"*New themes this week:* {listed}"))
        text_lines.append(f"New themes: {', '.join(slack_escape(n) for n, _ in facts.new_themes)}")
    if facts.changes:
        changes = "\n".join(
            f"• *{slack_escape(c.theme)}*: {STATUS_WORDS.get(c.status_from or '', c.status_from or '')} → "
            f"{STATUS_WORDS.get(c.status_to, c.status_to)}" + (f" by <@{c.by}>" if _slack_id(c.by) else "")
            for c in facts.changes
        )
        blocks.append(kit.section(f"*Status changes*\n{changes}"))
    blocks.append(
        kit.context("At risk: red health or an open risk flag. `/feedback top` ranks them any time.")
    )
    return {
        "text": clip("\n".join(text_lines), MAX_MESSAGE_TEXT),
        "blocks": blocks[:50],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _slack_id(value: str | None) -> bool:
    return bool(value) and value[0] in "UW" and value.isalnum()  # type: ignore[index,union-attr]


def enqueue_voc_digests(db: Database, now: dt.datetime, *, currency: str, admins: Sequence[str]) -> int:
    """Build and claim every voice-of-the-customer digest due now; returns how many this call claimed."""
    groups: dict[tuple[int, str | None, dt.datetime], list[VocDue]] = defaultdict(list)
    for item in due(db, now):
        groups[(item.workspace_id, item.segment, item.occurrence)].append(item)
    claimed = 0
    for (ws, segment, occurrence), items in groups.items():
        facts = fb.voc_facts(db, ws, now=occurrence, segment=segment)
        args = voc_message(facts, currency)
        problems = message_problems(args["blocks"], args["text"])
        with db.write() as session:
            for item in items:
                if problems:
                    claim_unbuildable(
                        session,
                        ws,
                        admins,
                        kind=VOC,
                        subject=item.subject,
                        channel_id=item.channel_id,
                        words="the voice of the customer digest breaks Slack's limits: "
                        + "; ".join(problems),
                        now=now,
                    )
                    continue
                claimed += (
                    deliveries.enqueue(
                        session,
                        ws,
                        kind=VOC,
                        subject=item.subject,
                        channel_id=item.channel_id,
                        args=args,
                        now=now,
                    )
                    is not None
                )
    return claimed


# --- close the loop ----------------------------------------------------------------------------------------


def shipped_message(notice: fb.ShippedNotice) -> dict[str, Any]:
    """chat.postMessage arguments (no channel): the theme shipped, and what each of your accounts asked."""
    theme = slack_escape(notice.theme)
    by_account: dict[str, list[store.Asked]] = defaultdict(list)
    for row in notice.asked:
        by_account[row.account].append(row)
    intro = (
        f":rocket: *{theme}* has shipped. {len(by_account)} of your account"
        f"{'s' if len(by_account) != 1 else ''} asked for it — a good moment to tell them:"
    )
    blocks: list[dict[str, Any]] = [kit.section(intro)]
    for account, asked in list(by_account.items())[:MAX_ACCOUNTS]:
        lines = [f"*{slack_escape(account)}*"]
        for a in asked[:3]:
            lines.append(f"{a.kind}, {a.logged_at:%b %d, %Y}:\n{_quote(a.text)}")
        if len(asked) > 3:
            lines.append(f"…and {len(asked) - 3} more")
        blocks.append(kit.section("\n".join(lines)))
    if len(by_account) > MAX_ACCOUNTS:
        blocks.append(kit.context(f"…and {len(by_account) - MAX_ACCOUNTS} more accounts."))
    accounts = ", ".join(slack_escape(a) for a in by_account)
    return {
        "text": clip(f"{theme} has shipped. Your accounts that asked for it: {accounts}", MAX_MESSAGE_TEXT),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def queue_shipped_notices(db: Database, ws: int, now: dt.datetime) -> int:
    """Queue the owed shipped-theme DMs (once per theme and person); returns how many were queued.
    Owners without a Slack user id cannot be told in Slack and are skipped."""
    notices = [n for n in fb.shipped_notices(db, ws, now=now) if n.slack_user_id]
    if not notices:
        return 0
    subjects = {f"{n.theme_id}:{n.person_id}": n for n in notices}
    queued = 0
    with db.write() as session:
        taken = deliveries.taken(session, SHIPPED, list(subjects))
        for subject, notice in subjects.items():
            if (ws, subject) in taken:
                continue
            assert notice.slack_user_id is not None
            queued += (
                deliveries.enqueue(
                    session,
                    ws,
                    kind=SHIPPED,
                    subject=subject,
                    channel_id=notice.slack_user_id,
                    args=shipped_message(notice),
                    now=now,
                )
                is not None
            )
    return queued
