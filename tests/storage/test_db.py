"""The database layer: migrations agree with the models, SQLite under threads, portable upserts."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import bindparam, func, select, text

from storage.db import Database
from storage.models import Base, HealthSnapshot, Workspace
from storage.upsert import insert_ignore, upsert
from storage.workspaces import ensure_workspace
from tests.support import NOW


def test_migrations_match_the_models(db: Database) -> None:
    assert db.current_revision() == db.head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_sqlite_is_configured_for_a_threaded_server(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_sqlite_default_is_created_and_upgraded_on_start(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert db.current_revision() is None
    db.ensure_schema(auto_upgrade=True)
    assert db.current_revision() == db.head_revision()


def test_upgrade_gives_existing_workspaces_their_own_accounts_version(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade("0004")
    with db.engine.begin() as conn:
        for slug in ("a", "b"):
            conn.execute(
                text("INSERT INTO workspaces (slug, name, timezone, created_at) VALUES (:s, :s, 'UTC', :t)"),
                {"s": slug, "t": NOW.replace(tzinfo=None)},
            )
    db.upgrade()
    with db.read() as s:
        versions = s.scalars(select(Workspace.accounts_version)).all()
    assert len(set(versions)) == 2 and all(len(v) == 32 for v in versions)


def test_reads_keep_prepared_statements_and_write_nothing(db: Database, ws: int) -> None:
    """A read session ends with COMMIT (psycopg forgets its prepared statements at a ROLLBACK, and
    /health would be planned afresh on every request), yet a change made to a loaded object is
    not written."""
    statement = select(Workspace).where(Workspace.id == bindparam("ws"))
    for _ in range(7):  # psycopg prepares a statement at its fifth run on a connection
        with db.read() as s:
            s.scalars(statement, {"ws": ws}).one().name = "changed in a read"
    with db.read() as s:
        assert s.scalar(select(Workspace.name).where(Workspace.id == ws)) == "test"
        if db.dialect == "postgresql":
            ours = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :like"
            prepared = s.scalar(text(ours), {"like": "SELECT workspaces.id,%"})
            assert prepared == 1


def test_concurrent_read_then_write_never_hits_database_is_locked(tmp_path: Path) -> None:
    """Eight threads each read a counter then write it back, 25 times: BEGIN IMMEDIATE serialises
    them, so no "database is locked" and no lost update."""
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade()
    with db.write() as s:
        ws = ensure_workspace(s, "w", now=NOW)
        s.execute(text("CREATE TABLE counter (n INTEGER)"))
        s.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                with db.write() as s:
                    n = s.execute(text("SELECT n FROM counter")).scalar_one()
                    s.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
                    upsert(s, HealthSnapshot, [], ["account_id", "day"])
                with db.read() as s:
                    s.execute(select(Workspace.id).where(Workspace.id == ws)).all()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        assert s.execute(text("SELECT n FROM counter")).scalar_one() == 200


def test_upsert_inserts_then_updates(db: Database, ws: int) -> None:
    from storage.models import Account

    with db.write() as s:
        s.add(Account(workspace_id=ws, external_id="A", name="A", name_key="a", segment="smb"))
    with db.write() as s:
        aid = s.scalar(select(Account.id))
        row = {
            "workspace_id": ws,
            "account_id": aid,
            "day": dt.date(2026, 1, 1),
            "score": 50.0,
            "band": "yellow",
            "components": {"usage": 50},
        }
        upsert(s, HealthSnapshot, [row], ["account_id", "day"])
        upsert(s, HealthSnapshot, [{**row, "score": 75.0, "band": "green"}], ["account_id", "day"])
    with db.read() as s:
        snaps = s.scalars(select(HealthSnapshot)).all()
    assert [(x.score, x.band, x.components) for x in snaps] == [(75.0, "green", {"usage": 50})]


def test_insert_ignore_claims_once(db: Database) -> None:
    row = {"slug": "claim", "name": "c", "timezone": "UTC", "created_at": NOW}
    with db.write() as s:
        first = insert_ignore(s, Workspace, [row], ["slug"])
    with db.write() as s:
        second = insert_ignore(s, Workspace, [row], ["slug"])
        total = s.scalar(select(func.count()).select_from(Workspace).where(Workspace.slug == "claim"))
    assert (first, second, total) == (1, 0, 1)


def test_times_round_trip_as_utc(db: Database) -> None:
    berlin = dt.datetime(2026, 3, 29, 3, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with db.write() as s:
        s.add(Workspace(slug="tz", name="tz", timezone="Europe/Berlin", created_at=berlin))
    with db.read() as s:
        got = s.scalar(select(Workspace.created_at).where(Workspace.slug == "tz"))
    assert got == berlin and got.tzinfo == dt.UTC


def test_concurrency_limits_threads_in_sessions_and_nested_sessions_never_wait(db: Database) -> None:
    """DB_CONCURRENCY: at most N threads of a process inside a session at once; the others wait their
    turn and all finish. A thread with a turn opens nested sessions without waiting (no deadlock), and
    a session that fails gives its turn back."""
    gated = Database(db.url, pool_size=8, concurrency=2)
    inside, most, lock = 0, 0, threading.Lock()
    release = threading.Event()

    def work() -> None:
        nonlocal inside, most
        with gated.read() as s:
            s.execute(text("SELECT 1"))
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait(5)
            with gated.read() as nested:  # a turn already held: no second one needed
                nested.execute(text("SELECT 1"))
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while inside < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # give a third thread the chance to get in, if the gate let it
    assert inside == 2
    release.set()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert most == 2 and inside == 0

    one = Database(db.url, pool_size=2, concurrency=1)
    try:
        with one.write() as s:
            s.execute(text("SELECT 1"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    done = threading.Event()

    def after_failure() -> None:
        with one.write() as s, one.read() as nested:
            s.execute(text("SELECT 1"))
            nested.execute(text("SELECT 1"))
        done.set()

    t = threading.Thread(target=after_failure)
    t.start()
    t.join(10)
    assert done.is_set()
    gated.dispose()
    one.dispose()


def test_json_columns_read_back_what_was_written(db: Database, ws: int) -> None:
    """Every payload reads back as written: non-ASCII text, None, floats, integers over 64 bits."""
    from storage import deliveries as dl

    payloads = [
        {"text": "naïve — ✓ <@U1>", "blocks": [{"type": "divider"}], "n": 1.5, "none": None},
        {"text": "big", "n": 2**70 + 1, "m": -(2**63) - 1, "ts": "1700000000.000001"},
    ]
    with db.write() as s:
        ids = [
            dl.enqueue(s, ws, kind="test", subject=f"s{i}", channel_id="C1", args=p, now=NOW)
            for i, p in enumerate(payloads)
        ]
    with db.read() as s:
        got = [s.scalar(select(dl.Delivery.payload).where(dl.Delivery.id == i)) for i in ids]
    assert got == payloads


def test_the_head_read_from_the_migration_files_is_alembics(db: Database) -> None:
    """Commands check the schema without importing Alembic: the head read from the files' revision
    lines is the one Alembic computes, and the current revision is the one Alembic reads."""
    from alembic.runtime.migration import MigrationContext

    from storage.db import _alembic_head, head_revision

    assert head_revision() == _alembic_head() is not None
    with db.engine.connect() as conn:
        assert db.current_revision() == MigrationContext.configure(conn).get_current_revision()


def test_the_head_is_read_past_editor_files_and_the_package_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Alembic skips in the versions folder (``__init__.py``, editor lock files) is skipped, so
    the head is still read from the files (Alembic is not asked) and is Alembic's."""
    from storage import db as db_module

    expected = db_module._alembic_head()
    versions = tmp_path / "versions"
    shutil.copytree(db_module.MIGRATIONS / "versions", versions, ignore=shutil.ignore_patterns("__pycache__"))
    (versions / "__init__.py").write_text("")
    (versions / ".#0099_draft.py").write_text('revision = "9999"\ndown_revision = "0001"\n')
    monkeypatch.setattr(db_module, "MIGRATIONS", tmp_path)
    monkeypatch.setattr(db_module, "_alembic_head", lambda: "alembic was asked")
    db_module.head_revision.cache_clear()
    try:
        assert db_module.head_revision() == expected
    finally:
        db_module.head_revision.cache_clear()
