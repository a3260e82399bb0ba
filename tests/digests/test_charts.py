"""The digest's charts drawn from hand-made facts: real PNGs of a sensible size, alt text that says
the numbers, nothing drawn for what has no data; and the text sparkline."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

from blocks.spark import spark_words, sparkline, tick
from digests.charts import MAX_ALT, draw, draw_from_ledger, filenames
from services.charts import BandWeek, ChartFacts, CohortRow, RetentionMonth
from storage.periods import add_months

PNG = b"\x89PNG\r\n\x1a\n"


def facts(**over: object) -> ChartFacts:
    months = [
        RetentionMonth(add_months(dt.date(2025, 11, 1), k), 1.0 + k / 100, 0.95 - k / 100) for k in range(12)
    ]
    weeks = [
        BandWeek(
            dt.date(2026, 11, 22) - dt.timedelta(days=7 * (11 - k)),
            dt.date(2026, 11, 22) - dt.timedelta(days=7 * (11 - k)),
            {"green": 40 + k, "yellow": 12, "red": 8 - k // 2},
        )
        for k in range(12)
    ]
    cohorts = [CohortRow("2025-Q3", 20, [1.0, 0.85, 0.7]), CohortRow("2025-Q4", 15, [1.0, 0.8])]
    base = ChartFacts("2026-W47", "week 47", months, weeks, cohorts, nrr_target=1.1, grr_target=0.9)
    return ChartFacts(**{**base.__dict__, **over})  # type: ignore[arg-type]


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    return width, height


def test_three_pngs_of_sensible_size_with_their_numbers_in_words() -> None:
    charts = {c.name: c for c in draw(facts())}
    assert list(charts) == ["retention", "health-bands", "cohorts"]
    for chart in charts.values():
        width, height = size(chart.png)
        assert 400 <= width <= 1600 and 200 <= height <= 1200, (chart.name, width, height)
        assert 5_000 < len(chart.png) < 500_000
        assert 0 < len(chart.alt) <= MAX_ALT
    retention = charts["retention"].alt
    assert "Nov 25 100%" in retention and "Oct 26 111%" in retention  # NRR, first and latest month
    assert "Latest: NRR 111%, GRR 84%" in retention
    assert "target 110%" in retention and "target 90%" in retention
    bands = charts["health-bands"].alt
    assert "Week ending Nov 22: 51 green, 12 yellow, 3 red" in bands
    assert "week ending Sep 06: 40 green, 12 yellow, 8 red" in bands
    assert "2025-Q3 (20 accounts): 100%, 85%, 70%; 2025-Q4 (15 accounts): 100%, 80%" in charts["cohorts"].alt
    assert [c.filename for c in charts.values()] == filenames(facts().to_json())


def test_only_charts_with_data_are_drawn() -> None:
    empty_months = [RetentionMonth(p.month, None, None) for p in facts().months]
    charts = draw(facts(months=empty_months, cohorts=[]))
    assert [c.name for c in charts] == ["health-bands"]
    assert filenames(facts(months=empty_months, cohorts=[]).to_json()) == ["health-bands-2026-W47.png"]


def test_no_target_no_target_words() -> None:
    alt = draw(facts(nrr_target=None, grr_target=None))[0].alt
    assert "target" not in alt


def test_the_ledger_draws_once_per_process_for_a_fan_out() -> None:
    data = facts().to_json()
    first = draw_from_ledger(data)
    again = draw_from_ledger(dict(reversed(list(data.items()))))  # same facts, other key order
    assert [c.png for c in first] == [c.png for c in again]
    assert first[0] is again[0]


def test_sparkline_on_the_fixed_health_scale() -> None:
    assert tick(0) == "▁" and tick(12.4) == "▁" and tick(12.5) == "▂" and tick(50) == "▅"
    assert tick(99.9) == "█" and tick(100) == "█" and tick(140) == "█" and tick(-5) == "▁"
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([None, None]) == ""
    # 90 days in 30 characters: each is the mean of three days; days without a snapshot show the
    # score as it stood for up to a week (CARRY_DAYS), then a blank; before the first snapshot, a blank.
    days: list[float | None] = [20.0] * 30 + [None] * 3 + [90.0] * 57
    line = sparkline(days)
    assert len(line) == 30 and line == "▂" * 10 + "▂" + "█" * 19
    silent: list[float | None] = [20.0] * 30 + [None] * 12 + [90.0] * 48
    assert sparkline(silent) == "▂" * 13 + " " + "█" * 16  # 7 of the 12 silent days carried, then a hole
    assert spark_words(days) == line + "  90 days: 20 → 90"
    assert spark_words([None] * 90) == ""
    weekly: list[float | None] = [None] * 6 + [v for k in range(12) for v in (k * 8.0, *[None] * 6)]
    sparse = sparkline(weekly, 15)  # a score a week, rising: no holes after the first, never falling
    assert len(sparse) == 15 and sparse[0] == " " and " " not in sparse[1:]
    assert list(sparse[1:]) == sorted(sparse[1:], key="▁▂▃▄▅▆▇█".index)


def test_matplotlib_is_imported_only_to_draw() -> None:
    """Commands stay fast to start: loading the CLI, the outbox and the chart module imports no matplotlib."""
    import subprocess
    import sys

    code = "import sys, bot.cli, bot.outbox, digests.charts; print('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == "False"
