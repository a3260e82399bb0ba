"""The import kinds: what each kind of record becomes in the database.

A ``Kind`` names its record model, target table, natural key, the references it resolves (accounts
by CRM id, people by e-mail) and the value columns it copies; an ``Extension`` adds what one flat
row cannot say (win credits, the feature catalogue, handoff due times). The engine that runs a batch
is ``storage.importer``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    except_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union,
    update,
)
from sqlalchemy.orm import Session

from storage import feedback, revenue_facts, sla_clock, stage_dates, usage_rollup, vocab
from storage import models as m
from storage import records as r
from storage.bulk import analyze_temp, refresh_statistics, rows_written, update_many
from storage.errors import MAX_LISTED_ERRORS, RecordError
from storage.upsert import dialect_insert


@dataclass(frozen=True)
class Ref:
    """A record field naming another row by its natural key, stored as that row's id."""

    field: str
    column: str
    table: Table
    key: str
    label: str
    late: bool = False  # may name a row of the same batch: resolved after the merge


@dataclass
class BatchContext:
    session: Session
    workspace_id: int
    kind: Kind
    stage: Table
    source: str
    meta: MetaData = field(default_factory=MetaData)
    temp_tables: list[Table] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    error_total: int = 0
    extension: Extension | None = None

    def create_temp(self, name: str, *columns: Column[Any]) -> Table:
        """A temporary table for this batch; the engine drops it when the batch succeeds (a failed
        batch's savepoint rollback undoes its creation), so no connection collects them."""
        table = temp_table(self.meta, f"{name}_{uuid.uuid4().hex[:8]}", *columns)
        table.create(self.session.connection())
        self.temp_tables.append(table)
        return table

    def analyze_stages(self) -> None:
        """Once every record is staged: statistics for the staging tables, which every later
        statement of the batch reads (see ``analyze_temp``)."""
        for table in self.temp_tables:
            analyze_temp(self.session.connection(), table)

    def add_errors(self, errors: Iterable[RecordError]) -> None:
        for err in errors:
            self.error_total += 1
            if len(self.errors) < MAX_LISTED_ERRORS:
                self.errors.append(err)


class Extension:
    """Per-kind work beyond one flat row (child rows, derived columns)."""

    def create(self, ctx: BatchContext) -> None: ...

    def stage(self, ctx: BatchContext, line: int, record: Any) -> None: ...

    def flush(self, ctx: BatchContext) -> None: ...

    def check(self, ctx: BatchContext) -> list[RecordError]:
        return []

    def extra_changed(self, ctx: BatchContext, resolved: Any) -> int:
        """How many rows otherwise unchanged this extension will change."""
        return 0

    def after_merge(self, ctx: BatchContext) -> None: ...


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[r.Record]
    table: Table
    key: tuple[str, ...]
    refs: tuple[Ref, ...]
    columns: tuple[str, ...]  # value columns copied from the record's fields of the same name
    summary: str
    derived: tuple[str, ...] = ()  # value columns computed from the record by ``derive``
    derive: Callable[[Any], dict[str, Any]] | None = None
    insert_only: tuple[str, ...] = ()
    # Columns an empty value does not clear: the stored value stays (a Slack id the bot linked by e-mail
    # survives re-importing a CRM export that has no Slack ids).
    keep_when_empty: tuple[str, ...] = ()
    extension: Callable[[], Extension] | None = None  # a fresh one per batch

    def stage_key(self) -> list[str]:
        """The natural key in staged (raw) terms."""
        by_column = {ref.column: ref.field for ref in self.refs}
        return [by_column.get(c, c) for c in self.key if c != "workspace_id"]

    @property
    def value_columns(self) -> list[str]:
        return [*self.columns, *self.derived]

    @property
    def fields(self) -> set[str]:
        return set(self.model.model_fields)


# --- the kinds -------------------------------------------------------------------------------------

A, P = m.Account.__table__, m.Person.__table__


def _account_ref() -> Ref:
    return Ref("account", "account_id", A, "external_id", "account")  # type: ignore[arg-type]


def _person_ref(field_name: str, column: str, *, late: bool = False) -> Ref:
    return Ref(field_name, column, P, "email", "person", late)  # type: ignore[arg-type]


