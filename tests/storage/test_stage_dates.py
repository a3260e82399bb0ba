"""The kept lifecycle stage dates (storage/stage_dates.py) follow every write of their inputs — accounts'
closed/won dates, milestones, advocacy wins, promoter NPS responses — by import and by /win, and the
migration backfills them; on SQLite and PostgreSQL.

The base data (October 2026 is the scorecard's month as of 2026-11-23):

  A  closed/won 2026-09-01, kickoff 2026-10-05, first value 2026-10-08
  B  closed/won 2026-09-20, kickoff 2026-10-01
  C  closed/won 2026-10-10
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from services.policies import Policies
from services.scorecard import build_scorecard
from storage import lifecycle_metrics as lm
from storage import stage_dates
from storage.db import Database
from storage.importer import import_records
from storage.models import Account, AccountStage
from storage.wins import record_win
from tests.support.helpers import at_once, database_at, load

AS_OF = dt.date(2026, 11, 23)
OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
D = dt.date.fromisoformat


@pytest.fixture
def base(db: Database, ws: int, tmp_path: Path) -> Database:
    load(
        db,
        ws,
        "accounts",
        """
        external_id,name,segment,closed_won_on
        A,Alpha,ent,2026-09-01
        B,Beta,ent,2026-09-20
        C,Gamma,smb,2026-10-10
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "milestones",
        """
        account,kind,target_on,achieved_on
        A,kickoff,2026-09-15,2026-10-05
        A,first_value,2026-10-10,2026-10-08
        B,kickoff,2026-10-01,2026-10-01
    """,
        tmp_path,
    )
    return db


def kept(db: Database, ws: int) -> dict[str, tuple[dt.date | None, ...]]:
    """Each account's kept (closed/won, onboarded, adopted, champion) dates, by CRM id."""
    with db.read() as s:
        rows = s.execute(
            select(
                Account.external_id,
                AccountStage.closed_won_on,
                AccountStage.onboarded_on,
                AccountStage.adopted_on,
                AccountStage.champion_on,
            ).join(AccountStage, AccountStage.account_id == Account.id)
        ).all()
    return {ext: tuple(dates) for ext, *dates in rows}


def derived(db: Database, ws: int) -> dict[str, tuple[dt.date | None, ...]]:
    """The same dates derived from the inputs now (what a refresh would write)."""
    with db.read() as s:
        q = stage_dates.entry_dates(s, ws).subquery()
        rows = s.execute(
            select(
                Account.external_id, q.c.closed_won_on, q.c.onboarded_on, q.c.adopted_on, q.c.champion_on
            ).join(q, q.c.id == Account.id)
        ).all()
    return {ext: tuple(None if d is None else _date(d) for d in dates) for ext, *dates in rows}


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def conversion(db: Database, ws: int, key: str) -> dict[str, object]:
    with db.read() as s:
        card = build_scorecard(s, ws, as_of=AS_OF, period_kind="month", policies=Policies())
    return card.kpi(key).current.detail


def onboarding(db: Database, ws: int) -> tuple[float | None, int]:
    with db.read() as s:
        ob = lm.onboarding_time(s, ws, OCT, NOV)
    return ob.median_days, ob.accounts


