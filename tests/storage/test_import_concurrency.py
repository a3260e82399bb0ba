"""Import: several imports of the same new rows at once all succeed, and their counts add up.

Under PostgreSQL's READ COMMITTED each import decides from its own snapshot which rows are new; the
merge must still insert each row once (the unique keys decide) and report only what it inserted.
SQLite serialises writers (``BEGIN IMMEDIATE``), so there the same test checks the plain case.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage import models as m
from storage.db import Database
from storage.demo import KIND_ORDER, DemoConfig, DemoData
from storage.importer import KINDS, ImportResult, import_records
from tests.support.helpers import at_once

IMPORTS = 4  # at once, each in its own thread, connection and transaction


def _count(db: Database, table: object) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def _import_at_once(db: Database, ws: int, kind: str, records: list[dict[str, object]]) -> list[ImportResult]:
    def one(_: int) -> ImportResult:
        with db.write() as s:
            items = ((line, dict(rec), None) for line, rec in enumerate(records, start=1))
            return import_records(s, ws, kind, items, source=f"import {kind}")

    return at_once(one, list(range(IMPORTS)))


@pytest.mark.parametrize("trial", range(2))
def test_imports_of_the_same_new_rows_at_once_insert_each_row_once(db: Database, ws: int, trial: int) -> None:
    data = DemoData(DemoConfig(accounts=120, months=8, seed=trial, as_of=dt.date(2026, 11, 23), usage_days=4))
    for kind in KIND_ORDER:
        records = list(data.records(kind))
        results = _import_at_once(db, ws, kind, records)
        assert [r.total for r in results] == [len(records)] * IMPORTS, kind
        # Exactly one import inserted each row; the others found it there, equal to theirs.
        assert sum(r.inserted for r in results) == len(records), (kind, results)
        assert sum(r.updated for r in results) == 0, (kind, results)
        assert _count(db, KINDS[kind].table) == len(records), kind

    features = {rec["feature"] for rec in data.records("features")}
    assert _count(db, m.FeatureCatalogue) == len(features)
    credited_people = sum(len(set(rec["credited_people"])) for rec in data.records("wins"))
    credited_teams = sum(len(set(rec["credited_teams"])) for rec in data.records("wins"))
    assert _count(db, m.WinCreditPerson) == credited_people
    assert _count(db, m.WinCreditTeam) == credited_teams


def test_imports_of_the_same_changed_rows_at_once_update_them_once(db: Database, ws: int) -> None:
    data = DemoData(DemoConfig(accounts=120, months=8, seed=5, as_of=dt.date(2026, 11, 23), usage_days=4))
    for kind in ("people", "accounts"):
        _import_at_once(db, ws, kind, list(data.records(kind)))
    renamed = [{**rec, "name": f"{rec['name']} (renamed)"} for rec in data.records("accounts")]
    results = _import_at_once(db, ws, "accounts", renamed)
    # Whoever came first renamed every account; the others found the new names already there.
    assert sum(r.updated for r in results) == len(renamed), results
    assert sum(r.inserted for r in results) == 0, results
    with db.read() as s:
        names = set(s.scalars(select(m.Account.name)))
    assert names == {rec["name"] for rec in renamed}


def test_imports_of_the_same_new_rows_with_different_values_at_once_count_true(db: Database, ws: int) -> None:
    data = DemoData(DemoConfig(accounts=120, months=8, seed=6, as_of=dt.date(2026, 11, 23), usage_days=4))
    _import_at_once(db, ws, "people", list(data.records("people")))
    accounts = list(data.records("accounts"))

    def one(n: int) -> ImportResult:
        with db.write() as s:
            items = (
                (line, {**rec, "name": f"{rec['name']} v{n}"}, None) for line, rec in enumerate(accounts, 1)
            )
            return import_records(s, ws, "accounts", items, source=f"import v{n}")

    results = at_once(one, list(range(IMPORTS)))
    # One import inserted each account; every later one found it with another name and renamed it.
    assert sum(r.inserted for r in results) == len(accounts), results
    assert sum(r.updated for r in results) == (IMPORTS - 1) * len(accounts), results
    with db.read() as s:
        names = s.scalars(select(m.Account.name)).all()
    assert len(names) == len(accounts)
    assert all(name.rsplit(" v", 1)[1] in {str(n) for n in range(IMPORTS)} for name in names)
