"""Customer feedback: themes (with their status history and merges), feedback items, the ranking of
themes by what is at stake, the voice-of-the-customer digest subscriptions and the facts its digest
and the close-the-loop messages read. SQL only; the rules are ``services.feedback``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Select, and_, case, delete, func, or_, select, type_coerce, union, update
from sqlalchemy.orm import Session, aliased

from storage import models as m
from storage.periods import latest_complete_month
from storage.subscriptions import Schedule
from storage.upsert import insert_ignore, upsert
from storage.wins import DETECTED, OWNER_COLUMNS, record_win

KINDS = ("request", "bug", "pain", "praise")
IMPORTANCE = ("low", "medium", "high", "critical")
SOURCES = ("shortcut", "reaction", "command", "import", "nps")
NEW, PLANNED, SHIPPED, WONT_DO = "new", "planned", "shipped", "wont_do"
STATUSES = (NEW, PLANNED, SHIPPED, WONT_DO)
OPEN_STATUSES = (NEW, PLANNED)
MAX_THEME_NAME = 80
RENEWAL_DAYS = 90
TREND_DAYS = 28
# The roles whose owners are told when a theme their accounts asked for ships.
SHIPPED_ROLES = ("csm_id", "ae_id")


def theme_key(name: str) -> str:
    """How a theme name is compared: case, a leading ``#``, dashes/underscores and spacing ignored."""
    return " ".join(re.sub(r"[-_]+", " ", name.strip().lstrip("#")).lower().split())[:MAX_THEME_NAME]


def theme_name(name: str) -> str:
    """A theme name as stored: a leading ``#`` dropped, spacing collapsed."""
    return " ".join(name.strip().lstrip("#").split())[:MAX_THEME_NAME]


# --- themes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    id: int
    name: str
    status: str
    shipped_on: dt.date | None
    merged_into_id: int | None


def _theme(row: Any) -> Theme:
    return Theme(row.id, row.name, row.status, row.shipped_on, row.merged_into_id)


def _theme_select() -> Any:
    t = m.FeedbackTheme
    return select(t.id, t.name, t.status, t.shipped_on, t.merged_into_id)


def theme_by_id(session: Session, ws: int, theme_id: int) -> Theme | None:
    row = session.execute(
        _theme_select().where(m.FeedbackTheme.workspace_id == ws, m.FeedbackTheme.id == theme_id)
    ).first()
    return _theme(row) if row else None


def live(session: Session, ws: int, theme: Theme | None) -> Theme | None:
    """The theme a merged theme leads to (following merges), or the theme itself."""
    seen: set[int] = set()
    while theme is not None and theme.merged_into_id is not None and theme.id not in seen:
        seen.add(theme.id)
        theme = theme_by_id(session, ws, theme.merged_into_id)
    return theme


def theme_by_name(session: Session, ws: int, name: str) -> Theme | None:
    """The theme called ``name`` (any case; a merged one leads to the theme it went into)."""
    t = m.FeedbackTheme
    row = session.execute(_theme_select().where(t.workspace_id == ws, t.name_key == theme_key(name))).first()
    return live(session, ws, _theme(row) if row else None)


def ensure_theme(
    session: Session, ws: int, name: str, *, by: str | None, now: dt.datetime
) -> tuple[Theme, bool]:
    """The theme called ``name``, created (status new) when there is none; and whether it was created."""
    key = theme_key(name)
    if not key:
        raise ValueError("a theme needs a name")
    created = insert_ignore(
        session,
        m.FeedbackTheme,
        [
            {
                "workspace_id": ws,
                "name": theme_name(name),
                "name_key": key,
                "status": NEW,
                "created_at": now,
                "created_by": by,
                "status_changed_at": now,
            }
        ],
        ["workspace_id", "name_key"],
    )
    t = m.FeedbackTheme
    row = session.execute(_theme_select().where(t.workspace_id == ws, t.name_key == key)).one()
    if created:
        _event(session, ws, row.id, "created", by=by, now=now, to=NEW)
    theme = live(session, ws, _theme(row))
    assert theme is not None
    return theme, bool(created)


