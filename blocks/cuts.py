"""A scorecard cut (`--by source`, `/scorecard by source`) as cells and as a Block Kit table: the same
words in the terminal and in Slack. Small groups (fewer than 10 accounts) are marked with ``*``."""

from __future__ import annotations

from typing import Any

from blocks import format as fmt
from blocks.text import clip
from services.cuts import SMALL, Cut, CutRow

BY_WORDS = {"source": "source", "campaign": "campaign", "ae": "AE", "csm": "CSM", "segment": "segment"}
HEADERS = ("", "accounts", "churn", "NRR", "GRR", "TTV days", "FV on time", "early churn")
MAX_TABLE_ROWS = 15  # rows shown in Slack before "…and N more" (a table block holds up to 100)
SMALL_NOTE = f"* fewer than {SMALL} accounts: read its ratios with care"


def days(value: float | None) -> str:
    return fmt.NA if value is None else f"{value:g}"


def cells(row: CutRow) -> list[str]:
    early = fmt.percent(row.early_churn)
    if row.early_base:
        early += f" ({row.early_lost}/{row.early_base})"
    return [
        clip(row.value, 64) + (" *" if row.small else ""),
        str(row.accounts),
        fmt.percent(row.logo_churn),
        fmt.percent(row.nrr),
        fmt.percent(row.grr),
        days(row.ttv_days),
        fmt.percent(row.first_value_on_time),
        early,
    ]


def title(cut: Cut) -> str:
    return f"Scorecard by {BY_WORDS[cut.by]} — {cut.period.label}"


def footer(cut: Cut) -> str:
    return (
        f"Logo churn, NRR and GRR for {cut.period.revenue_month:%B %Y}; time to value (TTV, median days) and "
        "first value on time (FV) over the period; early churn: accounts lost within 12 months of "
        "closed/won, of those whose 12 months have ended."
    )


def table_block(cut: Cut, limit: int = MAX_TABLE_ROWS) -> dict[str, Any]:
    """A Block Kit table of the first ``limit`` rows (raw_text cells: nothing in them is parsed)."""
    header = [BY_WORDS[cut.by], *HEADERS[1:]]
    rows = [header] + [cells(row) for row in cut.rows[:limit]]
    return {
        "type": "table",
        "column_settings": [{"is_wrapped": True}] + [{"align": "right"}] * (len(header) - 1),
        "rows": [[{"type": "raw_text", "text": text} for text in row] for row in rows],
    }
