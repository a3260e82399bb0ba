"""Monthly and quarterly digests (the council's cadence), a team's digest led by its part, and the people
recognised in the thread — with the opt-out honoured."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.settings import build_settings
from digests.jobs import enqueue_digests
from digests.schedule import latest_period_start, period_key
from services import subscriptions as subs
from services.subscriptions import SubscriptionError, parse_schedule
from services.wins import set_listed
from storage import models as m
from storage.db import Database
from storage.recognition import credited_people
from testkit.fake_slack import FakeSlack
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load
from tests.support.slack_harness import Bot

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("cadence", "now", "expected"),
    [
        # Tuesday 2026-12-01 is the first weekday of December; 09:00 in Berlin (CET) is 08:00 UTC.
        ("month", "2026-12-01 08:00", "2026-12-01 08:00"),
        ("month", "2026-12-01 07:59", "2026-11-02 08:00"),  # not yet: November's (Nov 1 is a Sunday)
        ("month", "2026-08-15 12:00", "2026-08-03 07:00"),  # Aug 1 is a Saturday; CEST is UTC+2
        ("quarter", "2026-11-15 12:00", "2026-10-01 07:00"),  # Thursday Oct 1, CEST
        ("quarter", "2026-10-01 06:00", "2026-07-01 07:00"),  # before 09:00 local: the last quarter's
        ("quarter", "2027-01-04 08:00", "2027-01-01 08:00"),  # a Friday; CET
    ],
)
def test_first_weekday_of_the_month_or_quarter(cadence: str, now: str, expected: str) -> None:
    assert latest_period_start(cadence, dt.time(9), "Europe/Berlin", at(now)) == at(expected)  # type: ignore[arg-type]


def test_period_keys_name_the_reported_month_or_quarter() -> None:
    assert period_key(at("2026-12-01 08:00"), "Europe/Berlin", "month") == "2026-11"
    assert period_key(at("2026-10-01 07:00"), "Europe/Berlin", "quarter") == "2026-Q3"
    assert period_key(at("2027-01-01 08:00"), "Europe/Berlin", "quarter") == "2026-Q4"
    assert period_key(at("2026-11-23 09:00"), "UTC") == "2026-W48"


def test_parse_cadence_and_team() -> None:
    s = parse_schedule(["monthly", "08:30", "Europe/Berlin", "team", "CS"], ["smb"], ["cs", "sales"])
    assert (s.cadence, s.team, s.local_time, s.timezone) == ("month", "cs", dt.time(8, 30), "Europe/Berlin")
    assert parse_schedule(["quarterly"], [], ["cs"]).cadence == "quarter"
    assert parse_schedule(["tue"], [], ["cs"]).cadence == "week"
    with pytest.raises(SubscriptionError, match="first weekday of the month; leave out Tuesday"):
        parse_schedule(["monthly", "tuesday"], [], ["cs"])
    with pytest.raises(SubscriptionError, match="'ops' is not a team"):
        parse_schedule(["team", "ops"], [], ["cs", "sales"])
    with pytest.raises(SubscriptionError, match="needs a team name"):
        parse_schedule(["team"], [], ["cs"])


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    load(
        db,
        ws,
        "revenue",
        "account,month,mrr\nA1,2025-10,1000\nA1,2026-10,1200\nA3,2025-10,5000\nA3,2026-10,5000\n",
        tmp_path,
    )
    # November 2026: Ana (cs) and Bob (sales) share a win; Ana saves A3; Ana finishes a handoff on time,
    # Bob one late (not credited); Bea (leadership) a win in October (another month).
    load(
        db,
        ws,
        "wins",
        """
        external_id,account,kind,text,won_on,credited_people,credited_teams
        W1,A1,renewal,renewed early,2026-11-10,ana@x.io;bob@x.io,
        W2,A1,expansion,more seats,2026-11-20,ana@x.io,
        W3,A3,advocacy,case study,2026-10-05,boss@x.io,
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "risk_flags",
        """
        external_id,account,flagged_on,reason,owner_email,outcome,resolved_on
        R1,A3,2026-10-01,usage drop,ana@x.io,saved,2026-11-12
        R2,A1,2026-10-01,champion left,bob@x.io,churned,2026-11-14
    """,
        tmp_path,
    )
    load(
        db,
        ws,
        "handoffs",
        """
        external_id,account,kind,from_team,to_team,owner_email,opened_at,due_at,completed_at
        H1,A1,sales_to_cs,sales,cs,ana@x.io,2026-11-02T09:00:00Z,2026-11-04T09:00:00Z,2026-11-03T09:00:00Z
        H2,A3,escalation,cs,support,bob@x.io,2026-11-02T09:00:00Z,2026-11-04T09:00:00Z,2026-11-06T09:00:00Z
        H3,A3,escalation,cs,support,bob@x.io,2026-11-25T09:00:00Z,2026-11-26T09:00:00Z,
    """,
        tmp_path,
    )
    return db


