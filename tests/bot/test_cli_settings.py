"""Settings and options the CLI cannot work with stop it with one line naming the setting or option
and the fix, exit status 2 and no traceback; every error about the database says which database
(for the SQLite default, which directory's file)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot import cli as cli_mod
from bot.cli import cli
from storage.db import Database
from storage.workspaces import ensure_workspace

REPO = Path(__file__).resolve().parents[2]


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The real entry point in a child process: what an operator sees, traceback included if any."""
    clean = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_LEVEL", "RETENTION_BOT_CONFIG")
    }
    clean["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "not a url"}, "setting DATABASE_URL: not a database URL; write it like sqlite:///"),
        (
            {"DATABASE_URL": "postgresql://bot:s3cret@db:54x2/crm"},
            "setting DATABASE_URL: not a database URL; write it like sqlite:///",
        ),
        (
            {"DATABASE_URL": "mysql://bot:s3cret@db/crm"},
            "setting DATABASE_URL: mysql is not supported: use SQLite or PostgreSQL",
        ),
        (
            {"DATABASE_URL": "postgresql+psycopg2://bot:s3cret@db/crm"},
            "setting DATABASE_URL: the driver 'psycopg2' is not installed (psycopg2): install it, "
            "or leave the driver out",
        ),
        (
            {"DATABASE_URL": "postgresql+nodriver://bot@db/crm"},
            "setting DATABASE_URL: no driver 'postgresql+nodriver'",
        ),
        (
            {"LOG_LEVEL": "LOUD"},
            "setting LOG_LEVEL: 'LOUD' is not a log level: use DEBUG, INFO, WARNING or ERROR",
        ),
    ],
)
def test_a_setting_that_cannot_work_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    code, out, err = run_cli(tmp_path, env, "scorecard")
    assert code == 2, err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"Error: {expected}")
    assert "s3cret" not in err
    assert not (tmp_path / "retention_bot.db").exists()  # nothing was opened or created


def test_log_level_is_case_insensitive(tmp_path: Path) -> None:
    code, out, err = run_cli(tmp_path, {"LOG_LEVEL": "warning"}, "db", "current")
    assert code == 0, err
    assert out.startswith("database: ")


def test_version(tmp_path: Path) -> None:
    code, out, _ = run_cli(tmp_path, {}, "--version")
    assert code == 0 and out.strip() == "retention-bot, version 0.1.0"


def _date_options() -> list[tuple[list[str], str]]:
    """Every option of every command parsed as a date, by walking the command tree."""
    found = []

    def walk(command: click.Command, path: list[str]) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and param.callback is cli_mod._date:
                found.append((path, param.opts[0]))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(cli, [])
    return found


def test_every_date_like_option_is_checked_as_a_date() -> None:
    def walk(command: click.Command) -> list[click.Option]:
        own = [p for p in command.params if isinstance(p, click.Option)]
        subs = command.commands.values() if isinstance(command, click.Group) else []
        return own + [o for sub in subs for o in walk(sub)]

    dated = [
        o
        for o in walk(cli)
        if any(n.lstrip("-") in ("as-of", "date", "day") or n.endswith(("-date", "-day")) for n in o.opts)
    ]
    assert dated and all(o.callback is cli_mod._date for o in dated), [o.opts for o in dated]
    paths = {" ".join(p) for p, _ in _date_options()}
    assert {"scorecard", "cohorts", "demo-data", "health-snapshot", "digest preview"} <= paths


@pytest.mark.parametrize(
    ("path", "option"), _date_options(), ids=lambda v: v if isinstance(v, str) else " ".join(v)
)
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_a_date_out_of_range_names_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: list[str], option: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, [*path, option, value], catch_exceptions=False)
    assert result.exit_code == 2
    assert error_lines(result.stderr) == [
        f"Error: Invalid value for '{option}': {value} is out of range: "
        "give a date from 1900-01-01 to 9998-12-31"
    ]
    assert "Traceback" not in result.output


def test_the_default_database_says_which_directory_it_is_in(tmp_path: Path) -> None:
    """Run from another directory, the SQLite default is another, empty file: the error says where."""
    code, _, err = run_cli(tmp_path, {}, "scorecard")
    assert code == 1 and "Traceback" not in err
    assert error_lines(err) == [
        f"Error: workspace 'default' has no data yet in sqlite:///retention_bot.db (in {tmp_path}): "
        "load some with `retention-bot demo-data` or `retention-bot import KIND FILE` (see docs/import.md), "
        "or set DATABASE_URL to the database that has it"
    ]


def test_a_sqlite_file_that_cannot_be_opened_names_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///no/such/dir/bot.db")
    result = CliRunner().invoke(cli, ["scorecard"], catch_exceptions=False)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [
        f"Error: cannot open the database sqlite:///no/such/dir/bot.db (in {tmp_path}) (DATABASE_URL): "
        "unable to open database file"
    ]


def test_a_database_error_inside_a_command_names_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged SQLite file (a table gone behind the schema version's back) fails mid-command."""
    path = tmp_path / "bot.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.write() as s:
        ensure_workspace(s, "default", now=dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
        s.execute(text("DROP TABLE accounts"))
    db.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    result = CliRunner().invoke(cli, ["health-snapshot", "--date", "2026-11-23"], catch_exceptions=False)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [
        f"Error: database error in sqlite:///{path} (DATABASE_URL): no such table: accounts"
    ]