class WinCredits(Extension):
    """Credited people and teams of each win, kept equal to what the batch says."""

    def create(self, ctx: BatchContext) -> None:
        self.table = ctx.create_temp(
            "stage_credits",
            Column("line", Integer),
            Column("external_id", String(64)),
            Column("person_email", String(254)),
            Column("team", String(32)),
        )
        self.rows: list[dict[str, Any]] = []

    def stage(self, ctx: BatchContext, line: int, record: r.WinRecord) -> None:
        for email in dict.fromkeys(record.credited_people):
            self.rows.append(
                {"line": line, "external_id": record.external_id, "person_email": email, "team": None}
            )
        for team in dict.fromkeys(record.credited_teams):
            self.rows.append(
                {"line": line, "external_id": record.external_id, "person_email": None, "team": team}
            )

    def flush(self, ctx: BatchContext) -> None:
        if self.rows:
            ctx.session.execute(insert(self.table), self.rows)
            self.rows = []

    def _people(self, ctx: BatchContext) -> Any:
        return P.alias("credit_person")

    def check(self, ctx: BatchContext) -> list[RecordError]:
        c, p = self.table, self._people(ctx)
        rows = ctx.session.execute(
            select(c.c.line, c.c.person_email)
            .select_from(
                c.outerjoin(p, and_(p.c.workspace_id == ctx.workspace_id, p.c.email == c.c.person_email))
            )
            .where(c.c.person_email.is_not(None), p.c.id.is_(None))
            .order_by(c.c.line)
            .limit(MAX_LISTED_ERRORS)
        )
        return [
            RecordError(line, "credited_people", f"unknown person {email!r} (import people first)")
            for line, email in rows
        ]

    def _wanted_people(self, ctx: BatchContext) -> Any:
        c, p = self.table, self._people(ctx)
        w = m.Win.__table__.alias("credit_win")
        return (
            select(w.c.id.label("win_id"), p.c.id.label("person_id"))
            .select_from(c)
            .join(w, and_(w.c.workspace_id == ctx.workspace_id, w.c.external_id == c.c.external_id))
            .join(p, and_(p.c.workspace_id == ctx.workspace_id, p.c.email == c.c.person_email))
        )

    def _wanted_teams(self, ctx: BatchContext) -> Any:
        c = self.table
        w = m.Win.__table__.alias("credit_win")
        return (
            select(w.c.id.label("win_id"), c.c.team)
            .select_from(c)
            .join(w, and_(w.c.workspace_id == ctx.workspace_id, w.c.external_id == c.c.external_id))
            .where(c.c.team.is_not(None))
        )

    def _staged_win_ids(self, ctx: BatchContext) -> Any:
        w = m.Win.__table__.alias("staged_win")
        return select(w.c.id).join(
            ctx.stage, and_(w.c.workspace_id == ctx.workspace_id, w.c.external_id == ctx.stage.c.external_id)
        )

    def _staged_credits(self, ctx: BatchContext) -> tuple[Any, Any]:
        """The credits the staged wins hold now: (win_id, person_id) and (win_id, team)."""
        cp, ct = _t(m.WinCreditPerson), _t(m.WinCreditTeam)
        staged = self._staged_win_ids(ctx)
        return (
            select(cp.c.win_id, cp.c.person_id).where(cp.c.win_id.in_(staged)),
            select(ct.c.win_id, ct.c.team).where(ct.c.win_id.in_(staged)),
        )

    def extra_changed(self, ctx: BatchContext, unchanged_ids: Any) -> int:
        # Set differences both ways (EXCEPT), each computed once for the batch: the wins whose credits
        # differ. (A correlated EXISTS per win re-ran the wanted-credits join per win: quadratic.)
        have_people, have_teams = self._staged_credits(ctx)
        want_people, want_teams = self._wanted_people(ctx), self._wanted_teams(ctx)
        differences = [
            except_(want_people, have_people),
            except_(have_people, want_people),
            except_(want_teams, have_teams),
            except_(have_teams, want_teams),
        ]
        parts = [select(d.c.win_id) for d in (diff.subquery() for diff in differences)]
        differ = union(*parts).subquery("credits_differ")
        q = select(func.count()).select_from(differ).where(differ.c.win_id.in_(unchanged_ids))
        return int(ctx.session.scalar(q) or 0)

    def after_merge(self, ctx: BatchContext) -> None:
        s = ctx.session
        cp, ct = _t(m.WinCreditPerson), _t(m.WinCreditTeam)
        wp, wt = self._wanted_people(ctx).subquery(), self._wanted_teams(ctx).subquery()
        # The credits no longer wanted, as one set difference (a NOT EXISTS per credit row re-ran the
        # wanted-credits join per row on SQLite: minutes at 50,000 accounts).
        have_people, have_teams = self._staged_credits(ctx)
        pair_people, pair_teams = tuple_(cp.c.win_id, cp.c.person_id), tuple_(ct.c.win_id, ct.c.team)
        drop_people = except_(have_people, self._wanted_people(ctx))
        drop_teams = except_(have_teams, self._wanted_teams(ctx))
        written_people = rows_written(s, delete(cp).where(pair_people.in_(drop_people)))
        written_teams = rows_written(s, delete(ct).where(pair_teams.in_(drop_teams)))
        # ON CONFLICT: another import of the same wins may have credited them since this one looked.
        written_people += rows_written(
            s,
            dialect_insert(s, cp)
            .from_select(
                ["workspace_id", "win_id", "person_id"],
                select(literal(ctx.workspace_id), wp.c.win_id, wp.c.person_id)
                .where(
                    ~exists(
                        select(cp.c.id).where(cp.c.win_id == wp.c.win_id, cp.c.person_id == wp.c.person_id)
                    )
                )
                .distinct(),
            )
            .on_conflict_do_nothing(index_elements=["win_id", "person_id"]),
        )
        written_teams += rows_written(
            s,
            dialect_insert(s, ct)
            .from_select(
                ["workspace_id", "win_id", "team"],
                select(literal(ctx.workspace_id), wt.c.win_id, wt.c.team)
                .where(~exists(select(ct.c.id).where(ct.c.win_id == wt.c.win_id, ct.c.team == wt.c.team)))
                .distinct(),
            )
            .on_conflict_do_nothing(index_elements=["win_id", "team"]),
        )
        refresh_statistics(s, cp, written_people)
        refresh_statistics(s, ct, written_teams)


