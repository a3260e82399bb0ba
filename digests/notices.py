"""Messages to admins about deliveries that need a person: a channel the bot cannot post in, a message
Slack may or may not have posted, a template that does not render. The builder takes computed words;
``tell_admins`` queues the DMs in the delivery ledger."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from blocks import kit
from blocks.text import MAX_FIELD_TEXT, MAX_SECTION_TEXT, clip
from storage import deliveries

logger = logging.getLogger(__name__)
NOTICE = "notice"

WHAT = {
    "digest": "The weekly scorecard digest",
    "digest_thread": "The weekly digest's detail thread",
    "shoutout": "A shared-win shout-out",
    "voc": "The weekly voice of the customer digest",
    "fb_shipped": "A shipped-theme message",
}


def is_person(channel_id: str) -> bool:
    """A message addressed to a user id (U…, W…) is a DM to that person."""
    return channel_id.startswith(("U", "W"))


def recipient(channel_id: str) -> str:
    """Whom a message was for, as Slack shows it: a person as <@U…>, a channel as <#C…>."""
    return f"<@{channel_id}>" if is_person(channel_id) else f"<#{channel_id}>"


def place(channel_id: str) -> str:
    """Where to look for a message: the channel, or the DM with the person."""
    return f"the DM with <@{channel_id}>" if is_person(channel_id) else f"<#{channel_id}>"


def delivery_problem(kind: str, channel_id: str, words: str, *, resumable: bool) -> dict[str, Any]:
    """chat.postMessage arguments (no channel) telling an admin what failed and what to do."""
    what = WHAT.get(kind, "A message from retention-bot")
    lines = [f":warning: {what} for {recipient(channel_id)} was not delivered: {words}."]
    if resumable:
        lines.append(
            "Its subscription is paused. Once that is fixed, "
            f"`/scorecard subscribe <#{channel_id}>` resumes it."
        )
    text = clip(" ".join(lines), MAX_SECTION_TEXT)
    return {
        "text": text,
        "blocks": [kit.section(text)],
        "unfurl_links": False,
    }


def tell_admins(
    session: Session,
    ws: int,
    admins: Sequence[str],
    *,
    kind: str,
    subject: str,
    channel_id: str,
    words: str,
    now: dt.datetime,
) -> None:
    """Queue one DM per admin about a message that was not delivered (the ledger key makes it once).
    Without admins the log is where an operator hears of it."""
    logger.error("%s %s for %s was not delivered: %s", kind, subject, channel_id, words)
    if kind == NOTICE:
        return  # a notice that fails is logged, never noticed again
    for admin in admins:
        deliveries.enqueue(
            session,
            ws,
            kind=NOTICE,
            subject=f"{admin}:{kind}:{subject}",
            channel_id=admin,
            args=delivery_problem(kind, channel_id, words, resumable=kind == "digest"),
            now=now,
        )


def unreachable(args: dict[str, Any], person: str, words: str) -> dict[str, Any]:
    """A DM that could not reach ``person``, re-addressed to a channel with a line saying why."""
    note = clip(f"(<@{person}> could not be reached: {words}.)", MAX_FIELD_TEXT)
    out = {k: v for k, v in args.items() if not k.startswith("_")}
    out["text"] = clip(f"{note} {out.get('text', '')}", MAX_SECTION_TEXT)
    out["blocks"] = [kit.context(note), *out.get("blocks", [])]
    return out


def claim_unbuildable(
    session: Session,
    ws: int,
    admins: Sequence[str],
    *,
    kind: str,
    subject: str,
    channel_id: str,
    words: str,
    now: dt.datetime,
) -> bool:
    """A message that cannot be built is claimed as failed (not rebuilt every tick) and admins are told
    once; False when it was claimed before."""
    if (
        deliveries.enqueue(
            session,
            ws,
            kind=kind,
            subject=subject,
            channel_id=channel_id,
            args={},
            now=now,
            state=deliveries.FAILED,
            error=words,
        )
        is None
    ):
        return False
    tell_admins(session, ws, admins, kind=kind, subject=subject, channel_id=channel_id, words=words, now=now)
    return True
