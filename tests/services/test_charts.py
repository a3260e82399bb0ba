"""The charts' numbers from hand-made data (tests/support/charts_data.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.charts import ChartFacts, chart_facts, health_history_in
from storage.db import Database
from tests.support.charts_data import add_snapshots, load_accounts_and_revenue

MONDAY = dt.date(2026, 11, 23)


def test_nrr_grr_bands_and_cohorts_from_stored_data(db: Database, ws: int, tmp_path: Path) -> None:
    load_accounts_and_revenue(db, ws, tmp_path)
    add_snapshots(
        db,
        ws,
        {
            dt.date(2026, 11, 22): {"A": 80, "B": 55, "C": 20},
            dt.date(2026, 11, 15): {"A": 75, "B": 72, "C": 30},
            dt.date(2026, 11, 14): {"A": 10, "B": 10, "C": 10},  # earlier in the same week: not counted
            dt.date(2026, 8, 31): {"A": 90},  # the first day of the oldest week (Aug 31 … Sep 06)
        },
    )
    facts = chart_facts(db, ws, as_of=MONDAY, nrr_target=1.1)
    assert facts.period == "2026-W47"
    assert (facts.months[0].month, facts.months[-1].month) == (dt.date(2025, 11, 1), dt.date(2026, 10, 1))
    nrr = [round(p.nrr or 0, 4) for p in facts.months]
    grr = [round(p.grr or 0, 4) for p in facts.months]
    assert nrr == [1.0, 1.0] + [round(200 / 300, 4)] * 4 + [round(250 / 300, 4)] * 6
    assert grr == [1.0, 1.0] + [round(200 / 300, 4)] * 10
    assert facts.nrr_target == 1.1 and facts.grr_target is None
    weeks = {w.week_end: w for w in facts.weeks}
    assert len(facts.weeks) == 12 and facts.weeks[-1].week_end == dt.date(2026, 11, 22)
    assert weeks[dt.date(2026, 11, 22)].counts == {"green": 1, "yellow": 1, "red": 1}
    assert weeks[dt.date(2026, 11, 15)].day == dt.date(2026, 11, 15)
    assert weeks[dt.date(2026, 11, 15)].counts == {"green": 2, "yellow": 0, "red": 1}
    assert weeks[dt.date(2026, 9, 6)].counts == {"green": 1, "yellow": 0, "red": 0}
    assert weeks[dt.date(2026, 11, 8)].day is None
    assert [(c.quarter, c.size) for c in facts.cohorts] == [("2024-Q4", 3)]
    assert facts.cohorts[0].logo == pytest.approx([1.0] * 5 + [2 / 3] * 3)
    # The ledger carries it as JSON: the same facts come back.
    assert ChartFacts.from_json(facts.to_json()) == facts


def test_no_data_no_charts(db: Database, ws: int) -> None:
    facts = chart_facts(db, ws, as_of=MONDAY)
    assert facts.empty and len(facts.months) == 12 and len(facts.weeks) == 12


def test_health_history_is_one_value_per_day_with_gaps(db: Database, ws: int, tmp_path: Path) -> None:
    load_accounts_and_revenue(db, ws, tmp_path)
    add_snapshots(db, ws, {dt.date(2026, 11, 20): {"A": 60}, dt.date(2026, 11, 22): {"A": 64, "B": 1}})
    with db.read() as s:
        from storage import models as m

        a = s.query(m.Account).filter(m.Account.external_id == "A").one().id
        history = health_history_in(s, ws, a, today=dt.date(2026, 11, 22), days=5)
    assert history == [None, None, 60.0, None, 64.0]
