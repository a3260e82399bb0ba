"""Bulk writes below the ORM, for tens of thousands of rows: ``executemany`` on SQLite, ``COPY`` on
PostgreSQL, with every value through its column type's bind processor (so times, money and JSON are
stored exactly as SQLAlchemy stores them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, MetaData, Table, text
from sqlalchemy.orm import Session


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
        if not self.processors:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for i, proc in self.processors:
                values[i] = proc(values[i])
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

    def analyze(self) -> None:
        # Temporary tables have no statistics until analysed; PostgreSQL plans the merge on them.
        if self.postgres:
            self.conn.exec_driver_sql(f"ANALYZE {self.table.name}")


def insert_ignore_many(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]], key: Sequence[str]
) -> None:
    """Insert ``rows`` (values for ``columns``) into ``table``, skipping each whose ``key`` exists."""
    if not rows:
        return
    cols = ", ".join(columns)
    conflict = f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    staged = Table(
        f"{table.name}_in", MetaData(), *[Column(c, table.c[c].type) for c in columns], prefixes=["TEMPORARY"]
    )
    conn = session.connection()
    if conn.dialect.name == "postgresql":  # COPY into a temporary table, then one INSERT … SELECT
        staged.create(conn)
        StageWriter(session, staged).write(rows)
        conn.execute(text(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {staged.name} {conflict}"))  # noqa: S608
        staged.drop(conn)
    else:  # straight into the table: SQLite's executemany runs in C
        writer = StageWriter(session, staged)
        writer.sql = writer.sql.replace(staged.name, table.name, 1)
        writer.write(rows, sqlite_suffix=conflict)
