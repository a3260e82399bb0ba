"""Bulk writes below the ORM, for tens of thousands of rows: ``executemany`` on SQLite, ``COPY`` on
PostgreSQL, with every value through its column type's bind processor (so times, money and JSON are
stored exactly as SQLAlchemy stores them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, MetaData, Table, text
from sqlalchemy.orm import Session

ANALYZE_AFTER = 10_000  # SQLite: rows one import writes to a table before it analyses the table
# PostgreSQL: what autovacuum waits for before it analyses a table (autovacuum_analyze_threshold and
# autovacuum_analyze_scale_factor at their defaults): 50 rows and a tenth of the table.
PG_ANALYZE_ROWS, PG_ANALYZE_SHARE = 50, 0.1


class StageWriter:
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

    def processed(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """Each value through its column's bind processor; equal hashable values (the same timestamp
        on every row, a repeated date) are converted once per batch."""
        if not self.processors:
            return rows
        caches: list[dict[Any, Any]] = [{} for _ in self.processors]
        converted = []
        for row in rows:
            values = list(row)
            for (i, proc), cache in zip(self.processors, caches, strict=True):
                value = values[i]
                try:
                    values[i] = cache[value]
                except KeyError:
                    values[i] = cache[value] = proc(value)
                except TypeError:  # unhashable (a JSON document)
                    values[i] = proc(value)
            converted.append(values)
        return converted

    def write(self, rows: list[tuple[Any, ...]], sqlite_suffix: str = "") -> None:
        rows = self.processed(rows)
        dbapi = self.conn.connection.driver_connection
        if self.postgres:
            with dbapi.cursor() as cur, cur.copy(self.sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        else:
            cur = dbapi.cursor()  # type: ignore[union-attr]
            cur.executemany(f"{self.sql} {sqlite_suffix}", rows)
            cur.close()


def analyze_temp(conn: Any, table: Table) -> None:
    """Give a filled temporary table its statistics (PostgreSQL): autovacuum never analyses
    temporary tables, and every later statement of the batch is planned on what they hold."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def refresh_statistics(session: Session, table: Table, written: int) -> None:
    """Analyse ``table`` after ``written`` rows were inserted or updated in it, when that is enough to
    change its plans, so that the statements after it in the same transaction (and everything before
    autovacuum wakes) are planned on its real size: PostgreSQL planned a semi-join of 120,000 new
    handoffs against their staging table as a nested loop over a table its statistics called empty
    (issue 11). PostgreSQL follows autovacuum's own rule; SQLite's planner goes by its indexes rather
    than row counts, so there only large loads refresh ``sqlite_stat1``."""
    if not written:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        known = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"), {"name": table.name}
        ).scalar()
        if written < PG_ANALYZE_ROWS + PG_ANALYZE_SHARE * max(known or 0, 0):
            return
    elif written < ANALYZE_AFTER:
        return
    # Names only from our own tables, never from input.
    conn.exec_driver_sql(f"ANALYZE {table.name}")


def rows_written(session: Session, stmt: Any) -> int:
    """How many rows an INSERT, UPDATE or DELETE wrote, by its own count (exact on both databases;
    SQLAlchemy keeps the count of an INSERT … SELECT only when asked to preserve it)."""
    result = session.execute(stmt.execution_options(preserve_rowcount=True))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _staged(session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> Table:
    """A temporary copy of ``columns`` of ``table`` holding ``rows`` (drop it when done)."""
    staged = Table(
        f"{table.name}_in", MetaData(), *[Column(c, table.c[c].type) for c in columns], prefixes=["TEMPORARY"]
    )
    staged.create(session.connection())
    StageWriter(session, staged).write(rows)
    analyze_temp(session.connection(), staged)
    return staged


def insert_ignore_many(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    key: Sequence[str],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values for ``columns``) into ``table``, skipping each whose ``key`` exists, in one
    statement from a staged copy; returns the ``returning`` columns of the rows really inserted."""
    if not rows:
        return []
    cols = ", ".join(columns)
    staged = _staged(session, table, columns, rows)
    back = f" RETURNING {', '.join(returning)}" if returning else ""
    # "WHERE true" lets SQLite tell the upsert clause from a join constraint.
    result = session.connection().execute(
        text(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {staged.name} WHERE true "  # noqa: S608
            f"ON CONFLICT ({', '.join(key)}) DO NOTHING{back}"
        )
    )
    out = [tuple(row) for row in result] if returning else []
    staged.drop(session.connection())
    return out


def update_many(
    session: Session, table: Table, key: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Set ``columns`` of the rows of ``table`` whose ``key`` is each row's first value, in one
    ``UPDATE … FROM`` a staged copy (PostgreSQL, SQLite ≥ 3.33)."""
    if not rows:
        return
    staged = _staged(session, table, [key, *columns], rows)
    sets = ", ".join(f"{c} = s.{c}" for c in columns)
    # Names only from our own tables, never from input: nothing to inject.
    sql = f"UPDATE {table.name} SET {sets} FROM {staged.name} AS s WHERE {table.name}.{key} = s.{key}"  # noqa: S608
    session.connection().execute(text(sql))
    staged.drop(session.connection())
