"""A play's message — the one its owner gets when it opens (``digests.plays``) and the same message
redrawn after each press (``commands.plays``) — and the contract of its buttons.

One message shows one play, or a day's roll-up of several: each play is a section (account, signal,
due time, owner, steps, runbook), a context of who did what (``status_line``), and its buttons
(Accept, Done…, Snooze…, Reassign…) while it is not closed. Every button's value names its play and
the plays of its message (``PlayButton``), so a press redraws the whole message from the database.
A message holds at most ``MAX_PLAYS`` plays (3 blocks each, within Slack's 50); the rest are
counted with "see /plays mine".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from blocks import kit
from blocks.format import slack_date
from blocks.text import MAX_MESSAGE_BLOCKS, clip, link_url, slack_escape
from services.plays import PlayView
from storage.plays import PlayEventRow

ACCEPT, DONE, SNOOZE, REASSIGN = "play_accept", "play_done", "play_snooze", "play_reassign"
ACTIONS = (ACCEPT, DONE, SNOOZE, REASSIGN)
MAX_PLAYS = 15  # 1 header + 15 × 3 blocks + 1 trailer ≤ 50
OUTCOME_WORDS = {"saved": "saved", "expanded": "expanded", "churned": "churned", "no_action": "no action"}
ROLE_WORDS = {"csm": "CSM", "ae": "AE", "support_lead": "support lead", "exec_sponsor": "exec sponsor"}


class PlayButton(BaseModel):
    """A play button's value: the play (``p``) and the plays its message shows (``m``)."""

    model_config = ConfigDict(extra="ignore")
    p: StrictInt | None = None
    m: list[StrictInt] = []
    x: StrictInt = 0  # plays of a roll-up beyond those shown

    @classmethod
    def parse(cls, value: str) -> PlayButton:
        """What a value names; an empty model when it is not ours (values come from Slack)."""
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            return cls()

    @property
    def shown(self) -> list[int]:
        return self.m[:MAX_PLAYS] or ([self.p] if self.p is not None else [])


def _words(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value[:5])
    return str(value)


def signal_words(view: PlayView) -> str:
    """Why it was opened, as it stood then (escaped mrkdwn)."""
    signal = view.row.signal or {}
    trigger = signal.get("trigger")
    if view.row.source == "import":
        return "imported from the CRM"
    if trigger == "hand" or view.row.source == "hand":
        by = (signal.get("values") or {}).get("by")
        return f"opened by hand{f' by <@{slack_escape(by)}>' if by else ''}"
    values = signal.get("values") or {}
    facts = ", ".join(
        f"{slack_escape(str(k).replace('_', ' '))} {slack_escape(_words(v))}" for k, v in values.items()
    )
    as_of = f" (as of {slack_escape(signal['as_of'])})" if signal.get("as_of") else ""
    name = slack_escape(str(trigger or "signal").replace("_", " "))
    return clip(f"{name}{as_of}" + (f": {facts}" if facts else ""), 600)


def status_line(event: PlayEventRow) -> str | None:
    """Who did what and when; None for the opening (the section says it)."""
    who = f"<@{event.actor_slack}>" if event.actor_slack else slack_escape(event.actor_name or "someone")
    when = slack_date(event.at)
    detail = event.detail or {}
    if event.kind == "accepted":
        return f":raised_hand: Accepted by {who} {when}"
    if event.kind == "snoozed":
        until = detail.get("until")
        until_words = slack_date(dt.datetime.fromisoformat(until)) if isinstance(until, str) else "later"
        return f":zzz: Snoozed until {until_words} by {who} {when}"
    if event.kind == "reassigned":
        return f":arrows_counterclockwise: Reassigned by {who} {when}"
    if event.kind == "closed":
        outcome = OUTCOME_WORDS.get(str(detail.get("outcome")), slack_escape(detail.get("outcome")))
        note = detail.get("note")
        tail = f": “{clip(slack_escape(note), 300)}”" if note else ""
        return f":checkered_flag: Done — *{outcome}* — by {who} {when}{tail}"
    return None


def owner_words(view: PlayView) -> str:
    row = view.row
    if row.owner_slack:
        return f"<@{row.owner_slack}>"
    if row.owner_name:
        return slack_escape(row.owner_name)
    if row.owner_channel:
        return f"nobody yet (<#{row.owner_channel}>)"
    return "nobody yet"


