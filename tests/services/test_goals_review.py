"""The review of shared goals, on a real database (SQLite and PostgreSQL): policy-file targets checked
per unit like the ones typed in Slack, targets read back without an exponent, revenue KPIs with their
sample size, the policy file's targets recorded once when replicas sync at once, the history of both
layers read back as of a past time, and what applies after a clear.

The revenue dataset (scorecard as of Monday 2026-11-23: the month is October 2026, M−12 October 2025):

  A  100 from 2025-09 to 2026-09, 110 in 2026-10   expansion +10 in Oct
  B  100 from 2025-09 to 2026-09, then 0           churned in Oct
  C  100 from 2025-09 to 2026-10                   flat
  D  100 from 2025-09 to 2026-09, 60 in 2026-10    contraction −40 in Oct
  E  100 from 2026-01                              not paying in Oct 2025: not in NRR's base

  NRR base: A, B, C, D paying in Oct 2025 → 4 accounts; expansion: A → 1; contraction: D → 1.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services import goals
from services.errors import ConfigError
from services.policies import KpiGoal, Policies, load_policies
from services.scorecard import scorecard
from storage import metrics
from storage import targets as store
from storage.db import Database
from tests.support.helpers import at_once, load, months

AS_OF = dt.date(2026, 11, 23)
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 11, 15, 9, 0, tzinfo=dt.UTC)
T3 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
D = Decimal
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    accounts = "external_id,name,segment\nA,Alpha,ent\nB,Beta,smb\nC,Gamma,smb\nD,Delta,smb\nE,Echo,smb\n"
    load(db, ws, "accounts", accounts, tmp_path)
    rows = ["account,month,mrr"]
    for month in months("2025-09", "2026-09"):
        rows += [f"A,{month},100", f"B,{month},100", f"C,{month},100", f"D,{month},100"]
    rows += [f"E,{month},100" for month in months("2026-01", "2026-10")]
    rows += ["A,2026-10,110", "B,2026-10,0", "C,2026-10,100", "D,2026-10,60"]
    load(db, ws, "revenue", "\n".join(rows) + "\n", tmp_path)
    return db


# --- 1. policy-file targets: the same rules as a typed one -----------------------------------------


@pytest.mark.parametrize(
    ("section", "says"),
    [
        (
            "[kpis.nrr]\ntargets = { month = 1.1234567 }",
            "[kpis.nrr] targets.month = 1.1234567: has more than six",
        ),
        (
            "[kpis.grr]\ntargets = { quarter = 110 }",
            "[kpis.grr] targets.quarter = 110: out of range for a percentage",
        ),
        (
            "[kpis.clv]\ntargets = { month = 1e20 }",
            "[kpis.clv] targets.month = 100000000000000000000: too large",
        ),
        ("[kpis.time_to_value_days]\ntargets = { week = 99999999999999999 }", "at most 1,000,000,000,000"),
        (
            "[kpis.health_index]\ntargets = { week = 101 }",
            "[kpis.health_index] targets.week = 101: not a score",
        ),
        ("[kpis.nrr.segments.ent]\nmonth = 12", "[kpis.nrr] segments.ent.month = 12: out of range"),
    ],
)
def test_a_policy_target_the_database_cannot_keep_stops_with_one_line(
    tmp_path: Path, section: str, says: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(section + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policies(path)
    message = str(caught.value)
    assert says in message and "\n" not in message and "Value error" not in message


def test_policy_targets_within_the_rules_load_and_are_kept_exactly(
    db: Database, ws: int, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        "[kpis.nrr]\ntargets = { month = 1.123456, quarter = 10 }\n"
        "[kpis.clv]\ntargets = { month = 1000000000000 }\n",
        encoding="utf-8",
    )
    policies = load_policies(path)
    assert goals.sync_policy_targets(db, ws, policies, T0) == 3
    kept = goals.targets_as_of(db, ws, T0)
    assert kept.pick("nrr", "month", None) == goals.Target(D("1.123456"), "policy", None)
    assert str(kept.policy[("clv", "month", None)]) == "1000000000000"  # not 1E+12


# --- 2. no exponent: a target read back prints as plain digits --------------------------------------


def test_targets_read_back_without_an_exponent(db: Database, ws: int) -> None:
    goals.set_target(
        db, ws, "clv", "$50k", kinds=["month"], segment=None, by="UADMIN", now=T0, policies=Policies()
    )
    goals.set_target(
        db,
        ws,
        "expansion_arr",
        "1.2M",
        kinds=["month"],
        segment=None,
        by="UADMIN",
        now=T0,
        policies=Policies(),
    )
    with db.read() as session:
        kept = store.in_force(session, ws, T1, "set")
    assert str(kept[("clv", "month", None)]) == "50000"
    assert str(kept[("expansion_arr", "month", None)]) == "1200000"


def test_the_scorecard_json_prints_money_targets_as_plain_digits(data: Database, ws: int) -> None:
    goals.set_target(
        data, ws, "clv", "$50k", kinds=["month"], segment=None, by="UADMIN", now=T0, policies=Policies()
    )
    card = scorecard(data, ws, as_of=AS_OF, period="month", policies=Policies(), segment=None)
    assert card.to_json()["kpis"]["clv"]["target"]["value"] == "50000"


# --- 3 is in tests/services/test_goals.py (status compared as shown) --------------------------------


# --- 4. revenue KPIs say how few accounts they rest on -----------------------------------------------


def test_revenue_kpis_carry_their_sample(data: Database, ws: int) -> None:
    card = scorecard(data, ws, as_of=AS_OF, period="month", policies=Policies(), segment=None)
    nrr, grr = card.kpi("nrr"), card.kpi("grr")
    # NRR Oct = (110 + 0 + 100 + 60) / 400 = 0.675; GRR = (100 + 0 + 100 + 60) / 400 = 0.65
    assert nrr.current.value == pytest.approx(0.675) and grr.current.value == pytest.approx(0.65)
    assert nrr.sample == grr.sample == (4, "accounts paying in Oct 2025") and nrr.small_sample
    assert card.kpi("expansion_arr").sample == (1, "accounts expanding")
    assert card.kpi("contraction_arr").sample == (1, "accounts contracting")
    shown = card.to_json()["kpis"]
    assert shown["nrr"]["sample"] == {"n": 4, "of": "accounts paying in Oct 2025", "small": True}
    assert shown["contraction_arr"]["sample"]["n"] == 1


def test_an_account_expanding_in_two_flow_months_is_one_account(
    data: Database, ws: int, tmp_path: Path
) -> None:
    load(data, ws, "revenue", "account,month,mrr\nC,2026-09,120\nC,2026-10,150\n", tmp_path)
    sep, octo = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    with data.read() as session:
        facts = metrics.revenue_facts(session, ws, [octo], {octo: [sep, octo]})[octo]
    # C: 100 → 120 (Sep) → 150 (Oct); A: 100 → 110 (Oct). Three movements, two accounts.
    assert facts.expansion == {sep: 2000, octo: 4000}  # cents: (20) and (30 + 10)
    assert facts.expansion_accounts == 2
    assert facts.contraction_accounts == 1 and facts.base_accounts == 4


# --- 5. the policy file's targets are recorded once by replicas syncing at once ---------------------


def test_replicas_syncing_at_once_record_a_change_once(db: Database, ws: int) -> None:
    for attempt in range(3):
        quarter = D("1.10") + attempt
        wanted = Policies(kpis={"nrr": KpiGoal(targets={"quarter": quarter, "month": D("1.05")})})
        at = T0 + dt.timedelta(days=attempt)

        def sync(_: int, wanted: Policies = wanted, at: dt.datetime = at) -> int:
            return goals.sync_policy_targets(db, ws, wanted, at)

        counts = at_once(sync, [1, 2, 3])
        assert sum(counts) == (2 if attempt == 0 else 1)  # both targets first, then the quarter's
    with db.read() as session:
        history = store.history(session, ws)
    assert [(c.kpi, c.period_kind, c.new) for c in reversed(history)] == [
        ("nrr", "month", D("1.05")),
        ("nrr", "quarter", D("1.1")),
        ("nrr", "quarter", D("2.1")),
        ("nrr", "quarter", D("3.1")),
    ]


# --- 7. both layers read back as of an earlier time -------------------------------------------------


def test_policy_and_slack_changes_read_back_as_of_an_earlier_time(db: Database, ws: int) -> None:
    first = Policies(kpis={"nrr": KpiGoal(targets={"quarter": D("1.05")})})
    second = Policies(kpis={"nrr": KpiGoal(targets={"quarter": D("1.08")})})
    goals.sync_policy_targets(db, ws, first, T0)
    goals.set_target(
        db, ws, "nrr", "110%", kinds=["quarter"], segment=None, by="UADMIN", now=T1, policies=first
    )
    goals.sync_policy_targets(db, ws, second, T2)
    goals.set_target(
        db, ws, "nrr", None, kinds=["quarter"], segment=None, by="UBOSS", now=T3, policies=second
    )

    def at(when: dt.datetime) -> tuple[Decimal, str, str | None] | None:
        t = goals.targets_as_of(db, ws, when).pick("nrr", "quarter", None)
        return None if t is None else (t.value, t.source, t.by)

    assert at(T0 - SECOND) is None
    assert at(T0) == (D("1.05"), "policy", None)
    assert at(T1 - SECOND) == (D("1.05"), "policy", None)
    assert at(T1) == (D("1.1"), "set", "UADMIN")
    assert at(T2 + SECOND) == (D("1.1"), "set", "UADMIN")  # the file changed, the Slack target still wins
    assert at(T3) == (D("1.08"), "policy", None)  # cleared: the file's value as it was then
    policy_layer = goals.targets_as_of(db, ws, T2 - SECOND).policy
    assert policy_layer == {("nrr", "quarter", None): D("1.05")}


# --- 6. after a clear, the target that applies ------------------------------------------------------


def test_a_clear_says_which_target_applies_now(data: Database, ws: int) -> None:
    policies = Policies(kpis={"nrr": KpiGoal(targets={"quarter": D("1.05")})})
    goals.set_target(
        data, ws, "nrr", "110%", kinds=None, segment=None, by="UADMIN", now=T0, policies=policies
    )
    goals.set_target(
        data, ws, "nrr", "120%", kinds=["month"], segment="ent", by="UADMIN", now=T0, policies=policies
    )
    cleared = goals.set_target(
        data, ws, "nrr", None, kinds=None, segment=None, by="UADMIN", now=T1, policies=policies
    )
    assert cleared.in_force == {
        "week": None,
        "month": None,
        "quarter": goals.Target(D("1.05"), "policy", None),
    }
    seg = goals.set_target(
        data, ws, "nrr", None, kinds=["month"], segment="ent", by="UADMIN", now=T2, policies=policies
    )
    assert seg.in_force == {"month": None}
