"""Small helpers for tests: load CSV/JSONL text through the real importer."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from storage.db import Database
from storage.importer import ImportResult, import_file

_counter = iter(range(1_000_000))
T = TypeVar("T")
R = TypeVar("R")


def load(db: Database, ws: int, kind: str, body: str, tmp_path: Path, suffix: str = ".csv") -> ImportResult:
    path = tmp_path / f"{kind}-{next(_counter)}{suffix}"
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    with db.write() as session:
        return import_file(session, ws, kind, path)


def months(start: str, end: str) -> list[str]:
    y, m = map(int, start.split("-"))
    ey, em = map(int, end.split("-"))
    out = []
    while (y, m) <= (ey, em):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def at_once(work: Callable[[T], R], args: list[T]) -> list[R]:
    """Run ``work(arg)`` for each arg in its own thread, all released together (a barrier), and
    return the results; any exception fails the caller's test."""
    barrier = threading.Barrier(len(args))
    results: list[R] = []
    errors: list[BaseException] = []

    def run(arg: T) -> None:
        try:
            barrier.wait()
            results.append(work(arg))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors
    return results


def database_at(url: str, revision: str) -> tuple[Database, int]:
    """A database migrated only up to ``revision`` (what a deployment had before an upgrade), with one
    workspace ``w`` written by plain SQL (the models describe the newest schema); its id."""
    from sqlalchemy import text

    from tests.support import NOW

    db = Database(url)
    db.upgrade(revision)
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO workspaces (slug, name, timezone, created_at) VALUES ('w', 'w', 'UTC', :t)"),
            {"t": NOW.replace(tzinfo=None)},
        )
        ws = int(conn.execute(text("SELECT id FROM workspaces WHERE slug = 'w'")).scalar_one())
    return db, ws
