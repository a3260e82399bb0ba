"""The plays engine: evaluation opens each play once (twice in a row, two workers at once), a closed
play waits out its cooldown, the signal is recorded, owners fall back to the team's manager then a
channel; accept / close / snooze / reassign with who may, each once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import plays, risk
from services.policies import PlayDef, Policies
from storage import models as m
from storage.db import Database
from tests.support import plays_data as d
from tests.support.helpers import at_once

D = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
days = dt.timedelta

POLICIES = Policies.model_validate(
    {
        "play_settings": {"fallback_channel": "CPLAYS"},
        "plays": [
            {
                "key": "red",
                "title": "Health red",
                "trigger": "health_drop",
                "owner": "csm",
                "due_hours": 24,
                "cooldown_days": 30,
                "steps": ["Call them"],
                "runbook_url": "https://wiki/red",
            },
            {
                "key": "tickets",
                "title": "Tickets",
                "trigger": "ticket_spike",
                "owner": "support_lead",
                "params": {"count": 2},
            },
            {"key": "call", "title": "Save call", "owner": "csm"},
        ],
    }
)


class World:
    def __init__(self, session: Session, ws: int) -> None:
        self.boss = d.person(session, ws, "Boss", "cs", "UBOSS")
        self.ana = d.person(session, ws, "Ana", "cs", "UANA", self.boss)
        self.cid = d.person(session, ws, "Cid", "cs", "UCID", self.boss)
        self.eve = d.person(session, ws, "Eve", "sales", "UEVE")
        self.a = d.account(session, ws, "A", name="Acme", csm_id=self.ana)
        self.b = d.account(session, ws, "B", name="Beta")  # no CSM: the cs team's manager (Boss)
        for acc in (self.a, self.b):
            d.health(session, ws, acc, D, 30, "red")
        c = d.account(session, ws, "C", name="Gamma")  # tickets; no support lead, no support manager
        d.ticket(session, ws, c, D, "high")
        d.ticket(session, ws, c, D, "urgent")
        self.c = c


@pytest.fixture
def world(db: Database, ws: int) -> World:
    with db.write() as s:
        return World(s, ws)


def _count(db: Database, ws: int) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(m.Play).where(m.Play.workspace_id == ws)) or 0)


def test_evaluation_opens_each_once_with_signal_owner_and_due(db: Database, ws: int, world: World) -> None:
    told: list[list[int]] = []

    def notify(session: Session, w: int, ids: list[int], now: dt.datetime) -> int:
        told.append(sorted(ids))
        return len(ids)

    first = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=notify)
    assert first.opened == {"red": 2, "tickets": 1} and first.queued == 3
    assert told == [sorted(first.play_ids)]
    again = plays.evaluate(db, ws, D, now=NOW + days(hours=1), policies=POLICIES, notify=notify)
    assert again.opened == {"red": 0, "tickets": 0} and again.fired == {"red": 2, "tickets": 1}
    assert len(told) == 1 and _count(db, ws) == 3
    with db.read() as s:
        rows = {
            (p.account_id, p.play_key): p for p in s.scalars(select(m.Play).where(m.Play.workspace_id == ws))
        }
        events = s.scalar(select(func.count()).select_from(m.PlayEvent).where(m.PlayEvent.kind == "opened"))
    red_a = rows[(world.a, "red")]
    assert red_a.owner_id == world.ana and red_a.owner_role == "csm" and red_a.owner_channel is None
    assert red_a.due_at == NOW + days(hours=24)
    assert red_a.signal == {
        "trigger": "health_drop",
        "as_of": "2026-11-30",
        "values": {"score": 30, "band": "red", "score_then": None, "band_then": None, "days": 30},
    }
    assert rows[(world.b, "red")].owner_id == world.boss  # the cs team's manager
    gamma = rows[(world.c, "tickets")]
    assert gamma.owner_id is None and gamma.owner_channel == "CPLAYS"  # nobody in support: the channel
    assert events == 3


def test_closed_play_waits_out_its_cooldown(db: Database, ws: int, world: World) -> None:
    first = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
    red_a = next(
        v for v in plays.views_of(db, ws, first.play_ids, POLICIES, NOW) if v.row.account_id == world.a
    )
    plays.close(db, ws, red_a.row.id, "saved", "fixed", user_id="UANA", admins=(), policies=POLICIES, now=NOW)
    day29 = NOW + days(days=29, hours=23)
    later = plays.evaluate(db, ws, D + days(29), now=day29, policies=POLICIES, notify=plays.no_notify)
    # the snapshot of D+29 does not exist: nothing fires; use D's data again to test the cooldown alone
    assert later.fired["red"] == 0
    inside = plays.evaluate(db, ws, D, now=day29, policies=POLICIES, notify=plays.no_notify)
    assert inside.opened["red"] == 0  # A in its cooldown, B still open
    after = plays.evaluate(
        db, ws, D, now=NOW + days(days=30, seconds=1), policies=POLICIES, notify=plays.no_notify
    )
    assert after.opened["red"] == 1
    with db.read() as s:
        a_plays = s.scalars(
            select(m.Play.state).where(m.Play.account_id == world.a, m.Play.play_key == "red")
        ).all()
    assert sorted(a_plays) == ["closed", "open"]


def test_two_workers_at_once_open_one_play(db: Database, ws: int, world: World) -> None:
    results = at_once(
        lambda _: plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify), [1, 2, 3]
    )
    assert sorted(r.total_opened for r in results) == [0, 0, 3]
    assert _count(db, ws) == 3


def test_accept_close_twice_change_once_and_strangers_are_refused(
    db: Database, ws: int, world: World
) -> None:
    ev = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
    pid = next(
        v.row.id for v in plays.views_of(db, ws, ev.play_ids, POLICIES, NOW) if v.row.account_id == world.a
    )
    kw = {"admins": ("UADMIN",), "policies": POLICIES, "now": NOW}
    with pytest.raises(plays.PlayNotAllowed) as refused:
        plays.accept(db, ws, pid, user_id="UCID", **kw)  # a colleague, not in Ana's chain
    assert refused.value.chain == ("Ana", "Boss") and refused.value.listed
    with pytest.raises(plays.PlayNotAllowed):
        plays.close(db, ws, pid, "saved", None, user_id="USTRANGER", **kw)
    assert plays.accept(db, ws, pid, user_id="UANA", **kw).changed
    assert not plays.accept(db, ws, pid, user_id="UANA", **kw).changed
    done = plays.close(db, ws, pid, "saved", "renewed <early>", user_id="UBOSS", **kw)  # the manager may
    assert done.changed and done.view.row.outcome == "saved" and done.view.row.note == "renewed <early>"
    second = plays.close(db, ws, pid, "churned", None, user_id="UADMIN", **kw)
    assert not second.changed and second.view.row.outcome == "saved"
    assert [(e.kind, e.actor_name) for e in second.view.history] == [
        ("opened", None),
        ("accepted", "Ana"),
        ("closed", "Boss"),
    ]
    with pytest.raises(plays.PlayIsClosed):
        plays.accept(db, ws, pid, user_id="UANA", **kw)
    with pytest.raises(plays.Refusal):
        plays.close(db, ws, pid, "won", None, user_id="UANA", **kw)


def test_snooze_wakes_and_reassign_tells_the_new_owner(db: Database, ws: int, world: World) -> None:
    ev = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
    pid = next(
        v.row.id for v in plays.views_of(db, ws, ev.play_ids, POLICIES, NOW) if v.row.account_id == world.a
    )
    kw = {"admins": (), "policies": POLICIES, "now": NOW}
    with pytest.raises(plays.BadSnooze):
        plays.snooze(db, ws, pid, NOW - days(hours=1), user_id="UANA", **kw)
    snoozed = plays.snooze(db, ws, pid, NOW + days(days=2), user_id="UANA", **kw)
    assert snoozed.changed and snoozed.view.row.state == "snoozed"
    assert plays.mine(db, ws, "UANA", POLICIES, NOW) is not None
    woke = plays.evaluate(db, ws, D, now=NOW + days(days=2), policies=POLICIES, notify=plays.no_notify)
    assert woke.woke == 1 and plays.view(db, ws, pid, POLICIES, NOW).row.state == "open"
    told: list[int] = []

    def notify(session: Session, w: int, ids: list[int], now: dt.datetime) -> int:
        told.extend(ids)
        return 1

    with pytest.raises(plays.UnknownPerson):
        plays.reassign(db, ws, pid, "UNOBODY", user_id="UANA", notify=notify, **kw)
    moved = plays.reassign(db, ws, pid, "UCID", user_id="UANA", notify=notify, **kw)
    assert moved.changed and moved.view.row.owner_slack == "UCID" and told == [pid]
    assert not plays.reassign(db, ws, pid, "UCID", user_id="UCID", notify=notify, **kw).changed
    mine = plays.mine(db, ws, "UCID", POLICIES, NOW)
    assert mine is not None and [v.row.id for v in mine] == [pid]
    team = plays.team(db, ws, "UBOSS", POLICIES, NOW)
    assert team is not None and {v.row.account_name for v in team} == {"Acme", "Beta"}
    assert plays.mine(db, ws, "USTRANGER", POLICIES, NOW) is None


def test_open_by_hand(db: Database, ws: int, world: World) -> None:
    kw = {"admins": (), "policies": POLICIES, "now": NOW, "notify": plays.no_notify}
    with pytest.raises(plays.UnknownPlayKey):
        plays.open_play(db, ws, "Acme", "nope", user_id="UANA", **kw)
    with pytest.raises(plays.PlayNotAllowed):
        plays.open_play(db, ws, "Acme", "call", user_id="USTRANGER", **kw)
    opened = plays.open_play(db, ws, "Acme", "call", user_id="UEVE", note="after the QBR", **kw)
    assert opened.new and opened.view.row.source == "hand" and opened.view.row.owner_slack == "UANA"
    assert opened.view.history[0].actor_name == "Eve"
    again = plays.open_play(db, ws, "acme", "call", user_id="UANA", **kw)
    assert not again.new and again.view.row.id == opened.view.row.id
    name, listed = plays.for_account(db, ws, "Acme", POLICIES, NOW)
    assert name == "Acme" and [v.row.play_key for v in listed] == ["call"]


def test_business_hours_due_time() -> None:
    policies = Policies.model_validate(
        {"plays": [{"key": "x", "title": "X", "due_hours": 8, "clock": "business"}]}
    )
    friday_5pm = dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.UTC)
    assert plays.due_at(policies, policies.plays[0], friday_5pm, None) == dt.datetime(
        2026, 11, 30, 17, 0, tzinfo=dt.UTC
    )


def test_risk_tiers(db: Database, ws: int) -> None:
    with db.write() as s:
        red = d.account(s, ws, "RED")
        flagged = d.account(s, ws, "FLAG")
        yellow = d.account(s, ws, "YEL")
        green = d.account(s, ws, "GRN")
        stale = d.account(s, ws, "OLD")
        d.health(s, ws, red, D, 20, "red")
        d.health(s, ws, flagged, D, 90, "green")
        d.flag(s, ws, flagged, D - days(3))
        d.health(s, ws, yellow, D - days(6), 60, "yellow")
        d.health(s, ws, green, D, 90, "green")
        d.health(s, ws, stale, D - days(7), 10, "red")  # older than the 7 days read
    with db.read() as s:
        tiers = risk.risk_tiers(s, ws, D, POLICIES)
        assert risk.risk_tier(s, ws, yellow, D, POLICIES) == "medium"
    assert [tiers[a] for a in (red, flagged, yellow, green, stale)] == [
        "high",
        "high",
        "medium",
        "low",
        "low",
    ]


def test_play_definitions_are_validated() -> None:
    bad = [
        ({"key": "x", "title": "X", "trigger": "moon_phase"}, "unknown trigger"),
        ({"key": "x", "title": "X", "trigger": "usage_drop", "params": {"pct": 120}}, "params.pct"),
        ({"key": "x", "title": "X", "trigger": "usage_drop", "params": {"oops": 1}}, "params.oops"),
        ({"key": "x", "title": "X", "owner": "ceo"}, "owner"),
        ({"key": "x", "title": "X", "clock": "business", "calendar": "emea"}, "calendar 'emea'"),
        ({"key": "x", "title": "X", "params": {"pct": 1}}, "params without a trigger"),
    ]
    for play, words in bad:
        with pytest.raises(ValueError, match=words):
            Policies.model_validate({"plays": [play]})
    with pytest.raises(ValueError, match="two plays with key x"):
        Policies.model_validate({"plays": [{"key": "x", "title": "X"}, {"key": "x", "title": "Y"}]})
    assert isinstance(Policies().plays[0], PlayDef) and len({p.trigger for p in Policies().plays}) == 9


def test_the_default_calendar_needs_no_definition() -> None:
    only_ny = Policies.model_validate({"sla": {"calendars": {"ny": {"timezone": "America/New_York"}}}})
    red = only_ny.play("health_red")
    assert red is not None and red.clock == "business" and only_ny.play_calendar(red) is not None


def test_the_daily_run_evaluates_once_a_day_after_the_snapshot(db: Database, ws: int, world: World) -> None:
    from services.daily import run_daily

    told: list[int] = []

    def notify(session: Session, w: int, ids: list[int], now: dt.datetime) -> int:
        told.extend(ids)
        return len(ids)

    first = run_daily(db, ws, NOW, POLICIES, notify)  # NOW is the morning after D
    assert first.snapshots > 0  # D's snapshot was (re)computed from the data first …
    with db.read() as s:
        red = s.scalar(
            select(func.count())
            .select_from(m.HealthSnapshot)
            .where(m.HealthSnapshot.day == D, m.HealthSnapshot.band == "red")
        )
        red_plays = s.scalar(select(func.count()).select_from(m.Play).where(m.Play.play_key == "red"))
    assert red_plays == red  # … and the health trigger read that snapshot
    assert first.plays_opened == red + 1 and len(told) == red + 1  # + Gamma's tickets
    again = run_daily(db, ws, NOW + days(hours=2), POLICIES, notify)
    assert again.plays_opened == 0 and len(told) == red + 1


def test_overdue_lists_the_late_open_plays(db: Database, ws: int, world: World) -> None:
    ev = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
    views = plays.views_of(db, ws, ev.play_ids, POLICIES, NOW)
    pid = next(v.row.id for v in views if v.row.account_id == world.a)
    plays.close(db, ws, pid, "no_action", None, user_id="UANA", admins=(), policies=POLICIES, now=NOW)
    with db.read() as s:
        assert plays.overdue(s, ws, NOW + days(hours=23)) == []  # red plays are due in 24 h
        late = plays.overdue(s, ws, NOW + days(hours=25))
        later = plays.overdue(s, ws, NOW + days(hours=73))  # the tickets play: 72 h (the default)
    assert [(r.account_id, r.play_key) for r in late] == [(world.b, "red")]
    assert [(r.account_id, r.play_key) for r in later] == [(world.b, "red"), (world.c, "tickets")]


def test_accepting_a_play_nobody_owns_makes_you_its_owner(db: Database, ws: int, world: World) -> None:
    ev = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
    pid = next(
        v.row.id for v in plays.views_of(db, ws, ev.play_ids, POLICIES, NOW) if v.row.account_id == world.a
    )
    with db.write() as s:  # as the fallback channel gets it when no role's person exists
        play = s.get(m.Play, pid)
        assert play is not None
        play.owner_id, play.owner_channel = None, "CPLAYS"
    kw = {"admins": (), "policies": POLICIES, "now": NOW}
    took = plays.accept(db, ws, pid, user_id="UCID", **kw)  # anyone in the people list may
    assert took.changed and took.view.row.owner_slack == "UCID" and took.view.row.owner_channel is None
    mine = plays.mine(db, ws, "UCID", POLICIES, NOW)
    assert mine is not None and pid in [v.row.id for v in mine]
    with pytest.raises(plays.PlayNotAllowed):  # now it is Cid's: a colleague outside his chain may not
        plays.close(db, ws, pid, "saved", None, user_id="UANA", **kw)


def test_a_snooze_ends_at_its_time_not_at_the_next_daily_run(db: Database, ws: int, world: World) -> None:
    ev = plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
    pid = next(
        v.row.id for v in plays.views_of(db, ws, ev.play_ids, POLICIES, NOW) if v.row.account_id == world.a
    )
    kw = {"admins": (), "policies": POLICIES, "now": NOW}
    plays.snooze(db, ws, pid, NOW + days(hours=5), user_id="UANA", **kw)
    assert plays.wake_snoozed(db, ws, NOW + days(hours=4)) == 0
    assert plays.view(db, ws, pid, POLICIES, NOW).row.state == "snoozed"
    assert plays.wake_snoozed(db, ws, NOW + days(hours=5, minutes=1)) == 1
    assert plays.view(db, ws, pid, POLICIES, NOW).row.state == "open"


def test_evaluation_pauses_cycle_collection_only_while_it_runs(db: Database, ws: int) -> None:
    """The garbage collector is paused during an evaluation and left as it was found, also when the
    evaluation fails."""
    import gc

    seen: list[bool] = []

    def notify(session: Session, ws_: int, ids: list[int], now: dt.datetime) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("the hook fails")

    with db.write() as s:
        a = d.account(s, ws, "RED")
        d.health(s, ws, a, D, 20, "red")
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=notify)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        plays.evaluate(db, ws, D, now=NOW, policies=POLICIES, notify=plays.no_notify)
        assert not gc.isenabled()
    finally:
        gc.enable()
