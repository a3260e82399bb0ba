"""Stream records out of CSV and JSON Lines files, with the line number each record starts on."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from storage.errors import RecordError

FORMATS = ("csv", "jsonl")

RawRecord = tuple[int, dict[str, Any] | None, RecordError | None]


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"{path}: cannot tell the format from the extension; use --format csv or --format jsonl")


def read_csv(fh: TextIO, allowed: set[str]) -> Iterator[RawRecord]:
    """Yield (line, record, None) or (line, None, error); empty cells are left out (the field's default)."""
    reader = csv.reader(fh)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in allowed]
    if unknown or len(set(header)) != len(header):
        reason = (
            f"unknown column(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(sorted(allowed))}"
            if unknown
            else "a column name appears twice"
        )
        yield 1, None, RecordError(1, "header", reason)
        return
    width = len(header)
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not row:
            continue
        if len(row) != width:
            yield start, None, RecordError(start, "line", f"has {len(row)} fields, the header has {width}")
            continue
        record = dict(zip(header, row, strict=True))
        if "" in row:  # an empty cell means "not given": the field's default applies
            record = {k: v for k, v in record.items() if v != ""}
        yield start, record, None


def read_jsonl(fh: TextIO) -> Iterator[RawRecord]:
    for number, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield (
                number,
                None,
                RecordError(number, "line", f"not valid JSON ({exc.msg} at column {exc.colno})"),
            )
            continue
        if not isinstance(value, dict):
            yield number, None, RecordError(number, "line", "each line must be one JSON object")
            continue
        yield number, value, None


def open_records(
    path: Path, fmt: str, allowed: set[str], on_progress: Callable[[int], None] | None = None
) -> Iterator[RawRecord]:
    """Open ``path`` and stream its records; ``on_progress`` gets the byte offset now and then."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        inner = read_csv(fh, allowed) if fmt == "csv" else read_jsonl(fh)
        for count, item in enumerate(inner, start=1):
            if on_progress is not None and count % 20_000 == 0:
                on_progress(fh.buffer.tell())  # type: ignore[attr-defined]
            yield item
