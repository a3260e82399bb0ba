"""Slack identities through the fake Slack: people linked by e-mail at an import of people
(users.lookupByEmail), lazily when an unknown Slack user runs a command (users.info) and in bulk
(`retention-bot people link-slack`: users.list page by page, waiting out rate limits); a Slack user
with no person records a win credited as themselves."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.identity import SlackDirectory, SlackLookupError
from bot.settings import build_settings
from bot.slack_api import make_client
from storage import models as m
from storage.db import Database
from storage.wins import shoutouts
from testkit.fake_slack import FakeSlack
from tests.support.helpers import load
from tests.support.slack_harness import Bot

PEOPLE = """
    email,name,team,slack_user_id,manager_email
    boss@x.io,Bea Boss,leadership,UBOSS,
    ana@x.io,Ana Lima,cs,,boss@x.io
    bob@x.io,Bob Ng,sales,,boss@x.io
    cy@x.io,Cy Gone,support,,boss@x.io
    dee@x.io,Dee Dup,support,,boss@x.io
"""
ACCOUNTS = """
    external_id,name,domain,segment,csm_email,ae_email
    A1,Acme Corp,acme.com,smb,ana@x.io,bob@x.io
"""


def slack_ids(db: Database, ws: int) -> dict[str, str | None]:
    with db.read() as s:
        return dict(
            s.execute(select(m.Person.email, m.Person.slack_user_id).where(m.Person.workspace_id == ws)).all()
        )  # type: ignore[arg-type]


def members(fake: FakeSlack, n: int) -> None:
    """A workspace of ``n`` other members (so that users.list has pages), a bot and Slackbot."""
    for i in range(n):
        fake.add_user(f"U{i:05d}X", f"member{i}@elsewhere.io")
    fake.add_user("UBOTUSER", "bot@x.io", is_bot=True)
    fake.add_user("USLACKBOT", None)


@pytest.fixture
def run(db: Database, ws: int, fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
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


def test_link_slack_walks_every_page_and_links_by_email(
    db: Database, ws: int, fake: FakeSlack, run, tmp_path: Path
) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    members(fake, 450)  # with the 200-a-page walk: three pages
    fake.add_user("UANA", "Ana@X.io")  # Slack keeps the case people typed
    fake.add_user("UBOB", "bob@x.io")
    fake.add_user("UCY", "cy@x.io", deleted=True)  # deactivated: never linked
    fake.add_user("UBOSS2", "dee@x.io")
    fake.add_user("UBOSS", "someone-else@x.io")  # Bea's Slack id, by another e-mail: left alone
    code, out, err = run("people", "link-slack", "--pace", "0")
    assert code == 0, err
    assert "read 457 Slack users in 3 call(s)" in out  # every member, bots included
    assert "3 linked, 0 already linked, 1 without a Slack user for their e-mail" in out
    assert "cy@x.io: no active Slack user has this e-mail" in err
    assert slack_ids(db, ws) == {
        "boss@x.io": "UBOSS",
        "ana@x.io": "UANA",
        "bob@x.io": "UBOB",
        "cy@x.io": None,
        "dee@x.io": "UBOSS2",
    }
    pages = fake.calls("users.list")
    assert [p.get("cursor") for p in pages] == [
        None,
        base64.b64encode(b"offset:200").decode(),
        base64.b64encode(b"offset:400").decode(),
    ]
    assert {p["limit"] for p in pages} == {"200"}
    # Again: only Cy is left to look for, and nothing changes.
    code, out, _ = run("people", "link-slack", "--pace", "0")
    assert code == 0 and "0 linked, 0 already linked, 1 without" in out
    # A person whose Slack id another person holds is not linked twice (the id is unique per workspace).
    with db.write() as s:
        s.execute(m.Person.__table__.update().where(m.Person.email == "dee@x.io").values(slack_user_id=None))
        s.execute(
            m.Person.__table__.update().where(m.Person.email == "cy@x.io").values(slack_user_id="UBOSS2")
        )
    code, out, err = run("people", "link-slack", "--pace", "0")
    assert code == 0 and "0 linked" in out
    assert "dee@x.io: Slack user UBOSS2 is already another person's; left unlinked" in err


def test_link_slack_says_what_is_missing(db: Database, ws: int, fake: FakeSlack, run, tmp_path: Path) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    fake.add_user("UANA", "ana@x.io")
    fake.scopes = ("commands", "chat:write", "users:read")  # no users:read.email: Slack hides e-mails
    code, _, err = run("people", "link-slack", "--pace", "0")
    assert code == 1 and "users:read.email" in err and "nothing was linked" in err
    fake.fail("users.list", "missing_scope")
    code, _, err = run("people", "link-slack", "--pace", "0")
    assert code == 1 and "missing_scope" in err and "reinstall" in err
    assert slack_ids(db, ws)["ana@x.io"] is None
    code, _, err = run("people", "link-slack", "--pace", "0")  # the token is fine, e-mails still hidden
    assert code == 1


def test_link_slack_without_a_token_refuses(
    db: Database, ws: int, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, _, err = run("people", "link-slack")
    assert code == 1 and "no Slack token" in err


def test_users_list_waits_out_rate_limits_for_retry_after(fake: FakeSlack) -> None:
    members(fake, 250)
    fake.fail("users.list", status=429, retry_after=7)  # the first call of the walk is refused once
    settings = build_settings(SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=fake.api_url)
    slept: list[float] = []
    directory = SlackDirectory(
        make_client(settings, "xoxb-test-token", outbox=True), pace=3.0, sleep=slept.append
    )
    users = list(directory.users())
    assert len(users) == 250
    assert slept == [7.0, 3.0]  # Retry-After, then the Tier 2 pace between the two pages
    assert directory.waits == 1 and directory.calls == 3
    fake.fail("users.list", status=429, retry_after=1, times=6)
    with pytest.raises(SlackLookupError, match="still rate-limited"):
        list(
            SlackDirectory(make_client(settings, "xoxb-test-token", outbox=True), sleep=slept.append).users()
        )


def test_paced_walk_stays_under_the_fakes_tier_2_limit(fake: FakeSlack) -> None:
    """In the fake's rate-limit mode, a walk at the pace gets no 429; one without a pace gets 429s
    and still reads every page, by waiting for Retry-After."""
    members(fake, 500)
    fake.method_interval["users.list"] = 0.3
    settings = build_settings(SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=fake.api_url)
    paced = SlackDirectory(make_client(settings, "xoxb-test-token", outbox=True), pace=0.4)
    assert len(list(paced.users())) == 500
    assert fake.rate_limited == 0 and paced.waits == 0
    fake.reset()
    rushed = SlackDirectory(make_client(settings, "xoxb-test-token", outbox=True), pace=0)
    assert len(list(rushed.users())) == 500
    assert fake.rate_limited == rushed.waits >= 1


def test_import_of_people_links_them_by_email_and_a_reimport_keeps_the_links(
    db: Database, ws: int, fake: FakeSlack, run, tmp_path: Path
) -> None:
    fake.add_user("UANA", "ana@x.io")
    fake.add_user("UBOB", "BOB@x.io")
    (tmp_path / "people.csv").write_text(
        "email,name,team,slack_user_id,manager_email\n"
        "boss@x.io,Bea Boss,leadership,UBOSS,\n"
        "ana@x.io,Ana Lima,cs,,boss@x.io\n"
        "bob@x.io,Bob Ng,sales,,boss@x.io\n"
        "cy@x.io,Cy New,support,,boss@x.io\n"
    )
    code, out, err = run("import", "people", "people.csv")
    assert code == 0, err
    assert "Slack users by e-mail: 2 linked, 0 already linked, 1 without a Slack user" in out
    asked = [c["args"]["email"] for c in fake.transcript if c["method"] == "users.lookupByEmail"]
    assert sorted(asked) == ["ana@x.io", "bob@x.io", "cy@x.io"]
    assert fake.calls("users.list") == []
    assert slack_ids(db, ws) == {
        "boss@x.io": "UBOSS",
        "ana@x.io": "UANA",
        "bob@x.io": "UBOB",
        "cy@x.io": None,
    }
    # The same export again (no Slack ids in it): the links stay, and nothing counts as changed.
    fake.clear()
    code, out, _ = run("import", "people", "people.csv")
    assert code == 0 and "0 inserted, 0 updated, 4 unchanged" in out
    assert slack_ids(db, ws)["ana@x.io"] == "UANA"
    asked = [c["args"]["email"] for c in fake.transcript if c["method"] == "users.lookupByEmail"]
    assert asked == ["cy@x.io"]  # only who is left
    # A Slack id in the file still wins over the stored one: only an empty value keeps it.
    (tmp_path / "fix.csv").write_text("email,name,team,slack_user_id\nana@x.io,Ana Lima,cs,UANA2\n")
    code, out, _ = run("import", "people", "fix.csv")
    assert code == 0 and "0 inserted, 1 updated, 0 unchanged" in out
    assert slack_ids(db, ws)["ana@x.io"] == "UANA2"


def test_import_of_people_without_a_token_asks_slack_nothing(
    db: Database, ws: int, fake: FakeSlack, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    (tmp_path / "people.csv").write_text("email,name,team\nana@x.io,Ana Lima,cs\n")
    code, out, _ = run("import", "people", "people.csv")
    assert code == 0 and "Slack users" not in out
    assert fake.transcript == []


# --- lazily, when an unknown Slack user runs a command ---------------------------------------------


@pytest.fixture
def team(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    return db


@pytest.fixture
def bot(team: Database, fake: FakeSlack) -> Iterator[Bot]:
    b = Bot(team, fake, answer_budget=8)  # a loaded test machine must not push answers to response_url
    yield b
    b.close()


def test_an_unknown_slack_user_is_linked_by_email_on_their_first_command(
    bot: Bot, team: Database, ws: int
) -> None:
    bot.fake.add_user("UANA", "ANA@x.io")
    r = bot.command("/health", "", user="UANA")
    assert "Your accounts" in r.body["text"] and "Acme Corp" in str(r.body["blocks"])
    assert slack_ids(team, ws)["ana@x.io"] == "UANA"  # cached in the people row
    assert [c["user"] for c in bot.fake.calls("users.info")] == ["UANA"]
    r = bot.command("/sla", "", user="UANA")
    assert "isn't in the people list" not in r.body["text"]
    assert len(bot.fake.calls("users.info")) == 1  # linked once; later commands ask Slack nothing


def test_a_slack_user_slack_cannot_link_is_asked_about_once(bot: Bot, team: Database, ws: int) -> None:
    bot.fake.add_user("USTRANGER", "stranger@elsewhere.io")
    for _ in range(3):
        r = bot.command("/health", "", user="USTRANGER")
        assert "isn't in the people list" in r.body["text"]
    assert len([c for c in bot.fake.transcript if c["method"] == "users.info"]) == 1
    # A Slack user who is gone, or a failing Slack, does not break the command either.
    bot.fake.fail("users.info", "fatal_error")
    assert "isn't in the people list" in bot.command("/health", "", user="UGHOST").body["text"]


def test_a_slack_user_with_no_person_records_a_win_credited_as_themselves(
    bot: Bot, team: Database, ws: int
) -> None:
    bot.fake.add_user("UNEW", "new@elsewhere.io")
    r = bot.command("/win", "A1 saved the renewal", user="UNEW")
    assert "<@UNEW>" in str(r.body) and "not in the people list" not in str(r.body)
    with team.read() as s:
        win = s.scalars(select(m.Win)).one()
        credited = s.scalars(
            select(m.WinCreditSlackUser.slack_user_id).where(m.WinCreditSlackUser.win_id == win.id)
        ).all()
        people = s.scalars(select(m.WinCreditPerson.person_id)).all()
    assert (win.text, win.recorded_by_id, list(credited), list(people)) == (
        "saved the renewal",
        None,
        ["UNEW"],
        [],
    )
    with team.read() as s:  # the shout-out mentions them
        shoutout = shoutouts(s, ws, [win.id])[0]
        assert (shoutout.people, shoutout.recorded_by) == ([("UNEW", "UNEW")], "UNEW")
    # With a listed person named too, both are credited; --not-me leaves the recorder out.
    bot.command("/win", "A1 another one <@UBOSS|bea> --not-me", user="UNEW")
    with team.read() as s:
        assert len(s.scalars(select(m.WinCreditSlackUser)).all()) == 1


def test_people_through_the_ingest_api_are_linked_in_the_background(
    bot: Bot, team: Database, ws: int
) -> None:
    bot.fake.add_user("UNEWBIE", "newbie@x.io")
    r = bot.ingest("people", [{"email": "newbie@x.io", "name": "New Bie", "team": "cs"}])
    assert r.status == 200 and r.body["inserted"] == 1
    deadline = time.monotonic() + 10
    while slack_ids(team, ws).get("newbie@x.io") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slack_ids(team, ws)["newbie@x.io"] == "UNEWBIE"
