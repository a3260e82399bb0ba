"""Every definition in docs/metrics.md on a small hand-computed dataset, on SQLite and PostgreSQL.

As of 2026-11-23, M = 2026-10 and M-12 = 2025-10. MRR by account (missing months are 0):

  A ent  100 from 2025-10 to 2026-09, 150 in 2026-10             expansion +50 in Oct
  B ent  200 from 2025-10 to 2026-09, 120 in 2026-10             contraction −80 in Oct
  C smb  300 from 2025-10 to 2026-05, then 0                      churned in Jun 2026
  D ent  500 from 2026-03                                         new logo: not in NRR/GRR
  E smb  50 in 2025-10 and 2025-11, 0, then 80 from 2026-09       reactivated, in NRR base
  F smb  70 from 2025-06 to 2025-08, 0, then 60 in 2026-10        reactivated, not in NRR base
  G smb  40 from 2026-01 to 2026-09, then 0                       new logo, churned in Oct
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from services import health
from services.policies import Policies
from services.scorecard import build_scorecard
from storage import metrics
from storage.db import Database
from storage.models import Account, Handoff, HealthSnapshot
from storage.upsert import upsert
from tests.support.helpers import load, months

AS_OF = dt.date(2026, 11, 23)


def _revenue_rows() -> str:
    rows = ["account,month,mrr"]
    series = {
        "A": {**dict.fromkeys(months("2025-10", "2026-09"), "100"), "2026-10": "150"},
        "B": {**dict.fromkeys(months("2025-10", "2026-09"), "200"), "2026-10": "120"},
        "C": {
            **dict.fromkeys(months("2025-10", "2026-05"), "300"),
            **dict.fromkeys(months("2026-06", "2026-10"), "0"),
        },
        "D": dict.fromkeys(months("2026-03", "2026-10"), "500"),
        "E": {"2025-10": "50", "2025-11": "50", "2025-12": "0", "2026-09": "80", "2026-10": "80"},
        "F": {**dict.fromkeys(months("2025-06", "2025-08"), "70"), "2026-10": "60"},
        "G": {**dict.fromkeys(months("2026-01", "2026-09"), "40"), "2026-10": "0"},
    }
    for account, values in series.items():
        rows += [f"{account},{month},{mrr}" for month, mrr in values.items()]
    return "\n".join(rows) + "\n"


@pytest.fixture
def dataset(db: Database, ws: int, tmp_path: Path) -> Database:
    load(
        db,
        ws,
        "people",
        """
        email,name,team
        cs@x.io,Casey,cs
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "accounts",
        """
        external_id,name,segment,closed_won_on
        A,Alpha,ent,2025-09-01
        B,Beta,ent,2025-09-01
        C,Gamma,smb,2025-09-01
        D,Delta,ent,2026-02-20
        E,Epsilon,smb,2025-09-01
        F,Phi,smb,2026-09-20
        G,Gimel,smb,2026-09-01
    """,
        tmp_path,
    )
    load(db, ws, "revenue", _revenue_rows(), tmp_path)
    load(
        db,
        ws,
        "milestones",
        """
        account,kind,target_on,achieved_on
        D,first_value,2026-05-01,2026-10-10
        G,first_value,2026-10-01,2026-10-11
        F,first_value,2026-11-01,2026-10-20
        A,first_value,2025-11-01,2026-09-15
        B,first_value,2026-10-15,
        C,first_value,2026-12-01,
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "usage",
        """
        account,day,active_users,licensed_seats
        A,2026-10-01,0,10
        A,2026-10-10,5,10
        A,2026-10-20,5,10
        B,2026-10-10,3,10
        D,2026-10-10,8,10
        D,2026-10-31,8,20
        F,2026-10-10,50,
        G,2026-10-10,40,40
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "risk_flags",
        """
        external_id,account,flagged_on,reason,outcome,resolved_on
        r1,A,2026-09-01,usage drop,saved,2026-10-03
        r2,B,2026-09-01,champion left,saved,2026-10-20
        r3,C,2026-05-01,budget,churned,2026-10-30
        r4,D,2026-10-01,competitor,open,
        r5,E,2026-08-01,budget,saved,2026-11-02
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "handoffs",
        """
        external_id,account,kind,from_team,to_team,opened_at,due_at,completed_at
        h1,A,sales_to_cs,sales,cs,2026-10-01T12:00:00Z,2026-10-05T12:00:00Z,2026-10-05T11:00:00Z
        h2,B,sales_to_cs,sales,cs,2026-10-01T00:00:00Z,2026-10-06T00:00:00Z,2026-10-07T00:00:00Z
        h3,C,cs_kickoff,cs,cs,2026-10-01T00:00:00Z,2026-10-10T00:00:00Z,
        h4,D,cs_kickoff,cs,cs,2026-09-20T00:00:00Z,2026-09-28T00:00:00Z,2026-10-02T00:00:00Z
        h5,E,escalation,cs,support,2026-10-15T00:00:00Z,2026-10-20T00:00:00Z,
        h6,F,escalation,cs,support,2026-10-30T00:00:00Z,2026-11-02T00:00:00Z,
    """,
        tmp_path,
    )
    with db.write() as s:
        # h4 was paused for five days (due moves to Oct 3); h5 is paused right now.
        h4 = s.scalars(select(Handoff).where(Handoff.external_id == "h4")).one()
        h4.paused_seconds = 5 * 86400
        h4.effective_due_at = h4.due_at + dt.timedelta(days=5)
        h5 = s.scalars(select(Handoff).where(Handoff.external_id == "h5")).one()
        h5.paused_since = dt.datetime(2026, 10, 18, tzinfo=dt.UTC)
    with db.write() as s:
        ids = dict(s.execute(select(Account.external_id, Account.id).where(Account.workspace_id == ws)).all())
        snaps = [
            ("A", "2026-10-01", 20),
            ("A", "2026-10-30", 80),
            ("B", "2026-10-29", 50),
            ("D", "2026-10-15", 60),
            ("D", "2026-11-05", 90),
            ("F", "2026-10-28", 40),
            ("G", "2026-10-29", 10),
        ]
        upsert(
            s,
            HealthSnapshot,
            [
                {
                    "workspace_id": ws,
                    "account_id": ids[a],
                    "day": dt.date.fromisoformat(d),
                    "score": sc,
                    "band": "x",
                    "components": {},
                }
                for a, d, sc in snaps
            ],
            ["account_id", "day"],
        )
    return db


def card(db: Database, ws: int, period: str = "month", segment: str | None = None, **policy: object):
    with db.read() as s:
        return build_scorecard(
            s,
            ws,
            as_of=AS_OF,
            period_kind=period,
            policies=Policies(**policy),  # type: ignore[arg-type]
            segment=segment,
        )


def test_nrr_excludes_new_logos_and_counts_reactivated_base_accounts(dataset: Database, ws: int) -> None:
    # (150 + 120 + 0 + 80) / (100 + 200 + 300 + 50): D and G are new, F was not paying in M-12.
    assert card(dataset, ws).kpi("nrr").current.value == pytest.approx(350 / 650)


def test_grr_caps_each_account_not_the_totals(dataset: Database, ws: int) -> None:
    # min(150,100) + min(120,200) + 0 + min(80,50) = 270; a cap on totals would give 350/650.
    grr = card(dataset, ws).kpi("grr").current.value
    assert grr == pytest.approx(270 / 650)
    assert grr <= card(dataset, ws).kpi("nrr").current.value


def test_logo_churn_of_month(dataset: Database, ws: int) -> None:
    kpi = card(dataset, ws).kpi("logo_churn")
    assert kpi.current.value == pytest.approx(1 / 5)  # A B D E G paying in Sep; G gone in Oct
    assert kpi.previous.value == 0  # Aug → Sep: A B D G paying, nobody left


def test_expansion_and_contraction_arr(dataset: Database, ws: int) -> None:
    sc = card(dataset, ws)
    assert sc.kpi("expansion_arr").current.value == Decimal(
        "600.00"
    )  # 12 × 50; reactivations are not expansion
    assert sc.kpi("contraction_arr").current.value == Decimal("960.00")  # 12 × 80
    assert sc.kpi("expansion_arr").previous.value == Decimal("0.00")  # E's return in Sep is a reactivation


def test_quarter_expansion_adds_the_months_of_the_quarter(dataset: Database, ws: int) -> None:
    sc = card(dataset, ws, period="quarter")  # 2026-Q3: Jul–Sep, M = Sep
    assert sc.period.revenue_month == dt.date(2026, 9, 1)
    assert sc.kpi("expansion_arr").current.value == Decimal("0.00")
    # Nobody was paying in M-12 = Sep 2025 (A B C E start in Oct, F stopped in Aug): NRR is undefined.
    nrr = sc.kpi("nrr").current
    assert nrr.value is None and "September 2025" in (nrr.reason or "")


def test_clv(dataset: Database, ws: int) -> None:
    # ARPA = (150+120+500+80+60)/5 = 182; churn Apr..Sep = (0,0,1/5,0,0,0) → mean 1/30.
    clv = card(dataset, ws).kpi("clv")
    assert clv.current.value == Decimal("4368.00")  # 182 × 0.80 × 30
    assert card(dataset, ws, gross_margin=Decimal("0.5")).kpi("clv").current.value == Decimal("2730.00")


def test_clv_is_na_without_churn(dataset: Database, ws: int) -> None:
    clv = card(dataset, ws, segment="ent").kpi("clv")  # A, B, D never churn
    assert clv.current.value is None
    assert "no logo churn" in (clv.current.reason or "")


def test_segment_cut(dataset: Database, ws: int) -> None:
    sc = card(dataset, ws, segment="ent")
    assert sc.kpi("nrr").current.value == pytest.approx((150 + 120) / (100 + 200))
    assert sc.kpi("logo_churn").current.value == 0


def test_time_to_value_median_and_overdue(dataset: Database, ws: int) -> None:
    ttv = card(dataset, ws).kpi("time_to_value_days")
    assert ttv.current.value == 40  # D 232, G 40, F 30 days
    assert ttv.previous.value == 379  # A alone reached first value in September
    assert ttv.current.detail["past_target_without_first_value"] == 1  # B; C's target is later


def test_adoption(dataset: Database, ws: int) -> None:
    ad = card(dataset, ws).kpi("adoption")
    # Paying in Oct: A B D E F. A 5/10 ≥ 40 % (its Oct 1 row is outside the 28 days); B 3/10 no;
    # D 8 ≥ 0.4 × 20 (latest seats); E no usage, F no seats → left out. G is not paying.
    assert ad.current.value == pytest.approx(2 / 3)
    assert ad.current.detail["without_seat_data"] == 2
    assert card(dataset, ws, adoption_threshold=0.5).kpi("adoption").current.value == pytest.approx(1 / 3)


def test_adoption_from_the_days_health_snapshot_matches_the_live_computation(
    dataset: Database, ws: int
) -> None:
    with dataset.read() as s:
        live = metrics.adoption(s, ws, dt.date(2026, 10, 31), 0.4)
    with dataset.write() as s:
        health.snapshot(s, ws, dt.date(2026, 10, 31), Policies().health)
    with dataset.read() as s:
        from_snapshot = metrics.adoption(s, ws, dt.date(2026, 10, 31), 0.4)
        used_snapshot = s.scalar(
            select(HealthSnapshot.mean_dau).where(HealthSnapshot.day == dt.date(2026, 10, 31)).limit(1)
        )
    assert used_snapshot is not None
    assert from_snapshot == live == metrics.Adoption(adopted=2, measured=3, without_seats=2)


def test_save_rate(dataset: Database, ws: int) -> None:
    sr = card(dataset, ws).kpi("save_rate")
    assert sr.current.value == pytest.approx(2 / 3)  # r1 r2 saved, r3 churned; r4 open, r5 in November
    assert sr.previous.value is None and sr.previous.reason


def test_health_index_is_arr_weighted_latest_snapshot(dataset: Database, ws: int) -> None:
    hi = card(dataset, ws).kpi("health_index")
    expected = (80 * 150 + 50 * 120 + 60 * 500 + 40 * 60) / (150 + 120 + 500 + 60)
    assert hi.current.value == pytest.approx(round(expected, 1))


def test_sla_adherence_with_paused_time(dataset: Database, ws: int) -> None:
    sla = card(dataset, ws).kpi("sla_adherence")
    # Due in Oct: h1 met, h2 late, h3 open past due, h4 met (paused 5 days: due Oct 3); h5 paused, h6 in Nov.
    assert (sla.current.detail["met"], sla.current.detail["due"]) == (2, 4)
    assert sla.current.value == 0.5


def test_reimporting_handoffs_keeps_paused_time(dataset: Database, ws: int, tmp_path: Path) -> None:
    load(
        dataset,
        ws,
        "handoffs",
        """
        external_id,account,kind,from_team,to_team,opened_at,due_at,completed_at
        h4,D,cs_kickoff,cs,cs,2026-09-20T00:00:00Z,2026-09-29T00:00:00Z,2026-10-02T00:00:00Z
    """,
        tmp_path,
    )
    with dataset.read() as s:
        h4 = s.scalars(select(Handoff).where(Handoff.external_id == "h4")).one()
    assert h4.effective_due_at == dt.datetime(2026, 10, 4, tzinfo=dt.UTC)


def test_cohorts(dataset: Database, ws: int) -> None:
    with dataset.read() as s:
        rows = {c.quarter: c for c in metrics.cohorts(s, ws, dt.date(2026, 10, 1))}
    assert set(rows) == {"2025-Q2", "2025-Q4", "2026-Q1"}
    q4 = rows["2025-Q4"]  # A B C E, starting MRR 650
    assert (q4.size, q4.start_mrr_cents) == (4, 65_000)
    assert [p.quarter_end for p in q4.points] == [
        dt.date(2025, 12, 1),
        dt.date(2026, 3, 1),
        dt.date(2026, 6, 1),
        dt.date(2026, 9, 1),
    ]
    assert [p.logo for p in q4.points] == [0.75, 0.75, 0.5, 0.75]
    assert [p.revenue for p in q4.points] == pytest.approx([600 / 650, 600 / 650, 300 / 650, 380 / 650])
    f = rows["2025-Q2"]  # F: reactivation in Oct 2026 is not a quarter end
    assert [p.logo for p in f.points][:2] == [1.0, 0.0]
    assert rows["2026-Q1"].points[-1].revenue == 1.0


def test_undefined_kpis_say_why(db: Database, ws: int) -> None:
    sc = card(db, ws)
    for kpi in sc.kpis:
        assert kpi.current.value is None or kpi.key in ("expansion_arr", "contraction_arr")
        if kpi.current.value is None:
            assert kpi.current.reason, kpi.key


def test_scorecard_json_contract(dataset: Database, ws: int) -> None:
    data = card(dataset, ws).to_json()
    assert set(data["kpis"]) == {
        "nrr",
        "grr",
        "logo_churn",
        "expansion_arr",
        "contraction_arr",
        "time_to_value_days",
        "adoption",
        "save_rate",
        "health_index",
        "sla_adherence",
        "clv",
        "onboarding_time_days",
        "first_value_on_time",
        "stage_conversion_onboarded",
        "stage_conversion_adopted",
        "stage_conversion_champion",
        "churn_risk_coverage",
    }
    for entry in data["kpis"].values():
        assert {"value", "previous", "owners", "reason"} <= set(entry)
        assert entry["owners"]
    assert data["kpis"]["clv"]["value"] == "4368.00"
    assert data["kpis"]["nrr"]["value"] == pytest.approx(0.538462, abs=1e-6)
