"""The dialogs people fill in — the SLA ping's Snooze dialog and the ``/handoff`` checklist — and their
answers, parsed into typed models (``view_submission`` payloads come from Slack)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt

from blocks import kit
from blocks.text import clip, slack_escape


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Option(_Model):
    value: str


class Answer(_Model):
    """One input's element as a view submission carries it (the kit names every element ``value``)."""

    value: str | None = None
    selected_date: dt.date | None = None
    selected_option: _Option | None = None
    selected_user: str | None = None


class _State(_Model):
    values: dict[str, dict[str, Answer]] = {}


class _View(_Model):
    private_metadata: str = ""
    state: _State = _State()


def _answers(view: dict[str, Any]) -> dict[str, Answer]:
    """Each input block's answer, by block id."""
    return {
        block: elements.get("value", Answer())
        for block, elements in _View.model_validate(view).state.values.items()
    }


class SnoozeMeta(_Model):
    """What the Snooze dialog carries: the handoff, and the ping to redraw (channel, ts)."""

    h: StrictInt | None = None
    c: str | None = None
    ts: str | None = None


class SnoozeState(_Model):
    hours: Answer
    reason: Answer

    @classmethod
    def of(cls, view: dict[str, Any]) -> SnoozeState:
        return cls.model_validate(_answers(view))

    @property
    def hours_chosen(self) -> float:
        assert self.hours.selected_option is not None, "the hours select has an initial option"
        return float(self.hours.selected_option.value)


class ChecklistMeta(_Model):
    """What the checklist dialog carries: account, kind, owner and the handoff's external id."""

    a: StrictInt | None = None
    k: str = ""
    o: StrictInt | None = None
    x: str = ""


class ChecklistState(_Model):
    success_plan: Answer
    contacts: Answer
    targets: Answer = Answer()
    first_value: Answer

    @classmethod
    def of(cls, view: dict[str, Any]) -> ChecklistState:
        return cls.model_validate(_answers(view))


def meta_of(view: dict[str, Any]) -> str:
    """A dialog's private_metadata (JSON, written by the dialog builder)."""
    return _View.model_validate(view).private_metadata or "{}"


def snooze_modal(
    handoff_id: int, account: str, channel: str | None, ts: str | None, max_hours: float
) -> dict[str, Any]:
    """The Snooze dialog: how long (within the policy's allowance) and why."""
    hours: list[float] = [h for h in (1, 4, 8, 24, 48) if h <= max_hours] or [max_hours]
    choices = [{"text": {"type": "plain_text", "text": f"{h:g} h"}, "value": f"{h:g}"} for h in hours]
    return kit.modal(
        "sla_snooze",
        "Snooze the SLA clock",
        "Snooze",
        {"h": handoff_id, "c": channel, "ts": ts},
        f"*{clip(slack_escape(account), 200)}*: the clock stops for the time you choose; "
        "the due time moves with it.",
        [
            kit.input_block(
                "hours",
                "For how long",
                {"type": "static_select", "initial_option": choices[0], "options": choices},
            ),
            kit.input_block(
                "reason",
                "Why",
                kit.text_input("e.g. waiting for the customer's signed SOW", multiline=False, max_length=500),
            ),
        ],
    )


def checklist_modal(account: str, kind: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The sales→CS handoff checklist: what CS needs to take the customer over."""
    return kit.modal(
        "handoff_checklist",
        "Handoff checklist",
        "Open handoff",
        metadata,
        f"*{clip(slack_escape(account), 200)}* — {slack_escape(kind)}: what the receiving team needs.",
        [
            kit.input_block(
                "success_plan", "Success plan", kit.text_input("Goals, use cases, what success looks like")
            ),
            kit.input_block(
                "contacts", "Contacts", kit.text_input("Champion, decision maker, admin — names and roles")
            ),
            kit.input_block(
                "targets",
                "SOW and usage targets",
                kit.text_input("Seats, usage targets, scope"),
                optional=True,
            ),
            kit.input_block("first_value", "First-value target", {"type": "datepicker"}),
        ],
    )
