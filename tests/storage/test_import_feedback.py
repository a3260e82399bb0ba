"""The feedback import kind: themes by name (created, or followed through a merge), all or nothing,
re-import changes nothing, a new theme for an item is an update, an empty theme keeps the item's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import feedback as store
from storage import models as m
from storage.db import Database
from storage.errors import ImportFailed
from tests.support import NOW
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load

FEEDBACK = """
    external_id,account,kind,text,theme,importance,contact,logged_at,logged_by_email
    ZD-1,A1,request,SAML via Okta,SSO,high,cto@acme.com,2026-11-01T10:00:00Z,ana@x.io
    ZD-2,A3,bug,"Export, then <!channel> crash",Exports,medium,,2026-11-02T10:00:00Z,
    ZD-3,A1,pain,Slow dashboards,,low,,2026-11-03T10:00:00Z,
"""


def _themes(db: Database) -> dict[str, int]:
    with db.read() as session:
        rows = session.execute(
            select(m.FeedbackItem.external_id, m.FeedbackTheme.name).outerjoin(
                m.FeedbackTheme, m.FeedbackTheme.id == m.FeedbackItem.theme_id
            )
        ).all()
    return {ext: name for ext, name in rows}  # type: ignore[misc]


def test_feedback_imports_with_themes_and_reimport_changes_nothing(
    db: Database, ws: int, tmp_path: Path
) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    first = load(db, ws, "feedback", FEEDBACK, tmp_path)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert _themes(db) == {"ZD-1": "SSO", "ZD-2": "Exports", "ZD-3": None}
    with db.read() as session:
        item = session.scalars(select(m.FeedbackItem).where(m.FeedbackItem.external_id == "ZD-2")).one()
        created = session.scalar(select(m.FeedbackTheme.created_at).where(m.FeedbackTheme.name == "SSO"))
    assert (item.kind, item.text, item.source) == ("bug", "Export, then <!channel> crash", "import")
    assert created == dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)  # first heard
    again = load(db, ws, "feedback", FEEDBACK, tmp_path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    # A theme merged since: its name leads to the theme it went into, and that is no change.
    with db.write() as session:
        sso = store.theme_by_name(session, ws, "SSO")
        target, _ = store.ensure_theme(session, ws, "Single sign-on", by="UADMIN", now=NOW)
        assert sso is not None
        store.merge(session, ws, sso.id, target.id, by="UADMIN", now=NOW)
    again = load(db, ws, "feedback", FEEDBACK, tmp_path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert _themes(db)["ZD-1"] == "Single sign-on"
    moved = load(db, ws, "feedback", FEEDBACK.replace('crash",Exports', 'crash",Reporting'), tmp_path)
    assert (moved.inserted, moved.updated, moved.unchanged) == (0, 1, 2)
    assert _themes(db)["ZD-2"] == "Reporting"


def test_a_bad_row_writes_nothing_not_even_themes(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    bad = FEEDBACK + "    ZD-4,NOPE,request,Who?,Ghost theme,,,2026-11-04T10:00:00Z,\n"
    bad += "    ZD-5,A1,wish,Maybe,,,,2026-11-04T10:00:00Z,\n"
    with pytest.raises(ImportFailed) as failed:
        load(db, ws, "feedback", bad, tmp_path)
    words = " ".join(failed.value.lines())
    assert "NOPE" in words and "kind" in words
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(m.FeedbackItem)) == 0
        assert session.scalar(select(func.count()).select_from(m.FeedbackTheme)) == 0
