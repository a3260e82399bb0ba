"""Read import records out of a warehouse: any SQLAlchemy URL, one SQL query per kind.

The rows become the same raw records a CSV file gives (``storage.readers``): column names are
matched to the kind's fields the way CSV headers are (case, spaces and underscores ignored, so
Snowflake's upper-case ``EXTERNAL_ID`` is ``external_id``); NULL and empty text mean "not given"
(the field's default), as an empty cell does; numbers are handed over as their text, dates and times
as they are. So a warehouse row is validated exactly as a file's line is (``storage.importer``).

Nothing here writes to the warehouse: the connection is rolled back and closed after the queries.
Every message names the warehouse without its password.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.errors import RecordError
from storage.readers import RawRecord, match_header

ROWS_PER_FETCH = 5_000
URL_FORM = "postgresql://USER:${WAREHOUSE_PASSWORD}@HOST/DATABASE"


class WarehouseError(ValueError):
    """The warehouse cannot be read (URL, driver, connection, a query or its columns): one line,
    without the URL's password; nothing was imported."""


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # the message would quote the URL, password and all
        raise WarehouseError(
            f"[sync] url is not a SQLAlchemy database URL; write it like {URL_FORM}"
        ) from None


def safe_url(url: str) -> str:
    """The URL as it may be shown and logged: its password replaced by ***."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except WarehouseError:
        return "(the [sync] url, not a database URL)"


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's first line, with the password taken out should the driver quote it."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    reason = lines[0].strip() if lines else type(exc).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return reason


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """A read connection to the warehouse; rolled back (never committed) and closed afterwards."""
    parsed = _parse(url)
    shown = parsed.render_as_string(hide_password=True)
    try:
        engine = create_engine(parsed, poolclass=NullPool)
    except NoSuchModuleError:
        raise WarehouseError(
            f"{shown}: no SQLAlchemy dialect {parsed.drivername!r} is installed; install the one for "
            "your warehouse (snowflake-sqlalchemy, sqlalchemy-bigquery, sqlalchemy-redshift, duckdb-engine; "
            "see docs/sync.md)"
        ) from None
    except ImportError as exc:
        raise WarehouseError(
            f"{shown}: the driver for {parsed.drivername} is not installed ({exc.name or exc})"
        ) from None
    except (ArgumentError, ValueError, TypeError) as exc:
        raise WarehouseError(f"{shown}: {_reason(exc, parsed)}") from None
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise WarehouseError(f"cannot connect to the warehouse {shown}: {_reason(exc, parsed)}") from None
        try:
            yield conn
        finally:
            try:
                conn.rollback()
            finally:
                conn.close()
    finally:
        engine.dispose()


def _cell(value: Any) -> Any:
    """A warehouse value as the importer takes it: text for numbers (as a CSV cell holds them), dates
    and times as they are, None for NULL and empty text."""
    if value is None or isinstance(value, bool | dt.date):  # datetime is a date
        return value
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(int(value)) if value.is_finite() and value == value.to_integral_value() else str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, uuid.UUID | bytes):
        return value.hex() if isinstance(value, bytes) else str(value)
    if isinstance(value, list | tuple):
        return [_cell(v) for v in value if v is not None]
    return str(value)


def query_records(
    conn: Connection,
    kind: str,
    sql: str,
    allowed: set[str],
    required: set[str],
    url: str,
) -> Iterator[RawRecord]:
    """Run ``sql`` and yield (row number, record, None) for each row, streamed in batches.

    A query that fails, or whose columns do not name the kind's fields, raises ``WarehouseError``
    (which stops the whole sync: the caller's transaction rolls back)."""
    parsed = _parse(url)
    try:
        result = conn.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH).execute(text(sql))
    except SQLAlchemyError as exc:
        raise WarehouseError(f"[sync.queries] {kind}: the query failed: {_reason(exc, parsed)}") from None
    if not result.returns_rows:
        raise WarehouseError(f"[sync.queries] {kind}: the query returns no rows; write a SELECT")
    header = match_header(list(result.keys()), allowed, required)
    if isinstance(header, RecordError):
        result.close()
        raise WarehouseError(f"[sync.queries] {kind}: the query's columns: {header.reason}")
    number = 0
    try:
        for row in result:
            number += 1
            record = {}
            for name, value in zip(header, row, strict=True):
                if name is None:
                    continue
                cell = _cell(value)
                if cell is not None:
                    record[name] = cell
            yield number, record, None
    except SQLAlchemyError as exc:
        raise WarehouseError(
            f"[sync.queries] {kind}: reading row {number + 1} failed: {_reason(exc, parsed)}"
        ) from None
    finally:
        result.close()
