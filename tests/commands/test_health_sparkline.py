"""The 90-day health sparkline from stored snapshots: on the /health card, on the list of a person's
own accounts (/health with no argument, App Home) and on the CLI's card."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot.render import health_card as cli_card
from commands import replies
from commands.home import home_view
from services import accounts
from services.home import home
from services.policies import Policies
from storage.db import Database
from tests.support.charts_data import add_snapshots
from tests.support.helpers import load

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def seed(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "people", "email,name,team,slack_user_id\nana@x.io,Ana,cs,UANA\n", tmp_path)
    load(
        db,
        ws,
        "accounts",
        "external_id,name,segment,csm_email\nA,Alpha,ent,ana@x.io\nB,Beta,ent,ana@x.io\n",
        tmp_path,
    )
    # Alpha: 30 for the first 30 of the 90 days, no snapshots for 30 days, then 90 (today included).
    days = [TODAY - dt.timedelta(days=89 - k) for k in range(90)]
    scores = {d: {"A": 30.0} for d in days[:30]} | {d: {"A": 90.0} for d in days[60:]}
    scores[days[-1]]["B"] = 50.0  # Beta: one snapshot, today
    scores[TODAY - dt.timedelta(days=120)] = {"A": 5.0}  # older than 90 days: not drawn
    add_snapshots(db, ws, scores)


# The silence's first week shows the score as it stood (blocks.spark.CARRY_DAYS), the rest is blank.
ALPHA = "▃" * 13 + " " * 7 + "█" * 10 + "  90 days: 30 → 90"


def test_health_card_shows_the_90_day_sparkline(db: Database, ws: int, tmp_path: Path) -> None:
    seed(db, ws, tmp_path)
    card = accounts.card(db, ws, "Alpha", now=NOW, policy=Policies().health)
    assert len(card.history) == 90 and card.history[0] == 30.0 and card.history[45] is None
    reply = replies.health_card(card, NOW, "USD")
    assert f"`{ALPHA}`" in reply["blocks"][0]["text"]["text"]
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(cli_card(card, NOW, "USD"))
    assert f"health trend: {ALPHA}" in console.export_text()


def test_own_accounts_and_app_home_show_a_short_sparkline_each(db: Database, ws: int, tmp_path: Path) -> None:
    seed(db, ws, tmp_path)
    mine = accounts.my_accounts(db, ws, "UANA", 15, today=TODAY)
    assert mine is not None and set(mine.histories) == {"A", "B"}
    text = replies.my_accounts(mine.rows, mine.total, mine.histories)["blocks"][0]["text"]["text"]
    alpha = next(line for line in text.splitlines() if "Alpha" in line)
    beta = next(line for line in text.splitlines() if "Beta" in line)
    assert alpha.endswith("`▃▃▃▃▃▃▃   █████`")  # 15 characters: six days each
    assert beta.endswith("`              ▅`")
    view = home_view(home(db, ws, "UANA", now=NOW, policies=Policies(), limit=15), NOW)
    assert "`▃▃▃▃▃▃▃   █████`" in json.dumps(view, ensure_ascii=False)


def test_no_snapshots_no_sparkline(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "accounts", "external_id,name,segment\nC,Gamma,smb\n", tmp_path)
    card = accounts.card(db, ws, "Gamma", now=NOW, policy=Policies().health)
    assert "`" not in replies.health_card(card, NOW, "USD")["blocks"][0]["text"]["text"]
