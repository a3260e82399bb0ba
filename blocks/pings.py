"""The SLA ping's contract between the message that carries it (``digests.sla_pings``, and the redrawn
ping in ``commands.sla_actions``) and the listener that acts on it (``commands.sla_actions``): the
button row, its action ids and value, and the headlines by event kind and by stage."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from blocks import kit
from storage.sla_clock import NONE, WARNED

ACK, DONE, SNOOZE = "sla_ack", "sla_done", "sla_snooze"
ACTIONS = (ACK, DONE, SNOOZE)

# A new ping's headline, by the kind of SLA event it tells of.
HEADLINE = {
    "warning": ":hourglass_flowing_sand: *SLA warning*",
    "breach": ":rotating_light: *SLA breached*",
    "escalation": ":rotating_light: *SLA escalation*",
}
# A redrawn ping's headline, by the handoff's SLA stage now (any later stage: breached).
STAGE_HEADLINE = {NONE: ":hourglass_flowing_sand: *SLA*", WARNED: ":hourglass_flowing_sand: *SLA warning*"}
BREACHED_HEADLINE = HEADLINE["breach"]


def stage_headline(stage: int) -> str:
    return STAGE_HEADLINE.get(stage, BREACHED_HEADLINE)


def buttons(handoff_id: int) -> kit.Block:
    """Acknowledge, Mark done and Snooze…, each carrying the handoff's id."""
    value = json.dumps({"h": handoff_id})
    return kit.actions(
        [
            kit.button("Acknowledge", ACK, value, primary=True),
            kit.button("Mark done", DONE, value),
            kit.button("Snooze…", SNOOZE, value),
        ],
        block_id=f"sla:{handoff_id}",
    )


class _Value(BaseModel):
    model_config = ConfigDict(extra="ignore")
    h: StrictInt | None = None


def handoff_of(value: str) -> int | None:
    """The handoff id a button's value names; None when the value is not ours (values come from Slack)."""
    try:
        return _Value.model_validate_json(value).h
    except ValidationError:
        return None
