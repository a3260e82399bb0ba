"""Run the real bot (waitress on a loopback port) against the fake Slack, and sign requests like Slack;
install it through OAuth, and run its SLA sweep and outbox once."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

from bot.app import create_app
from bot.scheduler import Worker
from bot.server import make_wsgi
from bot.settings import build_settings
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW

SIGNING_SECRET = "test-signing-secret"
INGEST_TOKEN = "test-ingest-token"
TEAM = "T0TEST"


@dataclass
class Reply:
    status: int
    body: Any


class Bot:
    def __init__(
        self, db: Database, fake: FakeSlack, *, answer_budget: float | None = None, **env: str
    ) -> None:
        self.fake = fake
        self.settings = build_settings(
            DATABASE_URL=db.url,
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
            INGEST_TOKEN=INGEST_TOKEN,
            RETENTION_BOT_WORKSPACE=env.pop("RETENTION_BOT_WORKSPACE", "test"),
            ADMIN_USER_IDS="UADMIN",
            **env,
        )
        self.app, self.services = create_app(
            self.settings, db, clock=lambda: NOW, answer_budget=answer_budget
        )
        self.server = create_server(
            make_wsgi(self.settings, db, self.app, lambda: NOW),
            host="127.0.0.1",
            port=0,
            threads=8,
            asyncore_loop_timeout=0.1,  # so close() is quick
        )
        self._closing = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._trigger = 0

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self._closing:  # closing the sockets under the select loop is how waitress stops
                raise

    def close(self) -> None:
        self._closing = True
        self.server.close()
        self.thread.join(timeout=5)
        self.services.answer.shutdown()

    # -- raw HTTP ----------------------------------------------------------------------------------

    def http(
        self, path: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST"
    ) -> Reply:
        req = urllib.request.Request(
            self.url + path, data=body if method == "POST" else None, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return Reply(resp.status, _decode(resp.read()))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, _decode(exc.read()))

    def signed(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        extra: dict[str, str] | None = None,
    ) -> Reply:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            **(extra or {}),
        }
        return self.http("/slack/events", body.encode(), headers)

    # -- what Slack sends --------------------------------------------------------------------------

    def command(
        self, command: str, text: str = "", *, user: str = "UANA", team: str = TEAM, **kw: Any
    ) -> Reply:
        self._trigger += 1
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "test",
            "channel_id": "C0CHAN",
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "response_url": self.fake.response_url(f"cmd{self._trigger}"),
            "trigger_id": f"trigger-{self._trigger}-{time.time_ns()}",
        }
        return self.signed(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def press(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "UANA",
        message_ts: str = "1700000000.000001",
        key: str = "press",
    ) -> Reply:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0APP",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": "C0CHAN",
                "is_ephemeral": True,
            },
            "channel": {"id": "C0CHAN", "name": "general"},
            "trigger_id": "t",
            "response_url": self.fake.response_url(key),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": "1700000001.000001",
                }
            ],
        }
        return self.signed(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def submit(self, view: dict[str, Any], values: dict[str, Any], *, user: str = "UANA") -> Reply:
        """A ``view_submission`` of ``view`` (as the bot opened it) with the given input state."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0APP",
            "trigger_id": "t2",
            "view": {**view, "id": "V1", "state": {"values": values}},
        }
        return self.signed(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], event_id: str, *, retry: int | None = None) -> Reply:
        body = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1700000000,
            "event": event,
        }
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.signed(json.dumps(body), "application/json", extra=extra)

    def ingest(self, kind: str, records: Any, token: str | None = INGEST_TOKEN) -> Reply:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http(f"/api/v1/ingest/{kind}", json.dumps(records).encode(), headers)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.decode()


def sweep_and_deliver(bot: Bot, db: Database, at: dt.datetime) -> None:
    """One SLA sweep at ``at``, then the outbox delivers what it queued."""
    worker = Worker(bot.settings, db, clock=lambda: at, channel_interval=0.01)
    worker.sla()
    worker.deliver()


def install(
    bot: Bot,
    code: str,
    *,
    user: str,
    team: str | None,
    token: str,
    enterprise: str | None = None,
    refresh_token: str | None = None,
) -> Reply:
    """A person installs the app: the install page sets the state cookie, Slack redirects back with a code."""
    bot.fake.grant(
        code, user=user, team=team, token=token, enterprise=enterprise, refresh_token=refresh_token
    )
    with urllib.request.urlopen(bot.url + "/slack/install", timeout=10) as page:
        cookie = page.headers["Set-Cookie"].split(";")[0]
        state = re.search(r"state=([^&\"]+)", page.read().decode())
    assert state is not None
    query = urlencode({"code": code, "state": state.group(1)})
    return bot.http(f"/slack/oauth_redirect?{query}", headers={"Cookie": cookie}, method="GET")
