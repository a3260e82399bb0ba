"""Import: stream validated records into a temporary staging table, then check and merge in SQL.

Why staging: memory stays flat whatever the file size; references (accounts by CRM id, people by
e-mail), duplicate keys and the inserted/updated/unchanged counts are all answered by set-based SQL;
and the whole batch runs inside one SAVEPOINT, so a rejected batch writes nothing.
Re-sending the same records changes nothing (rows are compared null-safely before they are updated).
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from storage import models as m
from storage import records as r
from storage import vocab
from storage.errors import MAX_LISTED_ERRORS, ImportFailed, RecordError, validation_errors
from storage.readers import RawRecord, detect_format, open_records

BATCH = 10_000
ANALYZE_AFTER = 10_000  # rows written by one import before the table's statistics are refreshed


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
class ImportResult:
    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class _Ctx:
    session: Session
    workspace_id: int
    kind: Kind
    stage: Table
    source: str
    meta: MetaData = field(default_factory=MetaData)
    errors: list[RecordError] = field(default_factory=list)
    error_total: int = 0
    extension: Extension | None = None

    def add_errors(self, errors: Iterable[RecordError]) -> None:
        for err in errors:
            self.error_total += 1
            if len(self.errors) < MAX_LISTED_ERRORS:
                self.errors.append(err)


class Extension:
    """Per-kind work beyond one flat row (child rows, derived columns)."""

    def create(self, ctx: _Ctx) -> None: ...

    def stage(self, ctx: _Ctx, line: int, record: Any) -> None: ...

    def flush(self, ctx: _Ctx) -> None: ...

    def check(self, ctx: _Ctx) -> list[RecordError]:
        return []

    def extra_changed(self, ctx: _Ctx, resolved: Any) -> int:
        """How many rows otherwise unchanged this extension will change."""
        return 0

    def after_merge(self, ctx: _Ctx) -> None: ...


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

    def create(self, ctx: _Ctx) -> None:
        name = f"stage_credits_{uuid.uuid4().hex[:8]}"
        self.table = _temp_table(
            ctx.meta,
            name,
            Column("line", Integer),
            Column("external_id", String(64)),
            Column("person_email", String(254)),
            Column("team", String(32)),
        )
        self.table.create(ctx.session.connection())
        self.rows: list[dict[str, Any]] = []

    def stage(self, ctx: _Ctx, line: int, record: r.WinRecord) -> None:
        for email in dict.fromkeys(record.credited_people):
            self.rows.append(
                {"line": line, "external_id": record.external_id, "person_email": email, "team": None}
            )
        for team in dict.fromkeys(record.credited_teams):
            self.rows.append(
                {"line": line, "external_id": record.external_id, "person_email": None, "team": team}
            )

    def flush(self, ctx: _Ctx) -> None:
        if self.rows:
            ctx.session.execute(insert(self.table), self.rows)
            self.rows = []

    def _people(self, ctx: _Ctx) -> Any:
        return P.alias("credit_person")

    def check(self, ctx: _Ctx) -> list[RecordError]:
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

    def _wanted_people(self, ctx: _Ctx) -> Any:
        c, p = self.table, self._people(ctx)
        w = m.Win.__table__.alias("credit_win")
        return (
            select(w.c.id.label("win_id"), p.c.id.label("person_id"))
            .select_from(c)
            .join(w, and_(w.c.workspace_id == ctx.workspace_id, w.c.external_id == c.c.external_id))
            .join(p, and_(p.c.workspace_id == ctx.workspace_id, p.c.email == c.c.person_email))
        )

    def _wanted_teams(self, ctx: _Ctx) -> Any:
        c = self.table
        w = m.Win.__table__.alias("credit_win")
        return (
            select(w.c.id.label("win_id"), c.c.team)
            .select_from(c)
            .join(w, and_(w.c.workspace_id == ctx.workspace_id, w.c.external_id == c.c.external_id))
            .where(c.c.team.is_not(None))
        )

    def _staged_win_ids(self, ctx: _Ctx) -> Any:
        w = m.Win.__table__.alias("staged_win")
        return select(w.c.id).join(
            ctx.stage, and_(w.c.workspace_id == ctx.workspace_id, w.c.external_id == ctx.stage.c.external_id)
        )

    def _credit_diff_exists(self, ctx: _Ctx, win_id: Any) -> ColumnElement[bool]:
        cp, ct = m.WinCreditPerson.__table__, m.WinCreditTeam.__table__
        wp, wt = self._wanted_people(ctx).subquery(), self._wanted_teams(ctx).subquery()
        return or_(
            exists(
                wp.select().where(
                    wp.c.win_id == win_id,
                    ~exists(select(cp.c.id).where(cp.c.win_id == win_id, cp.c.person_id == wp.c.person_id)),
                )
            ),
            exists(
                wt.select().where(
                    wt.c.win_id == win_id,
                    ~exists(select(ct.c.id).where(ct.c.win_id == win_id, ct.c.team == wt.c.team)),
                )
            ),
            exists(
                select(cp.c.id).where(
                    cp.c.win_id == win_id,
                    ~exists(wp.select().where(wp.c.win_id == win_id, wp.c.person_id == cp.c.person_id)),
                )
            ),
            exists(
                select(ct.c.id).where(
                    ct.c.win_id == win_id,
                    ~exists(wt.select().where(wt.c.win_id == win_id, wt.c.team == ct.c.team)),
                )
            ),
        )

    def extra_changed(self, ctx: _Ctx, unchanged_ids: Any) -> int:
        w = m.Win.__table__.alias("same_win")
        q = (
            select(func.count())
            .select_from(w)
            .where(w.c.id.in_(unchanged_ids), self._credit_diff_exists(ctx, w.c.id))
        )
        return int(ctx.session.scalar(q) or 0)

    def after_merge(self, ctx: _Ctx) -> None:
        s = ctx.session
        cp, ct = m.WinCreditPerson.__table__, m.WinCreditTeam.__table__
        staged = self._staged_win_ids(ctx)
        wp, wt = self._wanted_people(ctx).subquery(), self._wanted_teams(ctx).subquery()
        s.execute(
            delete(cp).where(
                cp.c.win_id.in_(staged),
                ~exists(wp.select().where(wp.c.win_id == cp.c.win_id, wp.c.person_id == cp.c.person_id)),
            )
        )
        s.execute(
            delete(ct).where(
                ct.c.win_id.in_(staged),
                ~exists(wt.select().where(wt.c.win_id == ct.c.win_id, wt.c.team == ct.c.team)),
            )
        )
        s.execute(
            insert(cp).from_select(
                ["workspace_id", "win_id", "person_id"],
                select(literal(ctx.workspace_id), wp.c.win_id, wp.c.person_id)
                .where(
                    ~exists(
                        select(cp.c.id).where(cp.c.win_id == wp.c.win_id, cp.c.person_id == wp.c.person_id)
                    )
                )
                .distinct(),
            )
        )
        s.execute(
            insert(ct).from_select(
                ["workspace_id", "win_id", "team"],
                select(literal(ctx.workspace_id), wt.c.win_id, wt.c.team)
                .where(~exists(select(ct.c.id).where(ct.c.win_id == wt.c.win_id, ct.c.team == wt.c.team)))
                .distinct(),
            )
        )


class HandoffDue(Extension):
    """Keep ``effective_due_at`` = ``due_at`` + finished pauses when an import moves ``due_at``."""

    def after_merge(self, ctx: _Ctx) -> None:
        h = m.Handoff.__table__
        rows = ctx.session.execute(
            select(h.c.id, h.c.due_at, h.c.paused_seconds, h.c.effective_due_at).where(
                h.c.workspace_id == ctx.workspace_id,
                h.c.external_id.in_(select(ctx.stage.c.external_id)),
            )
        )
        for hid, due, paused, effective in rows.all():
            wanted = due + dt.timedelta(seconds=paused or 0)
            if wanted != effective:
                ctx.session.execute(update(h).where(h.c.id == hid).values(effective_due_at=wanted))


class FeatureCatalogueUpdate(Extension):
    """Keep the workspace's feature catalogue (first and last day each feature was seen) current."""

    def after_merge(self, ctx: _Ctx) -> None:
        st, fc = ctx.stage, m.FeatureCatalogue
        seen = ctx.session.execute(
            select(st.c.feature, func.min(st.c.day), func.max(st.c.day)).group_by(st.c.feature)
        ).all()
        known = {
            row.feature: row
            for row in ctx.session.scalars(
                select(fc).where(fc.workspace_id == ctx.workspace_id, fc.feature.in_([f for f, _, _ in seen]))
            )
        }
        for feature, first, last in seen:
            row = known.get(feature)
            if row is None:
                ctx.session.add(
                    fc(workspace_id=ctx.workspace_id, feature=feature, first_seen=first, last_seen=last)
                )
            else:
                row.first_seen, row.last_seen = min(row.first_seen, first), max(row.last_seen, last)
        ctx.session.flush()


