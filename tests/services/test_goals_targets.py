"""Targets on a real database (SQLite and PostgreSQL): every change kept with who, when, old and new;
the targets in force at a past time; the policy file's layer and its history; the scorecard's
target, status, good and sample per KPI, and its JSON.

The dataset, as of Monday 2026-11-23 (M = 2026-10 for the week and for the month of October):

  A ent  100 from 2025-09 to 2026-09, 110 in 2026-10     expansion +10 in Oct
  B smb  100 from 2025-09 to 2026-09, then 0             churned in Oct
  C smb  100 from 2025-09 to 2026-10

  NRR Oct = (110 + 0 + 100) / 300 = 0.70;  NRR Sep = 300 / 300 = 1.00  → change −30 pts, bad
  logo churn Oct = 1/3 (3 paying in Sep), Sep = 0                       → change up, bad
  save rate Oct: flags R1 saved, R2 saved, R3 churned in Oct            → 2/3, from 3 flags
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services import goals
from services.errors import UnknownSegment
from services.policies import KpiGoal, Policies
from services.scorecard import scorecard
from storage import targets as store
from storage.db import Database
from tests.support.helpers import load, months

AS_OF = dt.date(2026, 11, 23)
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
D = Decimal


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "accounts", "external_id,name,segment\nA,Alpha,ent\nB,Beta,smb\nC,Gamma,smb\n", tmp_path)
    rows = ["account,month,mrr"]
    for month in months("2025-09", "2026-09"):
        rows += [f"A,{month},100", f"B,{month},100", f"C,{month},100"]
    rows += ["A,2026-10,110", "B,2026-10,0", "C,2026-10,100"]
    load(db, ws, "revenue", "\n".join(rows) + "\n", tmp_path)
    load(
        db,
        ws,
        "risk_flags",
        """
        external_id,account,flagged_on,reason,outcome,resolved_on
        R1,A,2026-09-01,quiet,saved,2026-10-05
        R2,C,2026-09-01,quiet,saved,2026-10-12
        R3,B,2026-09-01,budget,churned,2026-10-20
    """,
        tmp_path,
    )
    return db


def _set(
    db: Database, ws: int, kpi: str, value: str | None, at: dt.datetime, **kw: object
) -> goals.TargetUpdate:
    args: dict[str, object] = {"kinds": None, "segment": None, "by": "UADMIN", "policies": Policies()}
    args.update(kw)
    value = None if value == "clear" else value
    return goals.set_target(db, ws, kpi, value, now=at, **args)  # type: ignore[arg-type]


def test_every_change_is_kept_with_who_when_old_and_new(db: Database, ws: int) -> None:
    _set(db, ws, "nrr", "105%", T0, kinds=["quarter"])
    _set(db, ws, "nrr", "110%", T1, kinds=["quarter"], by="UBOSS")
    again = _set(db, ws, "nrr", "110%", T1 + dt.timedelta(minutes=1), kinds=["quarter"])  # a retried request
    assert again.changes == []
    _set(db, ws, "nrr", "clear", T2, kinds=["quarter"])
    changes = goals.history(db, ws, "nrr")
    assert [(c.old, c.new, c.by, c.at) for c in changes] == [
        (D("1.1"), None, "UADMIN", T2),
        (D("1.05"), D("1.1"), "UBOSS", T1),
        (None, D("1.05"), "UADMIN", T0),
    ]
    assert all(c.layer == "set" and c.period_kind == "quarter" and c.segment is None for c in changes)


def test_targets_as_of_a_past_time(db: Database, ws: int) -> None:
    _set(db, ws, "nrr", "105%", T0, kinds=["quarter"])
    _set(db, ws, "nrr", "110%", T1, kinds=["quarter"])
    _set(db, ws, "nrr", "clear", T2, kinds=["quarter"])

    def at(when: dt.datetime) -> Decimal | None:
        found = goals.targets_as_of(db, ws, when).pick("nrr", "quarter", None)
        return None if found is None else found.value

    assert at(T0 - dt.timedelta(seconds=1)) is None
    assert at(T0) == D("1.05")
    assert at(T1 - dt.timedelta(seconds=1)) == D("1.05")
    assert at(T1 + dt.timedelta(days=1)) == D("1.1")
    assert at(T2) is None


def test_no_period_sets_all_three_and_a_segment_must_exist(data: Database, ws: int) -> None:
    update = _set(data, ws, "save_rate", "60%", T0, segment="smb")
    assert update.kinds == ["week", "month", "quarter"] and len(update.changes) == 3
    assert {c.segment for c in update.changes} == {"smb"}
    with pytest.raises(UnknownSegment):
        _set(data, ws, "save_rate", "60%", T0, segment="platinum")
    with pytest.raises(goals.TargetError, match="unknown KPI 'nps'"):
        _set(data, ws, "nps", "60%", T0)
    with data.read() as session:
        assert len(store.history(session, ws)) == 3  # the refused ones wrote nothing


def test_policy_file_targets_are_recorded_when_the_file_changes(db: Database, ws: int) -> None:
    first = Policies(kpis={"nrr": KpiGoal(targets={"quarter": D("1.10")})})
    second = Policies(kpis={"nrr": KpiGoal(targets={"quarter": D("1.12"), "month": D("1.05")})})
    assert goals.sync_policy_targets(db, ws, first, T0) == 1
    assert goals.sync_policy_targets(db, ws, first, T1) == 0  # unchanged: nothing recorded
    assert goals.sync_policy_targets(db, ws, second, T2) == 2
    assert goals.sync_policy_targets(db, ws, Policies(), T2 + dt.timedelta(days=1)) == 2  # both removed
    past = goals.targets_as_of(db, ws, T1)
    assert past.pick("nrr", "quarter", None) == goals.Target(D("1.1"), "policy", None)
    assert past.pick("nrr", "month", None) is None
    assert goals.targets_as_of(db, ws, T2).pick("nrr", "month", None) == goals.Target(
        D("1.05"), "policy", None
    )
    assert goals.targets_as_of(db, ws, T2 + dt.timedelta(days=2)).pick("nrr", "quarter", None) is None
    c = goals.history(db, ws, "nrr")[-1]
    assert (c.layer, c.by, c.old, c.new) == ("policy", "policy file", None, D("1.1"))


def test_a_set_target_overrides_the_policy_file(db: Database, ws: int) -> None:
    policies = Policies(kpis={"nrr": KpiGoal(targets={"quarter": D("1.10")})})
    with db.read() as session:
        assert goals.targets_in(session, ws, T1, policies).pick("nrr", "quarter", None) == goals.Target(
            D("1.10"), "policy", None
        )
    _set(db, ws, "nrr", "115%", T1, kinds=["quarter"], policies=policies)
    with db.read() as session:
        picked = goals.targets_in(session, ws, T2, policies).pick("nrr", "quarter", None)
    assert picked is not None and (picked.value, picked.source, picked.by) == (D("1.15"), "set", "UADMIN")


def test_scorecard_shows_target_status_good_and_small_samples(data: Database, ws: int) -> None:
    _set(data, ws, "nrr", "72%", T0, kinds=["month"])  # 0.70 is 2 points short: at risk
    _set(data, ws, "logo_churn", "25%", T0, kinds=["month"])  # 33.3 % is 8.3 points over: off track
    _set(data, ws, "save_rate", "60%", T0, kinds=["month"])  # 66.7 % meets it
    card = scorecard(data, ws, as_of=AS_OF, period="month", policies=Policies(), segment=None)
    nrr, churn, saves = card.kpi("nrr"), card.kpi("logo_churn"), card.kpi("save_rate")
    assert nrr.current.value == pytest.approx(0.70) and nrr.previous.value == pytest.approx(1.0)
    assert (nrr.status, nrr.good) == ("at_risk", False)
    assert churn.current.value == pytest.approx(1 / 3) and (churn.status, churn.good) == ("off_track", False)
    assert saves.current.value == pytest.approx(2 / 3) and saves.status == "on_track"
    assert saves.sample == (3, "flags") and saves.small_sample
    assert churn.sample == (3, "accounts paying in Sep 2026")
    assert card.kpi("grr").status == "no_target"
    data_json = card.to_json()["kpis"]
    assert data_json["nrr"]["target"]["value"] == pytest.approx(0.72)
    assert data_json["nrr"]["target"]["set_by"] == "UADMIN"
    assert (data_json["nrr"]["status"], data_json["nrr"]["good"]) == ("at_risk", False)
    assert data_json["logo_churn"]["direction"] == "lower" and data_json["logo_churn"]["good"] is False
    assert data_json["save_rate"]["sample"] == {"n": 3, "of": "flags", "small": True}
    assert data_json["grr"]["target"] is None and data_json["grr"]["status"] == "no_target"
    assert data_json["nrr"]["month"] == "2026-10" and data_json["nrr"]["changes_monthly"] is False


def test_weekly_revenue_kpis_say_their_month_and_agree_with_the_month_view(data: Database, ws: int) -> None:
    week = scorecard(data, ws, as_of=AS_OF, period="week", policies=Policies(), segment=None)
    month = scorecard(data, ws, as_of=AS_OF, period="month", policies=Policies(), segment=None)
    assert week.period.revenue_month == month.period.revenue_month == dt.date(2026, 10, 1)
    nrr = week.kpi("nrr")
    assert nrr.monthly and nrr.good is None and nrr.month == dt.date(2026, 10, 1)
    assert week.to_json()["kpis"]["nrr"]["changes_monthly"] is True
    assert not week.kpi("save_rate").monthly  # not a revenue KPI
    # On Tuesday 2026-12-01 November is complete: the week (Nov 23–29) and the month both use it,
    # and the week's change compares November with the October the week before showed.
    tuesday = dt.date(2026, 12, 1)
    week = scorecard(data, ws, as_of=tuesday, period="week", policies=Policies(), segment=None)
    month = scorecard(data, ws, as_of=tuesday, period="month", policies=Policies(), segment=None)
    assert week.period.revenue_month == month.period.revenue_month == dt.date(2026, 11, 1)
    assert week.kpi("nrr").previous_month == dt.date(2026, 10, 1) and not week.kpi("nrr").monthly


def test_a_past_scorecard_is_rebuilt_with_the_targets_it_showed(data: Database, ws: int) -> None:
    _set(data, ws, "nrr", "65%", T0, kinds=["month"])
    _set(data, ws, "nrr", "90%", T2, kinds=["month"])
    args = {"as_of": AS_OF, "period": "month", "policies": Policies(), "segment": None}
    then = scorecard(data, ws, targets_at=T1, **args)  # type: ignore[arg-type]
    now = scorecard(data, ws, **args)  # type: ignore[arg-type]
    assert then.kpi("nrr").target is not None and then.kpi("nrr").target.value == D("0.65")
    assert then.kpi("nrr").status == "on_track"
    assert now.kpi("nrr").status == "off_track"


def test_owner_matrix_follows_the_policy_file(db: Database, ws: int) -> None:
    policies = Policies(
        kpis={
            "adoption": KpiGoal(owners=["product", "engineering"], targets={"month": D("0.5")}),
            "nrr": KpiGoal(segments={"ent": {"quarter": D("1.2")}}),
        }
    )
    _set(db, ws, "nrr", "110%", T0, kinds=["quarter"], policies=policies)
    rows = {r.key: r for r in goals.matrix(db, ws, policies=policies, now=T1)}
    assert rows["adoption"].owners == ("product", "engineering")
    assert rows["adoption"].capability == "Adoption"
    assert [(t.kind, t.segment, t.target.value, t.target.source) for t in rows["adoption"].targets] == [
        ("month", None, D("0.5"), "policy")
    ]
    assert [(t.kind, t.segment, t.target.value, t.target.source) for t in rows["nrr"].targets] == [
        ("quarter", None, D("1.1"), "set"),
        ("quarter", "ent", D("1.2"), "policy"),
    ]
    assert rows["logo_churn"].direction == "lower" and rows["logo_churn"].targets == []


def test_the_daily_run_records_policy_file_targets_once(db: Database, ws: int) -> None:
    from services.daily import run_daily

    policies = Policies(kpis={"grr": KpiGoal(targets={"month": D("0.9")})})
    run_daily(db, ws, T1, policies)
    run_daily(db, ws, T1 + dt.timedelta(minutes=1), policies)  # the next tick: nothing new
    changes = goals.history(db, ws)
    assert [(c.kpi, c.period_kind, c.layer, c.new, c.at) for c in changes] == [
        ("grr", "month", "policy", D("0.9"), T1)
    ]
