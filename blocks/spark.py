"""A health score history as a line of text: ▁▂▃▄▅▆▇█, one character per period, on the fixed 0–100
scale of health scores (so a flat 80 reads high and a flat 30 low, not both as a middle line)."""

from __future__ import annotations

from collections.abc import Sequence

TICKS = "▁▂▃▄▅▆▇█"
GAP = " "  # a period without any snapshot


def tick(score: float) -> str:
    """The character for one score in 0–100 (clamped): ▁ up to 12.5, █ from 87.5."""
    clamped = min(max(score, 0.0), 100.0)
    return TICKS[min(int(clamped / 100 * len(TICKS)), len(TICKS) - 1)]


def sparkline(scores: Sequence[float | None], width: int = 30) -> str:
    """``scores`` (oldest first, None for a day without a snapshot) in ``width`` characters at most:
    each character is the mean of its run of days, a blank where the run has no score. Empty when
    no day has a score."""
    if not any(s is not None for s in scores):
        return ""
    n = len(scores)
    buckets = min(width, n)
    out = []
    for b in range(buckets):
        run = [s for s in scores[b * n // buckets : (b + 1) * n // buckets] if s is not None]
        out.append(tick(sum(run) / len(run)) if run else GAP)
    return "".join(out)


def spark_words(scores: Sequence[float | None], width: int = 30) -> str:
    """The sparkline with its span and its first and latest stored score: "▃▄▅▆  90 days: 42 → 71"
    ("" when no day has a score)."""
    line = sparkline(scores, width)
    known = [s for s in scores if s is not None]
    if not line:
        return ""
    return f"{line}  {len(scores)} days: {known[0]:.0f} → {known[-1]:.0f}"