DEFAULT_WARN_AT = 0.75  # an imported handoff's owner is warned when 75 % of its time is used


class HandoffDue(Extension):
    """Keep ``effective_due_at`` = ``due_at`` + finished pauses when an import moves ``due_at``, and tell
    the SLA sweep when to look at each imported handoff: at its warning time (``DEFAULT_WARN_AT`` of
    the time to its due time) before any warning, at its due time after one, never once done."""

    def after_merge(self, ctx: BatchContext) -> None:
        h, st = _t(m.Handoff), ctx.stage
        rows = ctx.session.execute(
            select(
                h.c.id,
                h.c.opened_at,
                h.c.due_at,
                h.c.paused_seconds,
                h.c.effective_due_at,
                h.c.completed_at,
                h.c.sla_stage,
                h.c.warn_at,
                h.c.next_check_at,
            )
            .select_from(st)
            .join(h, and_(h.c.workspace_id == ctx.workspace_id, h.c.external_id == st.c.external_id))
            .where(h.c.policy_key.is_(None))
        )
        changes = []
        for hid, opened, due, paused, effective, done, stage, warn, check in rows.all():
            wanted = due + dt.timedelta(seconds=paused or 0)
            new_warn = opened + (wanted - opened) * DEFAULT_WARN_AT
            if done is not None:
                new_check = None
            elif stage >= sla_clock.BREACHED:
                new_check = check  # escalation steps are policies' (an imported handoff has none)
            else:
                new_check = sla_clock.next_check(stage, new_warn, wanted, (), acknowledged=False)
            if (wanted, new_warn, new_check) != (effective, warn, check):
                changes.append((hid, wanted, new_warn, new_check))
        # One statement for all of them (a first import changes every row: one UPDATE each was 50,000).
        update_many(ctx.session, h, "id", ["effective_due_at", "warn_at", "next_check_at"], changes)