def _name_key(rec: r.AccountRecord) -> dict[str, Any]:
    return {"name_key": rec.name.lower()}


def _effective_due(rec: r.HandoffRecord) -> dict[str, Any]:
    return {"effective_due_at": rec.due_at}


def _t(model: type[m.Base]) -> Table:
    return model.__table__  # type: ignore[return-value]


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
            "people: e-mail, name, team, Slack user id, manager, time zone",
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
            ),
            "accounts: CRM id, name, domain, segment, stage, dates, owners",
            derived=("name_key",),
            derive=_name_key,
        ),
        Kind(
            "revenue",
            r.RevenueRecord,
            _t(m.MrrSnapshot),
            ("account_id", "month"),
            (_account_ref(),),
            ("month", "mrr"),
            "monthly recurring revenue per account per month",
        ),
        Kind(
            "usage",
            r.UsageRecord,
            _t(m.UsageDaily),
            ("account_id", "day"),
            (_account_ref(),),
            ("day", "active_users", "licensed_seats"),
            "daily active users and licensed seats",
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
        ),
        Kind(
            "milestones",
            r.MilestoneRecord,
            _t(m.Milestone),
            ("account_id", "kind"),
            (_account_ref(),),
            ("kind", "target_on", "achieved_on"),
            "value milestones: target and achieved dates",
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
            extension=WinCredits,
        ),
    )
}


