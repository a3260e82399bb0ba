"""The HTTP edge: malformed Slack requests get 401/400 and one log line (never a 500 and a traceback),
and idle, half-sent connections cannot stop the server (``retention-bot serve`` itself, in a process)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.slack_harness import INGEST_TOKEN, SIGNING_SECRET, Bot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bot(db: Database) -> Iterator[Bot]:
    with FakeSlack() as fake:
        b = Bot(db, fake)
        yield b
        b.close()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level("INFO")
    return caplog


def assert_no_traceback(log: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in log.records if r.exc_info or r.levelname == "ERROR"] == []


def signed_bytes(bot: Bot, body: bytes, content_type: str, timestamp: str | None = None) -> int:
    """A request signed like Slack signs, over the raw bytes (which need not be UTF-8)."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    return bot.http("/slack/events", body, headers).status


COMMAND = urlencode({"team_id": "T0TEST", "user_id": "UANA", "command": "/health", "text": "acme"})


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-1", "17²", "9" * 30])
def test_a_malformed_timestamp_is_refused_with_401(
    bot: Bot, log: pytest.LogCaptureFixture, timestamp: str
) -> None:
    assert signed_bytes(bot, COMMAND.encode(), "application/x-www-form-urlencoded", timestamp) == 401
    assert bot.fake.transcript == []
    assert_no_traceback(log)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (COMMAND.encode(), "application/json"),  # a form body sent as JSON
        (b"[1, 2]", "application/json"),
        (b'"event_callback"', "application/json"),
        (b"", "application/json"),
        ('{"type": "event_callback", "team_id": "T0TEST"}'.encode("utf-16"), "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
        (b'{"type": "event_callback", "team_id": "T0TEST", "event": "app_mention"}', "application/json"),
        (b'{"authorizations": [1]}', "application/json"),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "user": "UANA"})}).encode(),
            "application/x-www-form-urlencoded",
        ),
        (b"command=/health", "application/x-www-form-urlencoded"),  # no team, no user
    ],
)
def test_a_signed_but_malformed_body_answers_400(
    bot: Bot, log: pytest.LogCaptureFixture, db: Database, body: bytes, content_type: str
) -> None:
    assert signed_bytes(bot, body, content_type) == 400
    assert_no_traceback(log)
    assert any("refused" in r.getMessage() for r in log.records)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Workspace)) == 0  # nothing written


def test_the_same_requests_unsigned_answer_401(bot: Bot, log: pytest.LogCaptureFixture) -> None:
    for body in (b"{not json", COMMAND.encode(), b"\xff\xfe"):
        headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "abc"}
        assert bot.http("/slack/events", body, headers).status == 401
    assert_no_traceback(log)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1", 400, "invalid_json"),
        (COMMAND.encode(), 400, "invalid_json"),
        (b"{}", 400, "not_an_array"),
        # Well-formed HTTP whose content cannot be records: 422, like every other bad record (docs/import.md).
        (b"\xff\xfe[", 422, "not_utf8"),
        (b"", 422, "empty_body"),
    ],
)
def test_ingest_api_answers_malformed_bodies_without_a_500(
    bot: Bot, log: pytest.LogCaptureFixture, body: bytes, status: int, error: str
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {INGEST_TOKEN}"}
    reply = bot.http("/api/v1/ingest/accounts", body, headers)
    assert (reply.status, reply.body["error"]) == (status, error)
    assert_no_traceback(log)


# --- the server process under idle connections ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """Start ``retention-bot serve`` (one process, no scheduler) with extra settings; returns its URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> str:
        port = free_port()
        full = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite:///{tmp_path / f'edge-{port}.db'}",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_PROCESSES": "1",
            "SCHEDULER": "false",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        log = open(tmp_path / f"serve-{port}.log", "w")  # noqa: SIM115 - the process writes it
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=full, cwd=tmp_path, stdout=log, stderr=log
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    return url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert proc.poll() is None, f"serve exited: see {log.name}"
                time.sleep(0.1)
        raise AssertionError("serve did not start")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def half_sent(url: str, n: int) -> list[socket.socket]:
    """``n`` connections that started a request and then went quiet (a slow or stalled client)."""
    port = int(url.rsplit(":", 1)[1])
    conns = []
    for _ in range(n):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 1000\r\n\r\n{")
        conns.append(conn)
    return conns


@pytest.mark.parametrize(
    ("env", "idle"),
    [
        ({}, 105),  # past waitress's own default limit (100), within the bot's default
        ({"CONNECTION_LIMIT": "5", "CHANNEL_TIMEOUT": "1"}, 10),  # past the limit: the idle ones time out
    ],
)
def test_idle_half_sent_connections_do_not_stop_the_bot(serve, env: dict[str, str], idle: int) -> None:
    url = serve(**env)
    conns = half_sent(url, idle)
    try:
        # Bounded: well under waitress's default two-minute channel timeout.
        with urllib.request.urlopen(url + "/healthz", timeout=20) as resp:
            assert resp.status == 200
    finally:
        for conn in conns:
            conn.close()


def test_a_body_over_the_cap_is_refused_before_it_is_read(serve) -> None:
    url = serve(MAX_REQUEST_BODY_BYTES=str(64 * 1024))
    body = b"[" + b" " * (70 * 1024) + b"]"
    request = urllib.request.Request(
        url + "/api/v1/ingest/accounts",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=20)
    assert refused.value.code == 413
