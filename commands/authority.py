"""Who may do what to a handoff: one rule per action, asked by every way in — the slash command, the
buttons on an SLA ping and the dialogs — so that a button or a dialog is never a way around the
command's check. (Pings are also posted to escalation channels, where anyone can press their buttons.)

A rule returns None when the person may act, else a ``Refusal`` saying who may: the caller shows it
privately and records nothing.

The admin-only subcommands (``/win channel``, ``/scorecard subscribe|unsubscribe``) check
``Context.is_admin`` where they are handled; the other buttons (share a card, pick an account) only
show or share what the person could look up themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from blocks.text import slack_escape
from storage import models as m
from storage.people import person_by_slack_id


@dataclass(frozen=True)
class Refusal:
    """Who may do it instead: ``mrkdwn`` for a message, ``plain`` for a dialog's field error, and what
    the person can do about it (``hint``, our own text)."""

    mrkdwn: str
    plain: str
    hint: str = "Ask one of them, or an admin."


Say = Callable[[str], str]


NOT_LISTED = "Ask RevOps to import you into the people list with your slack_user_id."


def _refusal(sentence: Callable[[Say, Say], str], hint: str | None = None) -> Refusal:
    """The same sentence twice: ``sentence(text, code)`` with data escaped for mrkdwn (ids as code),
    and with data as it is for plain text."""
    refusal = Refusal(
        mrkdwn=sentence(slack_escape, lambda s: f"`{slack_escape(s)}`"),
        plain=sentence(str, str),
    )
    return refusal if hint is None else replace(refusal, hint=hint)


def _chain(session: Session, handoff: m.Handoff) -> list[m.Person]:
    """The owner, their manager and that manager's manager: the people the handoff's pings go to."""
    chain: list[m.Person] = []
    person = session.get(m.Person, handoff.owner_id) if handoff.owner_id else None
    while person is not None and len(chain) < 3:
        chain.append(person)
        person = session.get(m.Person, person.manager_id) if person.manager_id else None
    return chain


def _owner_or_above(
    session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str], doing: str
) -> Refusal | None:
    """The owner, anyone above them up to the manager's manager, or an admin. A handoff without an
    owner may be changed by anyone in the people list (someone the bot knows), or an admin."""
    if user_id in admins:
        return None
    me = person_by_slack_id(session, handoff.workspace_id, user_id)
    chain = _chain(session, handoff)
    if not chain:
        if me is not None:
            return None
        return _refusal(
            lambda _, code: (
                f"Handoff {code(handoff.external_id)} has no owner: only people in the people list "
                f"or an admin can {doing}, and your Slack user isn't in the people list."
            ),
            NOT_LISTED,
        )
    if me is not None and me.id in {p.id for p in chain}:
        return None
    roles = ["the owner of {x} ({0})", "their manager ({1})", "that manager's manager ({2})"]

    def sentence(text: Say, code: Say) -> str:
        names = [text(p.name) for p in chain]
        who = [r.format(*names, x=code(handoff.external_id)) for r in roles[: len(chain)]]
        return f"Only {', '.join(who)} or an admin can {doing}."

    return _refusal(sentence)


def may_acknowledge(
    session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str]
) -> Refusal | None:
    return _owner_or_above(session, handoff, user_id, admins, "acknowledge it")


def may_finish(session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str]) -> Refusal | None:
    return _owner_or_above(session, handoff, user_id, admins, "mark it done")


def may_snooze(session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str]) -> Refusal | None:
    return _owner_or_above(session, handoff, user_id, admins, "snooze it")


def may_pause(session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str]) -> Refusal | None:
    return _owner_or_above(session, handoff, user_id, admins, "pause it")


def may_resume(session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str]) -> Refusal | None:
    return _owner_or_above(session, handoff, user_id, admins, "resume it")


def may_open_handoff(session: Session, ws: int, user_id: str, admins: Collection[str]) -> Refusal | None:
    """Anyone in the people list, or an admin: a handoff names its owner and starts an SLA clock that
    pings people, so it is not for someone the bot does not know."""
    if user_id in admins or person_by_slack_id(session, ws, user_id) is not None:
        return None
    return _refusal(
        lambda *_: (
            "Only people in the people list or an admin can open a handoff, and your Slack user "
            "isn't in the people list."
        ),
        NOT_LISTED,
    )
