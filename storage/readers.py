"""Stream records out of CSV and JSON Lines files, with the line number each record starts on.

A file that cannot be read as records at all (empty, not in its encoding) raises ``UnreadableFile``;
a bad line or record becomes a ``RecordError`` so that one run reports every problem.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from storage.column_map import BadValue, ColumnMap, closest, header_key
from storage.errors import RecordError, UnreadableFile

FORMATS = ("csv", "jsonl")
DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without the BOM Excel writes

RawRecord = tuple[int, dict[str, Any] | None, RecordError | None]

# The longest CSV cell read (Python's default limit). The longest field takes 4,000 characters; a
# longer cell is nearly always a quote that is never closed, swallowing the lines after it.
MAX_CELL = csv.field_size_limit()
NESTING = (
    "nested deeper than a record needs: a value is a string, number, true, false, null or a list of them"
)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the extension; use --format csv or --format jsonl")


def too_deep(record: dict[str, Any]) -> str | None:
    """The first field of a decoded JSON record holding more than a scalar or a list of scalars."""
    for name, value in record.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
        ):
            return name
    return None


class TooDeep(ValueError):
    """JSON nested past what Python parses (a record needs two levels, a batch three)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str | bytes) -> Any:
    """Standard JSON only: NaN and Infinity are a ValueError; nesting past Python's limit is ``TooDeep``."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise TooDeep(NESTING) from None


def match_header(
    row: list[str], allowed: set[str], required: set[str], column_map: ColumnMap | None = None
) -> list[str | None] | RecordError:
    """The field name of each column (None: a column the map ignores). Names are compared with case,
    spaces, underscores and hyphens ignored (``Account ID`` is ``account_id``); a map file's
    ``[columns]`` rename first. An unknown column is named with the field it most likely meant."""
    by_name = {header_key(name): name for name in allowed}
    names: list[str | None] = []
    unknown: list[str] = []
    for cell in row:
        key = header_key(str(cell))
        if column_map is not None and key in column_map.ignore:
            names.append(None)
        elif column_map is not None and key in column_map.columns:
            names.append(column_map.columns[key])
        elif key in by_name:
            names.append(by_name[key])
        else:
            names.append(None)
            unknown.append(str(cell).strip())
    if unknown:
        listed = ", ".join(map(repr, unknown))
        hints = [f"{u!r} → {hint!r}" for u in unknown if (hint := closest(u, sorted(allowed)))]
        reason = f"unknown column(s) {listed}"
        if hints:
            reason += f"; did you mean {', '.join(hints)}?"
        reason += f"; the columns are {', '.join(sorted(allowed))}"
        if column_map is not None:
            reason += f" (rename a column in [columns] of {column_map.source}, or list it under ignore)"
        else:
            reason += " (a CRM export? rename its columns with a map file, --map: docs/import.md)"
        return RecordError(1, "header", reason)
    known = [name for name in names if name is not None]
    twice = sorted({name for name in known if known.count(name) > 1})
    if twice:
        return RecordError(1, "header", f"column(s) {', '.join(map(repr, twice))} appear more than once")
    missing = sorted(required - set(known))
    if missing:
        return RecordError(
            1, "header", f"missing required column(s) {', '.join(map(repr, missing))}; add them to the header"
        )
    return names


def read_csv(
    fh: TextIO, allowed: set[str], required: set[str] | None = None, column_map: ColumnMap | None = None
) -> Iterator[RawRecord]:
    """Yield (line, record, None) or (line, None, error); empty cells are left out (the field's default)."""
    reader = csv.reader(fh)
    line = 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if any(cell.strip() for cell in row):
                break
        else:
            raise UnreadableFile(
                f"{getattr(fh, 'name', 'the file')}: the file is empty: no header, no records"
            )
        header = match_header(row, allowed, required or set(), column_map)
        if isinstance(header, RecordError):
            yield start, None, RecordError(start, header.field, header.reason)
            return
        width = len(header)
        plain = None not in header  # no column ignored by a map
        fields = [name or "" for name in header]
        for row in reader:
            start, line = line + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                yield (
                    start,
                    None,
                    RecordError(start, "line", f"has {len(row)} fields, the header has {width}"),
                )
                continue
            if plain and "" not in row:  # the common case, kept fast
                record: dict[str, Any] = dict(zip(fields, row, strict=True))
            else:  # an empty cell means "not given" (the field's default); ignored columns left out
                record = {k: v for k, v in zip(header, row, strict=True) if k is not None and v != ""}
            if column_map is not None:
                try:
                    record = {k: column_map.value(k, v) for k, v in record.items()}
                except BadValue as exc:
                    yield start, None, RecordError(start, exc.field, exc.reason)
                    continue
            yield start, record, None
    except csv.Error as exc:
        yield line + 1, None, RecordError(line + 1, "line", _csv_reason(exc))


def _csv_reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (
            f"a cell is longer than {MAX_CELL:,} characters (no field takes more than 4,000): "
            'look for a quote (") that is never closed'
        )
    return f"not valid CSV ({exc}); check the quoting on this line"


def _renamed(value: dict[str, Any], column_map: ColumnMap) -> dict[str, Any]:
    """A JSON record's keys through a map file (keys it does not name stay as they are)."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        folded = header_key(key)
        if folded in column_map.ignore:
            continue
        name = column_map.columns.get(folded, key)
        out[name] = column_map.value(name, item)
    return out


def read_jsonl(fh: TextIO, column_map: ColumnMap | None = None) -> Iterator[RawRecord]:
    blank = True
    for number, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        blank = False
        try:
            value = parse_json(text)
        except json.JSONDecodeError as exc:
            yield (
                number,
                None,
                RecordError(number, "line", f"not valid JSON ({exc.msg} at column {exc.colno})"),
            )
            continue
        except ValueError as exc:
            yield number, None, RecordError(number, "line", str(exc))
            continue
        if not isinstance(value, dict):
            yield number, None, RecordError(number, "line", "each line must be one JSON object")
            continue
        deep = too_deep(value)
        if deep is not None:
            yield number, None, RecordError(number, deep, NESTING)
            continue
        if column_map is not None:
            try:
                value = _renamed(value, column_map)
            except BadValue as exc:
                yield number, None, RecordError(number, exc.field, exc.reason)
                continue
        yield number, value, None
    if blank:
        raise UnreadableFile(f"{getattr(fh, 'name', 'the file')}: the file is empty: no records")


def open_records(
    path: Path,
    fmt: str,
    allowed: set[str],
    on_progress: Callable[[int], None] | None = None,
    *,
    required: set[str] | None = None,
    encoding: str = DEFAULT_ENCODING,
    column_map: ColumnMap | None = None,
) -> Iterator[RawRecord]:
    """Open ``path`` and stream its records; ``on_progress`` gets the byte offset now and then.
    ``column_map``: a map file's renames (``storage.column_map``).

    ``encoding`` is any Python codec name; text that is not in it raises ``UnreadableFile`` naming the
    line and byte, since nothing after that point can be trusted."""
    with path.open("r", encoding=encoding, newline="") as fh:
        inner = read_csv(fh, allowed, required, column_map) if fmt == "csv" else read_jsonl(fh, column_map)
        try:
            for count, item in enumerate(inner, start=1):
                if on_progress is not None and count % 20_000 == 0:
                    on_progress(fh.buffer.tell())  # type: ignore[attr-defined]
                yield item
        except UnicodeDecodeError:
            raise UnreadableFile(_not_decodable(path, encoding)) from None


def _not_decodable(path: Path, encoding: str) -> str:
    """Where ``path`` stops being ``encoding`` text: the line, the byte offset and the byte."""
    name = "UTF-8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
    decoder = codecs.getincrementaldecoder(encoding)()
    line, offset = 1, 0
    with path.open("rb") as fh:
        for chunk in fh:
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start] if 0 <= exc.start < len(chunk) else None
                at = offset + max(exc.start, 0)
                what = f"byte 0x{bad:02X}" if bad is not None else "a byte"
                return (
                    f"{path}:{line}: not {name} text ({what} at byte {at:,} of the file); "
                    "save the file as UTF-8, or name its encoding with --encoding (e.g. --encoding cp1252)"
                )
            offset += len(chunk)
    return (
        f"{path}: not {name} text (it ends inside a character); "
        "save the file as UTF-8, or name its encoding with --encoding"
    )
