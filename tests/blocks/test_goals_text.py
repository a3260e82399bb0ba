"""Shared goals in words: hostile names from the policy file or the data are shown literally."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from blocks.text import message_problems
from commands import replies
from services.goals import MatrixRow, Target, TargetLine, TargetUpdate
from storage.targets import TargetChange

EVIL = "<!channel> *bold* <https://x.io|click>"
AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_owner_matrix_and_target_replies_escape_names() -> None:
    line = TargetLine("quarter", EVIL, Target(Decimal("1.1"), "set", EVIL, EVIL, AT))
    row = MatrixRow(EVIL, "nrr", "NRR (12 mo)", "ratio", "higher", ("leadership",), [line])
    matrix = replies.owner_matrix([row], "USD")
    change = TargetChange("nrr", "quarter", EVIL, "set", None, Decimal("1.1"), EVIL, AT)
    update = replies.target_set(
        TargetUpdate("nrr", "NRR (12 mo)", "ratio", ["quarter"], EVIL, Decimal("1.1"), [change]), "USD"
    )
    history = replies.target_history([(change, "NRR (12 mo)", "ratio")], "USD")
    for reply in (matrix, update, history):
        raw = json.dumps(reply, ensure_ascii=False)
        assert "<!channel>" not in raw and "&lt;!channel&gt;" in raw
        assert message_problems(reply["blocks"], reply["text"]) == []
    assert "set by <@U" not in json.dumps(update)  # a name that is not a Slack id is not a mention


def test_a_slack_user_is_mentioned() -> None:
    change = TargetChange("nrr", "quarter", None, "set", Decimal("1.05"), Decimal("1.1"), "U0ADMIN", AT)
    reply = replies.target_history([(change, "NRR (12 mo)", "ratio")], "USD")
    assert "105.0% → 110.0% by <@U0ADMIN>" in reply["text"]