def test_imports_of_accounts_and_milestones_keep_the_dates(base: Database, ws: int, tmp_path: Path) -> None:
    assert kept(base, ws) == {
        "A": (D("2026-09-01"), D("2026-10-05"), D("2026-10-08"), None),
        "B": (D("2026-09-20"), D("2026-10-01"), None, None),
        "C": (D("2026-10-10"), None, None, None),
    }
    # Onboarded → Adopted in October: B was onboarded on Oct 1 (the start), not before it: nobody.
    assert conversion(base, ws, "stage_conversion_adopted")["in_stage_at_start"] == 0
    # Onboarding time in October: A 34 days (Sep 1 → Oct 5), B 11 (Sep 20 → Oct 1).
    assert onboarding(base, ws) == (22.5, 2)
    # B's kickoff moves back to September: now Onboarded at the start; then it adopts in October.
    load(
        base,
        ws,
        "milestones",
        "account,kind,target_on,achieved_on\nB,kickoff,2026-10-01,2026-09-25\nB,adopted,2026-12-01,2026-10-20\n",
        tmp_path,
    )
    assert kept(base, ws)["B"] == (D("2026-09-20"), D("2026-09-25"), D("2026-10-20"), None)
    detail = conversion(base, ws, "stage_conversion_adopted")
    assert (detail["in_stage_at_start"], detail["converted"]) == (1, 1)
    assert onboarding(base, ws) == (34, 1)  # B's kickoff is in September now
    # Its adoption is cleared again (an empty achieved date): the dates follow.
    load(base, ws, "milestones", "account,kind,target_on,achieved_on\nB,adopted,2026-12-01,\n", tmp_path)
    assert kept(base, ws)["B"] == (D("2026-09-20"), D("2026-09-25"), None, None)
    # C's closed/won date changes in a CRM re-export; a new account D arrives with a kickoff only.
    load(
        base,
        ws,
        "accounts",
        "external_id,name,segment,closed_won_on\nA,Alpha,ent,2026-09-05\nC,Gamma,smb,2026-08-01\nD,Delta,smb,\n",
        tmp_path,
    )
    load(base, ws, "milestones", "account,kind,target_on,achieved_on\nD,kickoff,,2026-10-12\n", tmp_path)
    got = kept(base, ws)
    assert got["C"] == (D("2026-08-01"), None, None, None)
    assert got["D"] == (D("2026-10-12"), D("2026-10-12"), None, None)  # won taken from the kickoff
    assert got["A"][0] == D("2026-09-05")
    # Onboarding time counts A's new closed/won date (30 days), and not D: it has no closed/won date.
    assert onboarding(base, ws) == (30, 1)
    assert got == derived(base, ws)


def test_reimporting_the_same_data_writes_nothing(base: Database, ws: int, tmp_path: Path) -> None:
    before = kept(base, ws)
    result = load(
        base,
        ws,
        "milestones",
        "account,kind,target_on,achieved_on\nA,kickoff,2026-09-15,2026-10-05\n",
        tmp_path,
    )
    assert result.unchanged == 1
    assert kept(base, ws) == before


def test_advocacy_wins_and_promoters_make_champions_and_moving_them_undoes_it(
    base: Database, ws: int, tmp_path: Path
) -> None:
    # A adopted on Oct 8: an advocacy win on Oct 20 makes it a champion; a promoter on Oct 15 too, earlier.
    load(
        base,
        ws,
        "wins",
        "external_id,account,kind,text,won_on,credited_teams\nw1,A,advocacy,ref,2026-10-20,marketing\n",
        tmp_path,
    )
    assert kept(base, ws)["A"][3] == D("2026-10-20")
    load(base, ws, "nps", "external_id,account,responded_at,score\nn1,A,2026-10-15T23:30:00Z,10\n", tmp_path)
    assert kept(base, ws)["A"][3] == D("2026-10-15")
    # The response was a 6 after all: back to the win.
    load(base, ws, "nps", "external_id,account,responded_at,score\nn1,A,2026-10-15T23:30:00Z,6\n", tmp_path)
    assert kept(base, ws)["A"][3] == D("2026-10-20")
    # The win belonged to B (not adopted): A is no champion, and B is none either.
    load(
        base,
        ws,
        "wins",
        "external_id,account,kind,text,won_on,credited_teams\nw1,B,advocacy,ref,2026-10-20,marketing\n",
        tmp_path,
    )
    got = kept(base, ws)
    assert (got["A"][3], got["B"][3]) == (None, None)
    # An expansion win never makes a champion.
    load(
        base,
        ws,
        "wins",
        "external_id,account,kind,text,won_on,credited_teams\nw2,A,expansion,seats,2026-10-21,sales\n",
        tmp_path,
    )
    assert kept(base, ws)["A"][3] is None
    assert kept(base, ws) == derived(base, ws)


def test_a_win_recorded_in_slack_makes_a_champion(base: Database, ws: int) -> None:
    with base.write() as s:
        a = s.scalar(select(Account.id).where(Account.workspace_id == ws, Account.external_id == "A"))
        assert a is not None
        record_win(
            s,
            ws,
            external_id="slack:1",
            account_id=a,
            text="spoke at our conference",
            won_on=D("2026-10-22"),
            recorded_by=None,
            people=[],
            teams=["marketing"],
            kind="advocacy",
        )
    assert kept(base, ws)["A"][3] == D("2026-10-22")
    detail = conversion(base, ws, "stage_conversion_champion")
    assert (detail["left_stage"], detail["median_days_in_stage"]) == (1, 14)  # Oct 8 → Oct 22


