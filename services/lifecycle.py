"""The lifecycle KPIs of the scorecard (docs/metrics.md): onboarding time, first-value on time, stage
conversion with days in stage, churn risk coverage — each a value, or n/a with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage import lifecycle_metrics as lm
from storage.periods import Period

if TYPE_CHECKING:
    from services.scorecard import Value

# Scorecard key of each stage step, by the stage it leaves.
STEP_KEYS = {
    "closed_won": "stage_conversion_onboarded",
    "onboarded": "stage_conversion_adopted",
    "adopted": "stage_conversion_champion",
}


def lifecycle_values(
    session: Session, ws: int, periods: Sequence[Period], segment: str | None
) -> list[dict[str, Value]]:
    """The lifecycle KPIs of each of ``periods`` (a scorecard's period and the one before); what the
    periods share (the stage counts) is read once."""
    from services.scorecard import Value

    def value(v: float | None, reason: str, detail: dict[str, Any]) -> Value:
        return Value(v, None if v is not None else reason, detail)

    steps_of = lm.stage_conversions(session, ws, [(p.start, p.end) for p in periods], segment)
    result = []
    for period, steps in zip(periods, steps_of, strict=True):
        out: dict[str, Value] = {}
        ob = lm.onboarding_time(session, ws, period.start, period.end, segment)
        out["onboarding_time_days"] = value(
            ob.median_days, "no account had its kickoff in the period", {"accounts": ob.accounts}
        )
        fv = lm.first_value_on_time(session, ws, period.start, period.end, segment)
        out["first_value_on_time"] = value(
            fv.value, "no first-value target date fell in the period", {"on_time": fv.on_time, "due": fv.due}
        )
        for step in steps:
            out[STEP_KEYS[step.stage]] = value(
                step.value,
                f"no account was {lm.STAGE_LABELS[step.stage]} at the start of the period",
                {
                    "in_stage_at_start": step.at_start,
                    "converted": step.converted,
                    "left_stage": step.left,
                    "median_days_in_stage": step.median_days,
                },
            )
        cov = lm.churn_risk_coverage(session, ws, period.last_day, segment)
        out["churn_risk_coverage"] = value(
            cov.value,
            "no paying account was at risk (red band or open risk flag)",
            {"covered": cov.covered, "at_risk": cov.at_risk, "red": cov.red, "flagged": cov.flagged},
        )
        result.append(out)
    return result
