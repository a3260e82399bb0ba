"""Hostile names and texts never reach Slack raw: every message, view and modal the bot builds — slash
command replies, the shared card, the digest and its thread, shout-outs, SLA pings and their redraws,
admin notices, the App Home tab, the dialogs — is collected (through the real server and the fake
Slack, and from the builders called on the same data) and walked field by field. No ``<!…>``,
``<@…>``, ``<#…>`` or ``<http…|…>`` may appear but the ones the bot builds itself from Slack ids it
knows (``<@UANA>``, ``<#CESC>``, ``<!date^…>``); the hostile text must show, escaped exactly once."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from blocks import kit
from blocks.text import json_value
from bot.scheduler import Worker
from commands import replies
from commands.dialogs import checklist_modal, snooze_modal
from commands.handoffs import opened_reply
from commands.home import home_of, home_view
from commands.sla_actions import ping_with_status
from digests.digest import context, render
from digests.notices import delivery_problem, unreachable
from digests.shoutout import shoutout_args
from digests.sla_pings import ping_args
from services.accounts import account_card
from services.digest import weekly
from services.errors import NoSingleAccount
from services.handoffs import Opened
from services.policies import Policies
from services.sla import Event
from services.subscriptions import parse_schedule
from storage import models as m
from storage import subscriptions as subs
from storage import wins
from storage.db import Database
from storage.handoffs import ping_facts
from storage.lookup import Match
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support.helpers import load
from tests.support.slack_harness import Bot

# Every hostile string carries a marker (EVIL-…) so it can be told from what the bot builds itself.
ACME = "<!channel> Acme EVIL-A1 & <@UEVILA1>"
ACME2 = "<!here> Acme EVIL-A2 <http://evil.example/a|click>"
ACME2_ID = "<#CEVILX2>"
ACME3 = "<!channel> Acme EVIL-A3 <https://evil.example/3|Jira>"
BOSS = "<!everyone> Bea EVIL-P1"
ANA = "<@UEVILP2> Ana & co"
EVE = "<#CEVILP3> Eve <http://evil.example/p|click>"
WIN = "<!channel> saved it EVIL-W1 <http://evil.example/w|click> & <@UEVILW1>"
TYPED = "<!channel> renewed EVIL-W2 <http://evil.example/t|click> & <!here>"  # what /win is given
H2 = "<@UEVILH2>"
CRM = "https://crm.example/a?id=1&x=<!channel>|EVIL-U1"
REASON = "<!subteam^SEVIL|@cs> EVIL-R1 waiting"

PEOPLE = f"""
    email,name,team,slack_user_id,manager_email
    boss@x.io,{BOSS},leadership,UBOSS,
    ana@x.io,{ANA},cs,UANA,boss@x.io
    eve@x.io,{EVE},cs,,boss@x.io
"""
ACCOUNTS = f"""
    external_id,name,domain,segment,csm_email,support_lead_email,exec_sponsor_email,renewal_on,crm_url
    A1,{ACME},acme.com,smb,ana@x.io,eve@x.io,boss@x.io,2027-01-15,{CRM}
    {ACME2_ID},{ACME2},acmelog.io,smb,eve@x.io,ana@x.io,,,
    A3,{ACME3},acme3.com,smb,,,,,
"""
HANDOFFS = f"""
    external_id,account,kind,from_team,to_team,owner_email,opened_at,due_at,completed_at
    H1,A1,escalation,cs,support,eve@x.io,2026-11-18T09:00:00Z,2026-11-20T09:00:00Z,
    {H2},A1,renewal,cs,sales,ana@x.io,2026-11-22T09:00:00Z,2026-11-24T09:00:00Z,
"""
POLICY = """
[sla]
escalation_channel = "CESC"