def test_people_recognised_in_a_month_and_the_opt_out(data: Database, ws: int) -> None:
    nov, dec = dt.date(2026, 11, 1), dt.date(2026, 12, 1)
    with data.read() as s:
        people = credited_people(s, ws, nov, dec)
    got = [(p.name, p.team, p.slack_user_id, p.wins, p.saves, p.on_time) for p in people]
    assert got == [("Ana Lima", "cs", "UANA", 2, 1, 1), ("Bob Ng", "sales", "UBOB", 1, 0, 0)]
    assert set_listed(data, ws, "UANA", listed=False)
    assert not set_listed(data, ws, "UNOBODY", listed=False)
    with data.read() as s:
        assert [p.name for p in credited_people(s, ws, nov, dec)] == ["Bob Ng"]
    set_listed(data, ws, "UANA", listed=True)
    with data.read() as s:
        assert [p.name for p in credited_people(s, ws, nov, dec)] == ["Ana Lima", "Bob Ng"]


def _texts(blocks: object) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_monthly_team_digest_is_claimed_once_and_leads_with_the_teams_part(data: Database, ws: int) -> None:
    settings = build_settings(DATABASE_URL=data.url)
    made = at("2026-11-20 12:00")
    subs.subscribe(data, ws, "C0MONTH", ["monthly", "09:00", "UTC", "team", "cs"], by="UADMIN", now=made)
    subs.subscribe(data, ws, "C0WEEK", ["mon", "09:00", "UTC"], by="UADMIN", now=made)
    now = at("2026-12-01 09:30")  # Tuesday: the first weekday of December; Monday the 30th was the weekly one
    first = enqueue_digests(data, now, policies=settings.policies, templates=None, admins=[])
    again = enqueue_digests(data, now, policies=settings.policies, templates=None, admins=[])
    assert (first, again) == (2, 0)
    with data.read() as s:
        rows = {d.subject: d for d in s.scalars(select(m.Delivery).where(m.Delivery.kind == "digest"))}
        threads = {
            d.parent_id: d for d in s.scalars(select(m.Delivery).where(m.Delivery.kind == "digest_thread"))
        }
    assert set(rows) == {"C0MONTH:2026-11", "C0WEEK:2026-W49"}
    monthly = rows["C0MONTH:2026-11"].payload
    text = _texts(monthly["blocks"])
    assert "Retention scorecard — November 2026" in text
    assert "Changes against the month before" in text
    assert "*Your team's part — cs*" in text
    assert "*Save rate* 50.0%" in text  # R1 saved, R2 churned in November: 1 of 2
    assert "Open handoffs: none" in text or "Open handoffs:" in text
    weekly = _texts(rows["C0WEEK:2026-W49"].payload["blocks"])
    assert "Your team's part" not in weekly and "week 48" in weekly
    thread = _texts(threads[rows["C0MONTH:2026-11"].id].payload["blocks"])
    assert "*People recognised*" in thread
    assert "<@UANA> (cs): 2 shared wins, 1 save, 1 handoff done on time" in thread
    assert "<@UBOB> (sales): 1 shared win" in thread


