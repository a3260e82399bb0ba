"""The digest's charts as PNG images, drawn with matplotlib (Agg, no display) from
``services.charts.ChartFacts``, each with alt text that says its numbers in words.

matplotlib is imported on first use only, so commands that draw nothing stay fast to start.
Drawing is deterministic for the same facts: the delivery ledger stores the facts, and a retry
draws (and uploads) the same pictures.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from services.charts import BANDS, ChartFacts

MAX_ALT = 1000  # Slack's limit on a file's alt text
BAND_COLORS = {"green": "#2e9e5b", "yellow": "#e8b317", "red": "#d64545"}
_draw_lock = threading.Lock()  # pyplot's state is global: one drawing at a time


@dataclass(frozen=True)
class Chart:
    name: str  # "retention", "health-bands", "cohorts"
    filename: str  # unique within the digest's thread: how a retry finds it there
    title: str
    alt: str
    png: bytes


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ALT else text[: MAX_ALT - 1] + "…"


def retention_alt(facts: ChartFacts) -> str:
    months = facts.months
    span = f"{months[0].month:%b %Y} to {months[-1].month:%b %Y}"

    def series(name: str, pick: Any, target: float | None) -> str:
        points = ", ".join(f"{p.month:%b %y} {_pct(pick(p))}" for p in months)
        aim = f"; target {_pct(target)}" if target is not None else ""
        return f"{name} by month: {points}{aim}."

    latest = months[-1]
    head = (
        f"Line chart of net and gross revenue retention (trailing 12 months), {span}. "
        f"Latest: NRR {_pct(latest.nrr)}, GRR {_pct(latest.grr)}. "
    )
    return _clip(
        head
        + series("NRR", lambda p: p.nrr, facts.nrr_target)
        + " "
        + series("GRR", lambda p: p.grr, facts.grr_target)
    )


def bands_alt(facts: ChartFacts) -> str:
    weeks = [w for w in facts.weeks if w.day is not None]
    latest, first = weeks[-1], weeks[0]

    def counts(c: dict[str, int]) -> str:
        return ", ".join(f"{c.get(b, 0)} {b}" for b in BANDS)

    per_week = "; ".join(f"{w.week_end:%b %d}: {counts(w.counts)}" for w in weeks)
    return _clip(
        f"Stacked bars of accounts by health band at the end of each of the last {len(facts.weeks)} weeks. "
        f"Week ending {latest.week_end:%b %d}: {counts(latest.counts)}; "
        f"week ending {first.week_end:%b %d}: {counts(first.counts)}. Each week: {per_week}."
    )


def cohorts_alt(facts: ChartFacts) -> str:
    rows = "; ".join(
        f"{c.quarter} ({c.size} accounts): " + ", ".join(_pct(x) for x in c.logo) for c in facts.cohorts
    )
    return _clip(
        "Heat map of logo retention by start quarter: the share of each cohort's accounts still paying "
        f"at the end of each quarter since it started (quarter 0 first). {rows}."
    )


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _retention_png(facts: ChartFacts) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    try:
        x = list(range(len(facts.months)))
        labels = [f"{p.month:%b %y}" for p in facts.months]
        for name, pick, target, color in (
            ("NRR", lambda p: p.nrr, facts.nrr_target, "#3366cc"),
            ("GRR", lambda p: p.grr, facts.grr_target, "#8a56c2"),
        ):
            ys = [float("nan") if pick(p) is None else pick(p) * 100 for p in facts.months]
            ax.plot(x, ys, marker="o", color=color, label=name)
            if target is not None:
                ax.axhline(target * 100, color=color, linestyle="--", linewidth=1, label=f"{name} target")
        ax.set_xticks(x, labels, rotation=45, ha="right")
        ax.set_ylabel("% of revenue 12 months before")
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}%")
        ax.set_title(f"NRR and GRR, trailing 12 months — through {facts.months[-1].month:%B %Y}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        return _png(fig)
    finally:
        plt.close(fig)


def _bands_png(facts: ChartFacts) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    try:
        x = list(range(len(facts.weeks)))
        bottom = [0] * len(x)
        for band in BANDS:
            heights = [w.counts.get(band, 0) for w in facts.weeks]
            ax.bar(x, heights, bottom=bottom, color=BAND_COLORS[band], label=band)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(x, [f"{w.week_end:%b %d}" for w in facts.weeks], rotation=45, ha="right")
        ax.set_ylabel("accounts")
        ax.set_title("Accounts by health band, end of each week")
        ax.legend(loc="upper left", fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        return _png(fig)
    finally:
        plt.close(fig)


def _cohorts_png(facts: ChartFacts) -> bytes:
    plt = _pyplot()
    width = max(len(c.logo) for c in facts.cohorts)
    grid = [
        [c.logo[k] * 100 if k < len(c.logo) else float("nan") for k in range(width)] for c in facts.cohorts
    ]
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * width + 3), max(3, 0.45 * len(grid) + 1.5)))
    try:
        image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
        for i, row in enumerate(grid):
            for k, value in enumerate(row):
                if value == value:  # not NaN
                    ax.text(k, i, f"{value:.0f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(width), [f"Q+{k}" for k in range(width)])
        ax.set_yticks(range(len(grid)), [f"{c.quarter} ({c.size})" for c in facts.cohorts])
        ax.set_title("Logo retention by start quarter (% of accounts still paying)")
        fig.colorbar(image, ax=ax, label="%")
        return _png(fig)
    finally:
        plt.close(fig)


def draw(facts: ChartFacts) -> list[Chart]:
    """The charts there is data for: NRR/GRR, health bands, cohorts (none when there is no data)."""
    out = []
    with _draw_lock:
        if facts.has_retention:
            out.append(
                Chart(
                    "retention",
                    f"nrr-grr-{facts.period}.png",
                    "NRR and GRR, 12 months",
                    retention_alt(facts),
                    _retention_png(facts),
                )
            )
        if facts.has_bands:
            out.append(
                Chart(
                    "health-bands",
                    f"health-bands-{facts.period}.png",
                    "Accounts by health band, 12 weeks",
                    bands_alt(facts),
                    _bands_png(facts),
                )
            )
        if facts.has_cohorts:
            out.append(
                Chart(
                    "cohorts",
                    f"cohort-retention-{facts.period}.png",
                    "Logo retention by start quarter",
                    cohorts_alt(facts),
                    _cohorts_png(facts),
                )
            )
    return out


_drawn: OrderedDict[str, tuple[Chart, ...]] = OrderedDict()
_drawn_lock = threading.Lock()
DRAWN_KEPT = 8  # digests' charts kept drawn (a fan-out is one digest per segment)


def draw_from_ledger(facts: dict[str, Any]) -> list[Chart]:
    """The charts of a ledger row's facts, drawn once per process for a fan-out of one digest to
    many channels (the same facts), not once per channel: senders asking at once wait for the one
    drawing."""
    key = json.dumps(facts, sort_keys=True)
    with _drawn_lock:
        charts = _drawn.get(key)
        if charts is None:
            charts = tuple(draw(ChartFacts.from_json(facts)))
            _drawn[key] = charts
            while len(_drawn) > DRAWN_KEPT:
                _drawn.popitem(last=False)
        return list(charts)


def filenames(facts: dict[str, Any]) -> list[str]:
    """The file names a row's charts are uploaded under, without drawing them."""
    parsed = ChartFacts.from_json(facts)
    names = []
    if parsed.has_retention:
        names.append(f"nrr-grr-{parsed.period}.png")
    if parsed.has_bands:
        names.append(f"health-bands-{parsed.period}.png")
    if parsed.has_cohorts:
        names.append(f"cohort-retention-{parsed.period}.png")
    return names
