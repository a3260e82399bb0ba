"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server CI provides). A fresh database is
created for the test session and dropped after it. Outside CI a missing server skips those runs;
with CI=true it fails them, because CI must prove both backends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from storage.db import Database
from storage.models import Base
from storage.workspaces import ensure_workspace
from testkit.fake_slack import FakeSlack
from testkit.pg import create_database, drop_database
from tests.support import NOW

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    try:
        url = create_database(PG_URL, "rb_test")
    except Exception as exc:
        if _in_ci():
            pytest.fail(f"PostgreSQL at {make_url(PG_URL).render_as_string()} is required in CI: {exc}")
        yield None
        return
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    drop_database(PG_URL, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a copy of the SQLite template, or the truncated PostgreSQL one."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_url")
        if url is None:
            pytest.skip("PostgreSQL is not reachable (set TEST_POSTGRES_URL); required when CI=true")
        database = Database(url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """The local fake of Slack's Web API, recording what the bot sent."""
    with FakeSlack() as server:
        yield server


@pytest.fixture
def ws(db: Database) -> int:
    with db.write() as session:
        return ensure_workspace(session, "test", now=NOW)
