"""The weekly digest's plays line: plays opened and closed in the week (by outcome) and its saves by
name; a segment's digest counts its own accounts; a week without plays shows no plays section."""

from __future__ import annotations

import datetime as dt
import json

from digests.digest import context, render
from services import plays
from services.digest import weekly
from services.policies import Policies
from storage.db import Database
from tests.support import NOW
from tests.support import plays_data as d

AS_OF = dt.date(2026, 11, 23)  # the digest's week: Nov 16 – 22
POLICIES = Policies.model_validate({"plays": [{"key": "call", "title": "Save call", "owner": "csm"}]})


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def test_the_weeks_plays_opened_closed_and_saved(db: Database, ws: int) -> None:
    with db.write() as s:
        ana = d.person(s, ws, "Ana", "cs", "UANA")
        d.account(s, ws, "A", name="Acme <!channel>", csm_id=ana)
        d.account(s, ws, "B", name="Beta", csm_id=ana)
        d.account(s, ws, "C", name="Gamma", segment="enterprise", csm_id=ana)
    kw = {"user_id": "UANA", "admins": ("UADMIN",), "policies": POLICIES, "notify": plays.no_notify}
    a = plays.open_play(db, ws, "A", "call", now=at(17), **kw).view.row.id
    plays.open_play(db, ws, "B", "call", now=at(18), **kw)
    c = plays.open_play(db, ws, "C", "call", now=at(10), **kw).view.row.id  # the week before
    plays.open_play(db, ws, "C", "call", now=at(23, 1), **kw)  # after the week: not counted (C is open again)
    close = {"admins": ("UADMIN",), "policies": POLICIES}
    plays.close(db, ws, c, "churned", None, user_id="UADMIN", now=at(19), **close)
    plays.close(db, ws, a, "saved", "renewed", user_id="UANA", now=at(20), **close)

    message = render(context(weekly(db, ws, as_of=AS_OF, now=NOW, policies=POLICIES)))
    assert message.problems == []
    [section] = [b for b in message.blocks if b.get("text", {}).get("text", "").startswith("*Plays*")]
    text = section["text"]["text"]
    assert text.startswith("*Plays* — 2 opened, 2 closed (1 saved, 1 churned)")
    assert "• :tada: *Acme &lt;!channel&gt;* saved — Save call (Ana)" in text and "<!channel>" not in text

    smb = render(context(weekly(db, ws, as_of=AS_OF, now=NOW, policies=POLICIES, segment="smb")))
    assert "*Plays* — 2 opened, 1 closed (1 saved)" in json.dumps(smb.blocks, ensure_ascii=False)


def test_a_week_without_plays_has_no_plays_section(db: Database, ws: int) -> None:
    message = render(context(weekly(db, ws, as_of=AS_OF, now=NOW, policies=POLICIES)))
    assert message.problems == [] and "*Plays*" not in json.dumps(message.blocks)
