"""The lifecycle KPIs of docs/metrics.md on a small hand-computed dataset, on SQLite and PostgreSQL.

As of 2026-11-23 the month is October 2026 (start Oct 1, end Nov 1; coverage is taken on Oct 31).
Stage entry dates (Closed/Won; Onboarded = kickoff; Adopted = first value or adopted, the earlier;
Champion = once adopted, the first advocacy win or promoter NPS response); (…) = taken from the next stage:

  A  2026-09-01  2026-10-05    2026-10-08    2026-10-25 (NPS 9)  first value due Oct 10, on time
  B  2026-09-20  2026-10-01    2026-10-20    —                   first value due Oct 15, late
  C  2026-08-01  2026-08-10    —             —                   first value due Oct 31, missed
  D  2026-10-10  2026-10-30    —             —                   first value due Nov 15
  E  2025-06-01  (2025-09-01)  2025-09-01    2026-10-12 (advocacy win)
  F  2026-05-01  (2026-07-01)  2026-07-01    2026-11-05 (NPS 9; its NPS 10 in June was before adoption)
  G  2026-06-01  (2026-10-03)  2026-10-03    —                   adopted without a kickoff date
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from services.policies import Policies
from services.scorecard import build_scorecard
from storage import lifecycle_metrics as lm
from storage.db import Database
from storage.models import Account, HealthSnapshot
from storage.upsert import upsert
from tests.support.helpers import load

AS_OF = dt.date(2026, 11, 23)
OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


@pytest.fixture
def dataset(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", "email,name,team\ncs@x.io,Casey,cs\n", tmp_path)
    load(
        db,
        ws,
        "accounts",
        """
        external_id,name,segment,closed_won_on
        A,Alpha,ent,2026-09-01
        B,Beta,ent,2026-09-20
        C,Gamma,smb,2026-08-01
        D,Delta,smb,2026-10-10
        E,Epsilon,smb,2025-06-01
        F,Phi,smb,2026-05-01
        G,Gimel,smb,2026-06-01
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "revenue",
        "account,month,mrr\n" + "".join(f"{a},2026-10,100\n" for a in "ABCDEF") + "G,2026-10,0\n",
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
        A,adopted,2026-12-01,2026-10-20
        B,kickoff,2026-10-01,2026-10-01
        B,first_value,2026-10-15,2026-10-20
        C,kickoff,2026-08-15,2026-08-10
        C,first_value,2026-10-31,
        D,kickoff,2026-10-24,2026-10-30
        D,first_value,2026-11-15,
        E,first_value,2025-09-15,2025-09-01
        E,adopted,2026-01-01,2026-01-10
        F,first_value,2026-06-15,2026-07-01
        G,adopted,2026-10-01,2026-10-03
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "wins",
        """
        external_id,account,kind,text,won_on,credited_teams
        w1,E,advocacy,case study,2026-10-12,marketing
        w2,E,advocacy,second reference,2026-10-25,marketing
        w3,A,expansion,more seats,2026-10-15,sales
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "nps",
        """
        external_id,account,responded_at,score
        n1,A,2026-10-25T10:00:00Z,9
        n2,F,2026-06-20T10:00:00Z,10
        n3,F,2026-11-05T10:00:00Z,9
        n4,B,2026-10-25T10:00:00Z,8
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "risk_flags",
        """
        external_id,account,flagged_on,reason,owner_email,outcome,resolved_on
        r1,A,2026-10-02,usage drop,cs@x.io,open,
        r2,B,2026-09-01,champion left,,open,
        r3,E,2026-09-01,budget,cs@x.io,saved,2026-10-15
        r4,F,2026-10-01,budget,cs@x.io,saved,2026-11-10
        r5,D,2026-11-05,competitor,cs@x.io,open,
    """,
        tmp_path,
    )
    with db.write() as s:
        ids = dict(s.execute(select(Account.external_id, Account.id).where(Account.workspace_id == ws)).all())
        bands = [
            ("A", "2026-10-30", "red"),
            ("B", "2026-10-30", "green"),
            ("C", "2026-10-15", "red"),
            ("C", "2026-10-30", "green"),
            ("D", "2026-10-20", "red"),
            ("E", "2026-10-30", "green"),
            ("G", "2026-10-30", "red"),
        ]
        upsert(
            s,
            HealthSnapshot,
            [
                {
                    "workspace_id": ws,
                    "account_id": ids[a],
                    "day": dt.date.fromisoformat(d),
                    "score": 10.0,
                    "band": band,
                    "components": {},
                }
                for a, d, band in bands
            ],
            ["account_id", "day"],
        )
    return db


def card(db: Database, ws: int, segment: str | None = None):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return build_scorecard(s, ws, as_of=AS_OF, period_kind="month", policies=Policies(), segment=segment)


def test_onboarding_time_is_the_median_days_won_to_kickoff(dataset: Database, ws: int) -> None:
    kpi = card(dataset, ws).kpi("onboarding_time_days")
    # Kickoffs in October: A 34 days (Sep 1 → Oct 5), B 11 (Sep 20 → Oct 1), D 20 (Oct 10 → Oct 30).
    assert kpi.current.value == 20
    assert kpi.current.detail == {"accounts": 3}
    assert kpi.previous.value is None and "kickoff" in (kpi.previous.reason or "")  # none in September
    assert kpi.owners == ("cs",)


