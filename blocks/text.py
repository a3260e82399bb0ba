"""Text and Block Kit safety for everything the bot sends to Slack (docs/slack.md).

``slack_escape`` is the one escape for user and database text: exactly ``&``, ``<`` and ``>``, so
``<!channel>``, ``<@U…>`` and ``<https://evil|Jira>`` show literally and never ping or disguise a
link. It applies to every field people see: mrkdwn, the top-level ``text`` (Slack parses mentions
in it: it is the notification and the fallback), and plain_text too (headers, button labels, modal
titles), where Slack decodes the three entities back, so people see the text as typed and data never
reaches a payload as ``<!…>``. Text is escaped once, where it is built; ``plain`` escapes for you, so
pass it raw text. ``clip`` shortens escaped text without cutting an entity in half. ``json_value``
writes the JSON of a button value or a modal's private_metadata without a raw ``<``, ``>`` or ``&``;
``link_url`` percent-encodes a URL from data for a link button.
``message_problems`` checks a message against Slack's limits with slack_sdk's block models plus the
caps they do not check.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MESSAGE_TEXT = 4000  # Slack truncates at 40,000; we keep the fallback short
ELLIPSIS = "…"


def slack_escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(escaped: str, limit: int) -> str:
    """Shorten already-escaped text to ``limit`` characters, never inside an ``&…;`` entity."""
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def plain(text: str, limit: int) -> str:
    """A plain_text field from raw (unescaped) text: escaped like mrkdwn, then shortened to ``limit``."""
    return clip(slack_escape(text), limit)


def json_value(value: object) -> str:
    """JSON for a button value or private_metadata: ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no
    data appears raw in the payload, and ``json.loads`` gives back exactly what was written."""
    raw = json.dumps(value, separators=(",", ":"))
    return raw.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def link_url(url: str, limit: int = 3000) -> str:
    """A URL from data for a button's ``url``: spaces, ``<``, ``>``, ``|``, quotes and the like
    percent-encoded (browsers read it the same), reserved characters and existing escapes kept."""
    return quote(url, safe="/:?#[]@!$&'()*+,;=%~")[:limit]


def message_problems(
    blocks: list[dict[str, Any]] | None, text: str | None, *, view: bool = False
) -> list[str]:
    """Everything Slack would reject (or silently cut) in a message or view; empty when it is fine."""
    problems: list[str] = []
    blocks = blocks or []
    cap = MAX_VIEW_BLOCKS if view else MAX_MESSAGE_BLOCKS
    if len(blocks) > cap:
        problems.append(f"{len(blocks)} blocks, more than {cap}")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"text of {len(text)} characters, more than {MAX_MESSAGE_TEXT}")
    for i, raw in enumerate(blocks):
        try:
            block = Block.parse(raw)
            if block is None:
                problems.append(f"block {i}: unknown block type {raw.get('type')!r}")
                continue
            block.validate_json()
        except (SlackObjectFormationError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"block {i}: {exc}")
        for field in raw.get("fields") or []:
            if len(field.get("text", "")) > MAX_FIELD_TEXT:
                problems.append(f"block {i}: a field is longer than {MAX_FIELD_TEXT}")
    return problems
