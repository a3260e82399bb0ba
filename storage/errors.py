"""Errors of the import pipeline: every problem names the line (or record index), the field and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

MAX_LISTED_ERRORS = 100

# A date written the local way (11/20/2026, 20.11.2026): the import reads ISO dates unless a map file
# gives the export's format.
LOCAL_DATE = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")
LOCAL_DATE_HINT = (
    '; for an export that writes dates like this, give its format in a map file: date_format = "%m/%d/%Y"'
    " and `import KIND FILE --map MAP.toml` (docs/import.md)"
)


@dataclass(frozen=True, order=True)
class RecordError:
    line: int
    field: str
    reason: str

    def format(self, source: str) -> str:
        return f"{source}:{self.line}: {self.field}: {self.reason}"


class ImportFailed(Exception):
    """A batch was rejected; nothing from it was written."""

    def __init__(self, source: str, errors: list[RecordError], total: int) -> None:
        self.source = source
        self.errors = sorted(errors)
        self.total = total
        super().__init__(f"{source}: {total} error(s); nothing was imported")

    def lines(self) -> list[str]:
        out = [e.format(self.source) for e in self.errors]
        if self.total > len(self.errors):
            out.append(f"{self.source}: … and {self.total - len(self.errors)} more error(s)")
        return out


# What a value of each type must look like, said after pydantic's own words ("Input should be a valid
# date") so the person knows what to write instead.
_EXPECTED = {
    "date": " (write dates as YYYY-MM-DD, e.g. 2026-11-23)",
    "datetime": " (write times as YYYY-MM-DDTHH:MM:SSZ, e.g. 2026-11-23T09:00:00Z, with a time zone)",
    "decimal": " (write amounts like 1000.50: no thousands separators, no currency sign)",
    "int": " (a whole number, e.g. 12)",
}


def _expected(error_type: str) -> str:
    kind = error_type.split("_", 1)[0]
    if error_type.startswith("decimal_max") or error_type in ("missing", "extra_forbidden"):
        return ""
    return _EXPECTED.get(kind, "") if error_type.endswith(("_parsing", "_type", "_inexact")) else ""


def _local_date(value: Any) -> bool:
    return isinstance(value, str) and LOCAL_DATE.fullmatch(value.strip()) is not None


def validation_errors(line: int, exc: ValidationError) -> list[RecordError]:
    out = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if not field and ": " in msg:  # a model-level check names its field first
            field, msg = msg.split(": ", 1)
        if err["type"] == "missing":
            msg = "required, missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        hint = _expected(err["type"])
        if hint and err["type"].startswith("date") and _local_date(err.get("input")):
            hint += LOCAL_DATE_HINT
        out.append(RecordError(line, field or "record", msg + hint))
    return out


class UnreadableFile(ValueError):
    """A file that cannot be read as records at all (empty, or not in its encoding); nothing was
    imported. The message is one line naming the file, where, and what to do."""