def test_first_value_on_time(dataset: Database, ws: int) -> None:
    kpi = card(dataset, ws).kpi("first_value_on_time")
    # Targets in October: A (Oct 10, done Oct 8: on time), B (Oct 15, done Oct 20: late), C (Oct 31, none).
    assert kpi.current.value == pytest.approx(1 / 3)
    assert kpi.current.detail == {"on_time": 1, "due": 3}
    assert kpi.owners == ("cs", "product")
    with dataset.read() as s:
        # June: F's target Jun 15, done Jul 1 → 0 of 1.
        assert lm.first_value_on_time(s, ws, dt.date(2026, 6, 1), dt.date(2026, 7, 1)).value == 0


def test_stage_conversion_and_median_days_in_stage(dataset: Database, ws: int) -> None:
    sc = card(dataset, ws)
    won = sc.kpi("stage_conversion_onboarded").current
    # Closed/Won on Oct 1: A, B (kickoff Oct 1 is in the period) and G; all three onboarded in October.
    # Left Closed/Won in October: B 11 days, D 20, A 34, G 124 → median 27.
    assert won.value == 1
    assert won.detail == {"in_stage_at_start": 3, "converted": 3, "left_stage": 4, "median_days_in_stage": 27}
    onboarded = sc.kpi("stage_conversion_adopted").current
    # Onboarded on Oct 1: C only, not adopted: 0 / 1. Left Onboarded in October: G 0, A 3, B 19 days.
    assert onboarded.value == 0
    assert onboarded.detail == {
        "in_stage_at_start": 1,
        "converted": 0,
        "left_stage": 3,
        "median_days_in_stage": 3,
    }
    adopted = sc.kpi("stage_conversion_champion").current
    # Adopted on Oct 1: E (champion Oct 12) and F (champion only in November): 1 / 2. Left Adopted in
    # October: A after 17 days, E after 406 → median 211.5.
    assert adopted.value == 0.5
    assert adopted.detail == {
        "in_stage_at_start": 2,
        "converted": 1,
        "left_stage": 2,
        "median_days_in_stage": (17 + (dt.date(2026, 10, 12) - dt.date(2025, 9, 1)).days) / 2,
    }
    assert (dt.date(2026, 10, 12) - dt.date(2025, 9, 1)).days == 406


def test_stage_conversion_in_a_segment(dataset: Database, ws: int) -> None:
    won = card(dataset, ws, segment="ent").kpi("stage_conversion_onboarded").current
    assert (won.value, won.detail["in_stage_at_start"]) == (1, 2)  # A and B, both onboarded in October
    champion = card(dataset, ws, segment="ent").kpi("stage_conversion_champion").current
    assert champion.value is None and "Adopted at the start" in (champion.reason or "")


def test_churn_risk_coverage(dataset: Database, ws: int) -> None:
    kpi = card(dataset, ws).kpi("churn_risk_coverage")
    # At risk on Oct 31 among the accounts paying in October: A (red, flag with owner: covered),
    # B (open flag without owner), D (latest score red; its flag comes in November), F (flag with owner,
    # resolved only on Nov 10: covered). C's latest score is green; E's flag was resolved Oct 15;
    # G is red but not paying.
    assert kpi.current.value == pytest.approx(2 / 4)
    assert kpi.current.detail == {"covered": 2, "at_risk": 4, "red": 2, "flagged": 3}
    ent = card(dataset, ws, segment="ent").kpi("churn_risk_coverage").current
    assert ent.value == pytest.approx(1 / 2)  # A covered, B not


def test_coverage_is_na_when_nobody_is_at_risk(dataset: Database, ws: int) -> None:
    with dataset.read() as s:
        cov = lm.churn_risk_coverage(s, ws, dt.date(2026, 8, 31))  # nobody paid in August
    assert cov.value is None and cov.at_risk == 0
    prev = card(dataset, ws).kpi("churn_risk_coverage").previous
    assert prev.value is None and "at risk" in (prev.reason or "")


def test_the_median_from_the_rows_around_it_is_the_median_of_all() -> None:
    # stage_conversions keeps, of the (days, how many) counts, the rows holding the middle indexes
    # (its WHERE: 2 * first <= total and 2 * (upto - 1) >= total - 2); the median of those rows must
    # be the median of every count, odd and even totals, a middle that spans two rows or one.
    rng = random.Random(13)
    for _ in range(500):
        counted = [(d, rng.randint(1, 4)) for d in sorted(rng.sample(range(400), rng.randint(1, 8)))]
        total, upto, kept = sum(n for _, n in counted), 0, []
        for days, n in counted:
            first, upto = upto, upto + n
            if 2 * first <= total and 2 * (upto - 1) >= total - 2:
                kept.append((days, first, upto))
        assert len(kept) <= 2
        assert lm._median_around(kept, total) == lm._median_counted(counted)
    assert lm._median_around([], 0) is None