@pytest.fixture
def bot(data: Database, fake: FakeSlack) -> Iterator[Bot]:
    b = Bot(data, fake)
    yield b
    b.close()


def test_slack_team_view_optout_and_team_subscription(bot: Bot, data: Database) -> None:
    view = bot.command("/scorecard", "team cs month")
    body = _texts(view.body["blocks"])
    assert "The cs team's part — October 2026" in body  # NOW is 2026-11-23
    assert "*Time to value (days)*" in body and "*Save rate*" in body and "*NRR (12 mo)*" not in body
    assert "Accounts its people own:" in body
    unknown = bot.command("/scorecard", "team <!channel>")
    assert "&lt;!channel&gt;" in unknown.body["text"] and "<!channel>" not in unknown.body["text"]
    out = bot.command("/win", "optout", user="UBOB")
    assert "won't list you" in out.body["text"]
    with data.read() as s:
        assert s.scalar(select(m.Person.unlisted).where(m.Person.slack_user_id == "UBOB")) is True
    stranger = bot.command("/win", "optout", user="UNOBODY")
    assert "isn't in the people list" in stranger.body["text"]
    sub = bot.command("/scorecard", "subscribe <#C0Q|council> quarterly 08:00 UTC team cs", user="UADMIN")
    assert "gets the quarterly scorecard, led by the cs team's part" in sub.body["text"]
    assert "Quarterly, the first weekday of the quarter at 08:00 UTC, team cs" in sub.body["text"]
    refused = bot.command("/scorecard", "subscribe <#C0Q|council> monthly", user="UANA")
    assert "Only admins" in refused.body["text"]


def test_a_changed_schedule_starts_at_its_next_occurrence(data: Database, ws: int) -> None:
    from digests.schedule import due

    subs.subscribe(data, ws, "C0CHANGE", ["mon", "09:00", "UTC"], by="UADMIN", now=at("2026-09-01 12:00"))
    with data.read() as s:
        assert [d.period for d in due(s, at("2026-11-20 12:00"))] == ["2026-W47"]
    # Made quarterly on Nov 20: the quarter that ended in September is not posted seven weeks late.
    subs.subscribe(
        data, ws, "C0CHANGE", ["quarterly", "09:00", "UTC"], by="UADMIN", now=at("2026-11-20 12:00")
    )
    with data.read() as s:
        assert due(s, at("2026-11-20 12:01")) == []
        assert [d.period for d in due(s, at("2027-01-01 09:00"))] == ["2026-Q4"]
    # The same schedule again (a segment changed) keeps its place: this week's digest is still due.
    subs.subscribe(data, ws, "C0SAME", ["mon", "09:00", "UTC"], by="UADMIN", now=at("2026-11-01 12:00"))
    subs.subscribe(
        data, ws, "C0SAME", ["mon", "09:00", "UTC", "smb"], by="UADMIN", now=at("2026-11-23 09:30")
    )
    with data.read() as s:
        assert "C0SAME:2026-W48" in [d.subject for d in due(s, at("2026-11-23 09:31"))]


def test_team_view_refuses_an_unknown_segment(data: Database, ws: int) -> None:
    from services.errors import UnknownSegment
    from services.teams import team_view

    settings = build_settings(DATABASE_URL=data.url)
    with pytest.raises(UnknownSegment):
        team_view(
            data,
            ws,
            "cs",
            as_of=dt.date(2026, 11, 23),
            period="month",
            policies=settings.policies,
            now=at("2026-11-23 09:00"),
            segment="nope",
        )
    view = team_view(
        data,
        ws,
        "cs",
        as_of=dt.date(2026, 11, 23),
        period="month",
        policies=settings.policies,
        now=at("2026-11-23 09:00"),
        segment="smb",
    )
    assert view.card.segment == "smb" and view.part.team == "cs"
