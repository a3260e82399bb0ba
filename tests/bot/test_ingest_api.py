"""The ingest API refuses bad input with 4xx (never 500) and writes nothing; its OpenAPI document
states what the server enforces and every status it answers; schemathesis checks both against the
real server (waitress on a loopback port, a real database on SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.helpers import load
from tests.support.slack_harness import INGEST_TOKEN, Bot

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"}
USAGE = {"account": "A1", "day": "2026-11-01", "active_users": 3}
TICKET = {"external_id": "T1", "account": "A1", "opened_at": "2026-11-01T09:00:00Z"}


@pytest.fixture
def bot(db: Database, ws: int, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "people", "email,name,team\nana@x.io,Ana,cs\n", tmp_path)
    load(db, ws, "accounts", "external_id,name,segment\nA1,Acme,smb\n", tmp_path)
    with FakeSlack() as fake:
        b = Bot(db, fake)
        yield b
        b.close()


def rows(db: Database, model: type[m.Base]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def refused(reply: Any, field: str, reason: str) -> bool:
    """A 422 naming ``field`` of record 0 with ``reason`` in it."""
    return reply.status == 422 and any(
        e["index"] == 0 and e["field"] == field and reason in e["reason"] for e in reply.body["errors"]
    )


# --- strict JSON ----------------------------------------------------------------------------------


def test_true_is_not_a_number(bot: Bot, db: Database) -> None:
    reply = bot.ingest("usage", [{**USAGE, "active_users": True}])
    assert refused(reply, "active_users", "valid integer"), reply
    assert rows(db, m.UsageDaily) == 0


def test_zero_is_not_a_date(bot: Bot, db: Database) -> None:
    reply = bot.ingest("usage", [{**USAGE, "day": 0}])
    assert refused(reply, "day", "valid date"), reply
    assert rows(db, m.UsageDaily) == 0


# --- the same limits as the import ----------------------------------------------------------------


def test_an_integer_past_its_column_is_422_on_both_databases(bot: Bot, db: Database) -> None:
    for too_big in (2**31, 2**63):  # PostgreSQL's INTEGER, then SQLite's
        reply = bot.ingest("usage", [{**USAGE, "active_users": too_big}])
        assert refused(reply, "active_users", "less than or equal to 2147483647"), reply
    assert rows(db, m.UsageDaily) == 0


def test_a_time_past_year_9999_in_utc_is_422(bot: Bot, db: Database) -> None:
    reply = bot.ingest("tickets", [{**TICKET, "opened_at": "9999-12-31T23:00:00-05:00"}])
    assert refused(reply, "opened_at", "outside years 1-9999 once converted to UTC"), reply
    assert rows(db, m.Ticket) == 0


def test_nul_in_text_is_422(bot: Bot, db: Database) -> None:
    reply = bot.ingest("accounts", [{"external_id": "A2", "name": "Ac\u0000me", "segment": "smb"}])
    assert refused(reply, "name", "control character U+0000"), reply
    assert rows(db, m.Account) == 1


def test_an_email_longer_than_its_column_is_422(bot: Bot, db: Database) -> None:
    email = "a" * 250 + "@x.io"  # PostgreSQL's VARCHAR(254) would refuse it with a 500
    reply = bot.ingest("people", [{"email": email, "name": "Long", "team": "cs"}])
    assert refused(reply, "email", "at most 254 characters"), reply
    assert rows(db, m.Person) == 1


def test_nesting_past_what_python_parses_is_422(bot: Bot) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    reply = bot.http("/api/v1/ingest/usage", body, AUTH)
    assert reply.status == 422 and reply.body["error"] == "too_deep", reply


def test_a_record_nested_deeper_than_records_go_is_422(bot: Bot) -> None:
    reply = bot.ingest("usage", [{**USAGE, "account": {"id": "A1"}}])
    assert refused(reply, "account", "nested deeper than a record needs"), reply


def test_a_body_that_is_not_utf8_is_422_naming_the_byte(bot: Bot) -> None:
    body = '[{"account": "A1", "day": "2026-11-01", "active_users": 3, "x": "caf\u00e9"}]'.encode("latin-1")
    reply = bot.http("/api/v1/ingest/usage", body, AUTH)
    assert reply.status == 422 and reply.body["error"] == "not_utf8", reply
    at = body.index("é".encode("latin-1"))
    assert f"byte 0xE9 at byte {at}" in reply.body["detail"]


def test_an_empty_body_is_422(bot: Bot) -> None:
    reply = bot.http("/api/v1/ingest/usage", b"", AUTH)
    assert reply.status == 422 and reply.body["error"] == "empty_body", reply


# --- HTTP ---------------------------------------------------------------------------------------


def answer(bot: Bot, method: str, path: str) -> tuple[int, str | None]:
    """The status and ``Allow`` header of a bodiless ``method`` request."""
    req = urllib.request.Request(bot.url + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers["Allow"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Allow"]


def test_another_method_is_405_with_allow(bot: Bot) -> None:
    assert answer(bot, "GET", "/api/v1/ingest/usage") == (405, "POST")
    assert answer(bot, "PUT", "/api/v1/ingest/usage") == (405, "POST")
    assert answer(bot, "DELETE", "/api/v1/openapi.json") == (405, "GET, HEAD")


def test_a_body_past_the_limit_is_413(bot: Bot) -> None:
    huge = b'["' + b"x" * (11 * 1024 * 1024) + b'"]'
    reply = bot.http("/api/v1/ingest/usage", huge, AUTH)
    assert reply.status == 413 and "split the batch" in reply.body["detail"]


def test_ingested_usage_keeps_its_running_totals(bot: Bot, db: Database) -> None:
    """Each usage row carries its account's rows and active users up to its day (the usage_drop
    trigger reads them): a later batch re-sending an earlier day with a new value moves the days after it."""
    days = ["2026-11-01", "2026-11-02", "2026-11-04"]
    reply = bot.ingest("usage", [{**USAGE, "day": d, "active_users": k + 1} for k, d in enumerate(days)])
    assert reply.status == 200, reply
    reply = bot.ingest("usage", [{**USAGE, "day": "2026-11-02", "active_users": 20}])
    assert reply.status == 200 and reply.body["updated"] == 1, reply
    with db.read() as s:
        got = s.execute(
            select(m.UsageDaily.day, m.UsageDaily.rows_upto, m.UsageDaily.users_upto).order_by(
                m.UsageDaily.day
            )
        ).all()
    assert [(d.isoformat(), n, u) for d, n, u in got] == [
        ("2026-11-01", 1, 1),
        ("2026-11-02", 2, 21),
        ("2026-11-04", 3, 24),
    ]


def test_openapi_states_the_limits_and_every_status(bot: Bot) -> None:
    spec = bot.http("/api/v1/openapi.json", method="GET").body
    statuses = set(spec["paths"]["/api/v1/ingest/usage"]["post"]["responses"])
    assert statuses == {"200", "400", "401", "404", "405", "413", "422"}
    allow = spec["components"]["responses"]["MethodNotAllowed"]["headers"]["Allow"]
    assert allow["required"] is True
    usage = spec["components"]["schemas"]["UsageRecord"]["properties"]
    assert usage["active_users"]["maximum"] == 2**31 - 1
    name = spec["components"]["schemas"]["AccountRecord"]["properties"]["name"]
    assert name["pattern"].startswith("^[^\\x00-\\x1f")


# --- schemathesis ---------------------------------------------------------------------------------


def st(bot: Bot, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``st run`` against the live server, authenticated like a client, bounded and reproducible."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{bot.url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {INGEST_TOKEN}",
        "--checks",
        "all",
        # Records that match the schema may still name an account that does not exist: a 422 is right.
        "--exclude-checks",
        "positive_data_acceptance",
        "--seed",
        "7",
        "--no-shrink",
        # One worker: hypothesis parses lambdas' source with ast, and CPython 3.11 (before 3.11.8) can
        # fail doing that from two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        *args,
    ]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)


def test_schemathesis_finds_no_5xx_and_no_answer_off_the_spec(bot: Bot, tmp_path: Path) -> None:
    # Every operation, a few random cases each; then the boundary and negative cases of the schema
    # (maximum + 1, a control character, a wrong type, no auth, another method) for two kinds that
    # between them hold counts, dates, times, free text, e-mails, enums and ids (about 30 s a database).
    fuzz = st(bot, tmp_path, "--phases", "fuzzing", "--max-examples", "3")
    assert fuzz.returncode == 0, fuzz.stdout[-4000:]
    cover = st(
        bot,
        tmp_path,
        "--phases",
        "coverage",
        "--include-operation-id-regex",
        "^ingest_(usage|touchpoints)$",
    )
    assert cover.returncode == 0, cover.stdout[-4000:]
    assert "No issues found" in cover.stdout
