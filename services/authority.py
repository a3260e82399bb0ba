"""Who may do what to a handoff: one rule per action, asked by every way in — the slash command, the
buttons on an SLA ping and the dialogs — so that a button or a dialog is never a way around the
command's check. (Pings are also posted to escalation channels, where anyone can press their buttons.)

``may`` returns None when the person may act, else a ``NotAllowed`` saying who may (data, not words:
each surface writes its own sentence); the caller records nothing.

The admin-only subcommands (``/win channel``, ``/scorecard subscribe|unsubscribe``) check
``Context.is_admin`` where they are handled; the other buttons (share a card, pick an account) only
show or share what the person could look up themselves.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from sqlalchemy.orm import Session

from services.errors import Refusal
from storage import models as m
from storage.people import person_by_slack_id

Action = Literal["ack", "done", "snooze", "pause", "resume", "open"]


class NotAllowed(Refusal):
    """The person may not do ``action``. ``chain`` names who may (the owner, their manager, that
    manager's manager; an admin always may); an empty chain means only people in the people list may,
    and ``listed`` says whether the person is in it."""

    def __init__(
        self, action: Action, external_id: str | None, chain: tuple[str, ...] = (), *, listed: bool = False
    ) -> None:
        super().__init__(f"not allowed: {action} {external_id or ''}".strip())
        self.action = action
        self.external_id = external_id
        self.chain = chain
        self.listed = listed


def _chain(session: Session, handoff: m.Handoff) -> list[m.Person]:
    """The owner, their manager and that manager's manager: the people the handoff's pings go to."""
    chain: list[m.Person] = []
    person = session.get(m.Person, handoff.owner_id) if handoff.owner_id else None
    while person is not None and len(chain) < 3:
        chain.append(person)
        person = session.get(m.Person, person.manager_id) if person.manager_id else None
    return chain


def may(
    session: Session, handoff: m.Handoff, user_id: str, admins: Collection[str], action: Action
) -> NotAllowed | None:
    """The owner, anyone above them up to the manager's manager, or an admin. A handoff without an
    owner may be changed by anyone in the people list (someone the bot knows), or an admin."""
    if user_id in admins:
        return None
    me = person_by_slack_id(session, handoff.workspace_id, user_id)
    chain = _chain(session, handoff)
    if not chain:
        return None if me is not None else NotAllowed(action, handoff.external_id)
    if me is not None and me.id in {p.id for p in chain}:
        return None
    return NotAllowed(action, handoff.external_id, tuple(p.name for p in chain), listed=me is not None)


def may_open(session: Session, ws: int, user_id: str, admins: Collection[str]) -> NotAllowed | None:
    """Anyone in the people list, or an admin: a handoff names its owner and starts an SLA clock that
    pings people, so it is not for someone the bot does not know."""
    if user_id in admins or person_by_slack_id(session, ws, user_id) is not None:
        return None
    return NotAllowed("open", None)
