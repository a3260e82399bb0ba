"""`retention-bot sync` and `import --map` end to end; the worker's sync; progress only on a terminal."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import create_engine, func, make_url, select
from sqlalchemy.pool import NullPool

from bot.cli import cli
from bot.cli.progress import progress, shows_progress
from bot.scheduler import Worker
from bot.settings import build_settings
from storage import models as m
from storage.db import Database
from testkit.warehouse import build_hubspot
from tests.conftest import PG_URL
from tests.support.helpers import at_once

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
PROGRESS_MARKS = ("\r", "\x1b[", "━", "⠋")


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        build_hubspot(conn)
    engine.dispose()
    return url


@pytest.fixture
def run(db: Database, tmp_path: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(EXAMPLES / "sync-hubspot.toml"))
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    monkeypatch.delenv("CI", raising=False)  # not a terminal is what keeps these quiet
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def rows(db: Database, model: type[m.Base]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_sync_then_again(run, db: Database) -> None:
    code, out, err = run("sync")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["people", "2", "inserted", "0", "updated", "0", "unchanged"]
    assert lines[2].split()[:2] == ["revenue", "30"]
    assert lines[3].startswith("35 rows of 3 kind(s) synced from duckdb:///")
    assert not any(mark in err for mark in PROGRESS_MARKS)  # stderr is no terminal: no progress
    code, out, _ = run("sync", "--kind", "accounts")
    assert code == 0 and out.splitlines()[0].split()[1:7] == [
        "0",
        "inserted",
        "0",
        "updated",
        "3",
        "unchanged",
    ]
    assert rows(db, m.Account) == 3


def test_dry_run_writes_nothing(run, db: Database) -> None:
    code, out, _ = run("sync", "--dry-run")
    assert code == 0 and "35 rows of 3 kind(s) checked (dry run: nothing written)" in out
    assert rows(db, m.Person) == rows(db, m.Account) == 0


def test_a_bad_row_is_named_and_nothing_is_written(run, db: Database, warehouse: str) -> None:
    engine = create_engine(warehouse, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE hubspot.deal SET property_amount = -1200 WHERE deal_id = 3300000004")
    engine.dispose()
    code, out, err = run("sync")
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    assert first == "revenue row 19: mrr: Input should be greater than or equal to 0"
    assert "Error: sync rejected: revenue: 12 error(s); nothing was written" in err
    assert rows(db, m.Person) == rows(db, m.Account) == rows(db, m.MrrSnapshot) == 0


def test_no_sync_section(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETENTION_BOT_CONFIG")
    code, _, err = run("sync")
    assert code == 2 and "no warehouse to sync from: add [sync] url and [sync.queries]" in err
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(EXAMPLES / "sync-hubspot.toml"))
    code, _, err = run("sync", "--kind", "tickets")
    assert code == 2 and "no query for tickets" in err


def test_the_password_stays_out_of_the_output(run, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Hunter2-very-secret"
    bad = make_url(PG_URL).set(password=secret, port=1).render_as_string(hide_password=False)
    monkeypatch.setenv("WAREHOUSE_URL", bad)
    code, out, err = run("sync")
    assert (
        code == 2 and "sync failed: cannot connect to the warehouse postgresql+psycopg://postgres:***@" in err
    )
    assert secret not in out + err
    monkeypatch.delenv("WAREHOUSE_URL")
    code, _, err = run("sync")
    assert code == 2 and "environment variable(s) WAREHOUSE_URL not set" in err


def test_worker_once_syncs_when_due(run, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    code, out, err = run("worker", "--once")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("warehouse sync ") and out.endswith(": 35 rows synced\n")
    assert rows(db, m.Account) == 3


def test_import_with_a_map(run, db: Database, tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "hubspot-companies-export.csv", tmp_path / "companies.csv")
    code, out, err = run(
        "import", "accounts", "companies.csv", "--map", str(EXAMPLES / "hubspot-companies.map.toml")
    )
    assert code == 0 and "4 inserted, 0 updated, 0 unchanged" in out, err
    (tmp_path / "bad.toml").write_text('[columns]\n"Record ID" = "id"\n')
    code, out, err = run("import", "accounts", "companies.csv", "--map", "bad.toml")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        'Error: map bad.toml: "Record ID" = "id": \'id\' is not a field of accounts (the fields are '
        "ae_email, campaign, closed_won_on, crm_url, csm_email, domain, exec_sponsor_email, external_id, "
        "name, plan, renewal_on, segment, source, stage, support_lead_email); nothing was imported"
    ]
    code, _, err = run("import", "accounts", "companies.csv", "--map", "missing.toml")
    assert code == 2 and "map missing.toml: no such file" in err
    assert rows(db, m.Account) == 4


def test_long_commands_print_no_progress_off_a_terminal(run) -> None:
    for args in (
        ("demo-data", "--accounts", "30", "--as-of", "2026-11-23", "--usage-days", "3"),
        ("health-snapshot", "--date", "2026-11-23"),
    ):
        code, _, err = run(*args)
        assert code == 0 and not any(mark in err for mark in PROGRESS_MARKS), (args, err)


def test_progress_draws_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def drawn(*, terminal: bool) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=terminal, width=80)
        with progress("linking Slack users", total=3, console=console) as bar:
            bar.advance(2)
            bar.add("page 2").update(description="page 2 of 2")
        return buffer.getvalue()

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert "linking Slack users" in drawn(terminal=True)  # the bar is drawn (then cleared)
    assert drawn(terminal=False) == ""
    monkeypatch.setenv("CI", "true")
    assert drawn(terminal=True) == ""
    assert not shows_progress(Console(file=io.StringIO(), force_terminal=True))


def test_two_workers_sync_once(
    db: Database, ws: int, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    settings = build_settings(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        RETENTION_BOT_WORKSPACE="test",
        RETENTION_BOT_CONFIG=str(EXAMPLES / "sync-hubspot.toml"),
    )
    now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    workers = [Worker(settings, db, clock=lambda: now) for _ in range(2)]
    runs = at_once(lambda w: w.sync(), workers)
    assert sorted(r is None for r in runs) == [False, True]
    assert rows(db, m.Account) == 3
    assert "sync" in {job.id for job in workers[0].scheduler(blocking=False).get_jobs()}


def test_the_log_filter_knows_the_warehouse_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.logs import secret_values

    policy = tmp_path / "policy.toml"
    policy.write_text('[sync]\nurl = "postgresql://reader:${WH_PW}@wh.internal/analytics"\n')
    monkeypatch.setenv("WH_PW", "Wh-Pa55word-long")
    settings = build_settings(DATABASE_URL="sqlite:///x.db", RETENTION_BOT_CONFIG=str(policy))
    assert "Wh-Pa55word-long" in secret_values(settings)
    monkeypatch.delenv("WH_PW")
    assert (
        secret_values(build_settings(DATABASE_URL="sqlite:///x.db", RETENTION_BOT_CONFIG=str(policy))) == []
    )
