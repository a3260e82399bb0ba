"""Import kind `plays`: plays run elsewhere (CRM tasks), all or nothing, one open play per
(account, play) whichever way it was opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage import models as m
from storage.db import Database
from storage.errors import ImportFailed
from storage.plays import NewPlay, insert_plays
from tests.support import NOW
from tests.support.helpers import load

PEOPLE = """
    email,name,team
    ana@x.io,Ana,cs
"""
ACCOUNTS = """
    external_id,name,segment,csm_email
    A1,Acme,smb,ana@x.io
    A2,Beta,smb,
"""
PLAYS = """
    external_id,account,play,owner_email,owner_role,opened_at,due_at,closed_at,outcome,note
    T1,A1,save_call,ana@x.io,csm,2026-09-01T10:00Z,2026-09-03T10:00Z,2026-09-20T16:00Z,saved,"Renewed, 2y"
    T2,A1,save_call,ana@x.io,csm,2026-11-01T10:00:00Z,,,,
    T3,A2,crm-qbr-prep,,ae,2026-11-02T10:00:00+01:00,,,,
"""


@pytest.fixture
def base(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    return db


def _plays(db: Database, ws: int) -> dict[str, m.Play]:
    with db.read() as s:
        return {
            p.external_id or f"#{p.id}": p for p in s.scalars(select(m.Play).where(m.Play.workspace_id == ws))
        }


def test_plays_import_and_reimport(base: Database, ws: int, tmp_path: Path) -> None:
    first = load(base, ws, "plays", PLAYS, tmp_path)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    got = _plays(base, ws)
    assert got["T1"].state == "closed" and got["T1"].open_key is None and got["T1"].outcome == "saved"
    assert got["T1"].note == "Renewed, 2y" and got["T1"].source == "import"
    assert got["T2"].state == "open" and got["T2"].open_key == "save_call" and got["T2"].owner_id is not None
    assert got["T3"].play_key == "crm-qbr-prep" and got["T3"].opened_at.hour == 9  # UTC
    again = load(base, ws, "plays", PLAYS, tmp_path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    closing = PLAYS.replace("2026-11-01T10:00:00Z,,,,", "2026-11-01T10:00:00Z,,2026-11-20T10:00:00Z,churned,")
    third = load(base, ws, "plays", closing, tmp_path)
    assert third.updated == 1
    assert _plays(base, ws)["T2"].state == "closed" and _plays(base, ws)["T2"].outcome == "churned"


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("T9,A1,save_call,,csm,2026-11-01T10:00:00Z,,,saved,", "an open play has no outcome"),
        ("T9,A1,save_call,,csm,2026-11-01T10:00:00Z,,2026-11-02T10:00:00Z,,", "outcome: required"),
        ("T9,A1,save_call,,csm,2026-11-01T10:00:00Z,,2026-10-02T10:00:00Z,saved,", "before opened_at"),
        ("T9,A1,save_call,,boss,2026-11-01T10:00:00Z,,,,", "owner_role"),
        ("T9,A1,save_call,,csm,2026-11-01T10:00:00Z,,2026-11-02T10:00:00Z,won,", "outcome"),
        ("T9,ZZ,save_call,,csm,2026-11-01T10:00:00Z,,,,", "unknown account 'ZZ'"),
        ("T9,A1,save_call,,csm,2026-11-01T10:00:00Z,,,,", "second open save_call play"),
    ],
)
def test_bad_plays_write_nothing(base: Database, ws: int, tmp_path: Path, row: str, words: str) -> None:
    with pytest.raises(ImportFailed) as failed:
        load(base, ws, "plays", PLAYS.rstrip() + "\n    " + row + "\n", tmp_path)
    assert words in "\n".join(failed.value.lines())
    assert _plays(base, ws) == {}


def test_an_open_play_in_the_bot_refuses_an_open_import(base: Database, ws: int, tmp_path: Path) -> None:
    with base.write() as s:
        a1 = s.scalar(select(m.Account.id).where(m.Account.external_id == "A1"))
        assert a1 is not None
        insert_plays(s, ws, [NewPlay(a1, "save_call", None, "csm", None, None, None, source="hand")], NOW)
    with pytest.raises(ImportFailed) as failed:
        load(base, ws, "plays", PLAYS, tmp_path)
    assert "already has an open save_call play (opened in the bot" in "\n".join(failed.value.lines())
    assert len(_plays(base, ws)) == 1


def test_a_reimport_keeps_what_was_done_in_the_bot(base: Database, ws: int, tmp_path: Path) -> None:
    """A file that still lists a play open does not reopen one closed in Slack, nor undo an accept or
    a snooze; a file that closes a play is taken."""
    import datetime as dt

    load(base, ws, "plays", PLAYS, tmp_path)
    closed_at = dt.datetime(2026, 11, 10, 15, 0, tzinfo=dt.UTC)
    with base.write() as s:
        t2, t3 = (s.scalar(select(m.Play).where(m.Play.external_id == k)) for k in ("T2", "T3"))
        assert t2 is not None and t3 is not None
        t2.state, t2.open_key, t2.closed_at, t2.outcome, t2.note = (
            "closed",
            None,
            closed_at,
            "saved",
            "Saved in Slack",
        )
        t3.state, t3.accepted_at = "accepted", closed_at
    again = load(base, ws, "plays", PLAYS, tmp_path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    got = _plays(base, ws)
    assert (got["T2"].state, got["T2"].outcome, got["T2"].note) == ("closed", "saved", "Saved in Slack")
    assert got["T2"].closed_at == closed_at and got["T2"].open_key is None
    assert got["T3"].state == "accepted" and got["T3"].open_key == "crm-qbr-prep"
    closing = PLAYS.replace(
        "2026-11-02T10:00:00+01:00,,,,", "2026-11-02T10:00:00+01:00,,2026-11-21T10:00:00Z,no_action,"
    )
    assert load(base, ws, "plays", closing, tmp_path).updated == 1
    got = _plays(base, ws)
    assert (got["T3"].state, got["T3"].outcome, got["T3"].open_key) == ("closed", "no_action", None)
    assert got["T2"].outcome == "saved"  # still as closed in Slack
