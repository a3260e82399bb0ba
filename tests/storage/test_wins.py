"""Wins found in the data: each rule on a small hand-made dataset, with its near misses, credited to
the account's owners and their teams, recorded once however often detection runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import models as m
from storage.db import Database
from storage.wins import detect
from tests.support.helpers import load

PEOPLE = """
    email,name,team,slack_user_id,manager_email
    ae@x.io,Ann AE,sales,UAE,
    csm@x.io,Cid CSM,cs,UCSM,
    sup@x.io,Sue Support,support,,
"""
# R renews in the window (paying); N renews in the window but churned; L renews after it.
# E expands by $1,000 MRR in October (ARR +12,000); S expands by $500 (ARR +6,000, below the threshold).
ACCOUNTS = """
    external_id,name,segment,renewal_on,ae_email,csm_email,support_lead_email
    R,Renewer,smb,2026-11-20,ae@x.io,csm@x.io,
    N,Churner,smb,2026-11-19,ae@x.io,,
    L,Later,smb,2026-12-20,ae@x.io,,
    E,Expander,smb,,ae@x.io,csm@x.io,sup@x.io
    S,Small,smb,,ae@x.io,,
    F,Fast,smb,,,csm@x.io,
    G,Slow,smb,,,csm@x.io,
"""
REVENUE = """
    account,month,mrr
    R,2026-10,2000
    R,2026-11,2000
    L,2026-11,900
    E,2026-09,3000
    E,2026-10,4000
    S,2026-09,3000
    S,2026-10,3500
"""
MILESTONES = """
    account,kind,target_on,achieved_on
    F,first_value,2026-11-25,2026-11-18
    G,first_value,2026-11-10,2026-11-18
"""
RISKS = """
    external_id,account,flagged_on,reason,owner_email,outcome,resolved_on
    RK1,E,2026-10-01,Champion left,sup@x.io,saved,2026-11-17
    RK2,S,2026-10-01,Budget cut,sup@x.io,churned,2026-11-17
    RK3,R,2026-09-01,Old save,sup@x.io,saved,2026-09-20
"""


def test_each_rule_once_with_shared_credit(db: Database, ws: int, tmp_path: Path) -> None:
    for kind, body in (
        ("people", PEOPLE),
        ("accounts", ACCOUNTS),
        ("revenue", REVENUE),
        ("milestones", MILESTONES),
        ("risk_flags", RISKS),
    ):
        load(db, ws, kind, body, tmp_path)
    # The window: the week Oct 31 – Nov 20 covers October's month end and mid-November.
    start, end = dt.date(2026, 10, 31), dt.date(2026, 11, 20)
    with db.write() as s:
        assert detect(s, ws, start, end, expansion_threshold=Decimal("10000")) == 4
    with db.read() as s:
        wins = {
            w.external_id: w
            for w in s.scalars(select(m.Win).where(m.Win.workspace_id == ws, m.Win.source == "detected"))
        }
        credit = {
            (w.external_id, p)
            for w, p in s.execute(
                select(m.Win, m.Person.email)
                .join(m.WinCreditPerson, m.WinCreditPerson.win_id == m.Win.id)
                .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
            )
        }
        teams = {
            (w.external_id, t)
            for w, t in s.execute(
                select(m.Win, m.WinCreditTeam.team).join(m.WinCreditTeam, m.WinCreditTeam.win_id == m.Win.id)
            )
        }
    assert set(wins) == {
        "detected:renewal:R:2026-11-20",
        "detected:expansion:E:2026-10",
        "detected:save:RK1",
        "detected:first_value:F",
    }
    renewal, expansion = wins["detected:renewal:R:2026-11-20"], wins["detected:expansion:E:2026-10"]
    assert (renewal.kind, renewal.amount, renewal.won_on) == (
        "renewal",
        Decimal("24000.00"),
        dt.date(2026, 11, 20),
    )
    assert (expansion.kind, expansion.amount, expansion.won_on) == (
        "expansion",
        Decimal("12000.00"),
        dt.date(2026, 10, 31),
    )
    assert wins["detected:first_value:F"].text == "Reached first value 7 days ahead of target"
    assert wins["detected:save:RK1"].text == "Saved — Champion left"
    # Every owner of the account, and for a save the flag's owner too, with their teams.
    assert {p for k, p in credit if k == "detected:expansion:E:2026-10"} == {
        "ae@x.io",
        "csm@x.io",
        "sup@x.io",
    }
    assert {p for k, p in credit if k == "detected:save:RK1"} == {"ae@x.io", "csm@x.io", "sup@x.io"}
    assert {t for k, t in teams if k == "detected:renewal:R:2026-11-20"} == {"sales", "cs"}
    # Again, and over an overlapping window: nothing new.
    with db.write() as s:
        assert detect(s, ws, start, end, expansion_threshold=Decimal("10000")) == 0
        assert detect(s, ws, end - dt.timedelta(days=3), end, expansion_threshold=Decimal("10000")) == 0
    # A lower threshold finds the smaller expansion too, once.
    with db.write() as s:
        assert detect(s, ws, start, end, expansion_threshold=Decimal("5000")) == 1


def test_a_win_and_its_shout_out_are_both_or_neither(db: Database, ws: int, tmp_path: Path) -> None:
    """/win records the win and queues its shout-out in one transaction: when queueing the shout-out
    fails, the win is not recorded either (and recording it again later works)."""
    from services import wins as win_service
    from services.errors import NothingToCredit, UnknownPeople

    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    win_service.set_wins_channel(db, ws, "CWINS")
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    req = win_service.WinInput("R", "saved the renewal", people=["UCSM"], teams=["support"])
    calls: list[list[int]] = []

    def broken(session: object, ws_: int, win_ids: list[int], at: dt.datetime) -> int:
        calls.append(win_ids)
        raise RuntimeError("the shout-out could not be queued")

    def record(announce: win_service.Announce) -> win_service.WinRecorded:
        return win_service.record(
            db, ws, req, recorder_slack="UAE", external_id="slack:T1", now=now,
            shoutouts_per_day=10, announce=announce,
        )  # fmt: skip

    with pytest.raises(RuntimeError):
        record(broken)
    assert len(calls) == 1 and len(calls[0]) == 1  # it was asked for the new win's shout-out
    with db.read() as s:
        assert s.scalar(select(m.Win.id).where(m.Win.workspace_id == ws)) is None
        assert s.scalar(select(m.WinCreditPerson.win_id)) is None

    queued: list[list[int]] = []

    def announce(session: object, ws_: int, win_ids: list[int], at: dt.datetime) -> int:
        queued.append(win_ids)
        return len(win_ids)

    done = record(announce)
    assert (done.new, done.account_name, sorted(done.people), done.teams) == (
        True,
        "Renewer",
        ["UAE", "UCSM"],
        ["support", "cs", "sales"],
    )
    assert record(lambda *_: 0).new is False  # the same request again: recorded once, no shout-out asked
    assert len(queued) == 1
    with db.read() as s:
        assert len(s.scalars(select(m.Win.id).where(m.Win.workspace_id == ws)).all()) == 1

    for bad, refusal in (
        (win_service.WinInput("R", "x", people=["UNOBODY"]), UnknownPeople),
        (win_service.WinInput("R", "x", not_me=True), NothingToCredit),
    ):
        with pytest.raises(refusal):
            win_service.record(
                db, ws, bad, recorder_slack="UAE", external_id="slack:T2", now=now,
                shoutouts_per_day=10, announce=broken,
            )  # fmt: skip
