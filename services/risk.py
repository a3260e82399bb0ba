"""The risk tier of an account: one word the renewals list, the renewal trigger and the plays use.

Tiers (docs/plays.md, "Risk tier"), from the account's latest health snapshot on or before the day
(at most ``SNAPSHOT_DAYS`` old), its open risk flags and its open save plays:

- **high**: the band is red, or a risk flag is open (METRICS.md's "at risk": what churn risk coverage counts);
- **medium**: the band is yellow, or a save play (one whose motion is ``save``) is open;
- **low**: anything else (green, or no snapshot, no flag, no open save play).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy.orm import Session

from services.policies import Policies
from storage import play_triggers

Tier = Literal["high", "medium", "low"]
TIERS: tuple[Tier, ...] = ("high", "medium", "low")
SNAPSHOT_DAYS = play_triggers.SNAPSHOT_DAYS


def tier_of(band: str | None, open_flag: bool, open_save_play: bool) -> Tier:
    """The rule, on its inputs."""
    if band == "red" or open_flag:
        return "high"
    if band == "yellow" or open_save_play:
        return "medium"
    return "low"


def save_play_keys(policies: Policies) -> list[str]:
    return [p.key for p in policies.plays if p.kind == "save"]


def risk_tier(session: Session, ws: int, account_id: int, day: dt.date, policies: Policies) -> Tier:
    """The account's tier as of ``day``."""
    return risk_tiers(session, ws, day, policies, [account_id]).get(account_id, "low")


def risk_tiers(
    session: Session, ws: int, day: dt.date, policies: Policies, account_ids: list[int] | None = None
) -> dict[int, Tier]:
    """The tier of every account (or of these), in one query."""
    facts = play_triggers.risk_facts(session, ws, day, save_play_keys(policies), account_ids)
    return {a: tier_of(band, flag, save) for a, (band, flag, save) in facts.items()}
