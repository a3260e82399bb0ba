"""App Home: what a person sees on the bot's Home tab (their accounts, their open handoffs and plays,
the week's scorecard), and the claim that handles each Slack event once. Each public function owns its
transaction and returns plain data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services import accounts, handoffs, plays, scorecard
from services.accounts import MyAccounts
from services.policies import Policies
from services.scorecard import Scorecard
from storage.db import Database
from storage.events import claim_event
from storage.handoffs import OpenHandoffRow


def first_time(db: Database, event_id: str | None, team_id: str | None, now: dt.datetime) -> bool:
    """Claim the event; False when it was handled already (a Slack retry)."""
    if not event_id:
        return True
    with db.write() as session:
        return claim_event(session, event_id, team_id, now)


@dataclass(frozen=True)
class Home:
    mine: MyAccounts | None  # None: the person's Slack user is not in the people list
    handoffs: list[OpenHandoffRow]  # theirs, the most overdue first
    scorecard: Scorecard  # the week's
    plays: list[plays.PlayView] = field(default_factory=list)  # their open plays, due first


def home(db: Database, ws: int, slack_user: str, *, now: dt.datetime, policies: Policies, limit: int) -> Home:
    """The Home tab's data for ``slack_user``: their accounts (at most ``limit``, worst health first)
    and open handoffs, and the scorecard of the week of ``now``."""
    mine = accounts.my_accounts(db, ws, slack_user, limit, today=now.date())
    theirs: list[OpenHandoffRow] = []
    if mine is not None:
        try:
            theirs = handoffs.owned_by(db, ws, slack_user)
        except handoffs.NotListed:  # removed from the people list meanwhile
            theirs = []
    mine_plays: list[plays.PlayView] = []
    if mine is not None:
        mine_plays = [
            v for v in plays.mine(db, ws, slack_user, policies, now) or [] if v.row.state != "closed"
        ]
    card = scorecard.scorecard(db, ws, as_of=now.date(), period="week", policies=policies, segment=None)
    return Home(mine, theirs, card, mine_plays)
