"""Progress for long work, on a terminal only: nothing in CI, in logs or in a pipe.

Use it around anything a person waits more than a few seconds for::

    with progress("linking Slack users", total=len(people)) as bar:
        for person in people:
            ...
            bar.advance()

    with progress("syncing") as board:          # several lines, e.g. one per kind
        line = board.add("accounts", total=None)  # no total: a spinner and a count
        line.update(description="accounts: 12,000 rows")

Bars are drawn on stderr (stdout stays the command's output) when stderr is a terminal, ``CI`` is
not set and ``TERM`` is not ``dumb``; otherwise every call does nothing. The bars vanish when the
work ends: the command prints its own summary line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _stderr() -> Console:
    from bot.cli import err  # the CLI's stderr console (imported late: bot.cli imports this module's users)

    return err


def shows_progress(console: Console | None = None) -> bool:
    """Whether progress is drawn: stderr is a terminal, not in CI, not a dumb terminal."""
    console = console if console is not None else _stderr()
    return bool(console.is_terminal) and not console.is_dumb_terminal and not _ci()


class Bar:
    """One line of progress. This base class draws nothing (not a terminal)."""

    def advance(self, steps: float = 1) -> None:
        """``steps`` more done."""

    def update(
        self, *, completed: float | None = None, total: float | None = None, description: str | None = None
    ) -> None:
        """Set how much is done, the total (once known) or the text."""

    def add(self, description: str, total: float | None = None) -> Bar:
        """Another line under this one (the same display)."""
        return Bar()


class _Line(Bar):
    def __init__(self, display: Progress, task: TaskID) -> None:
        self.display, self.task = display, task

    def advance(self, steps: float = 1) -> None:
        self.display.advance(self.task, steps)

    def update(
        self, *, completed: float | None = None, total: float | None = None, description: str | None = None
    ) -> None:
        self.display.update(self.task, completed=completed, total=total, description=description)

    def add(self, description: str, total: float | None = None) -> Bar:
        return _Line(self.display, self.display.add_task(description, total=total))


@contextmanager
def progress(
    description: str, total: float | None = None, *, console: Console | None = None
) -> Iterator[Bar]:
    """A progress line for the block (``total`` None: a spinner with the time spent)."""
    console = console if console is not None else _stderr()
    if not shows_progress(console):
        yield Bar()
        return
    display = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with display:
        yield _Line(display, display.add_task(description, total=total))
