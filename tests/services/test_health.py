"""The health model: pure scoring (components, renormalised weights, bands, drivers) and the
account health read from the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from services import health
from services.health import Score, components, contributions, drivers, score
from services.policies import HealthBands, HealthPolicy
from storage import health_inputs
from storage.db import Database
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.health_inputs import HealthInputs
from storage.importer import import_file
from storage.models import Account, HealthSnapshot, MrrSnapshot
from storage.periods import latest_complete_month
from storage.workspaces import ensure_workspace
from tests.support.helpers import load

POLICY = HealthPolicy()


def test_worked_example_from_the_docs() -> None:
    # docs/metrics.md, "Worked example": keep the two in step.
    inp = HealthInputs(
        mean_dau=12,
        seats=40,
        features_used=3,
        features_total=8,
        has_usage=True,
        tickets_tracked=True,
        open_high=1,
        open_other=1,
        csat=4.0,
        touchpoints_tracked=True,
        touch_weight=2,
        nps=None,
        mrr_now=90_000,
        mrr_before=100_000,
        open_risk=False,
    )
    parts = components(inp, POLICY)
    assert parts == pytest.approx(
        {"usage": 60.0, "adoption": 37.5, "support": 74.0, "engagement": 66.666667, "commercial": 80.0}
    )
    # sentiment is missing: the other weights (0.90 in all) are renormalised.
    s = score(inp, POLICY)
    expected = (0.30 * 60 + 0.15 * 37.5 + 0.15 * 74 + 0.15 * 66.666667 + 0.15 * 80) / 0.90
    assert s.score == round(expected)  # 63.03 → 63
    assert s.band == "yellow"
    assert sum(s.contributions.values()) == pytest.approx(expected)


def test_missing_everything_gives_no_score() -> None:
    s = score(HealthInputs(), POLICY)
    assert (s.score, s.band, s.components) == (None, None, {})


def test_components_are_clamped_and_penalised() -> None:
    inp = HealthInputs(
        mean_dau=90, seats=100, has_usage=True, mrr_now=40_000, mrr_before=100_000, open_risk=True
    )
    parts = components(inp, POLICY)
    assert parts["usage"] == 100  # 90 % utilisation is past the 50 % target: full marks, not 180
    assert parts["commercial"] == 0  # a 60 % drop is past zero; the open-risk penalty cannot go below 0


def test_bands_follow_configured_thresholds() -> None:
    bands = HealthBands(red_below=50, green_from=80)
    assert [bands.band(x) for x in (49.9, 50, 79, 80)] == ["red", "yellow", "yellow", "green"]
    with pytest.raises(ValueError, match="red_below"):
        HealthBands(red_below=90, green_from=80)


def test_weights_change_the_score() -> None:
    inp = HealthInputs(mean_dau=50, seats=100, has_usage=True, nps=2.0)  # usage 100, sentiment 20
    only_usage = HealthPolicy(weights={"usage": 1.0, "sentiment": 0.0})
    assert score(inp, only_usage).score == 100
    assert score(inp, HealthPolicy(weights={"usage": 1.0, "sentiment": 1.0})).score == 60


def test_drivers_rank_weighted_changes() -> None:
    now = score_of({"usage": 80, "support": 50})
    then = score_of({"usage": 50, "support": 60})
    top = drivers(now, then, POLICY)  # weights 0.30 and 0.15: two thirds and one third
    assert [d.component for d in top] == ["usage", "support"]
    assert [d.change for d in top] == pytest.approx([20.0, -10 / 3])


def score_of(parts: dict[str, float]) -> Score:
    return health.from_snapshot(parts, POLICY)


def test_contributions_sum_to_the_score() -> None:
    c = contributions({"usage": 50.0, "support": 100.0}, POLICY)  # weights 0.30 and 0.15
    assert c == pytest.approx({"usage": 50 * 2 / 3, "support": 100 / 3})


@pytest.fixture
def one_account(db: Database, ws: int, tmp_path: Path) -> int:
    load(db, ws, "accounts", "external_id,name,segment\nA,Alpha,smb\nB,Beta,smb\n", tmp_path)
    usage = ["account,day,active_users,licensed_seats"]
    for k in range(60):
        day = dt.date(2026, 11, 23) - dt.timedelta(days=k)
        usage.append(f"A,{day},{5 if k < 28 else 20},40")  # usage fell this month
        usage.append(f"B,{day},20,40")
    load(db, ws, "usage", "\n".join(usage) + "\n", tmp_path)
    load(db, ws, "revenue", "account,month,mrr\nA,2026-07,1000\nA,2026-10,1000\nB,2026-10,100\n", tmp_path)
    load(
        db,
        ws,
        "tickets",
        """
        external_id,account,opened_at,closed_at,priority,csat
        t1,A,2026-11-20T10:00:00Z,,urgent,
        t2,A,2026-09-01T10:00:00Z,2026-09-03T10:00:00Z,normal,2
    """,
        tmp_path,
    )
    with db.read() as s:
        return s.scalars(select(Account.id).where(Account.external_id == "A")).one()


def test_account_health_trend_and_drivers(db: Database, ws: int, one_account: int) -> None:
    with db.read() as s:
        h = health.account_health(s, ws, one_account, dt.date(2026, 11, 23), POLICY)
    assert h.now.components["usage"] == pytest.approx(100 * (5 / 40) / 0.5)
    assert h.then.components["usage"] == 100.0  # 20 of 40 seats a month ago
    assert h.now.components["support"] == pytest.approx((80 + 25) / 2)  # one urgent open ticket; CSAT 2
    assert h.trend is not None and h.trend < 0
    assert h.drivers[0].component == "usage" and h.drivers[0].change < 0


def test_snapshot_scores_every_account_once_per_day(db: Database, ws: int, one_account: int) -> None:
    day = dt.date(2026, 11, 23)
    with db.write() as s:
        first = health.snapshot(s, ws, day, POLICY)
    with db.write() as s:
        again = health.snapshot(s, ws, day, POLICY)
    with db.read() as s:
        rows = s.scalars(select(HealthSnapshot).where(HealthSnapshot.day == day)).all()
    assert first == again == 2
    assert len(rows) == 2
    assert {r.band for r in rows} <= {"red", "yellow", "green"}


def test_movers_rank_the_largest_30_day_changes(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "accounts", "external_id,name,segment\nA,Alpha,smb\nB,Beta,smb\nC,Gamma,smb\n", tmp_path)
    day, before = dt.date(2026, 11, 23), dt.date(2026, 10, 24)
    with db.write() as s:
        ids = dict(s.execute(select(Account.external_id, Account.id)).all())
        rows = [
            ("A", before, 80),
            ("A", day, 50),
            ("B", before, 40),
            ("B", day, 45),
            ("C", before, 20),
            ("C", day, 70),
        ]
        s.add_all(
            HealthSnapshot(workspace_id=ws, account_id=ids[a], day=d, score=sc, band="x", components={})
            for a, d, sc in rows
        )
    with db.read() as s:
        top = health_inputs.movers(s, ws, day, limit=2)
    assert top == [(ids["C"], 70, 20), (ids["A"], 50, 80)]  # |+50| and |−30|; B moved 5


def test_score_30_days_ago_from_the_snapshot_matches_the_live_one(
    db: Database, ws: int, one_account: int
) -> None:
    live = None
    with db.read() as s:
        live = health.account_health(s, ws, one_account, dt.date(2026, 11, 23), POLICY)
    with db.write() as s:
        health.snapshot(s, ws, dt.date(2026, 10, 24), POLICY)  # the day 30 days before
    with db.read() as s:
        stored = health.account_health(s, ws, one_account, dt.date(2026, 11, 23), POLICY)
    assert stored.then.score == live.then.score and stored.trend == live.trend
    assert stored.then.components == pytest.approx(live.then.components, abs=0.05)
    assert [d.component for d in stored.drivers] == [d.component for d in live.drivers]


def test_one_account_inputs_equal_the_workspace_wide_ones(db: Database, ws: int, tmp_path: Path) -> None:
    """/health reads one account's inputs in one joined statement, the daily snapshot reads the whole
    workspace query by query: on varied data (usage, seats, features, tickets, touchpoints, NPS, revenue
    movements, risk flags) both give every account the same inputs, on several days."""
    data = DemoData(DemoConfig(accounts=40, months=8, seed=4, as_of=dt.date(2026, 11, 23), usage_days=40))
    paths = write_files(data, tmp_path / "demo")
    for kind in KIND_ORDER:
        with db.write() as s:
            import_file(s, ws, kind, paths[kind])
    with db.write() as s:  # another workspace's data must not leak into either path
        other = ensure_workspace(s, "other", now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    load(db, other, "accounts", "external_id,name,segment\nZ,Zeta,smb\n", tmp_path)
    left_out: list[int] = []
    for day in (dt.date(2026, 11, 23), dt.date(2026, 10, 24), dt.date(2026, 10, 16)):
        with db.read() as s:
            everyone = health_inputs.gather_inputs(s, ws, day)
            one_by_one = {a: health_inputs.gather_inputs(s, ws, day, a)[a] for a in everyone}
        month = latest_complete_month(day + dt.timedelta(days=1))
        with db.read() as s:
            paid = {(r.account_id, r.month) for r in s.scalars(select(MrrSnapshot)) if r.mrr > 0}
            customers = {
                a.id
                for a in s.scalars(select(Account).where(Account.workspace_id == ws))
                if (a.closed_won_on is None or a.closed_won_on <= day)
                and a.stage != "churned"
                and ((a.id, month) in paid or not any(i == a.id and mo < month for i, mo in paid))
            }
        assert set(everyone) == customers  # the others: churned, or not won yet that day
        left_out.append(40 - len(customers))
        assert one_by_one == everyone, day
        kinds = {
            "usage": any(i.has_usage for i in everyone.values()),
            "tickets": any(i.open_high + i.open_other for i in everyone.values()),
            "touch": any(i.touch_weight for i in everyone.values()),
            "nps": any(i.nps is not None for i in everyone.values()),
            "risk": any(i.open_risk for i in everyone.values()),
            "mrr": any(i.mrr_before for i in everyone.values()),
        }
        assert all(kinds.values()), (day, kinds)  # the comparison covered every kind of input
    assert any(left_out), left_out  # the customers-only rule was exercised


def test_ticket_priorities_and_touchpoint_kinds_count_as_defined(
    db: Database, ws: int, tmp_path: Path
) -> None:
    """Open tickets split into high (high, urgent) and other; QBRs, EBRs and executive meetings weigh
    2, other touchpoints 1; closed tickets and old touchpoints do not count. For one account and for
    the whole workspace alike."""
    load(db, ws, "accounts", "external_id,name,segment\nA,Alpha,smb\nB,Beta,smb\n", tmp_path)
    tickets = [("urgent", "20", ""), ("high", "21", ""), ("normal", "21", ""), ("low", "21", "")]
    rows = [f"t{k},A,{p},2026-11-{d}T10:00:00Z,{c}," for k, (p, d, c) in enumerate(tickets)]
    rows += ["t8,A,urgent,2026-11-01T10:00:00Z,2026-11-02T10:00:00Z,4", "t9,B,low,2026-11-22T10:00:00Z,,"]
    load(
        db,
        ws,
        "tickets",
        "external_id,account,priority,opened_at,closed_at,csat\n" + "\n".join(rows),
        tmp_path,
    )
    load(
        db,
        ws,
        "touchpoints",
        """
        external_id,account,kind,occurred_at
        p1,A,qbr,2026-11-01T10:00:00Z
        p2,A,exec_meeting,2026-10-01T10:00:00Z
        p3,A,call,2026-11-10T10:00:00Z
        p4,A,ebr,2026-01-01T10:00:00Z
        p5,B,meeting,2026-11-10T10:00:00Z
    """,
        tmp_path,
    )
    day = dt.date(2026, 11, 23)
    with db.read() as s:
        ids = dict(s.execute(select(Account.external_id, Account.id)).all())
        whole = health_inputs.gather_inputs(s, ws, day)
        one = {k: health_inputs.gather_inputs(s, ws, day, ids[k])[ids[k]] for k in ("A", "B")}
    for key in ("A", "B"):
        assert one[key] == whole[ids[key]]
    a, b = one["A"], one["B"]
    assert (a.open_high, a.open_other, a.csat) == (2, 2, 4)
    assert (b.open_high, b.open_other) == (0, 1)
    assert (a.touch_weight, b.touch_weight) == (2 + 2 + 1, 1)  # the January EBR is out of the window
