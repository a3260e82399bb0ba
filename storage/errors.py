"""Errors of the import pipeline: every problem names the line (or record index), the field and why."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

MAX_LISTED_ERRORS = 100


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
        out.append(RecordError(line, field or "record", msg))
    return out


class UnreadableFile(ValueError):
    """A file that cannot be read as records at all (empty, or not in its encoding); nothing was
    imported. The message is one line naming the file, where, and what to do."""