def _state_words(view: PlayView, now: dt.datetime) -> str:
    row = view.row
    if row.state == "closed":
        return f"closed: *{OUTCOME_WORDS.get(row.outcome or '', slack_escape(row.outcome))}*"
    due = ""
    if row.due_at is not None:
        due = f"{'*overdue*, was due' if view.overdue else 'due'} {slack_date(row.due_at)}"
    state = {"open": "open", "accepted": "accepted", "snoozed": "snoozed"}.get(row.state, row.state)
    if row.state == "snoozed" and row.snoozed_until:
        state = f"snoozed until {slack_date(row.snoozed_until)}"
    return ", ".join(p for p in (state, due) if p)


def play_section(view: PlayView, now: dt.datetime, *, steps: bool = True) -> str:
    row = view.row
    lines = [
        f"*{clip(slack_escape(view.title), 150)}* — *{clip(slack_escape(row.account_name), 150)}* "
        f"(`{clip(slack_escape(row.account_external_id), 60)}`)",
        f"Why: {signal_words(view)}",
        f"Owner ({ROLE_WORDS.get(row.owner_role, slack_escape(row.owner_role))}): {owner_words(view)} · "
        f"{_state_words(view, now)}",
    ]
    if steps and view.steps:
        numbered = "\n".join(f"{i}. {clip(slack_escape(s), 200)}" for i, s in enumerate(view.steps[:8], 1))
        lines.append(f"Steps:\n{numbered}")
    if view.runbook_url:
        lines.append(f"<{slack_escape(link_url(view.runbook_url))}|Runbook>")
    if row.note and row.state != "closed":
        lines.append(f"Note: {clip(slack_escape(row.note), 300)}")
    return clip("\n".join(lines), 2900)


def buttons(view: PlayView, shown: list[int], more: int = 0) -> kit.Block:
    value: dict[str, Any] = {"p": view.row.id, "m": shown}
    if more:
        value["x"] = more
    elements = []
    if view.row.state != "accepted":
        elements.append(kit.button("Accept", ACCEPT, value, primary=True))
    elements += [
        kit.button("Done…", DONE, value),
        kit.button("Snooze…", SNOOZE, value),
        kit.button("Reassign…", REASSIGN, value),
    ]
    return kit.actions(elements, block_id=f"play:{view.row.id}")


def play_blocks(
    view: PlayView, shown: list[int], now: dt.datetime, *, steps: bool = True, more: int = 0
) -> list[kit.Block]:
    blocks = [kit.section(play_section(view, now, steps=steps))]
    history = [line for e in view.history if (line := status_line(e))]
    if history:
        blocks.append(kit.context("\n".join(history[-5:])))
    if view.row.state != "closed":
        blocks.append(buttons(view, shown, more))
    return blocks


def play_message(views: list[PlayView], now: dt.datetime, *, more: int = 0) -> dict[str, Any]:
    """chat.postMessage arguments (no channel) for one play or a roll-up of several (at most
    ``MAX_PLAYS`` shown; ``more`` others are counted)."""
    shown_views = views[:MAX_PLAYS]
    more += len(views) - len(shown_views)
    shown = [v.row.id for v in shown_views]
    if len(shown_views) == 1 and not more:
        v = shown_views[0]
        title = f"Play: {v.title} — {v.row.account_name}"
        blocks = [kit.header(title), *play_blocks(v, shown, now)]
    else:
        n = len(shown_views) + more
        title = f"{n} new plays for you"
        blocks = [kit.header(title)]
        for v in shown_views:
            blocks += play_blocks(v, shown, now, more=more)
        if more:
            blocks.append(kit.context(f"…and {more} more, see `/plays mine`."))
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return {"text": clip(slack_escape(title), 300), "blocks": blocks, "unfurl_links": False}


def play_line(view: PlayView, now: dt.datetime, *, owner: bool = True) -> str:
    """One play on one line, as ``/plays``, App Home and ``/health`` list it."""
    row = view.row
    who = f" · {owner_words(view)}" if owner else ""
    return (
        f"• *{clip(slack_escape(view.title), 120)}* — {clip(slack_escape(row.account_name), 120)} "
        f"(`{clip(slack_escape(row.account_external_id), 60)}`){who} · {_state_words(view, now)}"
    )


def play_lines(views: list[PlayView], now: dt.datetime, *, owner: bool = True, limit: int = 100) -> list[str]:
    """The lines of a list, grouped ten to a section's text, the rest counted."""
    lines = [play_line(v, now, owner=owner) for v in views[:limit]]
    chunks = ["\n".join(lines[i : i + 10]) for i in range(0, len(lines), 10)]
    if len(views) > limit:
        chunks.append(f"…and {len(views) - limit} more.")
    return chunks
