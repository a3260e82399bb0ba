"""Slack identities: linking people to Slack users by e-mail (the rules in ``storage.identities``).

Slack itself is asked by the callers (``bot/identity.py``): at an import of people, when an unknown
Slack user runs a command, and in bulk (``retention-bot people link-slack``). Each function here owns
its transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from storage import identities as store
from storage.db import Database
from storage.identities import LinkReport

__all__ = ["LinkReport", "count_people", "is_linked", "link_by_email", "link_user", "unlinked_emails"]


def is_linked(db: Database, ws: int, slack_user_id: str) -> bool:
    with db.read() as session:
        return store.is_linked(session, ws, slack_user_id)


def unlinked_emails(db: Database, ws: int, emails: list[str] | None = None) -> list[str]:
    """The people without a Slack id (of ``emails`` only, when given)."""
    with db.read() as session:
        return store.unlinked_emails(session, ws, emails)


def count_people(db: Database, ws: int) -> tuple[int, int]:
    """(people, people without a Slack id)."""
    with db.read() as session:
        return store.count_people(session, ws)


def link_by_email(db: Database, ws: int, slack_ids: Mapping[str, str], *, searched: list[str]) -> LinkReport:
    """Link everyone of ``slack_ids`` (e-mail → Slack id) at once."""
    with db.write() as session:
        return store.link_by_email(session, ws, slack_ids, searched=searched)


def link_user(db: Database, ws: int, slack_user_id: str, email: str) -> str | None:
    """Link one Slack user to the person with that e-mail; the person's name when they are now linked
    (None: nobody has that e-mail, or they have another Slack id). Two requests of one new user at
    once both try: the second finds the link made (or the unique key refuses it) and nothing breaks."""
    try:
        with db.write() as session:
            store.link_by_email(session, ws, {email: slack_user_id}, searched=[email])
    except IntegrityError:
        pass  # another process linked someone to this Slack id first
    with db.read() as session:
        return store.person_name(session, ws, slack_user_id)
