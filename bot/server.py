"""The HTTP server: Slack requests at ``/slack/events`` (plus ``/slack/install`` and
``/slack/oauth_redirect`` in OAuth mode), ``/healthz``, the ingest API and its OpenAPI document,
served by waitress (a production WSGI server), not Bolt's development server."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from sqlalchemy import text

from bot import ingest
from bot.settings import Settings
from storage.db import Database

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


def _json(
    start: StartResponse,
    status: int,
    body: dict[str, Any],
    headers: Iterable[tuple[str, str]] = (),
) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    reason = {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        422: "Unprocessable Entity",
        503: "Service Unavailable",
    }.get(status, "")
    start(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


# Slack's requests are signed within the last five minutes (docs/slack.md); the same window as Bolt's.
SIGNATURE_MAX_AGE_SECONDS = 5 * 60


class SlackEdge(SlackRequestHandler):
    """Bolt's WSGI adapter, with every POST checked before Bolt parses it: Bolt reads the body (and
    its ``payload``) before it verifies the signature, and answers a malformed timestamp, a body that
    is not UTF-8, JSON that is not an object or a form sent as JSON with a 500 and a traceback. Here
    an unsigned, stale or badly signed request gets 401 and a signed but malformed one 400, each with
    one log line, and its body (which may hold a response URL) at DEBUG only."""

    def __init__(self, app: App, signing_secret: str | None) -> None:
        super().__init__(app)
        self.secret = signing_secret.encode() if signing_secret else None

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        try:
            length = int(request.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(400, "the Content-Length header is not a number")
        raw = request.environ["wsgi.input"].read(length) if length > 0 else b""
        headers = request.get_headers()
        if self.secret is not None and not self._signed(raw, headers):
            return _refuse(401, "missing, stale or wrong signature", raw)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "the body is not UTF-8", raw)
        problem = _malformed(body, str(headers.get("content-type", "")))
        if problem:
            return _refuse(400, problem, raw)
        try:
            bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a payload of the wrong shape
            return _refuse(400, f"Bolt cannot read the payload ({exc.__class__.__name__})", raw)
        try:
            return self.app.dispatch(bolt_request)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # Bolt's own reading of it
            return _refuse(400, f"Bolt cannot route the payload ({exc.__class__.__name__}: {exc})", raw)

    def _signed(self, body: bytes, headers: dict[str, Any]) -> bool:
        assert self.secret is not None
        timestamp = str(headers.get("x-slack-request-timestamp") or "")
        signature = str(headers.get("x-slack-signature") or "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


# Top-level fields of Events API bodies and interactivity payloads that Bolt reads as objects (or
# lists of objects) before any listener runs.
OBJECT_FIELDS = ("event", "team", "user", "enterprise", "channel", "container", "view", "message")
OBJECT_LIST_FIELDS = ("authorizations", "actions")


def _malformed(body: str, content_type: str) -> str | None:
    """What is wrong with a signed body Bolt would choke on: JSON must be an object; a form's
    ``payload``, when it has one, a JSON object too; and their object fields objects."""
    if content_type.startswith("application/json"):
        data, where = _json_or_none(body), "the JSON body"
    else:
        payload = parse_qs(body).get("payload")
        if payload is None:
            return None
        data, where = _json_or_none(payload[0]), "the form's payload"
    if not isinstance(data, dict):
        return f"{where} is not a JSON object"
    for name in OBJECT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], dict):
            return f"{where}: {name} is not an object"
    for name in OBJECT_LIST_FIELDS:
        value = data.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{where}: {name} is not a list of objects"
    return None


def _json_or_none(text_: str) -> Any:
    try:
        return json.loads(text_)
    except ValueError:
        return None


def _refuse(status: int, reason: str, body: bytes = b"") -> BoltResponse:
    """One line; the body (which anyone can make up, and which may hold a response URL) at DEBUG only,
    cut short, and redacted like every record (bot.logs)."""
    logger.info("refused a request to /slack/events (%d): %s", status, reason)
    if body:
        logger.debug("the refused request's body: %r", body[:2048].decode("utf-8", "replace"))
    error = "invalid request" if status == 401 else "bad request"
    return BoltResponse(
        status=status, body=json.dumps({"error": error}), headers={"Content-Type": "application/json"}
    )


def _not_allowed(start: StartResponse, allow: str) -> Iterable[bytes]:
    body = {"error": "method_not_allowed", "detail": f"use {allow}"}
    return _json(start, 405, body, [("Allow", allow)])


def make_wsgi(
    settings: Settings, db: Database, app: App, clock: Callable[[], Any]
) -> Callable[..., Iterable[bytes]]:
    secret = settings.slack_signing_secret
    slack = SlackEdge(app, secret.get_secret_value() if secret else None)

    def wsgi(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz":
            try:
                with db.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:
                logger.warning("health check: database unavailable: %s", exc.__class__.__name__)
                return _json(start, 503, {"status": "unavailable", "database": "unreachable"})
            return _json(start, 200, {"status": "ok"})
        if path == ingest.OPENAPI_PATH:
            if method not in ("GET", "HEAD"):
                return _not_allowed(start, "GET, HEAD")
            return _json(start, 200, ingest.openapi())
        if path.startswith(ingest.PREFIX):
            if method != "POST":
                return _not_allowed(start, "POST")
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            status, body = ingest.ingest(
                settings,
                db,
                clock(),
                path.removeprefix(ingest.PREFIX),
                environ.get("HTTP_AUTHORIZATION"),
                length,
                environ["wsgi.input"],
            )
            return _json(start, status, body)
        return slack(environ, start)

    return wsgi


def waitress_options(settings: Settings) -> dict[str, Any]:
    """waitress's limits from the settings (docs/slack.md, "In front of the bot"). Its defaults let 100
    idle, half-sent connections stop a process for two minutes; poll() instead of select() lets a
    process hold more than about 1,000 connections."""
    return {
        "threads": settings.server_threads,
        "connection_limit": settings.connection_limit,
        "channel_timeout": settings.channel_timeout,
        "cleanup_interval": min(30, settings.channel_timeout),  # how often idle connections are closed
        "max_request_body_size": settings.max_request_body_bytes,
        "asyncore_use_poll": True,
        "ident": "retention-bot",
    }


def serve(
    settings: Settings,
    build_wsgi: Callable[[], Callable[..., Iterable[bytes]]],
    in_parent: Callable[[], Callable[[], None]] | None = None,
) -> None:
    """Serve with waitress in ``WEB_PROCESSES`` processes (default: one per core) sharing one listening
    socket: each process builds its own engine and app after the fork (``build_wsgi``), so no
    database connection crosses a fork; everything exactly-once lives in the database anyway.
    ``in_parent`` starts extra work (the scheduler) in the first process only, after the fork, and
    returns how to stop it."""
    from waitress import serve as waitress_serve

    processes = settings.web_processes or os.cpu_count() or 1
    sock = socket.create_server((settings.host, settings.port), backlog=2048)
    sock.setblocking(False)

    def run() -> None:
        waitress_serve(build_wsgi(), sockets=[sock], **waitress_options(settings))

    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:  # a worker: serve until the parent stops it
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            try:
                run()
            finally:
                os._exit(0)
        children.append(pid)

    def stop_children(*_: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

    stop_extra = in_parent() if in_parent is not None else None

    def stop_all(*_: object) -> None:
        if stop_extra is not None:
            stop_extra()
        stop_children()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop_all)
    logger.info(
        "listening on http://%s:%s with %d process(es) × %d threads",
        settings.host,
        settings.port,
        processes,
        settings.server_threads,
    )
    try:
        run()
    finally:
        if stop_extra is not None:
            stop_extra()
        stop_children()