# --- the engine ------------------------------------------------------------------------------------


def _temp_table(meta: MetaData, name: str, *columns: Column[Any]) -> Table:
    return Table(name, meta, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _stage_columns(kind: Kind, value_cols: list[str]) -> list[Column[Any]]:
    cols: list[Column[Any]] = [Column("line", Integer)]
    cols += [Column(ref.field, String(254)) for ref in kind.refs]
    cols += [Column(name, kind.table.c[name].type) for name in value_cols]
    return cols


def import_records(
    session: Session,
    workspace_id: int,
    kind_name: str,
    items: Iterable[RawRecord],
    *,
    source: str = "records",
    on_phase: Callable[[str], None] | None = None,
) -> ImportResult:
    """Validate and merge ``items`` ((line, raw dict, read error) triples) as one all-or-nothing batch.

    Raises ``ImportFailed`` listing every problem; the caller's transaction is left as it was.
    ``on_phase`` hears when reading ends and the set-based checks and the merge begin.
    """
    kind = KINDS[kind_name]
    with session.begin_nested():
        return _run(session, workspace_id, kind, iter(items), source, on_phase or (lambda _: None))


def import_file(
    session: Session,
    workspace_id: int,
    kind_name: str,
    path: Path,
    *,
    fmt: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> ImportResult:
    kind = KINDS[kind_name]
    items = open_records(path, fmt or detect_format(path), kind.fields, on_progress)
    return import_records(session, workspace_id, kind_name, items, source=str(path), on_phase=on_phase)


def _run(
    session: Session,
    ws: int,
    kind: Kind,
    items: Iterator[RawRecord],
    source: str,
    on_phase: Callable[[str], None],
) -> ImportResult:
    value_cols = kind.value_columns
    ctx_meta = MetaData()
    name = f"stage_{kind.name}_{uuid.uuid4().hex[:8]}"
    stage = _temp_table(ctx_meta, name, *_stage_columns(kind, value_cols))
    stage.create(session.connection())
    ctx = _Ctx(session, ws, kind, stage, source, ctx_meta)
    ext = kind.extension() if kind.extension else None
    ctx.extension = ext
    if ext:
        ext.create(ctx)

    fields = [*(ref.field for ref in kind.refs), *kind.columns]
    get = operator.attrgetter(*fields)
    single = len(fields) == 1
    validate, derive = kind.model.model_validate, kind.derive
    writer = _StageWriter(session, stage)
    batch: list[tuple[Any, ...]] = []
    for line, raw, read_error in items:
        if read_error is not None:
            ctx.add_errors([read_error])
            continue
        try:
            rec = validate(raw)
        except ValidationError as exc:
            ctx.add_errors(validation_errors(line, exc))
            continue
        # In stage column order: line, references, value columns, derived columns.
        values = (get(rec),) if single else get(rec)
        if derive:
            values += tuple(derive(rec).values())
        batch.append((line, *values))
        if ext:
            ext.stage(ctx, line, rec)
        if len(batch) >= BATCH:
            writer.write(batch)
            batch = []
            if ext:
                ext.flush(ctx)
    if batch:
        writer.write(batch)
        if ext:
            ext.flush(ctx)
    writer.analyze()
    on_phase("checking references and duplicates")

    # The valid records are all staged (even when others failed), so one run reports every problem.
    ctx.add_errors(_duplicate_errors(ctx))
    for ref in kind.refs:
        if not ref.late:
            ctx.add_errors(_unknown_ref_errors(ctx, ref))
    if ext:
        ctx.add_errors(ext.check(ctx))
    if ctx.error_total:
        raise ImportFailed(source, ctx.errors, ctx.error_total)

    on_phase("merging")
    result = _merge(ctx, value_cols)

    for ref in kind.refs:
        if ref.late:
            ctx.add_errors(_unknown_ref_errors(ctx, ref))
    if ctx.error_total:
        raise ImportFailed(source, ctx.errors, ctx.error_total)
    session.execute(stage.delete())  # SQLite keeps temp tables per connection: leave them empty
    return result


class _StageWriter:
    """Bulk-load staged rows below the ORM: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    Values still go through each column type's bind processor, so dates, times and money are
    stored exactly as SQLAlchemy stores them in the real tables (the merge compares them as-is).
    """

    def __init__(self, session: Session, table: Table) -> None:
        self.conn = session.connection()
        dialect = self.conn.dialect
        self.table = table
        self.postgres = dialect.name == "postgresql"
        self.processors = [
            (i, proc) for i, col in enumerate(table.c) if (proc := col.type._cached_bind_processor(dialect))
        ]
        names = ", ".join(c.name for c in table.c)
        self.sql = (
            f"COPY {table.name} ({names}) FROM STDIN"
            if self.postgres
            else f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(table.c))})"  # noqa: S608
        )

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if self.processors:
            converted = []
            for row in rows:
                values = list(row)
                for i, proc in self.processors:
                    values[i] = proc(values[i])
                converted.append(values)
            rows = converted  # type: ignore[assignment]
        dbapi = self.conn.connection.driver_connection
        if self.postgres:
            with dbapi.cursor() as cur, cur.copy(self.sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        else:
            cur = dbapi.cursor()  # type: ignore[union-attr]
            cur.executemany(self.sql, rows)
            cur.close()

    def analyze(self) -> None:
        # Temporary tables have no statistics until analysed; PostgreSQL plans the merge on them.
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {self.table.name}")


def _duplicate_errors(ctx: _Ctx) -> list[RecordError]:
    s = ctx.stage
    key = [s.c[c] for c in ctx.kind.stage_key()]
    q = (
        select(func.min(s.c.line), func.max(s.c.line), func.count())
        .group_by(*key)
        .having(func.count() > 1)
        .order_by(func.min(s.c.line))
        .limit(MAX_LISTED_ERRORS)
    )
    label = ", ".join(ctx.kind.stage_key())
    return [
        RecordError(last, label, f"same key as line {first} ({n} records share it)")
        for first, last, n in ctx.session.execute(q)
    ]


def _ref_join(ctx: _Ctx, ref: Ref, source: Any) -> tuple[Any, Any]:
    alias = ref.table.alias(f"ref_{ref.field}")
    cond = and_(alias.c.workspace_id == ctx.workspace_id, alias.c[ref.key] == source.c[ref.field])
    return alias, cond


def _unknown_ref_errors(ctx: _Ctx, ref: Ref) -> list[RecordError]:
    s = ctx.stage
    alias, cond = _ref_join(ctx, ref, s)
    q = (
        select(s.c.line, s.c[ref.field])
        .select_from(s.outerjoin(alias, cond))
        .where(s.c[ref.field].is_not(None), alias.c.id.is_(None))
        .order_by(s.c.line)
        .limit(MAX_LISTED_ERRORS)
    )
    hint = "import accounts first" if ref.label == "account" else "import people first"
    rows = ctx.session.execute(q)
    return [RecordError(line, ref.field, f"unknown {ref.label} {value!r} ({hint})") for line, value in rows]


def _late_id(ref: Ref, ws: int, res: Any) -> Any:
    """The id a late reference names, looked up when the statement runs (after the merge)."""
    alias = ref.table.alias(f"late_{ref.field}")
    return (
        select(alias.c.id)
        .where(alias.c.workspace_id == ws, alias.c[ref.key] == res.c[ref.field])
        .scalar_subquery()
    )


def _merge(ctx: _Ctx, value_cols: list[str]) -> ImportResult:
    kind, s, ws, session = ctx.kind, ctx.stage, ctx.workspace_id, ctx.session
    t = kind.table

    # The staged rows with references resolved to ids (late references stay raw for now).
    cols: list[Any] = [s.c.line]
    source: Any = s
    for ref in kind.refs:
        if ref.late:
            cols.append(s.c[ref.field])
            continue
        alias, cond = _ref_join(ctx, ref, s)
        source = source.outerjoin(alias, cond)
        cols.append(alias.c.id.label(ref.column))
    cols += [s.c[c] for c in value_cols]
    res = select(*cols).select_from(source).subquery("resolved")

    def matches(target: Any) -> ColumnElement[bool]:
        return and_(*[target.c[c] == (ws if c == "workspace_id" else res.c[c]) for c in kind.key])

    direct = [ref.column for ref in kind.refs if not ref.late]
    compared = [c for c in direct + value_cols if c not in kind.key and c not in kind.insert_only]
    differs_terms: list[ColumnElement[bool]] = [t.c[c].is_distinct_from(res.c[c]) for c in compared]
    for ref in kind.refs:
        if ref.late:
            resolved_id = _late_id(ref, ws, res)
            differs_terms.append(t.c[ref.column].is_distinct_from(resolved_id))
            differs_terms.append(and_(res.c[ref.field].is_not(None), resolved_id.is_(None)))
    differs = or_(*differs_terms) if differs_terms else literal(False)

    total, new, changed = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((t.c.id.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(t.c.id.is_not(None), differs), 1), else_=0)), 0),
        ).select_from(res.outerjoin(t, matches(t)))
    ).one()
    result = ImportResult(
        kind.name, inserted=int(new), updated=int(changed), unchanged=int(total - new - changed)
    )

    if ctx.extension and result.unchanged:
        unchanged_ids = select(t.c.id).select_from(res.join(t, matches(t))).where(~differs)
        moved = ctx.extension.extra_changed(ctx, unchanged_ids)
        result.updated += moved
        result.unchanged -= moved

    if changed:
        session.execute(update(t).where(matches(t), differs).values({c: res.c[c] for c in compared}))
    if new:
        insert_cols = [c for c in direct + value_cols if c != "workspace_id"]
        session.execute(
            insert(t).from_select(
                ["workspace_id", *insert_cols],
                select(literal(ws), *[res.c[c] for c in insert_cols]).where(~exists().where(matches(t))),
            )
        )
    for ref in kind.refs:
        if ref.late:
            resolved_id = _late_id(ref, ws, res)
            changed_ref = t.c[ref.column].is_distinct_from(resolved_id)
            session.execute(update(t).where(matches(t), changed_ref).values({ref.column: resolved_id}))
    if ctx.extension:
        ctx.extension.after_merge(ctx)
    if new + changed >= ANALYZE_AFTER:
        # Fresh statistics keep the planner on the per-account indexes after a large load.
        session.execute(text(f"ANALYZE {t.name}"))
    return result
