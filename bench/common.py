"""Shared bench helpers: fresh databases, dataset files, timing and peak memory of a child process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
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
