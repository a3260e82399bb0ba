"""Map files: a CRM export's column names (and a few of its values) onto an import kind's fields.

``retention-bot import accounts report.csv --map salesforce-accounts.toml`` with::

    ignore = ["Billing City", "Industry"]   # columns of the export that are not imported
    date_format = "%m/%d/%Y"                # optional: the export's dates (1/31/2026), for date fields

    [columns]                               # "column of the export" = "field"
    "Account ID" = "external_id"
    "Account Name" = "name"

    [values.segment]                        # optional: a field's values as the export writes them
    "Mid-Market" = "mid-market"

Columns and values are matched ignoring case and surrounding spaces. A target that is not a field
of the kind, an unknown section or a column named twice is refused with one line naming the map.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FOLD = re.compile(r"[\s_\-]+")


def header_key(name: str) -> str:
    """A column name as it is compared: case, spaces, underscores and hyphens ignored
    (``External ID``, ``external_id`` and ``EXTERNAL-ID`` are one name)."""
    return _FOLD.sub("", name).lower()


def value_key(value: str) -> str:
    return value.strip().lower()


def closest(name: str, candidates: list[str]) -> str | None:
    """The candidate ``name`` was most likely meant to be (a typo, a plural), if any is close."""
    by_key = {header_key(c): c for c in candidates}
    hits = difflib.get_close_matches(header_key(name), list(by_key), n=1, cutoff=0.75)
    return by_key[hits[0]] if hits else None


def _parse_date(text: str, fmt: str) -> dt.date:
    """A day written in ``fmt`` (a calendar date: no time zone to read)."""
    return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC).date()


class BadValue(ValueError):
    """A value the map cannot convert (a date not in ``date_format``): the field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


class BadColumnMap(ValueError):
    """A map file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class ColumnMap:
    source: str
    columns: dict[str, str] = field(default_factory=dict)  # header_key(column) → field
    ignore: frozenset[str] = frozenset()  # header_key(column)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → value_key(value) → value
    named: dict[str, str] = field(default_factory=dict)  # header_key(column) → column as the map writes it
    date_format: str | None = None  # strptime format of the export's dates, e.g. %m/%d/%Y
    date_fields: frozenset[str] = frozenset()

    def value(self, name: str, raw: Any) -> Any:
        table = self.values.get(name)
        if table and isinstance(raw, str):
            raw = table.get(value_key(raw), raw)
        if self.date_format and name in self.date_fields and isinstance(raw, str):
            try:
                return _parse_date(raw.strip(), self.date_format).isoformat()
            except ValueError:
                raise BadValue(
                    name,
                    f"{raw.strip()!r} is not a date written as date_format {self.date_format!r} of "
                    f"{self.source} (e.g. {dt.date(2026, 1, 31).strftime(self.date_format)})",
                ) from None
        return raw


def load_column_map(
    path: Path, kind: str, fields: set[str], date_fields: set[str] | frozenset[str] = frozenset()
) -> ColumnMap:
    """Read and check the map file at ``path`` for a kind with ``fields`` (``date_fields``: those
    holding a date, which ``date_format`` reads)."""
    where = f"map {path}"
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise BadColumnMap(f"{where}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadColumnMap(f"{where}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"columns", "ignore", "values", "date_format"})
    if unknown:
        raise BadColumnMap(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; a map has [columns], ignore = [...], "
            "date_format and [values.FIELD] (docs/import.md)"
        )
    date_format = data.get("date_format")
    if date_format is not None:
        try:
            ok = isinstance(date_format, str) and "%" in date_format
            ok = ok and _parse_date(dt.date(2026, 1, 31).strftime(date_format), date_format).day == 31
        except ValueError:
            ok = False
        if not ok:
            raise BadColumnMap(
                f'{where}: date_format = {date_format!r} is not a date format like "%m/%d/%Y" (1/31/2026) '
                'or "%d.%m.%Y" (31.01.2026)'
            )
    columns, ignore, values = data.get("columns", {}), data.get("ignore", []), data.get("values", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise BadColumnMap(f'{where}: [columns] holds lines like "Account ID" = "external_id"')
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise BadColumnMap(f'{where}: ignore is a list of column names, like ignore = ["Industry"]')
    if not isinstance(values, dict) or not all(
        isinstance(t, dict) and all(isinstance(v, str) for v in t.values()) for t in values.values()
    ):
        raise BadColumnMap(f'{where}: [values.FIELD] holds lines like "Mid-Market" = "mid-market"')

    choices = ", ".join(sorted(fields))
    mapped: dict[str, str] = {}
    named: dict[str, str] = {}
    targets: dict[str, str] = {}
    for column, target in columns.items():
        target_name = target.strip()
        if target_name not in fields:
            hint = closest(target_name, sorted(fields))
            raise BadColumnMap(
                f'{where}: "{column}" = "{target}": {target!r} is not a field of {kind}'
                + (f"; did you mean {hint!r}?" if hint else "")
                + f" (the fields are {choices})"
            )
        key = header_key(column)
        if key in mapped:
            raise BadColumnMap(f'{where}: column "{column}" is mapped twice (as "{named[key]}" too)')
        if target_name in targets:
            raise BadColumnMap(
                f'{where}: "{targets[target_name]}" and "{column}" are both mapped to {target_name!r}; '
                "map one of them, ignore the other"
            )
        mapped[key], named[key], targets[target_name] = target_name, column, column
    ignored = frozenset(header_key(c) for c in ignore)
    both = sorted(named[k] for k in ignored & set(mapped))
    if both:
        raise BadColumnMap(f"{where}: {', '.join(map(repr, both))} both mapped and ignored")
    value_maps: dict[str, dict[str, str]] = {}
    for name, table in values.items():
        if name not in fields:
            hint = closest(name, sorted(fields))
            raise BadColumnMap(
                f"{where}: [values.{name}]: {name!r} is not a field of {kind}"
                + (f"; did you mean {hint!r}?" if hint else "")
            )
        value_maps[name] = {value_key(k): v for k, v in table.items()}
    for column in ignore:
        named.setdefault(header_key(column), column)
    return ColumnMap(str(path), mapped, ignored, value_maps, named, date_format, frozenset(date_fields))


def date_fields_of(model: type[Any]) -> set[str]:
    """The fields of a record model that hold a date (not a time): those ``date_format`` reads."""
    out = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation  # Optional[date] is a union holding date; datetime is not date
        if annotation is dt.date or dt.date in getattr(annotation, "__args__", ()):
            out.add(name)
    return out
