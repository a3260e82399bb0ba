"""Shared bench helpers: fresh databases, dataset files, timing and peak memory of a child process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from testkit.pg import create_database, drop_database

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, {platform.system()}"


def fresh_sqlite(workdir: Path, name: str) -> str:
    path = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_postgres(name: str) -> str | None:
    """A new, empty PostgreSQL database (None when no server answers)."""
    try:
        return create_database(PG_ADMIN, f"rb_bench_{name}")
    except Exception as exc:
        shown = make_url(PG_ADMIN).render_as_string()
        print(f"  (PostgreSQL not reachable at {shown}: {exc.__class__.__name__}; skipped)")
        return None


def drop_postgres(url: str) -> None:
    drop_database(PG_ADMIN, url)


def run_child(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line, to which peak RSS (MB) is added."""
    wrapper = (
        "import json, resource, sys\n"
        f"{code}\n"
        "result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(result))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench child failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load_demo_data(url: str, accounts: int, months: int, as_of: Any, *options: str) -> float:
    """The demo dataset through the real CLI (`db upgrade`, `demo-data` with ``options``) into ``url``,
    then ANALYZE, committed (what autovacuum does within a minute of a load); the seconds it took."""
    import time

    from sqlalchemy import text

    from storage.db import Database

    started = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": url, "RETENTION_BOT_WORKSPACE": "bench", "LOG_LEVEL": "WARNING"}
    run = [sys.executable, "-m", "bot"]
    subprocess.run([*run, "db", "upgrade"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    demo = ["demo-data", "--accounts", str(accounts), "--months", str(months), "--as-of", as_of.isoformat()]
    subprocess.run([*run, *demo, *options], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    db = Database(url)
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    db.dispose()
    return time.perf_counter() - started


def on_both_databases(
    name: str, args: Any, load: Callable[[str, int, int], float], measure: Callable[[str, str], None]
) -> None:
    """A bench's run: the SQLite dataset under ``args.workdir`` (loaded once, kept for the next run),
    then a fresh PostgreSQL database (dropped after unless ``args.keep_postgres``); ``measure`` each."""
    sqlite_path = args.workdir / f"{name}-{args.accounts}-{args.months}.db"
    url = f"sqlite:///{sqlite_path}"
    if not sqlite_path.exists():
        print(f"  loading SQLite dataset ({sqlite_path}) … {load(url, args.accounts, args.months):.0f} s")
    measure("SQLite", url)
    pg = fresh_postgres(name)
    if pg:
        print(f"  loading PostgreSQL dataset … {load(pg, args.accounts, args.months):.0f} s")
        measure("PostgreSQL", pg)
        if not args.keep_postgres:
            drop_postgres(pg)
