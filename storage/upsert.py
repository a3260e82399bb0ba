"""Idempotent upserts that work on SQLite and PostgreSQL alike (``INSERT … ON CONFLICT``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base, table


def dialect_insert(session: Session, target: Any) -> Any:
    """An ``INSERT`` into ``target`` (a table) that offers ``on_conflict_do_nothing``/``_do_update``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(target)
    if dialect == "sqlite":
        return sqlite.insert(target)
    raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect}")


def _insert(session: Session, model: type[Base]) -> Any:
    return dialect_insert(session, table(model))


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``; where ``key`` already exists, update the ``update`` columns (default: all others)."""
    if not rows:
        return
    stmt = _insert(session, model)
    columns = update if update is not None else [c for c in rows[0] if c not in key]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    session.connection().execute(stmt, list(rows))


def insert_ignore(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> int:
    """Insert the rows whose ``key`` is new; return how many were inserted (claims use this)."""
    if not rows:
        return 0
    stmt = _insert(session, model).on_conflict_do_nothing(index_elements=list(key))
    # RETURNING counts exactly what was inserted on both databases; rowcount does not.
    stmt = stmt.returning(*table(model).primary_key.columns)
    return len(session.connection().execute(stmt, list(rows)).all())
