"""Play outcomes and churn risk coverage (METRICS.md) on a hand-computed dataset, both databases.

As of 2026-11-23 the quarter is 2026-Q3 (Jul 1 – Sep 30). The expected figures are worked out in the
comments next to the data (and in docs/plays.md's worked example)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services import plays
from services.policies import Policies
from storage import models as m
from storage.db import Database
from tests.support import plays_data as d

AS_OF = dt.date(2026, 11, 23)
POLICIES = Policies.model_validate(
    {
        "plays": [
            {"key": "red", "title": "Health red", "trigger": "health_drop"},
            {"key": "seats", "title": "Seats full", "trigger": "seats_full"},
            {"key": "idle", "title": "Never used"},
        ]
    }
)


def _t(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def _play(s, ws, account, key, opened, closed=None, outcome=None, owner=None):  # type: ignore[no-untyped-def]
    s.add(
        m.Play(
            workspace_id=ws,
            account_id=account,
            play_key=key,
            open_key=None if closed else key,
            state="closed" if closed else "open",
            owner_id=owner,
            owner_role="csm",
            opened_at=opened,
            closed_at=closed,
            outcome=outcome,
            source="signal",
        )
    )
    s.flush()


def test_outcomes_and_coverage(db: Database, ws: int) -> None:
    with db.write() as s:
        ana = d.person(s, ws, "Ana", "cs", "UANA")
        a, b, c, dd, e, f, g = (d.account(s, ws, x) for x in "ABCDEFG")
        for month, amount in (
            ("05", "1000"),
            ("06", "1000"),
            ("07", "1000"),
            ("08", "1000"),
            ("09", "1200"),
            ("10", "1500"),
        ):
            d.mrr(s, ws, a, dt.date(2026, int(month), 1), amount)
        d.mrr(s, ws, b, dt.date(2026, 6, 1), "500")  # B stops paying after June
        d.mrr(s, ws, e, dt.date(2026, 8, 1), "300")
        d.mrr(s, ws, e, dt.date(2026, 10, 1), "300")
        d.mrr(s, ws, f, dt.date(2026, 8, 1), "100")
        # P1: opened Jun 10 (ARR then 12 × May 1,000), saved Jul 5; still paying at Sep 8 (Aug) → 12,000
        #     saved; expansion in the months starting Jun 11 … Sep 8: Sep +200 → 2,400 expanded.
        _play(s, ws, a, "red", _t("2026-06-10"), _t("2026-07-05"), "saved", ana)
        # P2: B saved, but not paying 90 days after (Aug: nothing) → no ARR saved.
        _play(s, ws, b, "red", _t("2026-07-01", 0), _t("2026-08-01"), "saved", ana)
        _play(s, ws, c, "red", _t("2026-09-01"), _t("2026-09-15"), "churned", ana)
        # P4: saved, but opened + 90 days = Dec 19 is after the as-of date: pending.
        _play(s, ws, dd, "red", _t("2026-09-20"), _t("2026-09-25"), "saved", ana)
        # P5: expanded; months starting Jul 21 … Oct 18: Sep +200, Oct +300 → 12 × 500 = 6,000.
        _play(s, ws, a, "seats", _t("2026-07-20"), _t("2026-09-30", 23), "expanded", ana)
        _play(s, ws, e, "red", _t("2026-08-10"))  # open, nobody owns it
        # P7: closed at Oct 1 00:00: outside the quarter, but open at the end of Sep 30 → covers A.
        _play(s, ws, a, "red", _t("2026-07-15"), dt.datetime(2026, 10, 1, tzinfo=dt.UTC), "saved", ana)
        d.health(s, ws, a, dt.date(2026, 9, 28), 30, "red")
        d.health(s, ws, f, dt.date(2026, 9, 30), 30, "red")
        d.health(s, ws, g, dt.date(2026, 9, 30), 30, "red")  # not paying: not counted
        d.health(s, ws, b, dt.date(2026, 9, 22), 30, "red")  # eight days old at Sep 30, and not paying
        d.flag(s, ws, e, dt.date(2026, 8, 1))
        _play(s, ws, f, "seats", _t("2026-11-02"))  # opened in Q4, in progress: not in the Q3 table
    rep = plays.report(db, ws, "quarter", AS_OF, POLICIES)
    assert rep.period.label == "2026-Q3"
    lines = {line.play_key: (title, line) for title, line in rep.lines}
    assert list(lines) == ["red", "seats", "idle"]
    red = lines["red"][1]
    assert (red.opened, red.closed, red.saved, red.churned, red.expanded, red.no_action) == (5, 4, 3, 1, 0, 0)
    assert red.save_rate == 0.75
    assert red.arr_saved == Decimal("12000.00") and red.saves_pending == 1
    assert red.arr_expanded == Decimal("2400.00")
    seats = lines["seats"][1]
    assert (seats.opened, seats.closed, seats.expanded, seats.save_rate) == (1, 1, 1, None)
    assert seats.arr_expanded == Decimal("6000.00") and seats.arr_saved == 0
    assert lines["idle"][1].opened == 0 and lines["idle"][1].save_rate is None
    # The scorecard's definition (storage.lifecycle_metrics): paying in the month complete at the end of
    # Sep 30 — September: A (red Sep 28, paying 1,200) is at risk and covered by P7; E and F paid in
    # August, not September, so they are not paying accounts that day.
    assert (rep.coverage_end.at_risk, rep.coverage_end.covered) == (1, 1)
    # Nov 23: A (its latest score, Sep 28, is red: within the 90 days the health index looks back; P7
    # closed Oct 1) and E (its flag; its play has no owner) are at risk, neither covered.
    assert (rep.coverage_now.at_risk, rep.coverage_now.covered) == (2, 0)
    js = rep.to_json("USD")
    assert js["plays"][0]["arr_saved"] == "12000.00" and js["coverage_as_of"]["value"] == 0.0
    # 2026-Q4 so far (Oct 1 – Nov 23): the seats play opened Nov 2; P7 closed at Oct 1 00:00.
    assert rep.in_progress is not None
    current, opened, closed = rep.in_progress
    assert (current.label, current.start, opened, closed) == ("2026-Q4", dt.date(2026, 10, 1), 1, 1)
    assert js["in_progress"] == {
        "label": "2026-Q4",
        "start": "2026-10-01",
        "through": "2026-11-23",
        "opened": 1,
        "closed": 1,
    }


def test_nothing_at_risk_is_na(db: Database, ws: int) -> None:
    rep = plays.report(db, ws, "month", AS_OF, POLICIES)
    assert rep.coverage_now.value is None and rep.coverage_now.at_risk == 0
    assert all(line.opened == 0 for _, line in rep.lines)
