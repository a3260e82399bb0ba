"""The SLA sweep with controlled time, on SQLite and PostgreSQL: warning, breach and each escalation
exactly once across repeated sweeps, restarts and concurrent sweepers; acknowledgement stops the
escalation; a pause moves the due time; pings go to the right people, or the escalation channel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from blocks.text import message_problems
from digests.sla_pings import sweep_and_queue
from services import handoffs, sla
from services.policies import SlaConfig
from storage import models as m
from storage.db import Database
from tests.support.helpers import at_once, load

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PEOPLE = """
    email,name,team,slack_user_id,manager_email
    boss@x.io,Bea Boss,leadership,UBOSS,
    mgr@x.io,Max Manager,cs,UMGR,boss@x.io
    own@x.io,Olga Owner,cs,UOWN,mgr@x.io
    solo@x.io,Sol Solo,cs,USOLO,
"""
ACCOUNTS = """
    external_id,name,segment,csm_email
    A1,Acme <!channel>,smb,own@x.io
    A2,Solo Inc,smb,solo@x.io
"""
# One DM per breach to the manager too (``manager_rollup = false``) and no storm batching; the
# default roll-up mode is ROLLED_UP below (and tests/digests/test_rollups.py).
CONFIG = SlaConfig.model_validate(
    {
        "escalation_channel": "CESC",
        "manager_rollup": False,
        "batch_over": 0,  # one ping per event, however many (the storm batch: test_a_storm_is_one_message)
        "policies": [
            {
                "kind": "sales_to_cs",
                "hours": 8,
                "warn_at": 0.75,
                "escalation": [
                    {"to": "manager", "after_hours": 2},
                    {"to": "managers_manager", "after_hours": 4},
                    {"to": "channel", "after_hours": 6},
                ],
            }
        ],
    }
)

ROLLED_UP = CONFIG.model_copy(update={"manager_rollup": True})


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    return db


ADMINS = ("UADMIN",)  # ADMIN_USER_IDS


def open_one(db: Database, ws: int, account: str = "A1", ext: str = "H1", at: dt.datetime = T0) -> int:
    with db.write() as s:
        acct = s.scalars(select(m.Account).where(m.Account.external_id == account)).one()
        owner = s.get(m.Person, acct.csm_id)
        h = sla.open_handoff(
            s,
            ws,
            account=acct,
            policy=CONFIG.policies[0],
            config=CONFIG,
            owner=owner,
            external_id=ext,
            now=at,
        )
        assert h is not None
        return h.id


def pings(db: Database) -> list[tuple[str, str]]:
    """(subject without the handoff id, recipient) of every SLA ping queued, in order."""
    with db.read() as s:
        rows = s.execute(
            select(m.Delivery.subject, m.Delivery.channel_id)
            .where(m.Delivery.kind == "sla")
            .order_by(m.Delivery.id)
        ).all()
    return [(subject.split(":", 1)[1], to) for subject, to in rows]


def test_warning_breach_and_each_escalation_once(data: Database, ws: int) -> None:
    open_one(data, ws)
    timeline = [
        (1, []),
        (6, [("warning:0:UOWN", "UOWN")]),  # 75 % of 8 h
        (6.5, []),
        (8, [("breach:0:UOWN", "UOWN"), ("breach:0:UMGR", "UMGR")]),
        (9, []),
        (10, [("escalation:1:UMGR", "UMGR")]),
        (12, [("escalation:2:UBOSS", "UBOSS")]),
        (14, [("escalation:3:CESC", "CESC")]),
        (30, []),  # nothing left to do
    ]
    seen: list[tuple[str, str]] = []
    for hours, expected in timeline:
        now = T0 + dt.timedelta(hours=hours)
        before = len(pings(data))
        sweep_and_queue(data, now, CONFIG, ADMINS)
        sweep_and_queue(data, now, CONFIG, ADMINS)  # a repeated sweep (or a restart) adds nothing
        new = pings(data)[before:]
        assert new == expected, hours
        seen += new
    with data.read() as s:
        kinds = sorted(s.scalars(select(m.SlaEvent.kind)))
        handoff = s.scalars(select(m.Handoff)).one()
    assert kinds == ["breach", "escalation", "escalation", "escalation", "warning"]
    assert handoff.next_check_at is None and handoff.sla_stage == 5


def test_a_sweep_that_was_down_records_the_breach_without_a_stale_warning(data: Database, ws: int) -> None:
    open_one(data, ws)
    sweep_and_queue(data, T0 + dt.timedelta(hours=10, minutes=30), CONFIG, ADMINS)
    assert pings(data) == [
        ("breach:0:UOWN", "UOWN"),
        ("breach:0:UMGR", "UMGR"),
        ("escalation:1:UMGR", "UMGR"),
    ]


def test_acknowledgement_stops_the_escalation(data: Database, ws: int) -> None:
    hid = open_one(data, ws)
    sweep_and_queue(data, T0 + dt.timedelta(hours=8), CONFIG, ADMINS)
    with data.write() as s:
        handoff = s.get(m.Handoff, hid)
        assert sla.acknowledge(s, handoff, None, T0 + dt.timedelta(hours=9), "UMGR")
        assert not sla.acknowledge(s, handoff, None, T0 + dt.timedelta(hours=9, minutes=1), "UMGR")
    sweep_and_queue(data, T0 + dt.timedelta(hours=20), CONFIG, ADMINS)
    assert [p for p in pings(data) if p[0].startswith("escalation")] == []


def test_a_pause_moves_the_due_time(data: Database, ws: int) -> None:
    hid = open_one(data, ws)
    with data.write() as s:
        h = s.get(m.Handoff, hid)
        sla.pause(s, CONFIG, h, "waiting for the SOW", None, T0 + dt.timedelta(hours=1))
    sweep_and_queue(data, T0 + dt.timedelta(hours=20), CONFIG, ADMINS)  # paused: the clock is stopped
    assert pings(data) == []
    with data.write() as s:
        h = s.get(m.Handoff, hid)
        sla.resume(s, CONFIG, h, None, T0 + dt.timedelta(hours=21))
        assert h.effective_due_at == T0 + dt.timedelta(hours=28)  # 1 h before, 7 h after
        assert h.warn_at == T0 + dt.timedelta(hours=26)
    sweep_and_queue(data, T0 + dt.timedelta(hours=25), CONFIG, ADMINS)
    assert pings(data) == []
    sweep_and_queue(data, T0 + dt.timedelta(hours=27), CONFIG, ADMINS)
    assert pings(data) == [("warning:0:UOWN", "UOWN")]
    with data.write() as s:
        h = s.get(m.Handoff, hid)
        with pytest.raises(sla.SlaError, match="not paused"):
            sla.resume(s, CONFIG, h, None, T0 + dt.timedelta(hours=27))


def test_snooze_is_limited_by_the_policy(data: Database, ws: int) -> None:
    hid = open_one(data, ws)
    with data.write() as s:
        h = s.get(m.Handoff, hid)
        sla.snooze(s, CONFIG, h, 20, "customer on holiday", None, T0 + dt.timedelta(hours=1))
        assert h.effective_due_at == T0 + dt.timedelta(hours=28)
        with pytest.raises(sla.SlaError, match="4 h are left"):
            sla.snooze(s, CONFIG, h, 8, "more", None, T0 + dt.timedelta(hours=2))


def test_no_manager_goes_to_the_escalation_channel(data: Database, ws: int) -> None:
    open_one(data, ws, account="A2", ext="H2")
    sweep_and_queue(data, T0 + dt.timedelta(hours=10), CONFIG, ADMINS)
    assert pings(data) == [
        ("breach:0:USOLO", "USOLO"),
        ("breach:0:CESC", "CESC"),  # the owner has no manager: never silence
        ("escalation:1:CESC", "CESC"),
    ]


def test_the_ping_says_what_whom_and_how_late_and_escapes_names(data: Database, ws: int) -> None:
    open_one(data, ws)
    sweep_and_queue(data, T0 + dt.timedelta(hours=9, minutes=30), CONFIG, ADMINS)
    with data.read() as s:
        payload = s.scalars(
            select(m.Delivery.payload).where(m.Delivery.subject.like("%:breach:0:UMGR"))
        ).one()
    assert payload["text"] == ":rotating_light: SLA breached: Acme &lt;!channel&gt;"  # the notification
    text = payload["blocks"][0]["text"]["text"]
    assert "*SLA breached*" in text and "Acme &lt;!channel&gt;" in text and "<!channel>" not in text
    assert "owner <@UOWN>" in text and "1 h 30 min late" in text and "as the owner's manager" in text
    actions = payload["blocks"][-1]["elements"]
    assert [a["action_id"] for a in actions] == ["sla_ack", "sla_done", "sla_snooze"]
    assert payload["_fallback"] == "CESC"


def test_two_sweepers_at_once_record_and_ping_each_breach_once(data: Database, ws: int) -> None:
    with data.write() as s:
        acct = s.scalars(select(m.Account).where(m.Account.external_id == "A1")).one()
        owner = s.get(m.Person, acct.csm_id)
        for i in range(150):
            sla.open_handoff(
                s,
                ws,
                account=acct,
                policy=CONFIG.policies[0],
                config=CONFIG,
                owner=owner,
                external_id=f"H{i}",
                now=T0,
            )
    now = T0 + dt.timedelta(hours=8, minutes=1)
    dbs = [Database(data.url), Database(data.url)]
    reports = at_once(lambda d: sweep_and_queue(d, now, CONFIG, ADMINS), dbs)
    for d in dbs:
        d.dispose()
    assert sum(r.count("breach") for r in reports) == 150
    with data.read() as s:
        events = s.scalar(select(func.count()).select_from(m.SlaEvent).where(m.SlaEvent.kind == "breach"))
        queued = s.scalar(select(func.count()).select_from(m.Delivery).where(m.Delivery.kind == "sla"))
    assert events == 150 and queued == 300  # owner and manager, once each


def test_imported_handoffs_are_swept_too(data: Database, ws: int, tmp_path: Path) -> None:
    load(
        data,
        ws,
        "handoffs",
        """
        external_id,account,kind,from_team,to_team,owner_email,opened_at,due_at
        I1,A1,escalation,cs,support,own@x.io,2026-11-23T09:00:00Z,2026-11-23T13:00:00Z
        """,
        tmp_path,
    )
    sweep_and_queue(data, T0 + dt.timedelta(hours=3), CONFIG, ADMINS)  # 75 % of 4 h
    sweep_and_queue(data, T0 + dt.timedelta(hours=4), CONFIG, ADMINS)
    assert [p[0] for p in pings(data)] == ["warning:0:UOWN", "breach:0:UOWN", "breach:0:UMGR"]


def test_a_crm_closed_won_opens_the_sales_to_cs_handoff_once(data: Database, ws: int, tmp_path: Path) -> None:
    load(
        data,
        ws,
        "accounts",
        """
        external_id,name,segment,csm_email,closed_won_on
        A3,New Logo,smb,own@x.io,2026-11-20
        A4,Old Logo,smb,own@x.io,2026-01-10
        """,
        tmp_path,
    )
    assert handoffs.open_for_closed_won(data, ws, CONFIG, T0) == 1
    assert handoffs.open_for_closed_won(data, ws, CONFIG, T0 + dt.timedelta(hours=1)) == 0
    with data.read() as s:
        handoff = s.scalars(select(m.Handoff)).one()
        owner = s.get(m.Person, handoff.owner_id)
    assert (handoff.external_id, handoff.kind, owner.email) == ("closed-won:A3", "sales_to_cs", "own@x.io")
    assert handoff.effective_due_at == T0 + dt.timedelta(hours=8)


def test_under_the_rollup_a_breach_pings_the_owner_and_escalations_stay_immediate(
    data: Database, ws: int
) -> None:
    """The manager's copy of a breach goes to their daily roll-up; each escalation step (nobody
    acknowledged: someone must act) is still sent at once, and a missing manager is still the channel."""
    open_one(data, ws)
    open_one(data, ws, account="A2", ext="H2")
    sweep_and_queue(data, T0 + dt.timedelta(hours=8), ROLLED_UP, ADMINS)
    # Sol has no manager, so no roll-up will carry Sol's breach: the escalation channel hears of it now.
    assert pings(data) == [
        ("breach:0:UOWN", "UOWN"),
        ("breach:0:USOLO", "USOLO"),
        ("breach:0:CESC", "CESC"),
    ]
    sweep_and_queue(data, T0 + dt.timedelta(hours=10), ROLLED_UP, ADMINS)
    assert pings(data)[3:] == [("escalation:1:UMGR", "UMGR"), ("escalation:1:CESC", "CESC")]


def test_a_storm_is_one_message_per_recipient(data: Database, ws: int) -> None:
    """More than ``batch_over`` pings for one person in one sweep come as one message listing them;
    at the threshold each still comes alone; a repeated sweep adds nothing."""
    storm = ROLLED_UP.model_copy(update={"batch_over": 10})
    for i in range(12):
        open_one(data, ws, ext=f"S{i}")
    for i in range(10):
        open_one(data, ws, account="A2", ext=f"T{i}")
    at = T0 + dt.timedelta(hours=8)
    sweep_and_queue(data, at, storm, ADMINS)
    sweep_and_queue(data, at, storm, ADMINS)
    with data.read() as s:
        rows = s.execute(
            select(m.Delivery.subject, m.Delivery.channel_id, m.Delivery.payload)
            .where(m.Delivery.kind == "sla")
            .order_by(m.Delivery.id)
        ).all()
    to_owner = [r for r in rows if r.channel_id == "UOWN"]
    assert (
        len(to_owner) == 1
        and to_owner[0].subject.startswith("batch:")
        and to_owner[0].subject.endswith(":UOWN")
    )
    payload = to_owner[0].payload
    assert payload["text"] == "12 SLA alerts at once: 12 breaches" and payload["_fallback"] == "CESC"
    assert message_problems(payload["blocks"], payload["text"]) == []
    body = str(payload["blocks"])
    assert all(f"`S{i}`" in body for i in range(12)) and "<!channel>" not in body
    assert len([r for r in rows if r.channel_id == "USOLO"]) == 10  # ten: not a storm


def test_a_breach_whose_manager_gets_no_roll_up_goes_to_the_escalation_channel() -> None:
    import datetime as _dt

    from services.sla import Event, recipients
    from storage.handoffs import PingFacts

    def facts(manager: str | None) -> PingFacts:
        due = _dt.datetime(2026, 11, 23, 9, tzinfo=_dt.UTC)
        return PingFacts(1, 1, "H1", "Acme", "sales_to_cs", "sales", "cs", due, "Ana", "UANA", manager, None)

    breach = Event(1, 1, "breach", 0, "owner", None)
    # The manager reads it in the day's roll-up: only the owner is pinged now.
    assert recipients(breach, facts("UBOSS"), "CESC", manager_rollup=True) == [("owner", "UANA")]
    # A manager without a Slack id gets no roll-up: the escalation channel is told now, never silence.
    assert recipients(breach, facts(None), "CESC", manager_rollup=True) == [
        ("owner", "UANA"),
        ("channel", "CESC"),
    ]
    assert recipients(breach, facts(None), "CESC", manager_rollup=False) == [
        ("owner", "UANA"),
        ("channel", "CESC"),
    ]
    assert recipients(breach, facts("UBOSS"), "CESC") == [("owner", "UANA"), ("manager", "UBOSS")]
