"""Import: stream validated records into a temporary staging table, then check and merge in SQL.

Why staging: memory stays flat whatever the file size; references (accounts by CRM id, people by
e-mail), duplicate keys and the inserted/updated/unchanged counts are all answered by set-based SQL;
and the whole batch runs inside one SAVEPOINT, so a rejected batch writes nothing.
Re-sending the same records changes nothing (rows are compared null-safely before they are updated).
What each kind becomes is declared in ``storage.kinds``.
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage import models as m
from storage.bulk import ANALYZE_AFTER, StageWriter, refresh_statistics, rows_written
from storage.column_map import ColumnMap
from storage.errors import MAX_LISTED_ERRORS, ImportFailed, RecordError, validation_errors
from storage.kinds import KINDS, BatchContext, Kind, Ref
from storage.readers import DEFAULT_ENCODING, RawRecord, detect_format, open_records
from storage.upsert import dialect_insert

__all__ = ["ANALYZE_AFTER", "KINDS", "ImportResult", "import_file", "import_records"]

BATCH = 10_000


@dataclass
class ImportResult:
    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


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
    strict: bool = False,
) -> ImportResult:
    """Validate and merge ``items`` ((line, raw dict, read error) triples) as one all-or-nothing batch.

    Raises ``ImportFailed`` listing every problem; the caller's transaction is left as it was.
    ``on_phase`` hears when reading ends and the set-based checks and the merge begin.
    ``strict``: the records are decoded JSON, validated as JSON strictly (``true`` is not a number,
    ``0`` is not a date, a count is not a string); CSV cells are all text and are parsed leniently.
    """
    kind = KINDS[kind_name]
    with session.begin_nested():
        return _run(session, workspace_id, kind, iter(items), source, on_phase or (lambda _: None), strict)


def import_file(
    session: Session,
    workspace_id: int,
    kind_name: str,
    path: Path,
    *,
    fmt: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    encoding: str = DEFAULT_ENCODING,
    column_map: ColumnMap | None = None,
) -> ImportResult:
    """``column_map``: a map file's column renames (``storage.column_map``)."""
    kind = KINDS[kind_name]
    fmt = fmt or detect_format(path)
    items = open_records(
        path,
        fmt,
        kind.fields,
        on_progress,
        required=required_fields(kind_name),
        encoding=encoding,
        column_map=column_map,
    )
    return import_records(
        session, workspace_id, kind_name, items, source=str(path), on_phase=on_phase, strict=fmt == "jsonl"
    )


def required_fields(kind_name: str) -> set[str]:
    """The fields every record of the kind must give (a file's header must have their columns)."""
    return {name for name, f in KINDS[kind_name].model.model_fields.items() if f.is_required()}


def _run(
    session: Session,
    ws: int,
    kind: Kind,
    items: Iterator[RawRecord],
    source: str,
    on_phase: Callable[[str], None],
    strict: bool = False,
) -> ImportResult:
    value_cols = kind.value_columns
    ctx = BatchContext(session, ws, kind, stage=None, source=source)  # type: ignore[arg-type]
    stage = ctx.stage = ctx.create_temp(f"stage_{kind.name}", *_stage_columns(kind, value_cols))
    ext = kind.extension() if kind.extension else None
    ctx.extension = ext
    if ext:
        ext.create(ctx)

    fields = [*(ref.field for ref in kind.refs), *kind.columns]
    get = operator.attrgetter(*fields)
    single = len(fields) == 1
    validate, derive = _validator(kind, strict), kind.derive

    writer = StageWriter(session, stage)
    batch: list[tuple[Any, ...]] = []
    for line, raw, read_error in items:
        if read_error is not None:
            ctx.add_errors([read_error])
            continue
        assert raw is not None  # the readers give a record or a read error, never neither
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
    ctx.analyze_stages()
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
    if kind.table is m.Account.__table__ and (result.inserted or result.updated):
        # Account names changed: lookup's cached copies are stale from this commit on.
        session.execute(
            update(m.Workspace).where(m.Workspace.id == ws).values(accounts_version=uuid.uuid4().hex)
        )
    for table in reversed(ctx.temp_tables):
        table.drop(session.connection())  # SQLite keeps temp tables for the connection's life
    return result


