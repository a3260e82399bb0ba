"""Each play trigger on a small hand-made dataset: the accounts it must fire for and its near misses
(one step short of firing), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage import play_triggers as t
from storage.db import Database
from tests.support import plays_data as d

D = dt.date(2026, 11, 30)
days = dt.timedelta


def _ext(session: Session, fired: list[t.Fired]) -> dict[str, dict]:
    from storage import models as m

    return {session.get(m.Account, f.account_id).external_id: f.values for f in fired}  # type: ignore[union-attr]


def test_health_drop(db: Database, ws: int) -> None:
    with db.write() as s:
        red = d.account(s, ws, "RED")
        drop = d.account(s, ws, "DROP15")
        near = d.account(s, ws, "DROP14")
        green = d.account(s, ws, "GREEN")
        churned = d.account(s, ws, "GONE", stage="churned")
        d.health(s, ws, red, D, 35, "red")
        d.health(s, ws, drop, D, 50, "yellow")
        d.health(s, ws, drop, D - days(30), 65, "yellow")
        d.health(s, ws, near, D, 51, "yellow")
        d.health(s, ws, near, D - days(30), 65, "yellow")
        d.health(s, ws, green, D, 80, "green")
        d.health(s, ws, churned, D, 10, "red")
        d.health(s, ws, green, D - days(1), 10, "red")  # red yesterday only: not today's signal
    with db.read() as s:
        got = _ext(s, t.health_drop(s, ws, D, [], points=15, days=30, red=True))
        assert set(got) == {"RED", "DROP15"}
        assert got["DROP15"] == {
            "score": 50,
            "band": "yellow",
            "score_then": 65,
            "band_then": "yellow",
            "days": 30,
        }
        assert set(_ext(s, t.health_drop(s, ws, D, [], points=15, days=30, red=False))) == {"DROP15"}
        assert set(_ext(s, t.health_drop(s, ws, D, ["enterprise"], points=15, days=30, red=True))) == set()


def test_usage_drop(db: Database, ws: int) -> None:
    w0 = D - days(13)  # the 14-day window
    b0 = w0 - days(90)
    with db.write() as s:
        for ext, window_users, window_from, base_from in (
            ("FELL", 69, w0, b0),  # 69 < 100 × 0.7
            ("AT70", 70, w0, b0),  # exactly 30 % down: not more than 30 %
            ("GAP", 10, w0 + days(1), b0),  # 13 days of data in the window
            ("SHORTBASE", 10, w0, w0 - days(29)),  # 29 baseline days < 30
        ):
            a = d.account(s, ws, ext)
            d.usage(s, ws, a, base_from, w0 - days(1), 100)
            d.usage(s, ws, a, window_from, D, window_users)
        spike = d.account(s, ws, "SPIKE")  # 13 low days and one normal one: not sustained
        d.usage(s, ws, spike, b0, w0 - days(1), 100)
        d.usage(s, ws, spike, w0, D - days(1), 10)
        d.usage(s, ws, spike, D, D, 90)
    with db.read() as s:
        got = _ext(
            s, t.usage_drop(s, ws, D, [], pct=30, window_days=14, baseline_days=90, min_baseline_days=30)
        )
    assert set(got) == {"FELL"}
    assert got["FELL"]["baseline_mean"] == 100
    assert got["FELL"]["window_peak"] == 69
    assert got["FELL"]["pct_down"] == 31.0


def test_ticket_spike(db: Database, ws: int) -> None:
    with db.write() as s:
        three = d.account(s, ws, "THREE")
        two = d.account(s, ws, "TWO")
        old = d.account(s, ws, "OLD")
        for day in (D, D - days(5), D - days(13)):
            d.ticket(s, ws, three, day, "high" if day != D else "urgent")
        d.ticket(s, ws, two, D, "high")
        d.ticket(s, ws, two, D, "high")
        d.ticket(s, ws, two, D, "normal")
        d.ticket(s, ws, old, D, "high")
        d.ticket(s, ws, old, D, "high")
        d.ticket(s, ws, old, D - days(14), "high")  # one day outside the window
        d.ticket(s, ws, old, D + days(1), "high")  # after the day evaluated
    with db.read() as s:
        got = _ext(s, t.ticket_spike(s, ws, D, [], count=3, days=14, priorities=["high", "urgent"]))
    assert got == {"THREE": {"tickets": 3, "days": 14, "priorities": ["high", "urgent"]}}


def test_nps_detractor(db: Database, ws: int) -> None:
    with db.write() as s:
        six = d.account(s, ws, "SIX")
        seven = d.account(s, ws, "SEVEN")
        old = d.account(s, ws, "OLD")
        d.nps(s, ws, six, D, 6)
        d.nps(s, ws, six, D - days(2), 9)
        d.nps(s, ws, seven, D, 7)
        d.nps(s, ws, old, D - days(7), 2)
    with db.read() as s:
        got = _ext(s, t.nps_detractor(s, ws, D, [], max_score=6, days=7))
    assert set(got) == {"SIX"}
    assert got["SIX"]["lowest_score"] == 6
    assert got["SIX"]["detractor_responses"] == 1


def test_no_exec_touchpoint(db: Database, ws: int) -> None:
    oct1 = dt.date(2026, 10, 1)  # the latest complete month at D
    with db.write() as s:
        exec_ = d.person(s, ws, "Exec", "leadership", "UEXEC")
        quiet = d.account(s, ws, "QUIET", closed_won_on=dt.date(2025, 1, 1), exec_sponsor_id=exec_)
        recent = d.account(s, ws, "RECENT", closed_won_on=dt.date(2025, 1, 1))
        qbr = d.account(s, ws, "QBRONLY", closed_won_on=dt.date(2025, 1, 1))
        new = d.account(s, ws, "NEW", closed_won_on=D - days(89))
        unpaid = d.account(s, ws, "UNPAID", closed_won_on=dt.date(2025, 1, 1))
        for a in (quiet, recent, qbr, new):
            d.mrr(s, ws, a, oct1, "100")
        d.mrr(s, ws, unpaid, oct1, "0")
        d.touch(s, ws, quiet, D - days(90), "ebr")  # 90 days ago: outside the 90 days ending D
        d.touch(s, ws, recent, D - days(89), "exec_meeting")
        d.touch(s, ws, qbr, D - days(3), "qbr")
    with db.read() as s:
        got = _ext(
            s,
            t.no_exec_touchpoint(s, ws, D, [], days=90, kinds=["ebr", "exec_meeting"], sponsored_only=False),
        )
        sponsored = _ext(s, t.no_exec_touchpoint(s, ws, D, [], days=90, kinds=["ebr", "exec_meeting"]))
    assert set(got) == {"QUIET", "QBRONLY"}
    assert set(sponsored) == {"QUIET"}  # the only one with an executive sponsor
    assert got["QUIET"]["last_exec_touchpoint"].startswith((D - days(90)).isoformat())
    assert got["QBRONLY"]["last_exec_touchpoint"] is None


def test_renewal_at_risk(db: Database, ws: int) -> None:
    with db.write() as s:
        cases = {
            "R90": (D + days(90), "red", False),
            "Y90": (D + days(90), "yellow", False),  # medium tier: not at least high
            "R83": (D + days(83), "red", False),  # mark 90 crossed 7 days ago: outside the window
            "R84": (D + days(84), "red", False),
            "F30": (D + days(30), "green", True),  # an open risk flag makes it high
            "R200": (D + days(200), "red", False),
            "PAST": (D, "red", False),
        }
        for ext, (renewal, band, flagged) in cases.items():
            a = d.account(s, ws, ext, renewal_on=renewal)
            d.health(s, ws, a, D - days(2), 30 if band == "red" else 60, band)
            if flagged:
                d.flag(s, ws, a, D - days(10))
        resolved = d.account(s, ws, "RESOLVED", renewal_on=D + days(60))
        d.health(s, ws, resolved, D, 80, "green")
        d.flag(s, ws, resolved, D - days(10), resolved=D - days(1))
    with db.read() as s:
        high = _ext(
            s,
            t.renewal_at_risk(
                s, ws, D, [], days_out=[120, 90, 60, 30], window_days=7, min_tier="high", save_keys=[]
            ),
        )
        medium = _ext(
            s,
            t.renewal_at_risk(
                s, ws, D, [], days_out=[120, 90, 60, 30], window_days=7, min_tier="medium", save_keys=[]
            ),
        )
    assert set(high) == {"R90", "R84", "F30"}
    assert high["R84"]["mark"] == 90 and high["R84"]["days_out"] == 84
    assert high["F30"]["open_risk_flag"] is True and high["F30"]["tier"] == "high"
    assert set(medium) == {"R90", "R84", "F30", "Y90"}


def test_first_value_and_seats(db: Database, ws: int) -> None:
    with db.write() as s:
        fresh = d.account(s, ws, "FRESH")
        stale = d.account(s, ws, "STALE")
        d.milestone(s, ws, fresh, "first_value", D - days(6))
        d.milestone(s, ws, stale, "first_value", D - days(7))
        d.milestone(s, ws, stale, "kickoff", D)
        full = d.account(s, ws, "FULL")
        almost = d.account(s, ws, "ALMOST")
        noseats = d.account(s, ws, "NOSEATS")
        d.usage(s, ws, full, D - days(10), D - days(1), 50, 100)
        d.usage(s, ws, full, D, D, 90, 100)
        d.usage(s, ws, almost, D - days(6), D, 89, 100)
        d.usage(s, ws, almost, D - days(7), D - days(7), 100, 100)  # outside the 7 days
        d.usage(s, ws, noseats, D - days(6), D, 500, None)
    with db.read() as s:
        assert set(_ext(s, t.first_value(s, ws, D, [], days=7))) == {"FRESH"}
        seats = _ext(s, t.seats_full(s, ws, D, [], pct=90, days=7))
    assert seats == {"FULL": {"peak_active_users": 90, "seats": 100, "pct_used": 90.0, "days": 7}}
