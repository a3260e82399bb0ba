"""The one Block Kit kit: every message, view and dialog the bot builds is made of these.

Text arguments to ``section``, ``context`` and ``fields`` are mrkdwn that is already escaped
(``blocks.text.slack_escape``); they are clipped to Slack's limits here. ``header`` and ``button``
take raw text (plain_text is escaped and clipped by ``blocks.text.plain``).
"""

from __future__ import annotations

import json
from typing import Any

from blocks.text import MAX_HEADER_TEXT, MAX_SECTION_TEXT, clip, json_value, link_url, plain

Block = dict[str, Any]


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def fields(*texts: str) -> Block:
    """A section of side-by-side mrkdwn fields (already escaped)."""
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in texts]}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}]}


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": plain(text, MAX_HEADER_TEXT), "emoji": True},
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: dict[str, Any] | str, *, primary: bool = False) -> Block:
    """A button whose ``value`` (a dict becomes JSON, see ``json_value``) comes back in the action."""
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": plain(text, 75)},
        "action_id": action_id,
        "value": value if isinstance(value, str) else json_value(value),
    }
    if primary:
        element["style"] = "primary"
    return element


def link_button(text: str, action_id: str, url: str) -> Block:
    """A button that opens ``url`` (from data: percent-encoded by ``link_url``)."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "url": link_url(url),
    }


def actions(elements: list[Block], *, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def modal(
    callback_id: str,
    title: str,
    submit: str,
    metadata: dict[str, Any],
    intro: str,
    inputs: list[Block],
) -> Block:
    """A dialog: an introduction (already escaped mrkdwn), then its inputs."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}, *inputs],
    }


def input_block(block_id: str, label: str, element: Block, *, optional: bool = False) -> Block:
    """One input of a dialog; its value comes back under ``block_id`` / ``"value"``."""
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": "value", **element},
    }


def text_input(hint: str, *, multiline: bool = True, max_length: int = 2000) -> Block:
    return {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": {"type": "plain_text", "text": hint},
    }
