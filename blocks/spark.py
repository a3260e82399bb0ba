"""A health score history as a line of text: ▁▂▃▄▅▆▇█, one character per period, on the fixed 0–100
scale of health scores (so a flat 80 reads high and a flat 30 low, not both as a middle line)."""

from __future__ import annotations

from collections.abc import Sequence

TICKS = "▁▂▃▄▅▆▇█"
GAP = " "  # a period without a score (see CARRY_DAYS)


def tick(score: float) -> str:
    """The character for one score in 0–100 (clamped): ▁ up to 12.5, █ from 87.5."""
    clamped = min(max(score, 0.0), 100.0)
    return TICKS[min(int(clamped / 100 * len(TICKS)), len(TICKS) - 1)]


CARRY_DAYS = 7  # a day without a snapshot shows the latest score of up to this many days before


def sparkline(scores: Sequence[float | None], width: int = 30) -> str:
    """``scores`` (oldest first, None for a day without a snapshot) in ``width`` characters at most:
    each character is the mean of its run of days. A day without a snapshot takes the score as it
    stood, the latest of the ``CARRY_DAYS`` days before (a snapshot job that runs weekly, or missed a
    few days, leaves no holes); a longer silence is a blank, as is the time before the first score.
    Empty when no day has a score."""
    if not any(s is not None for s in scores):
        return ""
    filled: list[float | None] = []
    last, since = None, CARRY_DAYS + 1
    for score in scores:
        if score is not None:
            last, since = score, 0
        else:
            since += 1
        filled.append(last if since <= CARRY_DAYS else None)
    n = len(filled)
    buckets = min(width, n)
    out = []
    for b in range(buckets):
        run = [s for s in filled[b * n // buckets : (b + 1) * n // buckets] if s is not None]
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