def test_a_refresh_from_scratch_rebuilds_the_same_dates(base: Database, ws: int, tmp_path: Path) -> None:
    """What the migration does for every workspace."""
    load(base, ws, "nps", "external_id,account,responded_at,score\nn1,A,2026-10-30T10:00:00Z,9\n", tmp_path)
    before = kept(base, ws)
    with base.write() as s:
        s.execute(delete(AccountStage))
    assert kept(base, ws) == {}
    with base.write() as s:
        stage_dates.refresh(s, ws)
    assert kept(base, ws) == before
    assert before["A"][3] == D("2026-10-30")


def test_stage_conversions_of_two_periods_equal_each_alone(base: Database, ws: int, tmp_path: Path) -> None:
    load(
        base,
        ws,
        "milestones",
        "account,kind,target_on,achieved_on\nB,adopted,,2026-11-03\nC,kickoff,,2026-11-10\n",
        tmp_path,
    )
    spans = [(NOV, dt.date(2026, 12, 1)), (OCT, NOV)]
    with base.read() as s:
        together = lm.stage_conversions(s, ws, spans)
        alone = [lm.stage_conversion(s, ws, start, end) for start, end in spans]
        assert together == alone
        ent = lm.stage_conversions(s, ws, spans, segment="ent")
        assert ent == [lm.stage_conversion(s, ws, start, end, "ent") for start, end in spans]
    # November, Onboarded → Adopted: A adopted in October (not in stage), B onboarded Oct 1 adopts Nov 3.
    step = together[0][1]
    assert (step.at_start, step.converted, step.left, step.median_days) == (1, 1, 1, 33)


def test_imports_at_once_of_different_milestones_of_the_same_accounts_keep_both(
    base: Database, ws: int
) -> None:
    """Under PostgreSQL's READ COMMITTED each import derives the dates of the accounts it touched; one
    that did not wait for the other would write dates without the other's milestones."""
    accounts = [f"N{i}" for i in range(40)]
    with base.write() as s:
        items = (
            (n, {"external_id": a, "name": a, "segment": "smb", "closed_won_on": "2026-09-01"}, None)
            for n, a in enumerate(accounts, start=1)
        )
        import_records(s, ws, "accounts", items, source="test")
    kinds = {"kickoff": "2026-10-02", "first_value": "2026-10-09", "adopted": "2026-10-05"}

    def one(kind: str) -> None:
        with base.write() as s:
            items = (
                (n, {"account": a, "kind": kind, "achieved_on": kinds[kind]}, None)
                for n, a in enumerate(accounts, start=1)
            )
            import_records(s, ws, "milestones", items, source=f"import {kind}")

    at_once(one, list(kinds))
    got = kept(base, ws)
    assert {got[a] for a in accounts} == {(D("2026-09-01"), D("2026-10-02"), D("2026-10-05"), None)}
    assert got == derived(base, ws)


def test_the_upgrade_backfills_the_dates_of_data_stored_before_it(tmp_path: Path) -> None:
    db, _ = database_at(f"sqlite:///{tmp_path / 'old.db'}", "0011")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (workspace_id, external_id, name, name_key, segment, closed_won_on) "
                "VALUES (1, 'A', 'A', 'a', 'smb', '2026-09-01'), (1, 'B', 'B', 'b', 'smb', NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO milestones (workspace_id, account_id, kind, achieved_on) "
                "VALUES (1, 1, 'first_value', '2026-10-08'), (1, 2, 'kickoff', '2026-10-02')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO nps_responses (workspace_id, external_id, account_id, responded_at, score) "
                "VALUES (1, 'n1', 1, '2026-10-08 09:00:00.000000', 9)"
            )
        )
    db.upgrade()
    assert kept(db, 1) == {
        "A": (D("2026-09-01"), D("2026-10-08"), D("2026-10-08"), D("2026-10-08")),
        "B": (D("2026-10-02"), D("2026-10-02"), None, None),
    }
    db.dispose()
