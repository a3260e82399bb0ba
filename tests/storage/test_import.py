"""Import: good files of every kind, every kind of bad record, idempotency, all-or-nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage import models as m
from storage.db import Database
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.errors import ImportFailed
from storage.importer import KINDS, import_file
from tests.support.helpers import load

PEOPLE = """
    email,name,team,manager_email,timezone
    ann@x.io,Ann,cs,boss@x.io,Europe/Berlin
    boss@x.io,Boss,leadership,,America/New_York
    bob@x.io,Bob,sales,ann@x.io,UTC
"""
ACCOUNTS = """
    external_id,name,domain,segment,csm_email,ae_email
    A1,Acme Inc,https://www.acme.com/about,smb,ann@x.io,bob@x.io
    A2,Globex,globex.com,enterprise,,
"""


def count(db: Database, model: type[m.Base]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def base(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    return db


def test_every_kind_imports_and_reimport_changes_nothing(db: Database, ws: int, tmp_path: Path) -> None:
    data = DemoData(DemoConfig(accounts=25, months=14, seed=3, as_of=dt.date(2026, 11, 23), usage_days=10))
    paths = write_files(data, tmp_path / "demo")
    assert set(paths) == set(KINDS)
    for kind in KIND_ORDER:
        expected = sum(1 for _ in data.records(kind))
        with db.write() as s:
            first = import_file(s, ws, kind, paths[kind])
        assert (first.inserted, first.updated, first.unchanged) == (expected, 0, 0), kind
    for kind in KIND_ORDER:
        with db.write() as s:
            again = import_file(s, ws, kind, paths[kind])
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, again.total), kind
    assert count(db, m.MrrSnapshot) == sum(1 for _ in data.records("revenue"))


def test_people_managers_resolve_within_the_same_file(base: Database) -> None:
    with base.read() as s:
        managers = dict(s.execute(select(m.Person.email, m.Person.manager_id)).all())
        ids = dict(s.execute(select(m.Person.email, m.Person.id)).all())
    assert managers == {"ann@x.io": ids["boss@x.io"], "boss@x.io": None, "bob@x.io": ids["ann@x.io"]}


def test_changed_record_updates_in_place(base: Database, ws: int, tmp_path: Path) -> None:
    with base.read() as s:
        before = s.scalars(select(m.Account).where(m.Account.external_id == "A1")).one()
    result = load(
        base,
        ws,
        "accounts",
        """
        external_id,name,domain,segment,csm_email,ae_email
        A1,Acme Corp,acme.com,mid-market,bob@x.io,bob@x.io
        A2,Globex,globex.com,enterprise,,
    """,
        tmp_path,
    )
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    with base.read() as s:
        after = s.scalars(select(m.Account).where(m.Account.external_id == "A1")).one()
        bob = s.scalar(select(m.Person.id).where(m.Person.email == "bob@x.io"))
    assert after.id == before.id
    assert (after.name, after.name_key, after.segment, after.csm_id, after.domain) == (
        "Acme Corp",
        "acme corp",
        "mid-market",
        bob,
        "acme.com",
    )


def test_manager_change_counts_as_update(base: Database, ws: int, tmp_path: Path) -> None:
    result = load(
        base,
        ws,
        "people",
        PEOPLE.replace("bob@x.io,Bob,sales,ann@x.io", "bob@x.io,Bob,sales,boss@x.io"),
        tmp_path,
    )
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)


def test_win_credits_follow_the_file(base: Database, ws: int, tmp_path: Path) -> None:
    win = {
        "external_id": "w1",
        "account": "A1",
        "kind": "save",
        "text": "Saved it",
        "won_on": "2026-11-02",
        "credited_people": ["ann@x.io", "bob@x.io"],
        "credited_teams": "cs;support",
    }
    first = load(base, ws, "wins", json.dumps(win), tmp_path, ".jsonl")
    same = load(base, ws, "wins", json.dumps(win), tmp_path, ".jsonl")
    changed = load(
        base,
        ws,
        "wins",
        json.dumps({**win, "credited_people": ["ann@x.io"], "credited_teams": ["cs", "sales"]}),
        tmp_path,
        ".jsonl",
    )
    assert (first.inserted, same.unchanged, changed.updated) == (1, 1, 1)
    with base.read() as s:
        teams = s.scalars(select(m.WinCreditTeam.team).order_by(m.WinCreditTeam.team)).all()
        people = s.scalars(
            select(m.Person.email).join(m.WinCreditPerson, m.WinCreditPerson.person_id == m.Person.id)
        ).all()
    assert (teams, people) == (["cs", "sales"], ["ann@x.io"])


BAD_CASES = [
    ("revenue", "account,month,mrr\nA1,2026-13,5\n", "2: month: month must be in 1..12"),
    (
        "revenue",
        "account,month,mrr\nA1,2026-10,12.345\n",
        "2: mrr: Decimal input should have no more than 2 decimal places",
    ),
    ("revenue", "account,month,mrr\nA1,2026-10,-5\n", "2: mrr: Input should be greater than or equal to 0"),
    ("revenue", "account,month,mrr\nA1,2026-10,abc\n", "2: mrr: Input should be a valid decimal"),
    (
        "revenue",
        "account,month,mrr\nZZ,2026-10,5\n",
        "2: account: unknown account 'ZZ' (import accounts first)",
    ),
    ("revenue", "account,month\nA1,2026-10\n", "1: header: missing required column(s) 'mrr'"),
    ("revenue", "account,month,mrr,color\nA1,2026-10,5,red\n", "1: header: unknown column(s) 'color'"),
    ("revenue", "account,month,mrr\nA1,2026-10\n", "2: line: has 2 fields, the header has 3"),
    (
        "revenue",
        "account,month,mrr\nA1,2026-10,5\nA1,2026-10-15,6\n",
        "3: account, month: same key as line 2",
    ),
    ("usage", "account,day,active_users\nA1,2026-02-30,3\n", "2: day: Input should be a valid date"),
    ("people", "email,name,team\nnot-an-email,X,cs\n", "2: email: not an e-mail address"),
    ("people", "email,name,team\na@x.io,X,janitors\n", "2: team: Input should be"),
    (
        "people",
        "email,name,team,manager_email\na@x.io,X,cs,ghost@x.io\n",
        "2: manager_email: unknown person 'ghost@x.io'",
    ),
    (
        "people",
        "email,name,team,manager_email\na@x.io,X,cs,a@x.io\n",
        "2: manager_email: a person cannot be their own",
    ),
    ("people", "email,name,team,timezone\na@x.io,X,cs,Mars/Olympus\n", "2: timezone: unknown IANA time zone"),
    (
        "accounts",
        "external_id,name,segment,csm_email\nA9,N,smb,nobody@x.io\n",
        "2: csm_email: unknown person",
    ),
    ("accounts", "external_id,name,segment,domain\nA9,N,smb,not a domain\n", "2: domain: not a domain name"),
    (
        "tickets",
        "external_id,account,opened_at,closed_at\nt1,A1,2026-10-02T00:00Z,2026-10-01T00:00Z\n",
        "2: closed_at: before opened_at",
    ),
    (
        "tickets",
        "external_id,account,opened_at,csat\nt1,A1,2026-10-02T00:00Z,9\n",
        "2: csat: Input should be less than",
    ),
    (
        "risk_flags",
        "external_id,account,flagged_on,reason,outcome\nr1,A1,2026-10-01,x,saved\n",
        "2: resolved_on: required when outcome is saved",
    ),
    (
        "handoffs",
        "external_id,account,kind,from_team,to_team,opened_at,due_at\nh1,A1,x,sales,cs,2026-10-02T00:00Z,2026-10-01T00:00Z\n",
        "2: due_at: before opened_at",
    ),
    ("milestones", "account,kind\nA1,launch_party\n", "2: kind: Input should be"),
    (
        "nps",
        "external_id,account,responded_at,score\nn1,A1,2026-10-02T00:00Z,11\n",
        "2: score: Input should be less than",
    ),
    (
        "wins",
        '{"external_id":"w","account":"A1","kind":"save","text":"t","won_on":"2026-10-01"}\n',
        "1: credited_people: credit at least one person or team",
    ),
    (
        "wins",
        '{"external_id":"w","account":"A1","kind":"save","text":"t","won_on":"2026-10-01","credited_people":"x@y.io"}\n',
        "1: credited_people: unknown person 'x@y.io'",
    ),
    ("wins", '{"external_id": "w", oops\n', "1: line: not valid JSON"),
    ("wins", '["a list"]\n', "1: line: each line must be one JSON object"),
    (
        "touchpoints",
        "external_id,account,kind,occurred_at,surprise\n",
        "1: header: unknown column(s) 'surprise'",
    ),
]


@pytest.mark.parametrize(
    ("kind", "body", "expected"), BAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CASES)]
)
def test_bad_records_are_reported_with_line_and_field(
    base: Database, ws: int, tmp_path: Path, kind: str, body: str, expected: str
) -> None:
    suffix = ".jsonl" if body.lstrip().startswith(("{", "[")) else ".csv"
    with pytest.raises(ImportFailed) as info:
        load(base, ws, kind, body, tmp_path, suffix)
    lines = info.value.lines()
    assert any(line.split(":", 1)[1].startswith(expected) for line in lines), lines


def test_a_bad_batch_writes_nothing_and_reports_every_error(base: Database, ws: int, tmp_path: Path) -> None:
    good = "\n".join(f"A1,2025-{mo:02d},{mo}00" for mo in range(1, 13))
    body = f"account,month,mrr\n{good}\nA1,2026-01,oops\nZZ,2026-02,5\nA2,2026-03\n"
    with pytest.raises(ImportFailed) as info:
        load(base, ws, "revenue", body, tmp_path)
    assert [(e.line, e.field) for e in info.value.errors] == [(14, "mrr"), (15, "account"), (16, "line")]
    assert info.value.total == 3
    assert count(base, m.MrrSnapshot) == 0


def test_error_list_is_capped_but_counted(base: Database, ws: int, tmp_path: Path) -> None:
    body = "account,month,mrr\n" + "".join(f"A1,2026-01,bad{i}\n" for i in range(250))
    with pytest.raises(ImportFailed) as info:
        load(base, ws, "revenue", body, tmp_path)
    assert info.value.total == 250
    assert len(info.value.errors) == 100
    assert info.value.lines()[-1].endswith("… and 150 more error(s)")


def test_failed_import_leaves_the_callers_transaction_alone(base: Database, ws: int, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("account,month,mrr\nZZ,2026-01,1\n")
    good = tmp_path / "good.csv"
    good.write_text("account,month,mrr\nA1,2026-01,1\n")
    with base.write() as s:
        import_file(s, ws, "revenue", good)
        with pytest.raises(ImportFailed):
            import_file(s, ws, "revenue", bad)
    assert count(base, m.MrrSnapshot) == 1


def test_workspaces_do_not_see_each_other(base: Database, ws: int, tmp_path: Path) -> None:
    from storage.workspaces import ensure_workspace
    from tests.support import NOW

    with base.write() as s:
        other = ensure_workspace(s, "other", now=NOW)
    with pytest.raises(ImportFailed, match="1 error"):
        load(
            base, other, "revenue", "account,month,mrr\nA1,2026-01,1\n", tmp_path
        )  # A1 is the first workspace's
    load(base, other, "accounts", "external_id,name,segment\nA1,Other Acme,smb\n", tmp_path)
    result = load(base, other, "revenue", "account,month,mrr\nA1,2026-01,1\n", tmp_path)
    assert result.inserted == 1
    with base.read() as s:
        owners = s.scalars(
            select(m.Account.workspace_id).join(m.MrrSnapshot, m.MrrSnapshot.account_id == m.Account.id)
        ).all()
    assert owners == [other]


def test_utc_times_and_naive_times(base: Database, ws: int, tmp_path: Path) -> None:
    load(
        base,
        ws,
        "tickets",
        """
        external_id,account,opened_at,closed_at,priority
        t1,A1,2026-10-02T09:00:00+02:00,2026-10-02 10:00:00,high
    """,
        tmp_path,
    )
    with base.read() as s:
        t = s.scalars(select(m.Ticket)).one()
    assert t.opened_at == dt.datetime(2026, 10, 2, 7, 0, tzinfo=dt.UTC)
    assert t.closed_at == dt.datetime(2026, 10, 2, 10, 0, tzinfo=dt.UTC)


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_documented_examples_import_and_every_column_is_documented(db: Database, ws: int) -> None:
    text = (DOCS / "import.md").read_text()
    for kind in KIND_ORDER:
        section = text.split(f"## {kind} — key:", 1)[1].split("\n## ", 1)[0]
        for name in KINDS[kind].model.model_fields:
            assert f"`{name}`" in section, f"docs/import.md does not document {kind}.{name}"
        path = next(p for p in (DOCS / "examples").iterdir() if p.stem == kind)
        with db.write() as s:
            result = import_file(s, ws, kind, path)
        assert result.inserted > 0, kind


def test_no_temporary_tables_are_left_on_the_connection(base: Database, ws: int, tmp_path: Path) -> None:
    good = tmp_path / "wins.jsonl"
    good.write_text(
        json.dumps(
            {
                "external_id": "w9",
                "account": "A1",
                "kind": "other",
                "text": "t",
                "won_on": "2026-11-01",
                "credited_teams": ["cs"],
            }
        )
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("account,month,mrr\nZZ,2026-01,1\n")
    listing = (
        "SELECT name FROM sqlite_temp_master WHERE type = 'table'"
        if base.is_sqlite
        else "SELECT tablename FROM pg_tables WHERE schemaname LIKE 'pg_temp%'"
    )
    with base.write() as s:
        import_file(s, ws, "wins", good)
        with pytest.raises(ImportFailed):
            import_file(s, ws, "revenue", bad)
        assert s.execute(text(listing)).all() == []
