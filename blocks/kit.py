"""The one Block Kit kit: every message, view and dialog the bot builds is made of these.

Text arguments to ``section``, ``context`` and ``fields`` are mrkdwn that is already escaped
(``blocks.text.slack_escape``); they are clipped to Slack's limits here. Every plain_text field —
``header``, ``button`` and ``link_button`` labels, a ``modal``'s title, submit and close, an
``input_block``'s label, a ``text_input``'s placeholder — takes raw text: it is escaped and clipped by
``blocks.text.plain``, so never pass it already-escaped text.
"""

from __future__ import annotations

from typing import Any

from blocks.text import MAX_HEADER_TEXT, MAX_SECTION_TEXT, clip, json_value, link_url, plain

Block = dict[str, Any]

# Slack's caps on plain_text fields (a modal's title, submit and close share one).
MAX_BUTTON_TEXT = 75
MAX_MODAL_TITLE = 24
MAX_LABEL_TEXT = 2000
MAX_PLACEHOLDER_TEXT = 150


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
        "text": {"type": "plain_text", "text": plain(text, MAX_BUTTON_TEXT)},
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
        "text": {"type": "plain_text", "text": plain(text, MAX_BUTTON_TEXT)},
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
    *,
    close: str = "Cancel",
) -> Block:
    """A dialog: an introduction (already escaped mrkdwn), then its inputs. ``title``,
    ``submit`` and ``close`` are raw text."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json_value(metadata),
        "title": {"type": "plain_text", "text": plain(title, MAX_MODAL_TITLE)},
        "submit": {"type": "plain_text", "text": plain(submit, MAX_MODAL_TITLE)},
        "close": {"type": "plain_text", "text": plain(close, MAX_MODAL_TITLE)},
        "blocks": [section(intro), *inputs],
    }


def input_block(block_id: str, label: str, element: Block, *, optional: bool = False) -> Block:
    """One input of a dialog; its value comes back under ``block_id`` / ``"value"``."""
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": plain(label, MAX_LABEL_TEXT)},
        "element": {"action_id": "value", **element},
    }


def text_input(hint: str, *, multiline: bool = True, max_length: int = 2000) -> Block:
    return {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": {"type": "plain_text", "text": plain(hint, MAX_PLACEHOLDER_TEXT)},
    }
