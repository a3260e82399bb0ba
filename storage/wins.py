"""Shared wins found in the data, and the wins that still owe a shout-out.

``detect`` records a win once for each of these (the external id is the claim, so running it again,
on another replica or over an overlapping window, adds nothing):

- renewal: an account's renewal date falls in the window and it pays in that month;
- expansion: a month in the window ends with ARR up by at least the threshold on the month before;
- save: a risk flag resolved as *saved* in the window;
- first value: the first-value milestone reached in the window, on or before its target.

Each is credited to the account's owners (AE, CSM, support lead, exec sponsor) and their teams — and
a save also to the flag's owner — because shared credit is the point.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from storage import models as m
from storage import stage_dates
from storage.upsert import insert_ignore

DETECTED = "detected"
SHOUTOUT = "shoutout"
SHOUTOUT_SOURCES = ("slack", DETECTED)  # imported history gets no shout-out
WINS_LIMIT = 200  # wins listed at most (a digest shows 8 and its thread 25)
OWNER_COLUMNS = (m.Account.ae_id, m.Account.csm_id, m.Account.support_lead_id, m.Account.exec_sponsor_id)


@dataclass(frozen=True)
class Found:
    external_id: str
    account_id: int
    kind: str
    text: str
    won_on: dt.date
    amount: Decimal | None
    people: tuple[int | None, ...]


def _day(value: dt.date | None) -> dt.date:
    """A date the query's filters keep non-NULL (``is_not(None)``); a NULL here is a bug, said loudly."""
    if value is None:
        raise ValueError("a NULL date passed a filter that excludes NULLs")
    return value


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _prev_month(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def _month_end(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, month = [], _month(start)
    while month <= end:
        out.append(month)
        month = _month(_month_end(month) + dt.timedelta(days=1))
    return out


def _renewals(session: Session, ws: int, start: dt.date, end: dt.date) -> list[Found]:
    a, s = m.Account, m.MrrSnapshot
    out = []
    for month in _months(start, end):
        rows = session.execute(
            select(a.id, a.external_id, a.renewal_on, s.mrr, *OWNER_COLUMNS)
            .join(s, and_(s.account_id == a.id, s.month == month))
            .where(
                a.workspace_id == ws,
                a.renewal_on.is_not(None),
                a.renewal_on >= max(start, month),
                a.renewal_on <= min(end, _month_end(month)),
                s.mrr > 0,
            )
        ).all()
        out += [
            Found(
                f"detected:renewal:{ext}:{day}", aid, "renewal", "Renewed", _day(day), mrr * 12, tuple(owners)
            )
            for aid, ext, day, mrr, *owners in rows
        ]
    return out


def _expansions(session: Session, ws: int, start: dt.date, end: dt.date, threshold: Decimal) -> list[Found]:
    out: list[Found] = []
    for month in _months(start, end):
        last_day = _month_end(month)
        if last_day <= end:
            now_, before = aliased(m.MrrSnapshot), aliased(m.MrrSnapshot)
            rows = session.execute(
                select(m.Account.id, m.Account.external_id, now_.mrr, before.mrr, *OWNER_COLUMNS)
                .join(now_, and_(now_.account_id == m.Account.id, now_.month == month))
                .join(before, and_(before.account_id == m.Account.id, before.month == _prev_month(month)))
                .where(m.Account.workspace_id == ws, before.mrr > 0, now_.mrr > before.mrr)
            ).all()
            for aid, ext, mrr, prev, *owners in rows:
                gain = (mrr - prev) * 12
                if gain >= threshold:
                    key = f"detected:expansion:{ext}:{month:%Y-%m}"
                    out.append(Found(key, aid, "expansion", "Expanded", last_day, gain, tuple(owners)))
    return out


def _saves(session: Session, ws: int, start: dt.date, end: dt.date) -> list[Found]:
    f = m.RiskFlag
    rows = session.execute(
        select(f.account_id, f.external_id, f.reason, f.resolved_on, f.owner_id, *OWNER_COLUMNS)
        .join(m.Account, m.Account.id == f.account_id)
        .where(
            f.workspace_id == ws,
            f.outcome == "saved",
            f.resolved_on.is_not(None),
            f.resolved_on >= start,
            f.resolved_on <= end,
        )
    ).all()
    return [
        Found(f"detected:save:{ext}", aid, "save", f"Saved — {reason}", _day(day), None, (owner, *owners))
        for aid, ext, reason, day, owner, *owners in rows
    ]


def _first_values(session: Session, ws: int, start: dt.date, end: dt.date) -> list[Found]:
    ms = m.Milestone
    rows = session.execute(
        select(m.Account.id, m.Account.external_id, ms.achieved_on, ms.target_on, *OWNER_COLUMNS)
        .join(ms, ms.account_id == m.Account.id)
        .where(
            ms.workspace_id == ws,
            ms.kind == "first_value",
            ms.achieved_on.is_not(None),
            ms.achieved_on >= start,
            ms.achieved_on <= end,
            ms.target_on.is_not(None),
            ms.achieved_on <= ms.target_on,
        )
    ).all()
    out = []
    for aid, ext, achieved, target_on, *owners in rows:
        day, target = _day(achieved), _day(target_on)
        ahead = (target - day).days
        text = (
            "Reached first value on target"
            if ahead == 0
            else f"Reached first value {ahead} days ahead of target"
        )
        out.append(Found(f"detected:first_value:{ext}", aid, "milestone", text, day, None, tuple(owners)))
    return out


def detect(session: Session, ws: int, start: dt.date, end: dt.date, *, expansion_threshold: Decimal) -> int:
    """Record the wins the data shows between ``start`` and ``end`` (inclusive); returns how many are new."""
    found = (
        _renewals(session, ws, start, end)
        + _expansions(session, ws, start, end, expansion_threshold)
        + _saves(session, ws, start, end)
        + _first_values(session, ws, start, end)
    )
    if not found:
        return 0
    people = {p for f in found for p in f.people if p is not None}
    teams = dict(session.execute(select(m.Person.id, m.Person.team).where(m.Person.id.in_(people))).all())
    new = 0
    for f in found:
        credited = [p for p in dict.fromkeys(f.people) if p is not None]
        new += record_win(
            session,
            ws,
            external_id=f.external_id,
            account_id=f.account_id,
            text=f.text,
            won_on=f.won_on,
            recorded_by=None,
            people=credited,
            teams=list(dict.fromkeys(teams[p] for p in credited if p in teams)),
            kind=f.kind,
            amount=f.amount,
            source=DETECTED,
        )
    return new


# --- shout-outs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinShoutout:
    id: int
    account: str
    kind: str
    text: str
    amount: Decimal | None
    won_on: dt.date
    source: str
    recorded_by: str | None  # Slack user id
    people: list[tuple[str, str | None]]  # (name, Slack user id)
    teams: list[str]  # named teams and the credited people's teams


def owing_shoutout(
    session: Session,
    ws: int,
    since: dt.date,
    *,
    detected_per_day: int,
    today_start: dt.datetime,
    limit: int = 50,
) -> list[int]:
    """Recent wins that have no shout-out in the ledger yet: every one recorded with /win, oldest first;
    and of those found in the data, the largest, up to ``detected_per_day`` shout-outs a day (a big
    book of business must not flood the wins channel; the digest lists them all)."""
    w = m.Win
    candidates = session.execute(
        select(w.id, w.source)
        .where(w.workspace_id == ws, w.won_on >= since, w.source.in_(SHOUTOUT_SOURCES))
        .order_by(w.source.desc(), w.amount.desc().nulls_last(), w.won_on, w.id)  # "slack" before "detected"
    ).all()
    if not candidates:
        return []
    subjects = {i: shoutout_subject(i, source) for i, source in candidates}
    done = set(
        session.scalars(
            select(m.Delivery.subject).where(
                m.Delivery.workspace_id == ws,
                m.Delivery.kind == SHOUTOUT,
                m.Delivery.subject.in_(list(subjects.values())),
            )
        )
    )
    detected_today = session.scalar(
        select(func.count()).where(
            m.Delivery.workspace_id == ws,
            m.Delivery.kind == SHOUTOUT,
            m.Delivery.subject.like(f"{DETECTED}:%"),
            m.Delivery.created_at >= today_start,
        )
    )
    room = max(detected_per_day - int(detected_today or 0), 0)
    out = []
    for i, source in candidates:
        if subjects[i] in done:
            continue
        if source == DETECTED:
            if room == 0:
                continue
            room -= 1
        out.append(i)
    return out[:limit]


def shoutout_subject(win_id: int, source: str) -> str:
    """The ledger subject of a win's shout-out; detected wins are told apart to cap them per day."""
    return f"{DETECTED if source == DETECTED else 'win'}:{win_id}"


def shoutouts(session: Session, ws: int, win_ids: list[int]) -> list[WinShoutout]:
    if not win_ids:
        return []
    w, recorder = m.Win, aliased(m.Person)
    rows = session.execute(
        select(w.id, m.Account.name, w.kind, w.text, w.amount, w.won_on, w.source, recorder.slack_user_id)
        .join(m.Account, m.Account.id == w.account_id)
        .outerjoin(recorder, recorder.id == w.recorded_by_id)
        .where(w.workspace_id == ws, w.id.in_(win_ids))
        .order_by(w.won_on, w.id)
    ).all()
    people: dict[int, list[tuple[str, str | None]]] = {i: [] for i in win_ids}
    by_slack: dict[int, str] = {}
    teams: dict[int, list[str]] = {i: [] for i in win_ids}
    for win_id, name, slack_id, team in session.execute(
        select(m.WinCreditPerson.win_id, m.Person.name, m.Person.slack_user_id, m.Person.team)
        .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
        .where(m.WinCreditPerson.win_id.in_(win_ids))
        .order_by(m.Person.name)
    ):
        people[win_id].append((name, slack_id))
        teams[win_id].append(team)
    for win_id, slack_id in session.execute(
        select(m.WinCreditSlackUser.win_id, m.WinCreditSlackUser.slack_user_id)
        .where(m.WinCreditSlackUser.win_id.in_(win_ids))
        .order_by(m.WinCreditSlackUser.slack_user_id)
    ):
        people[win_id].append((slack_id, slack_id))  # not in the people list: mentioned by Slack id
        # Only a /win's recorder is ever credited by Slack id: one the people list does not know.
        by_slack.setdefault(win_id, slack_id)
    for win_id, team in session.execute(
        select(m.WinCreditTeam.win_id, m.WinCreditTeam.team).where(m.WinCreditTeam.win_id.in_(win_ids))
    ):
        teams[win_id].append(team)
    return [
        WinShoutout(
            i,
            account,
            kind,
            text,
            amount,
            won_on,
            source,
            by or by_slack.get(i),
            people[i],
            sorted(set(teams[i])),
        )
        for i, account, kind, text, amount, won_on, source, by in rows
    ]


def record_win(
    session: Session,
    ws: int,
    *,
    external_id: str,
    account_id: int,
    text: str,
    won_on: dt.date,
    recorded_by: int | None,
    people: list[int],
    teams: list[str],
    kind: str = "other",
    amount: Decimal | None = None,
    source: str = "slack",
    slack_users: Sequence[str] = (),
) -> bool:
    """Record a win once (``external_id`` is the unique claim); False if it already was. ``slack_users``
    are credited by Slack id: people who are not in the people list (yet), credited as themselves."""
    claimed = insert_ignore(
        session,
        m.Win,
        [
            {
                "workspace_id": ws,
                "external_id": external_id,
                "account_id": account_id,
                "kind": kind,
                "text": text,
                "amount": amount,
                "won_on": won_on,
                "recorded_by_id": recorded_by,
                "source": source,
            }
        ],
        ["workspace_id", "external_id"],
    )
    if not claimed:
        return False
    win_id = session.scalar(
        select(m.Win.id).where(m.Win.workspace_id == ws, m.Win.external_id == external_id)
    )
    session.add_all(
        m.WinCreditPerson(workspace_id=ws, win_id=win_id, person_id=p) for p in dict.fromkeys(people)
    )
    session.add_all(m.WinCreditTeam(workspace_id=ws, win_id=win_id, team=t) for t in dict.fromkeys(teams))
    session.add_all(
        m.WinCreditSlackUser(workspace_id=ws, win_id=win_id, slack_user_id=u)
        for u in dict.fromkeys(slack_users)
    )
    if kind in stage_dates.CHAMPION_WIN_KINDS:  # it may make the account a champion
        stage_dates.refresh(session, ws, [account_id])
    return True


def wins_between(
    session: Session, ws: int, start: dt.date, end: dt.date
) -> list[tuple[dt.date, str, str, str, list[str]]]:
    """Wins in [start, end), newest first: (date, account, kind, text, credited teams, including the
    teams of the credited people)."""
    rows = session.execute(
        select(m.Win.id, m.Win.won_on, m.Account.name, m.Win.kind, m.Win.text)
        .join(m.Account, m.Account.id == m.Win.account_id)
        .where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
        .order_by(m.Win.won_on.desc(), m.Win.id.desc())
        .limit(WINS_LIMIT)
    ).all()
    ids = [r[0] for r in rows]
    # A win's teams: those credited by name and those of the people credited (shared credit).
    named = select(m.WinCreditTeam.win_id, m.WinCreditTeam.team).where(m.WinCreditTeam.win_id.in_(ids))
    via_people = (
        select(m.WinCreditPerson.win_id, m.Person.team)
        .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
        .where(m.WinCreditPerson.win_id.in_(ids))
    )
    teams: dict[int, list[str]] = defaultdict(list)
    for win_id, team in session.execute(named.union(via_people).order_by("team")):
        teams[win_id].append(team)
    return [(day, acc, kind, text, teams[wid]) for wid, day, acc, kind, text in rows]


def count_wins_between(session: Session, ws: int, start: dt.date, end: dt.date) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(m.Win)
            .where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
        )
        or 0
    )


def team_contributions(session: Session, ws: int, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """Wins in [start, end) per team, most first: a win counts once for each team credited by name
    or through a credited person (shared credit), however many people of that team it names."""
    in_range = select(m.Win.id).where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
    named = select(m.WinCreditTeam.win_id, m.WinCreditTeam.team).where(
        m.WinCreditTeam.workspace_id == ws, m.WinCreditTeam.win_id.in_(in_range)
    )
    via_people = (
        select(m.WinCreditPerson.win_id, m.Person.team)
        .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
        .where(m.WinCreditPerson.workspace_id == ws, m.WinCreditPerson.win_id.in_(in_range))
    )
    credits = named.union(via_people).subquery()  # UNION drops a team named twice for one win
    rows = session.execute(
        select(credits.c.team, func.count())
        .group_by(credits.c.team)
        .order_by(func.count().desc(), credits.c.team)
    )
    return [(team, int(n)) for team, n in rows]
