"""Accounts as the bot shows them: finding one from what a person typed, its health card, and a
person's own accounts. Each public function owns its transaction and returns plain data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.errors import NoSingleAccount
from storage.lookup import Match, find_account


def _lookup(session: Session, ws: int, text: str) -> tuple[Match, bool]:
    """The one account ``text`` names, and whether it was taken from a typo; else `NoSingleAccount`."""
    found = find_account(session, ws, text)
    if found.match is None:
        raise NoSingleAccount(found.query, found.candidates, found.suggestions, found.more)
    return found.match, found.guessed


def resolve(session: Session, ws: int, text: str) -> Match:
    """The one account ``text`` names (CRM id, domain, name, prefix, a typo close to one name), for
    every service that takes an account query; raises `NoSingleAccount` with the candidates or the
    "did you mean" suggestions otherwise."""
    return _lookup(session, ws, text)[0]
