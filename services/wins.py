"""Shared wins: recording one with its credits, the wins channel, the wins of a period, and the
shout-outs owed. A win and its shout-out are written in one transaction (both or neither): the
shout-out is a message only ``digests/`` can build, so the caller passes it in as ``announce``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services import accounts
from services.errors import NothingToCredit, UnknownPeople
from storage import wins as store
from storage import workspaces
from storage.db import Database
from storage.people import people_by_slack_ids, person_by_slack_id
from storage.recognition import set_unlisted

SHOUTOUT_DAYS = 7  # wins older than this get no shout-out (no flood when a wins channel is first set)

# Queue the shout-outs of these wins in the caller's transaction; returns how many were queued.
Announce = Callable[[Session, int, list[int], dt.datetime], int]


@dataclass
class WinInput:
    """A win as a person gave it: the account (a query), what happened, whom and which teams to credit."""

    account: str
    text: str
    people: list[str] = field(default_factory=list)  # Slack user ids
    teams: list[str] = field(default_factory=list)
    not_me: bool = False


@dataclass(frozen=True)
class WinRecorded:
    account_name: str
    text: str
    people: list[str]  # Slack user ids credited
    teams: list[str]
    new: bool  # False: that win was already recorded


def _owed_shoutouts(session: Session, ws: int, now: dt.datetime, *, per_day: int) -> list[int]:
    """Recent wins without a shout-out yet (none when the workspace has no wins channel)."""
    if not workspaces.wins_channel(session, ws):
        return []
    return store.owing_shoutout(
        session,
        ws,
        now.date() - dt.timedelta(days=SHOUTOUT_DAYS),
        detected_per_day=per_day,
        today_start=dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC),
    )


def record(
    db: Database,
    ws: int,
    req: WinInput,
    *,
    recorder_slack: str,
    external_id: str,
    now: dt.datetime,
    shoutouts_per_day: int,
    announce: Announce,
) -> WinRecorded:
    """Record a win credited to the people named, the recorder (unless ``not_me``), the teams named
    and the credited people's teams; a new win's shout-out (and any other owed) is queued with it."""
    with db.write() as session:
        match = accounts.resolve_for_write(session, ws, req.account)
        people = people_by_slack_ids(session, ws, req.people)
        unknown = [u for u in req.people if u not in people]
        if unknown:
            raise UnknownPeople(unknown)
        me = person_by_slack_id(session, ws, recorder_slack)
        credited = dict(people)
        if me is not None and not req.not_me:
            credited[recorder_slack] = me
        # Someone the people list does not know yet is credited as themselves, by Slack id.
        as_themselves = [recorder_slack] if me is None and not req.not_me else []
        teams = list(dict.fromkeys(req.teams + [p.team for p in credited.values()]))
        if not credited and not teams and not as_themselves:
            raise NothingToCredit("a win needs at least one person or team to credit")
        new = store.record_win(
            session,
            ws,
            external_id=external_id,
            account_id=match.id,
            text=req.text,
            won_on=now.date(),
            recorded_by=me.id if me else None,
            people=[p.id for p in credited.values()],
            teams=teams,
            slack_users=as_themselves,
        )
        if new:  # its shout-out goes into the outbox with it: both or neither
            announce(session, ws, _owed_shoutouts(session, ws, now, per_day=shoutouts_per_day), now)
    return WinRecorded(match.name, req.text, list(credited) + as_themselves, teams, new)


def queue_owed(db: Database, ws: int, now: dt.datetime, *, per_day: int, announce: Announce) -> int:
    """The scheduler's pass: queue the shout-out of every recent win that has none yet."""
    with db.write() as session:
        owed = _owed_shoutouts(session, ws, now, per_day=per_day)
        return announce(session, ws, owed, now) if owed else 0


def wins_channel(db: Database, ws: int) -> str | None:
    with db.read() as session:
        return workspaces.wins_channel(session, ws)


def set_wins_channel(db: Database, ws: int, channel_id: str | None) -> str | None:
    """Set (None: turn off) the wins channel; returns the channel now set."""
    with db.write() as session:
        workspaces.set_wins_channel(session, ws, channel_id)
        return workspaces.wins_channel(session, ws)


def between(
    db: Database, ws: int, start: dt.date, end: dt.date
) -> list[tuple[dt.date, str, str, str, list[str]]]:
    """Wins in [start, end), newest first: (date, account, kind, text, teams)."""
    with db.read() as session:
        return store.wins_between(session, ws, start, end)


def this_or_last_week(today: dt.date, last: bool) -> tuple[dt.date, dt.date]:
    """[start, end) of this week so far (Monday to today) or of last week."""
    monday = today - dt.timedelta(days=today.weekday())
    return (monday - dt.timedelta(days=7), monday) if last else (monday, today + dt.timedelta(days=1))


def set_listed(db: Database, ws: int, slack_user_id: str, *, listed: bool) -> bool:
    """Opt a person out of (or back into) the digest's "People recognised" list; their wins still count
    for their teams. False when the Slack user is not in the people list."""
    with db.write() as session:
        person = person_by_slack_id(session, ws, slack_user_id)
        if person is None:
            return False
        set_unlisted(session, ws, person.id, not listed)
        return True
