"""Warehouse sync: each kind's ``[sync.queries]`` query, imported like a file (docs/sync.md).

All the kinds of one sync are ONE transaction: people, then accounts, then the rest (the order of
``retention-bot import``), each through the importer's validation and set-based checks. A bad row,
a failed query or an unreachable warehouse rejects the whole sync and the store stays as it was:
a half-synced store (new accounts without their revenue) would report wrong figures until the
next run. ``--dry-run`` does all of it, reports the counts, and rolls back.

The worker runs it once per ``[sync] every`` interval whatever the number of replicas: the first
to claim the interval (``job_runs``, unique per workspace, job and interval) runs it; the claim is
committed before the sync, so the others skip at once instead of waiting. A failed sync is logged
(the warehouse named without its password) and tried again in the next interval.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import make_url

from services.errors import ConfigError
from services.policies import SyncConfig
from storage.db import Database
from storage.demo import KIND_ORDER
from storage.errors import ImportFailed, RecordError
from storage.importer import KINDS, ImportResult, import_records, required_fields
from storage.job_runs import finish_job_run, start_job_run
from storage.readers import RawRecord
from storage.warehouse import WarehouseError, connect, query_records, safe_url
from storage.workspaces import ensure_workspace

logger = logging.getLogger(__name__)

JOB = "warehouse_sync"
PROGRESS_EVERY = 1_000  # rows between progress reports

# (kind, rows read so far, finished) for a progress display; the services draw nothing themselves.
OnRows = Callable[[str, int, bool], None]

__all__ = ["JOB", "SyncFailed", "SyncReport", "WarehouseError", "run_due", "sync", "sync_kinds"]


class SyncFailed(Exception):
    """One kind's rows were rejected; nothing of the sync was written."""

    def __init__(self, kind: str, failure: ImportFailed) -> None:
        self.kind = kind
        self.errors: list[RecordError] = failure.errors
        self.total = failure.total
        super().__init__(f"sync rejected: {kind}: {failure.total} error(s); nothing was written")

    def lines(self) -> list[str]:
        """One line per problem: kind, row number, field and reason."""
        out = [f"{self.kind} row {e.line}: {e.field}: {e.reason}" for e in self.errors]
        if self.total > len(self.errors):
            out.append(f"{self.kind}: … and {self.total - len(self.errors)} more error(s)")
        return out


@dataclass
class SyncReport:
    results: list[ImportResult] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(r.total for r in self.results)


def sync_kinds(cfg: SyncConfig, only: Iterable[str] = ()) -> list[str]:
    """The kinds to sync, in import order: those with a query, or just ``only`` (each must have one)."""
    wanted = list(only)
    if not cfg.queries:
        raise ConfigError("config [sync]: no queries; add them under [sync.queries] (docs/sync.md)")
    missing = [k for k in wanted if k not in cfg.queries]
    if missing:
        raise ConfigError(
            f"config [sync.queries]: no query for {', '.join(missing)} "
            f"(queries are set for {', '.join(k for k in KIND_ORDER if k in cfg.queries)})"
        )
    chosen = set(wanted) or set(cfg.queries)
    return [k for k in KIND_ORDER if k in chosen]


def _counted(kind: str, rows: Iterator[RawRecord], on_rows: OnRows | None) -> Iterator[RawRecord]:
    n = 0
    for item in rows:
        n += 1
        if on_rows is not None and n % PROGRESS_EVERY == 0:
            on_rows(kind, n, False)
        yield item
    if on_rows is not None:
        on_rows(kind, n, True)


def sync(
    db: Database,
    ws: int,
    cfg: SyncConfig,
    *,
    kinds: Iterable[str] = (),
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
    on_rows: OnRows | None = None,
) -> SyncReport:
    """Run the queries and import their rows into workspace ``ws``, all kinds in one transaction.

    Raises ``SyncFailed`` (rows rejected), ``WarehouseError`` (cannot read the warehouse) or
    ``ConfigError`` (the [sync] section); in each case nothing was written."""
    order = sync_kinds(cfg, kinds)
    url = cfg.resolved_url(os.environ if environ is None else environ)
    started = time.perf_counter()
    report = SyncReport(dry_run=dry_run)
    with connect(url) as warehouse, db.write() as session:
        savepoint = session.begin_nested()  # rolled back on a dry run; the write commits nothing then
        for kind in order:
            spec = KINDS[kind]
            rows = query_records(warehouse, kind, cfg.queries[kind], spec.fields, required_fields(kind), url)
            try:
                result = import_records(
                    session, ws, kind, _counted(kind, rows, on_rows), source=f"sync {kind}"
                )
            except ImportFailed as exc:
                raise SyncFailed(kind, exc) from None
            report.results.append(result)
        if dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
    report.seconds = time.perf_counter() - started
    return report


def describe(cfg: SyncConfig, environ: Mapping[str, str] | None = None) -> str:
    """The warehouse as it may be shown and logged: its URL, environment variables read, without the
    password (the URL as written when a variable is not set)."""
    try:
        return safe_url(cfg.resolved_url(os.environ if environ is None else environ))
    except ConfigError:
        return safe_url(cfg.url or "")


def _without_password(message: str, cfg: SyncConfig, environ: Mapping[str, str] | None) -> str:
    try:
        password = make_url(cfg.resolved_url(os.environ if environ is None else environ)).password
    except Exception:
        return message
    return message.replace(str(password), "***") if password else message


def interval_subject(now: dt.datetime, seconds: int) -> str:
    """The interval ``now`` falls in, as its start in UTC and its length: the claim's subject."""
    epoch = int(now.timestamp())
    start = dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)
    return f"{start:%Y-%m-%dT%H:%M}Z/{seconds}s"


@dataclass
class DueRun:
    subject: str
    report: SyncReport | None = None
    error: str | None = None  # one line, the warehouse's password left out


def run_due(
    db: Database,
    workspace: str,
    cfg: SyncConfig,
    now: dt.datetime,
    *,
    environ: Mapping[str, str] | None = None,
) -> DueRun | None:
    """The worker's sync: run it if this interval's sync is not claimed yet (by this or another
    replica); None when there is nothing to do."""
    if not cfg.every or not cfg.queries:
        return None
    subject = interval_subject(now, cfg.every_seconds)
    with db.write() as session:
        ws = ensure_workspace(session, workspace, now=now)
        if not start_job_run(session, ws, JOB, subject, now):
            return None
    run = DueRun(subject)
    try:
        run.report = sync(db, ws, cfg, environ=environ)
    except SyncFailed as exc:
        run.error = f"{exc}: " + "; ".join(exc.lines()[:5])
    except (WarehouseError, ConfigError) as exc:
        run.error = str(exc)
    except Exception as exc:  # a driver's own error while rows stream: its first line, password out
        lines = str(exc).strip().splitlines()
        run.error = _without_password(f"{type(exc).__name__}: {lines[0] if lines else ''}", cfg, environ)
    if run.error is not None:
        logger.error(
            "warehouse sync %s (%s) failed; the next interval tries again: %s",
            subject,
            describe(cfg, environ),
            run.error,
        )
        return run
    with db.write() as session:
        assert run.report is not None
        finish_job_run(session, ws, JOB, subject, now + dt.timedelta(seconds=run.report.seconds))
    logger.info(
        "warehouse sync %s: %s",
        subject,
        ", ".join(f"{r.kind} {r.inserted}+ {r.updated}~ {r.unchanged}=" for r in run.report.results),
    )
    return run