class FeatureCatalogueUpdate(Extension):
    """Keep the workspace's feature catalogue (first and last day each feature was seen) current."""

    def after_merge(self, ctx: BatchContext) -> None:
        st, fc = ctx.stage, m.FeatureCatalogue.__table__
        seen = ctx.session.execute(
            select(st.c.feature, func.min(st.c.day), func.max(st.c.day))
            .group_by(st.c.feature)
            .order_by(st.c.feature)  # rows locked in one order: imports at once wait, never deadlock
        ).all()
        if not seen:
            return
        # An upsert, not read-then-insert: another import may add the same feature at the same time.
        stmt = dialect_insert(ctx.session, fc)
        new, old = stmt.excluded, fc.c
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace_id", "feature"],
            set_={
                "first_seen": case((new.first_seen < old.first_seen, new.first_seen), else_=old.first_seen),
                "last_seen": case((new.last_seen > old.last_seen, new.last_seen), else_=old.last_seen),
            },
        )
        ctx.session.execute(
            stmt,
            [
                {"workspace_id": ctx.workspace_id, "feature": f, "first_seen": first, "last_seen": last}
                for f, first, last in seen
            ],
        )


class OnePlayOpen(Extension):
    """An imported open play may not meet another play of the same account and key that is not
    closed (one opened by a signal, by hand, or another line of the file): the import says which
    lines, and nothing is written.

    A file that still lists a play open does not undo what was done to it in the bot since: a play
    closed there (in Slack, or by an earlier file) keeps its close, outcome and note; one accepted or
    snoozed keeps that state. A file that closes the play is news, and is taken."""

    def check(self, ctx: BatchContext) -> list[RecordError]:
        self._keep_what_the_bot_did(ctx)
        return self._clashes(ctx)

    def _keep_what_the_bot_did(self, ctx: BatchContext) -> None:
        s, p = ctx.stage, _t(m.Play)

        def existing(column: Any) -> Any:
            return (
                select(column)
                .where(p.c.workspace_id == ctx.workspace_id, p.c.external_id == s.c.external_id)
                .scalar_subquery()
            )

        was = existing(p.c.state)
        listed_open = s.c.closed_at.is_(None)
        ctx.session.execute(
            update(s)
            .where(listed_open, was == "closed")
            .values(
                state="closed",
                open_key=None,
                closed_at=existing(p.c.closed_at),
                outcome=existing(p.c.outcome),
                note=func.coalesce(s.c.note, existing(p.c.note)),
            )
        )
        ctx.session.execute(update(s).where(listed_open, was.in_(("accepted", "snoozed"))).values(state=was))

    def _clashes(self, ctx: BatchContext) -> list[RecordError]:
        s, p = ctx.stage, _t(m.Play)
        a = A.alias("play_account")
        open_rows = s.c.open_key.is_not(None)
        clash = ctx.session.execute(
            select(s.c.line, s.c.account, s.c.play_key, p.c.external_id)
            .select_from(
                s.join(a, and_(a.c.workspace_id == ctx.workspace_id, a.c.external_id == s.c.account)).join(
                    p,
                    and_(
                        p.c.workspace_id == ctx.workspace_id,
                        p.c.account_id == a.c.id,
                        p.c.open_key == s.c.open_key,
                    ),
                )
            )
            .where(open_rows, p.c.external_id.is_distinct_from(s.c.external_id))
            .order_by(s.c.line)
            .limit(MAX_LISTED_ERRORS)
        ).all()
        errors = [
            RecordError(
                line,
                "play",
                f"account {account!r} already has an open {key} play"
                + (
                    f" ({other})"
                    if other
                    else " (opened in the bot: close it there, or import this one closed)"
                ),
            )
            for line, account, key, other in clash
        ]
        twice = ctx.session.execute(
            select(func.min(s.c.line), func.max(s.c.line), s.c.account, s.c.play_key)
            .where(open_rows)
            .group_by(s.c.account, s.c.play_key)
            .having(func.count() > 1)
            .order_by(func.min(s.c.line))
            .limit(MAX_LISTED_ERRORS)
        ).all()
        errors += [
            RecordError(last, "play", f"a second open {key} play for account {account!r} (line {first})")
            for first, last, account, key in twice
        ]
        return errors


def _play_columns(rec: r.PlayRecord) -> dict[str, Any]:
    is_open = rec.closed_at is None
    return {
        "play_key": rec.play,
        "open_key": rec.play if is_open else None,
        "state": "open" if is_open else "closed",
        "source": "import",
    }


