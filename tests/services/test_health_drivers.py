"""Health drivers (docs/metrics.md, "Top drivers"): the score change split exactly over the
components, a component that appeared or disappeared named as such, and never a driver that
contradicts its own component's move."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from blocks import format as fmt
from bot import render
from digests import digest
from services import health
from services.accounts import account_card
from services.health import Score, decompose, drivers
from services.policies import HEALTH_COMPONENTS, HealthPolicy, Policies
from storage.db import Database
from storage.models import Account, HealthSnapshot
from tests.support.helpers import load

POLICY = HealthPolicy()
NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def score_of(parts: dict[str, float]) -> Score:
    return health.from_snapshot(parts, POLICY)


def unrounded(s: Score) -> float:
    return sum(s.contributions.values())


def test_worked_example_from_the_docs() -> None:
    # docs/metrics.md, "Top drivers", worked example: keep the two in step.
    then = score_of({"usage": 80, "support": 60, "engagement": 100, "sentiment": 90, "commercial": 100})
    now = score_of({"usage": 60, "adoption": 40, "support": 60, "engagement": 100, "commercial": 100})
    assert unrounded(then) == pytest.approx(72 / 0.85)  # 84.7
    assert (then.score, now.score) == (85, 70)
    changes = {d.component: d for d in decompose(now, then, POLICY)}
    assert {k: d.change for k, d in changes.items()} == pytest.approx(
        {
            "usage": 0.30 / 0.75 * (60 - 80),  # −8: its own change, weight renormalised over C
            "adoption": 70 - 76,  # appeared: score now − score over C now
            "sentiment": 84 - 72 / 0.85,  # disappeared: score over C then − score then (−0.7)
            "support": 0.0,
            "engagement": 0.0,
            "commercial": 0.0,
        }
    )
    assert sum(d.change for d in changes.values()) == pytest.approx(unrounded(now) - unrounded(then))
    assert (changes["adoption"].then, changes["adoption"].now) == (None, 40)
    assert (changes["sentiment"].then, changes["sentiment"].now) == (90, None)
    shown = "; ".join(fmt.driver(d) for d in drivers(now, then, POLICY))
    assert shown == "usage -8.0; adoption -6.0 (no data 30 days ago); sentiment -0.7 (no data now)"


def test_oakworks_the_top_driver_has_the_sign_of_the_move() -> None:
    """100 → 75: four components lost their data and commercial fell. Comparing renormalised
    contributions showed "mostly usage (+36.7)" for a usage that did not move."""
    then = score_of(dict.fromkeys(HEALTH_COMPONENTS, 100.0))
    now = score_of({"usage": 100, "commercial": 25})
    assert (then.score, now.score) == (100, 75)
    changes = decompose(now, then, POLICY)
    assert sum(d.change for d in changes) == pytest.approx(-25)
    top = drivers(now, then, POLICY)
    assert [(d.component, round(d.change, 6)) for d in top] == [("commercial", -25.0)]
    assert all(d.change < 1e-9 for d in changes)  # nothing shown as pulling it up


@pytest.mark.parametrize(
    ("then", "now"),
    [
        ({"usage": 50}, {"usage": 50, "support": 100}),  # appeared above the rest: +
        ({"usage": 50}, {"usage": 50, "support": 20}),  # appeared below the rest: −
        ({"usage": 50, "sentiment": 90}, {"usage": 50}),  # a high one disappeared: −
        ({"usage": 50, "sentiment": 10}, {"usage": 50}),  # a low one disappeared: +
        ({"usage": 40, "support": 70, "nps": 0}, {"usage": 70, "engagement": 10, "adoption": 95}),
        ({"usage": 40}, {"support": 90}),  # nothing in common: all of it is appearing and disappearing
    ],
)
def test_drivers_add_up_to_the_score_change(then: dict[str, float], now: dict[str, float]) -> None:
    old, new = score_of(then), score_of(now)
    changes = decompose(new, old, POLICY)
    assert {d.component for d in changes} == set(then) | set(now)
    assert sum(d.change for d in changes) == pytest.approx(unrounded(new) - unrounded(old))
    for d in changes:
        if d.then is not None and d.now is not None:  # never against its own component's move
            assert d.change == pytest.approx(0) or (d.change > 0) == (d.now > d.then)


def test_appeared_and_disappeared_components_move_by_their_distance_from_the_rest() -> None:
    then, now = score_of({"usage": 50}), score_of({"usage": 50, "support": 100})
    (appeared,) = drivers(now, then, POLICY)
    # 0.15 × (100 − 50) ÷ 0.45: the whole move, named as a component without data then
    assert (appeared.component, appeared.note) == ("support", "no data 30 days ago")
    assert appeared.change == pytest.approx(50 / 3)
    (gone,) = drivers(then, now, POLICY)
    assert (gone.component, gone.note) == ("support", "no data now")
    assert gone.change == pytest.approx(-50 / 3)


def test_no_drivers_without_a_score_at_both_ends() -> None:
    assert decompose(score_of({"usage": 50}), score_of({}), POLICY) == []


def test_card_json_gives_each_drivers_change_then_and_now(db: Database, ws: int, tmp_path: Path) -> None:
    """The stored snapshot 30 days ago had sentiment; today's data has none: the card's JSON names it
    with its value then and ``now: null``, and the changes add up to the trend."""
    load(db, ws, "accounts", "external_id,name,segment\nOAK,Oakworks,smb\n", tmp_path)
    as_of = NOW.date()
    usage = ["account,day,active_users,licensed_seats"]
    usage += [f"OAK,{as_of - dt.timedelta(days=k)},10,40" for k in range(28)]  # usage 50
    load(db, ws, "usage", "\n".join(usage) + "\n", tmp_path)
    with db.write() as s:
        aid = s.scalars(select(Account.id)).one()
        s.add(
            HealthSnapshot(
                workspace_id=ws,
                account_id=aid,
                day=as_of - dt.timedelta(days=30),
                score=75,
                band="green",
                components={"usage": 70.0, "sentiment": 90.0},
            )
        )
    with db.read() as s:
        card = account_card(s, ws, aid, now=NOW, policy=POLICY)
    data = render.health_json(card, NOW)["health"]
    assert (data["score_30_days_ago"], data["score"], data["trend"]) == (75, 50, -25)
    assert data["drivers"] == [
        {"component": "usage", "change": -20.0, "then": 70.0, "now": 50.0},
        {"component": "sentiment", "change": -5.0, "then": 90.0, "now": None},  # 70 − 75
    ]


def test_digest_mover_names_the_component_that_moved_it(db: Database, ws: int, tmp_path: Path) -> None:
    """The digest's "▼ Oakworks 100 → 75 — mostly usage (+37)" named a component that never moved."""
    load(db, ws, "accounts", "external_id,name,segment\nOAK,Oakworks,smb\n", tmp_path)
    day = NOW.date()
    then = dict.fromkeys(HEALTH_COMPONENTS, 100.0)
    with db.write() as s:
        aid = s.scalars(select(Account.id)).one()
        for d, sc, parts in (
            (day - dt.timedelta(days=30), 100, then),
            (day, 75, {"usage": 100, "commercial": 25}),
        ):
            s.add(
                HealthSnapshot(workspace_id=ws, account_id=aid, day=d, score=sc, band="x", components=parts)
            )
    with db.read() as s:
        lines = [digest.mover_line(mv) for mv in health.movers(s, ws, day, Policies().health, limit=25)]
    assert lines == ["▼ *Oakworks* 100 → 75 — mostly commercial -25"]
