"""`retention-bot demo-data --me`: the person trying the demo owns a portfolio, so /health with no
argument, /sla, /handoff list and App Home show it in Slack in the first minute."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import cli
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.slack_harness import Bot


@pytest.fixture
def run(db: Database, fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    monkeypatch.delenv("RETENTION_BOT_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def portfolio(db: Database, email: str) -> tuple[m.Person, dict[str, int], list[m.Handoff]]:
    with db.read() as s:
        me = s.scalars(select(m.Person).where(m.Person.email == email)).one()
        snap = m.HealthSnapshot
        day = s.scalar(select(func.max(snap.day)))
        bands = dict(
            s.execute(
                select(snap.band, func.count())
                .join(m.Account, m.Account.id == snap.account_id)
                .where(m.Account.csm_id == me.id, snap.day == day)
                .group_by(snap.band)
            ).all()
        )
        handoffs = list(
            s.scalars(select(m.Handoff).where(m.Handoff.owner_id == me.id, m.Handoff.completed_at.is_(None)))
        )
    return me, bands, handoffs  # type: ignore[return-value]


def test_me_by_email_is_resolved_to_the_slack_id_and_owns_a_portfolio(
    db: Database, fake: FakeSlack, run
) -> None:
    fake.add_user("UME", "Me@Example.com", name="Mia Example")
    started = dt.datetime.now(dt.UTC)
    code, out, err = run(
        "demo-data",
        "--accounts",
        "80",
        "--usage-days",
        "35",
        "--as-of",
        "2026-11-23",
        "--me",
        "ME@example.com",
    )
    assert code == 0, err
    assert [c["email"] for c in fake.calls("users.lookupByEmail")] == ["me@example.com"]
    me, bands, handoffs = portfolio(db, "me@example.com")
    assert (me.slack_user_id, me.name, me.team) == ("UME", "Mia Example", "cs")
    # This book has no red account on its latest day: three yellows and the three worst of the rest
    # (yellow too) fill in; the worst account of the book is theirs.
    assert bands == {"yellow": 6, "green": 3}
    assert "--me <@UME>: you own 9 accounts as CSM (6 yellow, 3 green)" in out
    with db.read() as s:
        snap = m.HealthSnapshot
        day = s.scalar(select(func.max(snap.day)))
        assert s.scalar(select(func.count()).where(snap.day == day, snap.band == "red")) == 0
        worst = s.scalar(select(snap.account_id).where(snap.day == day).order_by(snap.score).limit(1))
        assert s.get(m.Account, worst).csm_id == me.id  # type: ignore[union-attr]
    due = sorted(
        (h.effective_due_at.replace(tzinfo=dt.UTC) - started).total_seconds() / 3600 for h in handoffs
    )
    assert len(due) == 3
    assert -6.5 < due[0] < -5.5 and 1.5 < due[1] < 2.5 and 19.5 < due[2] < 20.5  # overdue, soon, tomorrow
    # Again: nothing new (same person, same handoffs).
    code, out, _ = run(
        "demo-data", "--accounts", "80", "--usage-days", "35", "--as-of", "2026-11-23", "--me", "UME"
    )
    assert code == 0 and "3 open handoffs (0 new)" in out
    with db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(m.Person).where(m.Person.slack_user_id == "UME")) == 1
        )


def test_me_without_a_token_is_linked_on_the_first_command(
    db: Database, fake: FakeSlack, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, out, _ = run("demo-data", "--accounts", "40", "--usage-days", "10", "--me", "me@example.com")
    assert code == 0 and "has no Slack id yet" in out and fake.transcript == []
    me, _, handoffs = portfolio(db, "me@example.com")
    assert me.slack_user_id is None and len(handoffs) == 3


def test_me_must_be_an_email_or_a_slack_id(run) -> None:
    code, _, err = run("demo-data", "--accounts", "5", "--me", "not me")
    assert code == 2 and "neither an e-mail address nor a Slack user id" in err
    code, _, err = run("demo-data", "--accounts", "5", "--me", "UME", "--out", "x")
    assert code == 2 and "leave out --out" in err


@pytest.fixture
def bot(db: Database, fake: FakeSlack, run) -> Iterator[Bot]:
    fake.add_user("UME", "me@example.com", name="Mia Example")
    code, _, err = run("demo-data", "--accounts", "60", "--usage-days", "35", "--me", "UME")
    assert code == 0, err
    b = Bot(db, fake, answer_budget=8)  # a loaded test machine must not push answers to response_url
    now = dt.datetime.now(dt.UTC)
    b.services.clock = lambda: now  # the demo's handoffs are due around the real time
    yield b
    b.close()


def test_every_command_and_app_home_show_the_portfolio_in_slack(bot: Bot) -> None:
    mine = bot.command("/health", "", user="UME")
    assert "Your accounts" in mine.body["text"]
    assert json.dumps(mine.body["blocks"]).count("_circle:") == 9  # one line per account, with its band
    sla = json.dumps(bot.command("/sla", "", user="UME").body)
    assert "overdue" in sla and sla.count("DEMO-ME-") == 3
    listed = json.dumps(bot.command("/handoff", "list", user="UME").body)
    assert listed.count("DEMO-ME-") == 3
    bot.event({"type": "app_home_opened", "user": "UME", "tab": "home"}, "Ev1")
    view = json.dumps(bot.fake.calls("views.publish")[0]["view"])
    assert "isn't in the people list" not in view and view.count("DEMO-ME-") == 3