class RevenueFactsUpdate(Extension):
    """Keep the revenue facts (``storage.revenue_facts``) of the accounts a revenue batch names in line
    with their MRR, so the revenue KPIs read kept facts instead of scanning every account's months."""

    def after_merge(self, ctx: BatchContext) -> None:
        a, st = A.alias("facts_account"), ctx.stage
        staged = (
            select(a.c.id)
            .select_from(st)
            .join(a, and_(a.c.workspace_id == ctx.workspace_id, a.c.external_id == st.c.account))
            .distinct()
        )
        revenue_facts.refresh(ctx.session, ctx.workspace_id, staged)


class UsageRunningTotals(Extension):
    """Keep the running totals of the usage rows (``storage.usage_rollup``) in line: for each account
    the batch names, its rows from the earliest day the batch names on (a new day, or a day re-imported
    with a new value, moves the totals of every later day)."""

    def check(self, ctx: BatchContext) -> list[RecordError]:
        # Before the merge: usage batches of a workspace take turns (``usage_rollup.serialise``), so
        # a batch's totals are computed over every row the batches before it wrote.
        usage_rollup.serialise(ctx.session, ctx.workspace_id)
        return []

    def after_merge(self, ctx: BatchContext) -> None:
        a, st = A.alias("usage_account"), ctx.stage
        staged = (
            select(a.c.id, st.c.day)
            .select_from(st)
            .join(a, and_(a.c.workspace_id == ctx.workspace_id, a.c.external_id == st.c.account))
        )
        usage_rollup.refresh(ctx.session, ctx.workspace_id, staged)


class StageDatesUpdate(Extension):
    """Keep the lifecycle stage dates (``storage.stage_dates``) of the accounts a batch touches in line
    with their closed/won date, milestones, wins and NPS responses: the accounts the batch names and,
    for a record that moved to another account, the one it left."""

    def create(self, ctx: BatchContext) -> None:
        self.moved_from: list[int] = []

    def check(self, ctx: BatchContext) -> list[RecordError]:
        # Before the merge: the accounts that staged records (a win, a response) belong to now, where
        # the batch moves them to another account.
        t, st, a = ctx.kind.table, ctx.stage, A.alias("stage_dates_account")
        if "external_id" in ctx.kind.key and "account_id" in t.c:
            same = and_(t.c.workspace_id == ctx.workspace_id, t.c.external_id == st.c.external_id)
            named = and_(a.c.workspace_id == ctx.workspace_id, a.c.external_id == st.c.account)
            self.moved_from = list(
                ctx.session.scalars(
                    select(t.c.account_id)
                    .select_from(st.join(t, same).outerjoin(a, named))
                    .where(t.c.account_id.is_distinct_from(a.c.id))
                    .distinct()
                )
            )
        return []

    def after_merge(self, ctx: BatchContext) -> None:
        a, st = A.alias("stage_dates_account"), ctx.stage
        named = st.c.external_id if ctx.kind.table is A else st.c.account
        staged = (
            select(a.c.id)
            .select_from(st)
            .join(a, and_(a.c.workspace_id == ctx.workspace_id, a.c.external_id == named))
            .distinct()
        )
        stage_dates.refresh(ctx.session, ctx.workspace_id, staged)
        if self.moved_from:
            stage_dates.refresh(ctx.session, ctx.workspace_id, self.moved_from)


class Extensions(Extension):
    """Several extensions on one kind, run in order."""

    def __init__(self, *parts: Extension) -> None:
        self.parts = parts

    def create(self, ctx: BatchContext) -> None:
        for part in self.parts:
            part.create(ctx)

    def stage(self, ctx: BatchContext, line: int, record: Any) -> None:
        for part in self.parts:
            part.stage(ctx, line, record)

    def flush(self, ctx: BatchContext) -> None:
        for part in self.parts:
            part.flush(ctx)

    def check(self, ctx: BatchContext) -> list[RecordError]:
        return [error for part in self.parts for error in part.check(ctx)]

    def extra_changed(self, ctx: BatchContext, resolved: Any) -> int:
        return sum(part.extra_changed(ctx, resolved) for part in self.parts)

    def after_merge(self, ctx: BatchContext) -> None:
        for part in self.parts:
            part.after_merge(ctx)


def _wins_extensions() -> Extension:
    return Extensions(WinCredits(), StageDatesUpdate())


