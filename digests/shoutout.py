"""The shout-out for one shared win: who is credited (people are mentioned — recognition is the point —
and every team involved), what happened, and where it came from. Rendered by ``shoutout.json.j2``,
which operators can override like the digest templates."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.orm import Session

from blocks import format as fmt
from blocks.text import MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, clip, message_problems, slack_escape
from digests.digest import DigestError
from digests.notices import claim_unbuildable
from digests.templates import environment
from storage import deliveries, workspaces
from storage.wins import DETECTED, SHOUTOUT, WinShoutout, shoutout_subject, shoutouts

KIND_WORDS = {
    "save": "save",
    "expansion": "expansion",
    "renewal": "renewal",
    "milestone": "milestone",
    "advocacy": "advocacy",
    "shipped": "shipped what they asked for",
}


def _person(name: str, slack_id: str | None) -> str:
    return f"<@{slack_id}>" if slack_id else slack_escape(name)


def shoutout_args(win: WinShoutout, currency: str, templates: Path | None = None) -> dict[str, Any]:
    """chat.postMessage arguments (no channel) for the win's shout-out, within Slack's limits."""
    account = clip(slack_escape(win.account), 200)
    credit = ", ".join(_person(name, sid) for name, sid in win.people)
    origin = (
        f"Spotted in the data ({KIND_WORDS.get(win.kind, 'win')}) on {win.won_on:%b %d}"
        if win.source == DETECTED
        else f"Recorded with /win by {_person('someone', win.recorded_by)} on {win.won_on:%b %d}"
    )
    context = {
        "account": account,
        "kind": KIND_WORDS.get(win.kind, ""),
        "amount": f"ARR {fmt.money(win.amount, currency)}" if win.amount else "",
        "text": clip(slack_escape(win.text), MAX_SECTION_TEXT - 10),
        "credit": clip(credit, 1900),
        "teams": ", ".join(win.teams),
        "origin": origin,
    }
    try:
        blocks = json.loads(environment(templates).get_template("shoutout.json.j2").render(**context))
    except (TemplateError, json.JSONDecodeError) as exc:
        raise DigestError(
            f"shout-out template error: {exc} (check the templates in DIGEST_TEMPLATES)"
        ) from None
    text = clip(f"Shared win — {account}: {slack_escape(win.text)}", MAX_MESSAGE_TEXT)
    problems = message_problems(blocks, text)
    if problems:
        raise DigestError(f"the shout-out breaks Slack's limits: {'; '.join(problems)}")
    return {"text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def queue(
    session: Session,
    ws: int,
    win_ids: list[int],
    now: dt.datetime,
    *,
    currency: str,
    templates: Path | None,
    admins: Sequence[str],
) -> int:
    """Queue the shout-out of each win in the workspace's wins channel, in the caller's transaction
    (``services.wins.Announce``); one that cannot be built is claimed as failed and admins are told."""
    channel = workspaces.wins_channel(session, ws)
    if not channel:
        return 0
    queued = 0
    for win in shoutouts(session, ws, win_ids):
        subject = shoutout_subject(win.id, win.source)
        try:
            args = shoutout_args(win, currency, templates)
        except DigestError as exc:
            claim_unbuildable(
                session,
                ws,
                admins,
                kind=SHOUTOUT,
                subject=subject,
                channel_id=channel,
                words=str(exc),
                now=now,
            )
            continue
        queued += (
            deliveries.enqueue(
                session, ws, kind=SHOUTOUT, subject=subject, channel_id=channel, args=args, now=now
            )
            is not None
        )
    return queued