[[sla.policies]]
kind = "sales_to_cs"
hours = 8
max_snooze_hours = 24
escalation = [{ to = "manager", after_hours = 2 }, { to = "channel", after_hours = 4 }]
"""
# The ids the bot may mention: people and channels it knows from Slack, not from the data's text.
KNOWN_USERS = {"UANA", "UBOSS", "UADMIN"}
KNOWN_CHANNELS = {"CESC", "CWINS", "CDIGEST", "CNOTIN", "C0CHAN"}
CONTROL = re.compile(r"<[^<>]*>")
DOUBLE = re.compile(r"&amp;(?:amp|lt|gt);")


def legitimate(token: str) -> bool:
    """A control sequence the bot built itself: a known user or channel, or a localised date."""
    inner = token[1:-1]
    if inner.startswith("@"):
        return inner[1:] in KNOWN_USERS
    if inner.startswith("#"):
        return inner[1:] in KNOWN_CHANNELS
    return bool(re.fullmatch(r"!date\^\d+\^\{date_short_pretty\} at \{time\}\|[0-9: -]+ UTC", inner))


def strings(value: Any) -> Iterator[str]:
    """Every string in a payload, at any depth (dict keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def problems(payload: Any) -> list[str]:
    found = []
    for s in strings(payload):
        found += [t for t in CONTROL.findall(s) if not legitimate(t)]
        found += DOUBLE.findall(s)
    return found


@pytest.fixture
def bot(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    load(db, ws, "handoffs", HANDOFFS, tmp_path)
    usage = ["account,day,active_users,licensed_seats"] + [f"A1,2026-11-{d:02d},20,40" for d in range(1, 23)]
    load(db, ws, "usage", "\n".join(usage) + "\n", tmp_path)
    imported = {
        "external_id": "w1",
        "account": "A1",
        "kind": "save",
        "text": WIN,
        "won_on": "2026-11-18",
        "credited_people": ["eve@x.io", "ana@x.io"],
        "credited_teams": ["support"],
    }
    load(db, ws, "wins", json.dumps(imported), tmp_path, ".jsonl")
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    b = Bot(db, fake, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def view_of(call: dict[str, Any]) -> dict[str, Any]:
    view = call["view"]
    return json.loads(view) if isinstance(view, str) else view


def open_with_checklist(bot: Bot, account: str) -> None:
    """/handoff open … sales_to_cs: the checklist dialog, then its submission opens the handoff."""
    bot.command("/handoff", f"open {account} sales_to_cs")
    view = view_of(bot.fake.calls("views.open")[-1])
    values = {
        "success_plan": {"value": {"value": WIN}},
        "contacts": {"value": {"value": EVE}},
        "targets": {"value": {"value": ""}},
        "first_value": {"value": {"selected_date": "2026-12-15"}},
    }
    assert bot.submit(view, values).status == 200


def test_no_data_reaches_slack_raw_from_any_builder(bot: Bot, db: Database, ws: int) -> None:
    fake = bot.fake
    with db.read() as s:
        a1, a2 = (s.scalar(select(m.Account.id).where(m.Account.external_id == x)) for x in ("A1", ACME2_ID))
    with db.write() as s:  # subscribed the week before: the digest is due at NOW
        week_before = NOW - dt.timedelta(days=7)
        for channel in ("CDIGEST", "CNOTIN"):
            schedule = parse_schedule(["mon", "09:00", "UTC"], [])
            subs.subscribe(s, ws, channel, schedule, by=None, now=week_before)
    fake.not_in.add("CNOTIN")  # its digest fails: the admins get a notice

    payloads: dict[str, Any] = {}  # what the bot answered in HTTP responses and built directly

    # Slash commands, answered in the HTTP response, and the buttons on those answers.
    payloads["/health card"] = card = bot.command("/health", "acme.com").body
    bot.press("share_health", json_value({"account_id": a1}))
    payloads["/health choices"] = choices = bot.command("/health", "<!channel> acme").body
    bot.press("pick_account_1", json_value({"account_id": a2}), key="pick")
    payloads["/health not found"] = bot.command("/health", "<!channel> nothing <@UEVILQ1>").body
    payloads["/health mine"] = bot.command("/health", "", user="UANA").body
    payloads["/scorecard"] = bot.command("/scorecard", "month").body
    payloads["/scorecard segment"] = bot.command("/scorecard", "<!channel>").body
    bot.command("/win", "channel <#CWINS|wins>", user="UADMIN")
    payloads["/win"] = bot.command("/win", f"A1 {TYPED} #cs").body
    payloads["/win which account"] = bot.command("/win", '"<!channel> acme" saved it #cs').body
    payloads["/wins"] = bot.command("/wins", "").body
    payloads["/wins last week"] = bot.command("/wins", "last week").body
    payloads["/sla"] = bot.command("/sla", "", user="UANA").body
    payloads["/sla team"] = bot.command("/sla", "team", user="UBOSS").body
    payloads["/handoff list"] = bot.command("/handoff", "list acme.com").body
    payloads["/handoff no such"] = bot.command("/handoff", "done <!channel>").body
    payloads["/handoff pause"] = bot.command("/handoff", f"pause {H2} {REASON}", user="UADMIN").body
    payloads["/handoff resume"] = bot.command("/handoff", f"resume {H2}", user="UADMIN").body
    open_with_checklist(bot, "A1")  # owner: Ana, who has a Slack id
    open_with_checklist(bot, "acmelog.io")  # owner: Eve, who has none (named, not mentioned)
    payloads["/renewals"] = bot.command("/renewals", "90").body
    key = bot.settings.policies.plays[0].key  # a shipped play
    payloads["/plays open"] = bot.command("/plays", f"open A1 {key}", user="UANA").body
    assert "its owner has it in Slack" in payloads["/plays open"]["text"]  # the play's message is checked too
    payloads["/plays account"] = bot.command("/plays", "acme.com").body
    payloads["/plays team"] = bot.command("/plays", "team", user="UBOSS").body
    bot.event({"type": "app_home_opened", "user": "UANA", "tab": "home"}, "EvHome")

    # The worker at the digest's time, then the SLA sweep through warning, breach and escalations.
    worker = Worker(bot.settings, db, clock=lambda: NOW, channel_interval=0.01)
    worker.tick()
    worker.deliver()  # the admins' notices queued by the failed digest
    for hours in (6.5, 8.1, 10.2, 12.3):
        if hours == 8.1:  # Ana left when her breach comes: the escalation channel hears it instead
            fake.gone.add("UANA")
        later = Worker(
            bot.settings, db, clock=lambda h=hours: NOW + dt.timedelta(hours=h), channel_interval=0.01
        )
        later.sla()
        later.deliver()
        later.deliver()  # a fallback to the escalation channel goes out on the next drain
        fake.gone.discard("UANA")

    # The buttons on a ping: acknowledge (the ping is redrawn), snooze with a reason (the dialog, then
    # the redraw).
    with db.read() as s:
        opened = s.scalars(select(m.Handoff).where(m.Handoff.policy_key.is_not(None))).all()
    for handoff in opened:
        value = json.dumps({"h": handoff.id})
        bot.press("sla_ack", value, user="UBOSS", key=f"ack{handoff.id}")
        bot.press("sla_snooze", value, user="UADMIN", key=f"snooze{handoff.id}")
        snooze = view_of(fake.calls("views.open")[-1])
        bot.submit(
            snooze,
            {
                "hours": {"value": {"selected_option": {"value": "1"}}},
                "reason": {"value": {"value": REASON}},
            },
            user="UADMIN",
        )

    # The builders called directly on the same data, for what the run above cannot reach.
    services = bot.services
    with db.read() as s:
        payloads["App Home view"] = home_view(home_of(services, ws, "UANA", NOW), NOW)
        payloads["health card"] = replies.health_card(
            account_card(s, ws, a1, now=NOW, policy=services.policies.health), NOW, "USD"
        )
        payloads["shared health card"] = replies.health_card(
            account_card(s, ws, a2, now=NOW, policy=services.policies.health),
            NOW,
            "USD",
            shared_by="UANA",
        )
        digest = render(context(weekly(db, ws, as_of=NOW.date(), now=NOW, policies=Policies())))
        payloads["digest"] = digest.post_args("CDIGEST")
        payloads["digest thread"] = digest.thread_args("CDIGEST", "1.2")
        win_ids = list(s.scalars(select(m.Win.id)))
        for win in wins.shoutouts(s, ws, win_ids):
            payloads[f"shout-out {win.id}"] = shoutout_args(win, "USD")
        facts = ping_facts(s, [h.id for h in opened] + list(s.scalars(select(m.Handoff.id))))
        for hid, fact in facts.items():
            for kind, step in (("warning", 0), ("breach", 0), ("escalation", 2)):
                event = Event(ws, hid, kind, step, "channel", "CESC")
                args = ping_args(event, fact, ["owner", "manager"], NOW)
                payloads[f"ping {kind} {hid}"] = args
                payloads[f"unreachable {kind} {hid}"] = unreachable(args[0], "UANA", "user_disabled")
            payloads[f"redrawn ping {hid}"] = ping_with_status(fact, "*SLA*", [], False, NOW)
            payloads[f"snooze dialog {hid}"] = snooze_modal(hid, fact.account, "CESC", "1.2", 24)
        payloads["checklist dialog"] = checklist_modal(ACME, "sales_to_cs", {"a": a1, "k": "sales_to_cs"})
        payloads["notice"] = delivery_problem(
            "digest", "CNOTIN", "the bot is not in that channel", resumable=True
        )
        hostile = [Match(a1, ACME2_ID, ACME, "acme.com"), Match(a2, H2, ACME3, None)]
        payloads["which account: several"] = replies.which_account(NoSingleAccount(TYPED, hostile, []))
        payloads["which account: did you mean"] = replies.which_account(NoSingleAccount(ACME, [], hostile))
        # A handoff's id, its teams and its owner's name from data (the CRM id of a closed-won deal).
        for ext, name, slack in ((ACME2_ID, ACME, None), (H2, ACME3, "UANA")):
            new = Opened(ext, True, name, "sales_to_cs", BOSS, EVE, ANA, slack, NOW, 8)
            payloads[f"opened reply {ext}"] = opened_reply(new)
        payloads["opened before"] = opened_reply(Opened(ACME2_ID, False))
    # The kit's plain_text fields take raw text and escape it (no builder passes data there yet).
    field = kit.input_block("b", EVE, kit.text_input(ANA))
    payloads["kit"] = [
        kit.link_button(BOSS, "open_crm", CRM),
        kit.button(WIN, "b", {"x": ACME}),
        kit.header(TYPED),
        kit.modal("cb", ACME, BOSS, {"x": REASON}, "intro", [field], close=H2),
    ]

    sent = {f"{i} {c['method']}": c["args"] for i, c in enumerate(fake.transcript)}
    methods = {c["method"] for c in fake.transcript}
    assert {"chat.postMessage", "chat.update", "views.open", "views.publish", "response_url"} <= methods
    channels = {c["args"].get("channel") for c in fake.transcript if c["method"] == "chat.postMessage"}
    assert {"CWINS", "CDIGEST", "CESC", "UADMIN", "UBOSS", "UANA"} <= channels, channels
    everything = {**payloads, **sent}

    # The hostile text is there, escaped once: the test saw the data it means to test.
    shown = json.dumps(everything, ensure_ascii=False)
    for raw in (ACME, ACME2, ACME2_ID, ACME3, BOSS, EVE, WIN, TYPED, H2, REASON, ANA):
        escaped = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in shown, f"{raw!r} is never shown"

    # …and nothing from the data is raw anywhere, in any field of any payload.
    leaks = {where: found for where, payload in everything.items() if (found := problems(payload))}
    assert leaks == {}

    # The fallback text of the card and of its shared post, and the labels of the account choices.
    assert card["text"].startswith("&lt;!channel&gt; Acme EVIL-A1 &amp; &lt;@UEVILA1&gt;: health")
    (crm,) = [e["url"] for e in card["blocks"][-1]["elements"] if e["action_id"] == "open_crm"]
    assert crm == "https://crm.example/a?id=1&x=%3C!channel%3E%7CEVIL-U1"
    labels = [b["text"]["text"] for b in choices["blocks"][1]["elements"]]
    assert labels[0].startswith("&lt;!channel&gt; Acme EVIL-A") and len(labels) == 2
    (shared,) = [c for c in fake.calls("response_url") if c.get("response_type") == "in_channel"]
    assert shared["text"].startswith("&lt;!channel&gt; Acme EVIL-A1")