def _event(
    session: Session,
    ws: int,
    theme_id: int,
    event: str,
    *,
    by: str | None,
    now: dt.datetime,
    frm: str | None = None,
    to: str | None = None,
    other: int | None = None,
) -> None:
    session.add(
        m.FeedbackThemeEvent(
            workspace_id=ws,
            theme_id=theme_id,
            event=event,
            status_from=frm,
            status_to=to,
            other_theme_id=other,
            by=by,
            occurred_at=now,
        )
    )
    session.flush()


def set_status(
    session: Session, ws: int, theme_id: int, status: str, *, by: str | None, now: dt.datetime
) -> str | None:
    """Set a theme's status, recording who and when; returns the status before (None: no change).
    Becoming shipped sets the ship date (the close-the-loop window starts there)."""
    t = m.FeedbackTheme
    before = session.scalar(select(t.status).where(t.workspace_id == ws, t.id == theme_id).with_for_update())
    if before is None or before == status:
        return None
    values: dict[str, Any] = {"status": status, "status_changed_at": now}
    if status == SHIPPED:
        values["shipped_on"] = now.date()
    session.execute(update(t).where(t.workspace_id == ws, t.id == theme_id).values(**values))
    _event(session, ws, theme_id, "status", by=by, now=now, frm=before, to=status)
    return before


def merge(session: Session, ws: int, source: int, target: int, *, by: str | None, now: dt.datetime) -> int:
    """Move every item of ``source`` (and of themes merged into it) to ``target``; ``source`` keeps
    its row, pointing at ``target``. Returns how many items moved."""
    t, i = m.FeedbackTheme, m.FeedbackItem
    moved = session.execute(
        update(i)
        .where(i.workspace_id == ws, i.theme_id == source)
        .values(theme_id=target)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(t)
        .where(t.workspace_id == ws, or_(t.id == source, t.merged_into_id == source))
        .values(merged_into_id=target)
        .execution_options(synchronize_session=False)
    )
    _event(session, ws, source, "merged", by=by, now=now, other=target)
    _event(session, ws, target, "absorbed", by=by, now=now, other=source)
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ThemeRow:
    id: int
    name: str
    status: str
    items: int
    accounts: int
    last_at: dt.datetime | None


def theme_list(session: Session, ws: int) -> list[ThemeRow]:
    """Live (not merged) themes with their item and account counts, by status then name."""
    t, i = m.FeedbackTheme, m.FeedbackItem
    counts = (
        select(
            i.theme_id,
            func.count().label("n_items"),
            func.count(func.distinct(i.account_id)).label("accounts"),
            func.max(i.logged_at).label("last_at"),
        )
        .where(i.workspace_id == ws, i.theme_id.is_not(None))
        .group_by(i.theme_id)
        .subquery()
    )
    order = case({s: n for n, s in enumerate(STATUSES)}, value=t.status)
    rows = session.execute(
        select(t.id, t.name, t.status, counts.c.n_items, counts.c.accounts, counts.c.last_at)
        .outerjoin(counts, counts.c.theme_id == t.id)
        .where(t.workspace_id == ws, t.merged_into_id.is_(None))
        .order_by(order, t.name_key)
    ).all()
    return [
        ThemeRow(r.id, r.name, r.status, int(r.n_items or 0), int(r.accounts or 0), _utc(r.last_at))
        for r in rows
    ]


