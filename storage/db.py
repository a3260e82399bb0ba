"""Engines, sessions and migrations.

SQLite is configured for a multi-threaded server: WAL (readers never block the writer), a busy
timeout, foreign keys on, and write transactions opened with ``BEGIN IMMEDIATE`` so that a
read-then-write transaction takes the write lock up front instead of failing with
"database is locked" when it tries to upgrade its lock. Read-only sessions use a plain ``BEGIN``.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000


_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)""", re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest migration, read from the migration files' ``revision`` / ``down_revision`` lines
    (what Alembic reads, without importing Alembic and every migration: every command checks the
    schema before it runs, and that import was a fifth of a command's start). A history this cannot
    read as one straight chain is left to Alembic."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        if path.name.startswith((".", "__init__")):  # what Alembic skips: editor files, the package
            continue
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if rev is None or down is None:
            return _alembic_head()
        revisions.add(rev.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


class SchemaOutOfDate(Exception):
    """The database schema is behind the code; ``retention-bot db upgrade`` fixes it."""


class BadDatabaseUrl(ValueError):
    """``DATABASE_URL`` cannot work: not a URL, not a database the bot supports, or its driver is
    not installed. The message says what to write instead."""


URL_FORMS = "sqlite:///retention_bot.db or postgresql://USER:PASSWORD@HOST/DATABASE"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def check_url(url: str) -> str:
    """``url`` normalised, once it is known to name SQLite or PostgreSQL through an installed
    (synchronous) driver; else `BadDatabaseUrl`. Checked when the settings are read, so a typo stops
    start-up with one line instead of a traceback from deep inside the first connection."""
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise BadDatabaseUrl(f"not a database URL; write it like {URL_FORMS}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BadDatabaseUrl(f"{backend} is not supported: use SQLite or PostgreSQL, like {URL_FORMS}")
    try:
        dialect = parsed.get_dialect()
        dialect.import_dbapi()
    except NoSuchModuleError:
        raise BadDatabaseUrl(
            f"no driver {parsed.drivername!r} for {backend}: leave the driver out ({URL_FORMS})"
        ) from None
    except ImportError as exc:
        raise BadDatabaseUrl(
            f"the driver {parsed.get_driver_name()!r} is not installed ({exc.name or exc}): install it, "
            f"or leave the driver out to use the bundled one ({URL_FORMS})"
        ) from None
    if dialect.is_async:
        raise BadDatabaseUrl(
            f"{parsed.get_driver_name()!r} is an asyncio driver; leave the driver out ({URL_FORMS})"
        )
    return parsed.render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """The database as people should read it in a message: without its password, and for a SQLite
    file given by a relative path (the default), the directory it is relative to: run from another
    directory, the bot opens (and creates) another, empty file."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    path = parsed.database or ""
    relative = path not in ("", ":memory:") and not Path(path).is_absolute()
    if parsed.get_backend_name() == "sqlite" and relative:
        return f"{shown} (in {Path.cwd()})"
    return shown


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours (see module docstring).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One engine and its session factories; built once from settings and passed down."""

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 5, concurrency: int | None = None
    ) -> None:
        self.url = normalise_url(url)
        # At most ``concurrency`` of this process's threads inside a session at once (None: no limit).
        # A web server needs many threads for requests that wait on Slack, but threads running queries
        # at the same time only take turns on the GIL (and PostgreSQL's backends on the same cores):
        # every turn costs CPU. Threads over the limit sleep until a turn is free. A thread that already
        # has a turn opens more sessions freely, so nested sessions cannot deadlock.
        self._gate = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._turns = threading.local()
        is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        # PostgreSQL's JIT compiles "expensive" plans; our scorecard queries run in well under a second,
        # where compiling costs more than it saves (measured in bench/scorecard_health.py).
        connect_args = {} if is_sqlite else {"options": "-c jit=off"}
        self.engine = create_engine(
            self.url,
            echo=echo,
            pool_pre_ping=not is_sqlite,
            connect_args=connect_args,
            pool_size=pool_size,  # the server sizes it to its threads, so no request waits for a connection
            max_overflow=pool_size,
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        # PostgreSQL reads run in autocommit: under READ COMMITTED each statement sees its own
        # snapshot whether or not a transaction wraps them, so BEGIN and the closing ROLLBACK were two
        # round trips per request for nothing, and psycopg forgets every statement it has prepared
        # at a ROLLBACK (PostgreSQL then parses and plans /health's statements on every request:
        # 3.9 ms instead of 1.3 for the largest). SQLite reads keep their transaction: it is what
        # gives several statements one consistent snapshot there.
        reads = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(reads, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def _turn(self) -> Iterator[None]:
        depth = getattr(self._turns, "depth", 0)
        gate = self._gate if depth == 0 else None
        if gate is not None:
            gate.acquire()
        self._turns.depth = depth + 1
        try:
            yield
        finally:
            self._turns.depth = depth
            if gate is not None:
                gate.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; closing it ends the transaction and keeps loaded objects readable."""
        with self._turn(), self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed if the block succeeds, rolled back otherwise."""
        with self._turn(), self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    # -- migrations -----------------------------------------------------------------------

    def _alembic_config(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def head_revision(self) -> str | None:
        return head_revision()

    def current_revision(self) -> str | None:
        """The revision the database is at (None: never migrated), read from Alembic's table."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            if len(heads) > 1:  # branches: Alembic's own answer (an error naming them)
                from alembic.runtime.migration import MigrationContext

                return MigrationContext.configure(conn).get_current_revision()
        return heads[0] if heads else None

    def upgrade(self, revision: str = "head") -> None:
        from alembic import command

        cfg = self._alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def ensure_schema(self, *, auto_upgrade: bool) -> None:
        """Upgrade automatically (the SQLite default) or refuse to run on an old schema."""
        if self.current_revision() == self.head_revision():
            return
        if auto_upgrade:
            logger.info("upgrading database schema to %s", self.head_revision())
            self.upgrade()
            return
        raise SchemaOutOfDate(
            f"the database schema is at {self.current_revision() or 'nothing'}, the code needs "
            f"{self.head_revision()}: run `retention-bot db upgrade`"
        )