class FeedbackThemes(Extension):
    """Each imported item's theme, by name: missing themes are created (status new, first heard at the
    earliest item naming them), a merged theme's name leads to the theme it went into, and the items
    are pointed at them. An empty theme leaves the item's theme as it is."""

    def create(self, ctx: BatchContext) -> None:
        self.table = ctx.create_temp(
            "stage_themes",
            Column("line", Integer),
            Column("external_id", String(64)),
            Column("theme_key", String(80)),
            Column("theme_name", String(80)),
        )
        self.rows: list[dict[str, Any]] = []
        self.wanted: dict[str, int] | None = None

    def stage(self, ctx: BatchContext, line: int, record: r.FeedbackRecord) -> None:
        if record.theme is not None:
            self.rows.append(
                {
                    "line": line,
                    "external_id": record.external_id,
                    "theme_key": feedback.theme_key(record.theme),
                    "theme_name": feedback.theme_name(record.theme),
                }
            )

    def flush(self, ctx: BatchContext) -> None:
        if self.rows:
            ctx.session.execute(insert(self.table), self.rows)
            self.rows = []

    def _wanted(self, ctx: BatchContext) -> dict[str, int]:
        """Each staged theme key → the live theme it names, creating the missing ones (once a batch)."""
        if self.wanted is None:
            s, st, stage = ctx.session, self.table, ctx.stage
            named = s.execute(
                select(st.c.theme_key, func.min(st.c.theme_name), func.min(stage.c.logged_at))
                .join(stage, stage.c.line == st.c.line)
                .group_by(st.c.theme_key)
                .order_by(st.c.theme_key)
            ).all()
            self.wanted = {
                key: feedback.ensure_theme(s, ctx.workspace_id, name, by="import", now=first)[0].id
                for key, name, first in named
            }
        return self.wanted

    def _target(self, ctx: BatchContext) -> Any:
        wanted = self._wanted(ctx)
        return case(wanted, value=self.table.c.theme_key, else_=None) if wanted else None

    def extra_changed(self, ctx: BatchContext, unchanged_ids: Any) -> int:
        t, st = _t(m.FeedbackItem), self.table
        target = self._target(ctx)
        if target is None:
            return 0
        differ = (
            select(func.count())
            .select_from(st)
            .join(t, and_(t.c.workspace_id == ctx.workspace_id, t.c.external_id == st.c.external_id))
            .where(t.c.id.in_(unchanged_ids), or_(t.c.theme_id.is_(None), t.c.theme_id != target))
        )
        return int(ctx.session.scalar(differ) or 0)

    def after_merge(self, ctx: BatchContext) -> None:
        t, st = _t(m.FeedbackItem), self.table
        for key, theme_id in self._wanted(ctx).items():
            ctx.session.execute(
                update(t)
                .where(
                    t.c.workspace_id == ctx.workspace_id,
                    t.c.external_id.in_(select(st.c.external_id).where(st.c.theme_key == key)),
                    or_(t.c.theme_id.is_(None), t.c.theme_id != theme_id),
                )
                .values(theme_id=theme_id)
            )


def _name_key(rec: r.AccountRecord) -> dict[str, Any]:
    return {"name_key": rec.name.lower()}


def _effective_due(rec: r.HandoffRecord) -> dict[str, Any]:
    return {"effective_due_at": rec.due_at}