def _validator(kind: Kind, strict: bool) -> Callable[[dict[str, Any]], Any]:
    """Lenient for CSV text; strict JSON for decoded JSON (pydantic's JSON mode takes dates as strings,
    which its strict Python mode would not)."""
    model = kind.model
    if not strict:
        return model.model_validate
    return lambda raw: model.model_validate_json(json.dumps(raw), strict=True)


def _duplicate_errors(ctx: BatchContext) -> list[RecordError]:
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


def _ref_join(ctx: BatchContext, ref: Ref, source: Any) -> tuple[Any, Any]:
    alias = ref.table.alias(f"ref_{ref.field}")
    cond = and_(alias.c.workspace_id == ctx.workspace_id, alias.c[ref.key] == source.c[ref.field])
    return alias, cond


def _unknown_ref_errors(ctx: BatchContext, ref: Ref) -> list[RecordError]:
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


def _resolve_late_refs(ctx: BatchContext, res: Any, matches: Callable[[Any], ColumnElement[bool]]) -> None:
    t, ws = ctx.kind.table, ctx.workspace_id
    for ref in ctx.kind.refs:
        if ref.late:
            resolved_id = _late_id(ref, ws, res)
            changed_ref = t.c[ref.column].is_distinct_from(resolved_id)
            ctx.session.execute(update(t).where(matches(t), changed_ref).values({ref.column: resolved_id}))


def _merge(ctx: BatchContext, value_cols: list[str]) -> ImportResult:
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
    # The value each compared column gets: the record's, or for a kept column left empty, the stored one.
    value = {c: func.coalesce(res.c[c], t.c[c]) if c in kind.keep_when_empty else res.c[c] for c in compared}
    differs_terms: list[ColumnElement[bool]] = [t.c[c].is_distinct_from(value[c]) for c in compared]
    for ref in kind.refs:
        if ref.late:
            resolved_id = _late_id(ref, ws, res)
            differs_terms.append(t.c[ref.column].is_distinct_from(resolved_id))
            differs_terms.append(and_(res.c[ref.field].is_not(None), resolved_id.is_(None)))
    differs = or_(*differs_terms) if differs_terms else literal(False)
    update_rows = update(t).where(matches(t), differs).values(value)

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

    # The counts above are this transaction's snapshot; another import may write the same rows before
    # these statements do (PostgreSQL, READ COMMITTED). So the statements' own row counts are reported:
    # an UPDATE re-checks each row it waited for and skips it when it already holds these values, and
    # the INSERT skips rows another import inserted first (ON CONFLICT) and compares them after.
    updated = 0
    if changed:
        updated = rows_written(session, update_rows)
    inserted = 0
    if new:
        insert_cols = [c for c in direct + value_cols if c != "workspace_id"]
        rows = select(literal(ws), *[res.c[c] for c in insert_cols]).where(~exists().where(matches(t)))
        if session.get_bind().dialect.name == "postgresql":
            # Rows are locked in key order, so imports that overlap wait for each other, never deadlock.
            rows = rows.order_by(*[res.c[c] for c in kind.key if c != "workspace_id"])
        stmt = dialect_insert(session, t).from_select(["workspace_id", *insert_cols], rows)
        stmt = stmt.on_conflict_do_nothing(index_elements=list(kind.key))
        inserted = rows_written(session, stmt)
    # Before the statements that read the table back (late references, the extension): their plans
    # need the rows just written counted.
    refresh_statistics(session, t, inserted + updated)
    _resolve_late_refs(ctx, res, matches)
    if inserted < new:
        # Another import inserted some of these rows first: they are existing rows now, maybe unequal.
        updated += rows_written(session, update_rows)
        _resolve_late_refs(ctx, res, matches)
    result.updated += updated - changed
    result.inserted = inserted
    result.unchanged = int(total) - result.inserted - result.updated
    if ctx.extension:
        ctx.extension.after_merge(ctx)
    return result
