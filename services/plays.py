"""Plays: an owned action on one account, from the signal (or the person) that opened it to its
measured outcome (docs/plays.md).

Every change is one write transaction that locks the play, checks who may (`may`), changes the state,
writes a history event and says whether anything changed (a button pressed twice changes nothing the
second time). Opening plays produces messages owed to their owners; ``services`` cannot build Slack
messages, so the caller passes a ``notify`` hook that queues them in the same transaction (like
``services.wins.record``'s ``announce``): the play and its message are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from services import accounts
from services.errors import Refusal
from services.policies import WEEKDAY_NAMES, PlayDef, Policies
from storage import models as m
from storage import play_report, sla_clock
from storage import play_triggers as triggers
from storage import plays as store
from storage.db import Database
from storage.people import person_by_slack_id
from storage.periods import Period, PeriodKind, add_months
from storage.play_report import Coverage, PlayOutcome
from storage.plays import NewPlay, PlayEventRow, PlayRow

Outcome = Literal["saved", "expanded", "churned", "no_action"]
OUTCOMES: tuple[Outcome, ...] = ("saved", "expanded", "churned", "no_action")
Action = Literal["accept", "close", "snooze", "reassign", "open"]

# Queue the messages owed for these newly opened plays in the caller's transaction; returns how
# many messages were queued. plays-slack's implementation groups them per owner (one message a day).
Notify = Callable[[Session, int, list[int], dt.datetime], int]


def no_notify(session: Session, ws: int, play_ids: list[int], now: dt.datetime) -> int:
    """A `Notify` that queues nothing (the CLI without Slack, tests)."""
    return 0


# --- refusals ---------------------------------------------------------------------------------------


class PlayNotFound(Refusal):
    def __init__(self, play_id: int) -> None:
        super().__init__(f"no play {play_id} in this workspace")
        self.play_id = play_id


class UnknownPlayKey(Refusal):
    def __init__(self, key: str, known: list[str]) -> None:
        super().__init__(f"no play named {key}; the plays are: {', '.join(known)}")
        self.key = key
        self.known = known


class PlayIsClosed(Refusal):
    def __init__(self, play: PlayRow) -> None:
        super().__init__(f"that play was closed already ({play.outcome})")
        self.play = play


class PlayNotAllowed(Refusal):
    """The person may not ``action`` this play; ``chain`` names who may (the owner, their manager,
    that manager's manager; an admin always may). ``listed``: whether the person is in the people list."""

    def __init__(self, action: Action, chain: tuple[str, ...] = (), *, listed: bool = False) -> None:
        super().__init__(f"not allowed: {action} play")
        self.action = action
        self.chain = chain
        self.listed = listed


class BadSnooze(Refusal):
    pass


class UnknownPerson(Refusal):
    def __init__(self, slack_id: str) -> None:
        super().__init__(f"<@{slack_id}> is not in the people list")
        self.slack_id = slack_id


# --- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayView:
    """A play as every surface shows it: the row, its definition's title/steps/runbook, whether it is
    overdue at ``now``, and its history."""

    row: PlayRow
    title: str
    steps: list[str]
    runbook_url: str | None
    overdue: bool
    history: list[PlayEventRow]


@dataclass(frozen=True)
class PlayChange:
    view: PlayView
    changed: bool  # False: it was in that state already (a second press), nothing written


@dataclass(frozen=True)
class PlayOpened:
    view: PlayView
    new: bool  # False: that play was already open for the account; ``view`` is the open one
    queued: int  # messages queued by ``notify``


# --- authority ----------------------------------------------------------------------------------------


def _chain(session: Session, owner_id: int | None) -> list[m.Person]:
    chain: list[m.Person] = []
    person = session.get(m.Person, owner_id) if owner_id else None
    while person is not None and len(chain) < 3:
        chain.append(person)
        person = session.get(m.Person, person.manager_id) if person.manager_id else None
    return chain


def may(
    session: Session, ws: int, owner_id: int | None, user_id: str, admins: Collection[str], action: Action
) -> PlayNotAllowed | None:
    """The owner, their manager or that manager's manager, or an admin. A play without an owner (it
    went to a channel) may be taken by anyone in the people list. Opening by hand: anyone in the
    people list, or an admin. None: allowed."""
    if user_id in admins:
        return None
    me = person_by_slack_id(session, ws, user_id)
    if action == "open":
        return None if me is not None else PlayNotAllowed(action)
    chain = _chain(session, owner_id)
    if not chain:
        return None if me is not None else PlayNotAllowed(action)
    if me is not None and me.id in {p.id for p in chain}:
        return None
    return PlayNotAllowed(action, tuple(p.name for p in chain), listed=me is not None)


# --- owners and due times -------------------------------------------------------------------------


def due_at(policies: Policies, play: PlayDef, opened: dt.datetime, owner_tz: str | None) -> dt.datetime:
    """When a play opened at ``opened`` is due: calendar hours, or business hours on the SLA calendar."""
    cal = None
    business = policies.play_calendar(play) if play.clock == "business" else None
    if business is not None:
        zone = (owner_tz or "UTC") if business.timezone == "owner" else business.timezone
        cal = sla_clock.WorkCalendar(
            ZoneInfo(zone),
            frozenset(WEEKDAY_NAMES.index(day) for day in business.weekdays),
            business.opens,
            business.closes,
            frozenset(business.holidays),
        )
    return sla_clock.add(opened, dt.timedelta(hours=play.due_hours), cal)


@dataclass(frozen=True)
class Owner:
    person_id: int | None
    channel: str | None
    timezone: str | None


def owner_for(session: Session, ws: int, policies: Policies, account_id: int, role: str) -> Owner:
    """The account's person in ``role``; else the manager of that role's team (the person most of
    the team reports to); else the fallback channel of ``[play_settings]``; else nobody."""
    person_id = store.role_person(session, ws, account_id, role)
    if person_id is None:
        person_id = store.team_managers(session, ws).get(role)
    if person_id is None:
        return Owner(None, policies.play_settings.fallback_channel, None)
    person = session.get(m.Person, person_id)
    return Owner(person_id, None, person.timezone if person else None)


# --- reading --------------------------------------------------------------------------------------


def _view(session: Session, ws: int, row: PlayRow, policies: Policies, now: dt.datetime) -> PlayView:
    play = policies.play(row.play_key)
    overdue = row.state != "closed" and row.due_at is not None and row.due_at < now
    return PlayView(
        row=row,
        title=play.title if play else row.play_key,
        steps=list(play.steps) if play else [],
        runbook_url=play.runbook_url if play else None,
        overdue=overdue,
        history=store.events_of(session, ws, row.id),
    )


def view(db: Database, ws: int, play_id: int, policies: Policies, now: dt.datetime) -> PlayView:
    """One play with its history; `PlayNotFound` if it is not this workspace's."""
    with db.read() as session:
        rows = store.plays_by_ids(session, ws, [play_id])
        if not rows:
            raise PlayNotFound(play_id)
        return _view(session, ws, rows[0], policies, now)


def views(
    session: Session, ws: int, play_ids: list[int], policies: Policies, now: dt.datetime
) -> list[PlayView]:
    """The plays with these ids (for a `Notify` hook building its messages inside the transaction)."""
    return [_view(session, ws, r, policies, now) for r in store.plays_by_ids(session, ws, play_ids)]


def views_of(
    db: Database, ws: int, play_ids: list[int], policies: Policies, now: dt.datetime
) -> list[PlayView]:
    """`views` in a read session of its own."""
    with db.read() as session:
        return views(session, ws, play_ids, policies, now)


def mine(db: Database, ws: int, user_id: str, policies: Policies, now: dt.datetime) -> list[PlayView] | None:
    """The open plays the person owns, due first first; None if they are not in the people list."""
    with db.read() as session:
        me = person_by_slack_id(session, ws, user_id)
        if me is None:
            return None
        rows = store.list_plays(session, ws, owner_ids=[me.id])
        return [_view(session, ws, r, policies, now) for r in rows]


def team(db: Database, ws: int, user_id: str, policies: Policies, now: dt.datetime) -> list[PlayView] | None:
    """The open plays of the person and everyone below them; None if they are not in the people list."""
    with db.read() as session:
        me = person_by_slack_id(session, ws, user_id)
        if me is None:
            return None
        rows = store.list_plays(session, ws, owner_ids=store.team_of(session, ws, me.id))
        return [_view(session, ws, r, policies, now) for r in rows]


def for_account(
    db: Database, ws: int, query: str, policies: Policies, now: dt.datetime, *, closed_too: bool = True
) -> tuple[str, list[PlayView]]:
    """The account ``query`` names (`NoSingleAccount` otherwise) and its plays: open ones first, then
    the latest closed ones."""
    with db.read() as session:
        match = accounts.resolve(session, ws, query)
        rows = store.list_plays(session, ws, account_id=match.id, open_only=not closed_too, limit=20)
        return match.name, [_view(session, ws, r, policies, now) for r in rows]


def overdue(session: Session, ws: int, now: dt.datetime) -> list[PlayRow]:
    """Plays past their due time and not closed, most overdue first (for the managers' roll-up:
    group them by ``owner_id`` and the owner's manager)."""
    return store.overdue_plays(session, ws, now)


def open_for_account(session: Session, ws: int, account_id: int) -> list[PlayRow]:
    """The plays of the account that are not closed (for /health and the renewals list)."""
    return store.list_plays(session, ws, account_id=account_id)


# --- changing -------------------------------------------------------------------------------------


def _locked(session: Session, ws: int, play_id: int) -> m.Play:
    play = store.play_in(session, ws, play_id, lock=True)
    if play is None:
        raise PlayNotFound(play_id)
    return play


def _actor(session: Session, ws: int, user_id: str) -> int | None:
    me = person_by_slack_id(session, ws, user_id)
    return me.id if me else None


def _check(
    session: Session, ws: int, play: m.Play, user_id: str, admins: Collection[str], action: Action
) -> None:
    refusal = may(session, ws, play.owner_id, user_id, admins, action)
    if refusal is not None:
        raise refusal


def _result(
    session: Session, ws: int, play_id: int, policies: Policies, now: dt.datetime, changed: bool
) -> PlayChange:
    row = store.plays_by_ids(session, ws, [play_id])[0]
    return PlayChange(_view(session, ws, row, policies, now), changed)


def open_play(
    db: Database,
    ws: int,
    account_query: str,
    key: str,
    *,
    user_id: str,
    admins: Collection[str],
    policies: Policies,
    now: dt.datetime,
    notify: Notify,
    note: str | None = None,
) -> PlayOpened:
    """Open play ``key`` on an account by hand (e.g. after a call): anyone in the people list or an
    admin. The cooldown does not apply to a person's decision; the one-open-play rule does: if the
    play is open already, that one comes back with ``new`` False."""
    play_def = policies.play(key)
    if play_def is None or not play_def.enabled:
        raise UnknownPlayKey(key, [p.key for p in policies.plays if p.enabled])
    with db.write() as session:
        refusal = may(session, ws, None, user_id, admins, "open")
        if refusal is not None:
            raise refusal
        match = accounts.resolve_for_write(session, ws, account_query)
        owner = owner_for(session, ws, policies, match.id, play_def.owner)
        new = NewPlay(
            account_id=match.id,
            play_key=key,
            owner_id=owner.person_id,
            owner_role=play_def.owner,
            owner_channel=owner.channel,
            due_at=due_at(policies, play_def, now, owner.timezone),
            signal={"trigger": "hand", "values": {"by": user_id}},
            source="hand",
            opened_by_id=_actor(session, ws, user_id),
            note=note,
        )
        ids = store.insert_plays(session, ws, [new], now)
        queued = notify(session, ws, ids, now) if ids else 0
        existing = store.not_closed(session, ws, match.id, key)
        assert existing is not None
        row = store.plays_by_ids(session, ws, [existing.id])[0]
        return PlayOpened(_view(session, ws, row, policies, now), bool(ids), queued)


def accept(
    db: Database,
    ws: int,
    play_id: int,
    *,
    user_id: str,
    admins: Collection[str],
    policies: Policies,
    now: dt.datetime,
) -> PlayChange:
    """The owner (or their manager, or an admin) takes it on. Accepting an accepted play changes nothing."""
    with db.write() as session:
        play = _locked(session, ws, play_id)
        _check(session, ws, play, user_id, admins, "accept")
        if play.state == "closed":
            raise PlayIsClosed(store.plays_by_ids(session, ws, [play_id])[0])
        if play.accepted_at is not None and play.state == "accepted":
            return _result(session, ws, play_id, policies, now, False)
        actor = _actor(session, ws, user_id)
        play.state = "accepted"
        play.accepted_at = play.accepted_at or now
        play.accepted_by_id = play.accepted_by_id or actor
        play.snoozed_until = None
        took = play.owner_id is None and actor is not None
        if took:  # a play nobody owned (sent to the fallback channel): whoever accepts it owns it
            play.owner_id = actor
            play.owner_channel = None
        store.add_event(
            session, ws, play_id, "accepted", now, actor, {"took_ownership": True} if took else None
        )
        return _result(session, ws, play_id, policies, now, True)


def close(
    db: Database,
    ws: int,
    play_id: int,
    outcome: str,
    note: str | None,
    *,
    user_id: str,
    admins: Collection[str],
    policies: Policies,
    now: dt.datetime,
) -> PlayChange:
    """Done: closed as saved, expanded, churned or no_action, with an optional note. Its cooldown starts
    now. Closing a closed play changes nothing (the first outcome stands)."""
    if outcome not in OUTCOMES:
        raise Refusal(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    with db.write() as session:
        play = _locked(session, ws, play_id)
        _check(session, ws, play, user_id, admins, "close")
        if play.state == "closed":
            return _result(session, ws, play_id, policies, now, False)
        actor = _actor(session, ws, user_id)
        play.state = "closed"
        play.open_key = None
        play.closed_at = now
        play.closed_by_id = actor
        play.outcome = outcome
        play.snoozed_until = None
        if note:
            play.note = note
        store.add_event(session, ws, play_id, "closed", now, actor, {"outcome": outcome, "note": note})
        return _result(session, ws, play_id, policies, now, True)


def snooze(
    db: Database,
    ws: int,
    play_id: int,
    until: dt.datetime,
    *,
    user_id: str,
    admins: Collection[str],
    policies: Policies,
    now: dt.datetime,
) -> PlayChange:
    """Put it aside until ``until`` (later than now, at most 90 days): it wakes as it was (open or
    accepted) when the daily run passes that time. The due time is not moved."""
    if until <= now:
        raise BadSnooze("snooze until a time in the future")
    if until > now + dt.timedelta(days=90):
        raise BadSnooze("snooze for at most 90 days")
    with db.write() as session:
        play = _locked(session, ws, play_id)
        _check(session, ws, play, user_id, admins, "snooze")
        if play.state == "closed":
            raise PlayIsClosed(store.plays_by_ids(session, ws, [play_id])[0])
        if play.state == "snoozed" and play.snoozed_until == until:
            return _result(session, ws, play_id, policies, now, False)
        actor = _actor(session, ws, user_id)
        play.state = "snoozed"
        play.snoozed_until = until
        store.add_event(session, ws, play_id, "snoozed", now, actor, {"until": until.isoformat()})
        return _result(session, ws, play_id, policies, now, True)


def reassign(
    db: Database,
    ws: int,
    play_id: int,
    to_slack_id: str,
    *,
    user_id: str,
    admins: Collection[str],
    policies: Policies,
    now: dt.datetime,
    notify: Notify | None = None,
) -> PlayChange:
    """Give it to someone else in the people list. The new owner is told through ``notify`` (the play's
    id) in the same transaction. Reassigning to the owner changes nothing."""
    with db.write() as session:
        play = _locked(session, ws, play_id)
        _check(session, ws, play, user_id, admins, "reassign")
        if play.state == "closed":
            raise PlayIsClosed(store.plays_by_ids(session, ws, [play_id])[0])
        to = person_by_slack_id(session, ws, to_slack_id)
        if to is None:
            raise UnknownPerson(to_slack_id)
        if play.owner_id == to.id:
            return _result(session, ws, play_id, policies, now, False)
        actor = _actor(session, ws, user_id)
        before = play.owner_id
        play.owner_id = to.id
        play.owner_channel = None
        store.add_event(session, ws, play_id, "reassigned", now, actor, {"from": before, "to": to.id})
        if notify is not None:
            notify(session, ws, [play_id], now)
        return _result(session, ws, play_id, policies, now, True)


def history(db: Database, ws: int, play_id: int) -> list[PlayEventRow]:
    """Who did what to the play, oldest first."""
    with db.read() as session:
        return store.events_of(session, ws, play_id)


def signal_of(row: PlayRow) -> dict[str, Any]:
    """Why it was opened: {"trigger": …, "values": {…}} as the data stood then ({} if imported)."""
    return row.signal or {}


# --- evaluation -----------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one evaluation found and opened, per play key."""

    day: dt.date
    fired: dict[str, int]  # accounts whose signal fired
    opened: dict[str, int]  # plays opened (fired, minus those open already or in their cooldown)
    play_ids: list[int]
    queued: int  # messages the notify hook queued
    woke: int  # snoozed plays whose time had come

    @property
    def total_opened(self) -> int:
        return sum(self.opened.values())


def fire(session: Session, ws: int, day: dt.date, play: PlayDef, policies: Policies) -> list[triggers.Fired]:
    """The accounts ``play``'s trigger fires for as of ``day``, with the values (one query)."""
    p = play.settings
    seg = play.segments
    match play.trigger:
        case "health_drop":
            return triggers.health_drop(session, ws, day, seg, points=p.points, days=p.days, red=p.red)
        case "usage_drop":
            return triggers.usage_drop(
                session,
                ws,
                day,
                seg,
                pct=p.pct,
                window_days=p.window_days,
                baseline_days=p.baseline_days,
                min_baseline_days=p.min_baseline_days,
            )
        case "ticket_spike":
            return triggers.ticket_spike(
                session, ws, day, seg, count=p.count, days=p.days, priorities=p.priorities
            )
        case "nps_detractor":
            return triggers.nps_detractor(session, ws, day, seg, max_score=p.max_score, days=p.days)
        case "no_exec_touchpoint":
            return triggers.no_exec_touchpoint(
                session, ws, day, seg, days=p.days, kinds=p.kinds, sponsored_only=p.sponsored_only
            )
        case "renewal_at_risk":
            save_keys = [d.key for d in policies.plays if d.kind == "save"]
            return triggers.renewal_at_risk(
                session,
                ws,
                day,
                seg,
                days_out=p.days_out,
                window_days=p.window_days,
                min_tier=p.min_tier,
                save_keys=save_keys,
            )
        case "first_value":
            return triggers.first_value(session, ws, day, seg, days=p.days)
        case "seats_full":
            return triggers.seats_full(session, ws, day, seg, pct=p.pct, days=p.days)
    raise AssertionError(f"unknown trigger {play.trigger}")


OWNERS_AT_ONCE = 500  # more plays than this to open: read every account's owners in one query


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a bulk step (reference counting still frees what
    it allocates; cycles wait for the next collection). An evaluation opening ~18,000 plays allocates
    hundreds of thousands of objects, and the collections they set off, each walking every live object
    of the process, were a quarter of its Python time at 50,000 accounts (measured: 547 -> 326 ms)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def evaluate_in(
    session: Session, ws: int, day: dt.date, *, now: dt.datetime, policies: Policies, notify: Notify
) -> Evaluation:
    """Evaluate every enabled play's trigger as of ``day`` in the caller's transaction and open the
    plays that fired and may open: none open for (account, play), none closed within the cooldown.
    The unique key makes it safe to run twice, or on two workers at once (one play)."""
    with _no_cycle_collection():
        return _evaluate(session, ws, day, now=now, policies=policies, notify=notify)


def _evaluate(
    session: Session, ws: int, day: dt.date, *, now: dt.datetime, policies: Policies, notify: Notify
) -> Evaluation:
    result = Evaluation(day, {}, {}, [], 0, store.wake_snoozed(session, ws, now))
    managers = store.team_managers(session, ws)
    people_tz = store.person_timezones(session, ws)
    # renewal plays read "a save play is open": they go after the save plays of this run.
    ordered = sorted(
        (p for p in policies.plays if p.enabled and p.trigger), key=lambda p: p.trigger == "renewal_at_risk"
    )
    blocked = triggers.blocked(
        session, ws, {p.key: now - dt.timedelta(days=p.cooldown_days) for p in ordered}
    )
    everyone: dict[str, dict[int, int | None]] | None = None  # every account's owners, read once
    for play in ordered:
        fired = fire(session, ws, day, play, policies)
        result.fired[play.key] = len(fired)
        todo = [f for f in fired if f.account_id not in blocked[play.key]]
        if len(todo) > OWNERS_AT_ONCE:
            if everyone is None:
                everyone = triggers.owners_by_role(session, ws, store.ROLE_COLUMNS)
            role_owner = everyone[play.owner]
        else:
            role_owner = triggers.owners(
                session, ws, [f.account_id for f in todo], store.ROLE_COLUMNS[play.owner]
            )
        new: list[NewPlay] = []
        due_cache: dict[str | None, dt.datetime] = {}
        for f in todo:
            person = role_owner.get(f.account_id) or managers.get(play.owner)
            tz = people_tz.get(person) if person else None
            if tz not in due_cache:
                due_cache[tz] = due_at(policies, play, now, tz)
            new.append(
                NewPlay(
                    account_id=f.account_id,
                    play_key=play.key,
                    owner_id=person,
                    owner_role=play.owner,
                    owner_channel=None if person else policies.play_settings.fallback_channel,
                    due_at=due_cache[tz],
                    signal={"trigger": play.trigger, "as_of": day.isoformat(), "values": f.values},
                )
            )
        ids = store.insert_plays(session, ws, new, now)
        result.opened[play.key] = len(ids)
        result.play_ids.extend(ids)
        session.flush()
    if result.play_ids:
        result.queued = notify(session, ws, result.play_ids, now)
    return result


def evaluate(
    db: Database, ws: int, day: dt.date, *, now: dt.datetime, policies: Policies, notify: Notify
) -> Evaluation:
    """`evaluate_in` in its own write transaction (the plays and their messages, or nothing)."""
    with db.write() as session:
        return evaluate_in(session, ws, day, now=now, policies=policies, notify=notify)


# --- outcomes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaysReport:
    """The ROI table of a period: per play its outcomes, and churn risk coverage at the period's last
    day and at the as-of date."""

    period: Period
    as_of: dt.date
    lines: list[tuple[str, PlayOutcome]]  # (title, outcome), in the policy's order, then unknown keys
    coverage_end: Coverage
    coverage_now: Coverage
    # The period in progress up to the as-of date (its plays are not in the table until it is complete):
    # (the period, plays opened in it so far, plays closed in it so far).
    in_progress: tuple[Period, int, int] | None = None

    def to_json(self, currency: str) -> dict[str, Any]:
        def cov(c: Coverage) -> dict[str, Any]:
            return {"at_risk": c.at_risk, "covered": c.covered, "value": c.value}

        return {
            "period": {
                "kind": self.period.kind,
                "label": self.period.label,
                "start": self.period.start.isoformat(),
                "last_day": self.period.last_day.isoformat(),
            },
            "as_of": self.as_of.isoformat(),
            "currency": currency,
            "coverage_at_period_end": cov(self.coverage_end),
            "coverage_as_of": cov(self.coverage_now),
            "plays": [{"title": title, **line.to_json()} for title, line in self.lines],
            "in_progress": None
            if self.in_progress is None
            else {
                "label": self.in_progress[0].label,
                "start": self.in_progress[0].start.isoformat(),
                "through": self.as_of.isoformat(),
                "opened": self.in_progress[1],
                "closed": self.in_progress[2],
            },
        }


def report(db: Database, ws: int, kind: PeriodKind, as_of: dt.date, policies: Policies) -> PlaysReport:
    """Play outcomes for the latest complete ``kind`` period before ``as_of`` (METRICS.md)."""
    period = Period.latest(kind, as_of)
    # The period in progress: the one the as-of date is in (in the table once it is complete).
    if kind == "week":
        current_end = period.end + dt.timedelta(days=7)
    else:
        current_end = add_months(period.end, 3 if kind == "quarter" else 1)
    current = Period(kind, period.end, current_end)
    with db.read() as session:
        got = play_report.outcomes(session, ws, period.start, period.end, as_of)
        cov_end = play_report.coverage(session, ws, period.last_day)
        cov_now = play_report.coverage(session, ws, as_of)
        so_far = play_report.outcomes(session, ws, current.start, as_of + dt.timedelta(days=1), as_of)
    lines = [(p.title, got.plays.get(p.key) or PlayOutcome(p.key)) for p in policies.plays]
    known = {p.key for p in policies.plays}
    lines += [(key, line) for key, line in sorted(got.plays.items()) if key not in known]
    opened = sum(line.opened for line in so_far.plays.values())
    closed = sum(line.closed for line in so_far.plays.values())
    return PlaysReport(period, as_of, lines, cov_end, cov_now, (current, opened, closed))


def wake_snoozed(db: Database, ws: int, now: dt.datetime) -> int:
    """Plays whose snooze has ended are open again (every scheduler tick, so a one-day snooze wakes
    within minutes of its end, not at the next daily evaluation); how many woke."""
    with db.write() as session:
        return store.wake_snoozed(session, ws, now)