def _t(model: type[m.Base]) -> Table:
    return m.table(model)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "people",
            r.PersonRecord,
            _t(m.Person),
            ("workspace_id", "email"),
            (_person_ref("manager_email", "manager_id", late=True),),
            ("email", "name", "team", "slack_user_id", "timezone"),
            "e-mail, name, team, Slack user id, manager, time zone",
            keep_when_empty=("slack_user_id",),
        ),
        Kind(
            "accounts",
            r.AccountRecord,
            _t(m.Account),
            ("workspace_id", "external_id"),
            tuple(_person_ref(f"{role}_email", f"{role}_id") for role in vocab.OWNER_ROLES),
            (
                "external_id",
                "name",
                "domain",
                "segment",
                "plan",
                "stage",
                "closed_won_on",
                "renewal_on",
                "crm_url",
                "source",
                "campaign",
            ),
            "CRM id, name, domain, segment, stage, dates, owners by role, source and campaign",
            derived=("name_key",),
            derive=_name_key,
            extension=StageDatesUpdate,  # closed_won_on
        ),
        Kind(
            "revenue",
            r.RevenueRecord,
            _t(m.MrrSnapshot),
            ("account_id", "month"),
            (_account_ref(),),
            ("month", "mrr"),
            "monthly recurring revenue per account per month",
            extension=RevenueFactsUpdate,
        ),
        Kind(
            "usage",
            r.UsageRecord,
            _t(m.UsageDaily),
            ("account_id", "day"),
            (_account_ref(),),
            ("day", "active_users", "licensed_seats"),
            "daily active users and licensed seats",
            extension=UsageRunningTotals,
        ),
        Kind(
            "features",
            r.FeatureUsageRecord,
            _t(m.FeatureUsage),
            ("account_id", "day", "feature"),
            (_account_ref(),),
            ("day", "feature", "active_users"),
            "daily active users per feature",
            extension=FeatureCatalogueUpdate,
        ),
        Kind(
            "tickets",
            r.TicketRecord,
            _t(m.Ticket),
            ("workspace_id", "external_id"),
            (_account_ref(),),
            ("external_id", "opened_at", "closed_at", "priority", "csat"),
            "support tickets",
        ),
        Kind(
            "touchpoints",
            r.TouchpointRecord,
            _t(m.Touchpoint),
            ("workspace_id", "external_id"),
            (_account_ref(), _person_ref("person_email", "person_id")),
            ("external_id", "kind", "occurred_at", "notes"),
            "QBR/EBR, executive meetings, calls",
        ),
        Kind(
            "nps",
            r.NpsRecord,
            _t(m.NpsResponse),
            ("workspace_id", "external_id"),
            (_account_ref(),),
            ("external_id", "responded_at", "score", "respondent_email", "comment"),
            "NPS responses",
            extension=StageDatesUpdate,  # promoters make adopted accounts champions
        ),
        Kind(
            "milestones",
            r.MilestoneRecord,
            _t(m.Milestone),
            ("account_id", "kind"),
            (_account_ref(),),
            ("kind", "target_on", "achieved_on"),
            "value milestones: target and achieved dates",
            extension=StageDatesUpdate,
        ),
        Kind(
            "risk_flags",
            r.RiskFlagRecord,
            _t(m.RiskFlag),
            ("workspace_id", "external_id"),
            (_account_ref(), _person_ref("owner_email", "owner_id")),
            ("external_id", "flagged_on", "reason", "outcome", "resolved_on"),
            "risk flags and save plays",
        ),
        Kind(
            "handoffs",
            r.HandoffRecord,
            _t(m.Handoff),
            ("workspace_id", "external_id"),
            (_account_ref(), _person_ref("owner_email", "owner_id")),
            ("external_id", "kind", "from_team", "to_team", "opened_at", "due_at", "completed_at"),
            "handoffs between teams with their due times",
            derived=("effective_due_at",),
            derive=_effective_due,
            insert_only=("effective_due_at",),
            extension=HandoffDue,
        ),
        Kind(
            "wins",
            r.WinRecord,
            _t(m.Win),
            ("workspace_id", "external_id"),
            (_account_ref(), _person_ref("recorded_by_email", "recorded_by_id")),
            ("external_id", "kind", "text", "amount", "won_on"),
            "shared wins with credited people and teams",
            extension=_wins_extensions,  # credits; advocacy wins make adopted accounts champions
        ),
        Kind(
            "plays",
            r.PlayRecord,
            _t(m.Play),
            ("workspace_id", "external_id"),
            (_account_ref(), _person_ref("owner_email", "owner_id")),
            ("external_id", "owner_role", "opened_at", "due_at", "closed_at", "outcome", "note"),
            "plays run elsewhere (CRM tasks): open, or closed with their outcome",
            derived=("play_key", "open_key", "state", "source"),
            derive=_play_columns,
            extension=OnePlayOpen,
        ),
        Kind(
            "feedback",
            r.FeedbackRecord,
            _t(m.FeedbackItem),
            ("workspace_id", "external_id"),
            (_account_ref(), _person_ref("logged_by_email", "logged_by_id")),
            ("external_id", "kind", "text", "importance", "contact", "source", "link", "logged_at"),
            "customer feedback (helpdesk tags, call recordings, surveys) with its theme",
            extension=FeedbackThemes,
        ),
    )
}


# --- the engine ------------------------------------------------------------------------------------


def temp_table(meta: MetaData, name: str, *columns: Column[Any]) -> Table:
    """A temporary table: per connection on SQLite, dropped at commit on PostgreSQL."""
    return Table(name, meta, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