def _utc(value: Any) -> dt.datetime | None:
    """An aggregate of a UTC column (max) read back as an aware UTC datetime on both databases."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def untriaged(session: Session, ws: int) -> int:
    i = m.FeedbackItem
    return int(session.scalar(select(func.count()).where(i.workspace_id == ws, i.theme_id.is_(None))) or 0)


# --- items -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedItem:
    id: int
    account_id: int
    account: str
    theme: str | None
    kind: str
    logged_by_slack: str | None
    logged_at: dt.datetime


def add_item(session: Session, ws: int, row: dict[str, Any]) -> tuple[LoggedItem, bool]:
    """Claim ``row["external_id"]`` and store the item; (the item, True) — or, when that message or
    record was logged before, (the item as it was logged, False) and nothing written."""
    new = insert_ignore(
        session, m.FeedbackItem, [{"workspace_id": ws, **row}], ["workspace_id", "external_id"]
    )
    found = item_by_external_id(session, ws, row["external_id"])
    assert found is not None
    return found, bool(new)


def item_by_external_id(session: Session, ws: int, external_id: str) -> LoggedItem | None:
    i, t = m.FeedbackItem, m.FeedbackTheme
    row = session.execute(
        select(i.id, i.account_id, m.Account.name, t.name, i.kind, i.logged_by_slack, i.logged_at)
        .join(m.Account, m.Account.id == i.account_id)
        .outerjoin(t, t.id == i.theme_id)
        .where(i.workspace_id == ws, i.external_id == external_id)
    ).first()
    return LoggedItem(*row) if row else None


def person_id(session: Session, ws: int, slack_user_id: str) -> int | None:
    return session.scalar(
        select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.slack_user_id == slack_user_id)
    )


def nps_comments(session: Session, ws: int, since: dt.datetime | None) -> list[Any]:
    """NPS responses with a comment not yet turned into feedback: (external_id, account_id, score,
    respondent_email, comment, responded_at)."""
    n, i = m.NpsResponse, m.FeedbackItem
    logged = select(i.external_id).where(i.workspace_id == ws, i.source == "nps")
    q = select(n.external_id, n.account_id, n.score, n.respondent_email, n.comment, n.responded_at).where(
        n.workspace_id == ws,
        n.comment.is_not(None),
        func.length(func.trim(n.comment)) > 0,
        ("nps:" + n.external_id).not_in(logged),
    )
    if since is not None:
        q = q.where(n.responded_at >= since)
    return list(session.execute(q.order_by(n.responded_at, n.external_id)))


def add_items(session: Session, ws: int, rows: Sequence[dict[str, Any]]) -> int:
    """Store many items at once, skipping those already claimed; returns how many are new."""
    return insert_ignore(
        session, m.FeedbackItem, [{"workspace_id": ws, **r} for r in rows], ["workspace_id", "external_id"]
    )


# --- theme suggestions: what the capture-time index is built from ----------------------------------


def version(session: Session, ws: int) -> tuple[int, tuple[int, str]]:
    """The latest item id (grows as items are added) and what identifies the themes' state: the latest
    theme event (every create, status change and merge writes one) with its theme's name, so that a
    database recreated with the same ids is not taken for the one before."""
    i, e, t = m.FeedbackItem, m.FeedbackThemeEvent, m.FeedbackTheme
    items = session.scalar(select(func.max(i.id)).where(i.workspace_id == ws)) or 0
    latest = session.execute(
        select(e.id, t.name)
        .join(t, t.id == e.theme_id)
        .where(
            e.workspace_id == ws, e.id == select(func.max(e.id)).where(e.workspace_id == ws).scalar_subquery()
        )
    ).first()
    return int(items), ((int(latest[0]), str(latest[1])) if latest else (0, ""))


def events_after(session: Session, ws: int, after_id: int) -> set[str]:
    """The kinds of theme events after ``after_id`` (a merge moves items; the others do not)."""
    e = m.FeedbackThemeEvent
    return set(session.scalars(select(e.event).where(e.workspace_id == ws, e.id > after_id).distinct()))


def suggestion_themes(session: Session, ws: int) -> list[tuple[int, str, str, int | None]]:
    """Every theme: (id, name, status, merged into)."""
    t = m.FeedbackTheme
    return [
        (r.id, r.name, r.status, r.merged_into_id)
        for r in session.execute(select(t.id, t.name, t.status, t.merged_into_id).where(t.workspace_id == ws))
    ]


def suggestion_items(session: Session, ws: int, after_id: int) -> list[tuple[int, int, str]]:
    """Themed items after ``after_id``: (id, theme_id, text)."""
    i = m.FeedbackItem
    rows = session.execute(
        select(i.id, i.theme_id, i.text)
        .where(i.workspace_id == ws, i.id > after_id, i.theme_id.is_not(None))
        .order_by(i.id)
    )
    return [(r.id, r.theme_id, r.text) for r in rows]


# --- guessing the account of a message ---------------------------------------------------------------


def accounts_named(
    session: Session, ws: int, names: Sequence[str], domains: Sequence[str]
) -> list[tuple[int, str]]:
    """Accounts whose lower-cased name is one of ``names``, or whose domain or CRM id is one of
    ``domains``: (id, name), by name."""
    if not names and not domains:
        return []
    a = m.Account
    conditions = []
    if names:
        conditions.append(a.name_key.in_(list(dict.fromkeys(names))))
    if domains:
        conditions.append(a.domain.in_(list(dict.fromkeys(domains))))
        conditions.append(func.lower(a.external_id).in_(list(dict.fromkeys(domains))))
    rows = session.execute(
        select(a.id, a.name).where(a.workspace_id == ws, or_(*conditions)).order_by(a.name_key).limit(20)
    )
    return [(r.id, r.name) for r in rows]


def accounts_starting(session: Session, ws: int, first_words: Sequence[str]) -> list[tuple[int, str]]:
    """Accounts whose name's first word is one of ``first_words`` ("acme" → Acme Corp, Acme Logistics):
    candidates to ask about, never taken on their own. (id, name), by name."""
    if not first_words:
        return []
    a = m.Account
    likes = [a.name_key.like(f"{_escape_like(w)} %", escape="\\") for w in dict.fromkeys(first_words)]
    rows = session.execute(
        select(a.id, a.name).where(a.workspace_id == ws, or_(*likes)).order_by(a.name_key).limit(10)
    )
    return [(r.id, r.name) for r in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def account_name(session: Session, ws: int, account_id: int) -> str | None:
    return session.scalar(
        select(m.Account.name).where(m.Account.workspace_id == ws, m.Account.id == account_id)
    )


# --- ranking -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedTheme:
    theme_id: int
    name: str
    status: str
    accounts: int
    items: int
    arr: Decimal
    arr_at_risk: Decimal
    accounts_at_risk: int
    renewals_90d: int
    last_4w: int
    prior_4w: int


# The triggers of expansion plays (services.policies.EXPAND_TRIGGERS; storage imports nothing of ours).
EXPANSION_TRIGGERS = ("first_value", "seats_full")


def at_risk_accounts(ws: int, session: Session) -> list[Select[Any]]:
    """One SELECT of account ids per reason an account is at risk; they are OR-ed (a UNION): an open
    risk flag, the red band on the latest snapshot day, or an open save play (docs/plays.md)."""
    flags, snap, play = m.RiskFlag, m.HealthSnapshot, m.Play
    latest_day = select(func.max(snap.day)).where(snap.workspace_id == ws).scalar_subquery()
    return [
        select(flags.account_id).where(flags.workspace_id == ws, flags.outcome == "open"),
        select(snap.account_id).where(snap.workspace_id == ws, snap.day == latest_day, snap.band == "red"),
        # An open save play (an expansion play — first value reached, seats nearly used up — is no risk).
        select(play.account_id).where(
            play.workspace_id == ws,
            play.state != "closed",
            or_(
                play.signal.is_(None),
                play.signal["trigger"].as_string().is_(None),
                play.signal["trigger"].as_string().not_in(EXPANSION_TRIGGERS),
            ),
        ),
    ]


def rank(
    session: Session,
    ws: int,
    *,
    now: dt.datetime,
    kind: str | None = None,
    segment: str | None = None,
    statuses: Sequence[str] = OPEN_STATUSES,
    limit: int = 20,
) -> list[RankedTheme]:
    """Themes by ARR at risk among the accounts asking, then their ARR, then how many ask. One pass
    over the items grouped by (theme, account), joined once to ARR (the latest complete month's MRR
    × 12), the at-risk set and the renewal dates; then grouped by theme."""
    i, a, s, t = m.FeedbackItem, m.Account, m.MrrSnapshot, m.FeedbackTheme
    today = now.date()
    recent, prior = now - dt.timedelta(days=TREND_DAYS), now - dt.timedelta(days=2 * TREND_DAYS)
    item_filter = [i.workspace_id == ws, i.theme_id.is_not(None)]
    if kind is not None:
        item_filter.append(i.kind == kind)
    pairs = (
        select(
            i.theme_id.label("theme_id"),
            i.account_id.label("account_id"),
            func.count().label("n_items"),
            func.sum(case((i.logged_at >= recent, 1), else_=0)).label("last_4w"),
            func.sum(case((and_(i.logged_at >= prior, i.logged_at < recent), 1), else_=0)).label("prior_4w"),
        )
        .where(*item_filter)
        .group_by(i.theme_id, i.account_id)
        .subquery("pairs")
    )
    # "Is the account at risk?" as IN (the union): a hashed set on PostgreSQL, an indexed ephemeral
    # table on SQLite — an outer join to the union made SQLite scan it once per (theme, account).
    at_risk = pairs.c.account_id.in_(union(*at_risk_accounts(ws, session)))
    month = latest_complete_month(today)
    cents = type_coerce(func.coalesce(s.mrr, 0), BigInteger())  # raw cents, summed exactly
    renewing = and_(a.renewal_on >= today, a.renewal_on <= today + dt.timedelta(days=RENEWAL_DAYS))
    account_filter = [a.workspace_id == ws]
    if segment is not None:
        account_filter.append(a.segment == segment)
    per_theme = (
        select(
            pairs.c.theme_id,
            func.count().label("accounts"),
            func.sum(pairs.c.n_items).label("n_items"),
            func.sum(cents).label("mrr"),
            func.sum(case((at_risk, cents), else_=0)).label("mrr_at_risk"),
            func.sum(case((at_risk, 1), else_=0)).label("accounts_at_risk"),
            func.sum(case((renewing, 1), else_=0)).label("renewals"),
            func.sum(pairs.c.last_4w).label("last_4w"),
            func.sum(pairs.c.prior_4w).label("prior_4w"),
        )
        .select_from(pairs)
        .join(a, a.id == pairs.c.account_id)
        # With the workspace, the join reads the covering (workspace, month, account, mrr) index alone.
        .outerjoin(s, and_(s.workspace_id == ws, s.month == month, s.account_id == pairs.c.account_id))
        .where(*account_filter)
        .group_by(pairs.c.theme_id)
        .subquery("per_theme")
    )
    rows = session.execute(
        select(t.id, t.name, t.status, per_theme)
        .join(per_theme, per_theme.c.theme_id == t.id)
        .where(t.workspace_id == ws, t.status.in_(list(statuses)), t.merged_into_id.is_(None))
        .order_by(
            per_theme.c.mrr_at_risk.desc(), per_theme.c.mrr.desc(), per_theme.c.accounts.desc(), t.name_key
        )
        .limit(limit)
    ).all()
    return [
        RankedTheme(
            r.id,
            r.name,
            r.status,
            int(r.accounts),
            int(r.n_items),
            _arr(r.mrr),
            _arr(r.mrr_at_risk),
            int(r.accounts_at_risk or 0),
            int(r.renewals or 0),
            int(r.last_4w or 0),
            int(r.prior_4w or 0),
        )
        for r in rows
    ]


def _arr(mrr_cents: Any) -> Decimal:
    """ARR from a sum of MRR in cents (the ``Money`` column's raw value)."""
    return (Decimal(int(mrr_cents or 0)) * 12 / 100).quantize(m.CENT)


# --- the voice-of-the-customer digest -----------------------------------------------------------------


def subscribe(
    session: Session, ws: int, channel_id: str, schedule: Schedule, *, by: str | None, now: dt.datetime
) -> m.FeedbackDigestSubscription:
    sub = m.FeedbackDigestSubscription
    tz = (
        schedule.timezone or session.scalar(select(m.Workspace.timezone).where(m.Workspace.id == ws)) or "UTC"
    )
    upsert(
        session,
        sub,
        [
            {
                "workspace_id": ws,
                "channel_id": channel_id,
                "weekday": schedule.weekday,
                "local_time": schedule.local_time,
                "timezone": tz,
                "segment": schedule.segment,
                "active": True,
                "problem": None,
                "created_by": by,
                "created_at": now,
            }
        ],
        ["workspace_id", "channel_id"],
        update=["weekday", "local_time", "timezone", "segment", "active", "problem"],
    )
    return session.scalars(select(sub).where(sub.workspace_id == ws, sub.channel_id == channel_id)).one()


def unsubscribe(session: Session, ws: int, channel_id: str) -> bool:
    sub = m.FeedbackDigestSubscription
    result = session.execute(delete(sub).where(sub.workspace_id == ws, sub.channel_id == channel_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def subscriptions(session: Session, ws: int) -> list[m.FeedbackDigestSubscription]:
    sub = m.FeedbackDigestSubscription
    return list(
        session.scalars(
            select(sub).where(sub.workspace_id == ws).order_by(sub.weekday, sub.local_time, sub.channel_id)
        )
    )


def active_subscriptions(session: Session) -> list[m.FeedbackDigestSubscription]:
    sub = m.FeedbackDigestSubscription
    return list(
        session.scalars(
            select(sub)
            .join(m.Workspace, m.Workspace.id == sub.workspace_id)
            .where(sub.active.is_(True), m.Workspace.disabled_reason.is_(None))
            .order_by(sub.id)
        )
    )


def pause_subscription(session: Session, ws: int, channel_id: str, problem: str) -> None:
    sub = m.FeedbackDigestSubscription
    session.execute(
        update(sub)
        .where(sub.workspace_id == ws, sub.channel_id == channel_id)
        .values(active=False, problem=problem)
    )


@dataclass(frozen=True)
class StatusChange:
    theme: str
    status_from: str | None
    status_to: str
    by: str | None
    at: dt.datetime


def new_themes(session: Session, ws: int, since: dt.datetime, until: dt.datetime) -> list[tuple[str, int]]:
    """Themes created in [since, until) and still live: (name, items)."""
    t, i = m.FeedbackTheme, m.FeedbackItem
    rows = session.execute(
        select(t.name, func.count(i.id))
        .outerjoin(i, and_(i.theme_id == t.id, i.workspace_id == ws))
        .where(t.workspace_id == ws, t.created_at >= since, t.created_at < until, t.merged_into_id.is_(None))
        .group_by(t.id, t.name)
        .order_by(func.count(i.id).desc(), t.name)
        .limit(20)
    )
    return [(name, int(n)) for name, n in rows]


def status_changes(session: Session, ws: int, since: dt.datetime, until: dt.datetime) -> list[StatusChange]:
    e, t = m.FeedbackThemeEvent, m.FeedbackTheme
    rows = session.execute(
        select(t.name, e.status_from, e.status_to, e.by, e.occurred_at)
        .join(t, t.id == e.theme_id)
        .where(e.workspace_id == ws, e.event == "status", e.occurred_at >= since, e.occurred_at < until)
        .order_by(e.occurred_at, e.id)
        .limit(30)
    )
    return [StatusChange(r[0], r[1], r[2] or "", r[3], r[4]) for r in rows]


def latest_texts(session: Session, ws: int, theme_ids: Sequence[int]) -> dict[int, str]:
    """The latest item text of each theme (a customer's words, for the digest's quote)."""
    if not theme_ids:
        return {}
    i = m.FeedbackItem
    latest = (
        select(i.theme_id, func.max(i.id).label("id"))
        .where(i.workspace_id == ws, i.theme_id.in_(list(theme_ids)))
        .group_by(i.theme_id)
        .subquery()
    )
    rows = session.execute(select(i.theme_id, i.text).join(latest, latest.c.id == i.id))
    return {int(tid): text for tid, text in rows if tid is not None}


# --- close the loop ------------------------------------------------------------------------------------


def shipped_since(session: Session, ws: int, since: dt.date) -> list[Theme]:
    t = m.FeedbackTheme
    rows = session.execute(
        _theme_select()
        .where(t.workspace_id == ws, t.status == SHIPPED, t.shipped_on >= since, t.merged_into_id.is_(None))
        .order_by(t.id)
    )
    return [_theme(r) for r in rows]


@dataclass(frozen=True)
class Asked:
    person_id: int
    slack_user_id: str | None
    person: str
    account: str
    kind: str
    text: str
    logged_at: dt.datetime


def asked_for(session: Session, ws: int, theme_id: int) -> list[Asked]:
    """For every item of the theme, each owner (CSM, AE) of its account: who to tell what was asked."""
    i, a, p = m.FeedbackItem, m.Account, m.Person
    out: list[Asked] = []
    for role in SHIPPED_ROLES:
        owner = aliased(p)
        rows = session.execute(
            select(owner.id, owner.slack_user_id, owner.name, a.name, i.kind, i.text, i.logged_at)
            .join(a, a.id == i.account_id)
            .join(owner, owner.id == getattr(a, role))
            .where(i.workspace_id == ws, i.theme_id == theme_id)
            .order_by(a.name_key, i.logged_at, i.id)
        )
        out += [Asked(*r) for r in rows]
    return out


def detect_shipped_wins(session: Session, ws: int, start: dt.date, end: dt.date, *, days: int) -> int:
    """A renewal or expansion won in [start, end] by an account that asked for a theme before it
    shipped, within ``days`` of the ship date: a shared win credited to product, engineering and the
    account's owners (once per theme and account: the external id is the claim)."""
    w, i, t, a = m.Win, m.FeedbackItem, m.FeedbackTheme, m.Account
    rows = session.execute(
        select(t.id, t.name, t.shipped_on, a.id, a.external_id, w.kind, w.won_on, w.amount, *OWNER_COLUMNS)
        .select_from(w)
        .join(a, a.id == w.account_id)
        .join(i, and_(i.workspace_id == ws, i.account_id == w.account_id))
        .join(t, t.id == i.theme_id)
        .where(
            w.workspace_id == ws,
            w.kind.in_(["renewal", "expansion"]),
            w.won_on >= start,
            w.won_on <= end,
            t.status == SHIPPED,
            t.shipped_on.is_not(None),
            w.won_on >= t.shipped_on,
            i.logged_at <= t.status_changed_at,
        )
        .distinct()
        .order_by(w.won_on, t.id, a.id)
    ).all()
    new = 0
    owners_team = dict(
        session.execute(select(m.Person.id, m.Person.team).where(m.Person.workspace_id == ws)).all()
    )
    for theme_id, name, shipped_on, account_id, ext, kind, won_on, amount, *owners in rows:
        if shipped_on is None or (won_on - shipped_on).days > days:
            continue
        people = [p for p in dict.fromkeys(owners) if p is not None]
        verb = "Renewed" if kind == "renewal" else "Expanded"
        teams = ["product", "engineering", *(owners_team[p] for p in people if p in owners_team)]
        new += record_win(
            session,
            ws,
            external_id=f"detected:shipped:{theme_id}:{ext}"[:64],
            account_id=account_id,
            text=f"{verb} {(won_on - shipped_on).days} days after “{name}” shipped, which they had asked for",
            won_on=won_on,
            recorded_by=None,
            people=people,
            teams=list(dict.fromkeys(teams)),
            kind="shipped",
            amount=amount,
            source=DETECTED,
        )
    return new
