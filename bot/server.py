"""The HTTP server: Slack requests at ``/slack/events`` (plus ``/slack/install`` and
``/slack/oauth_redirect`` in OAuth mode), ``/healthz``, the ingest API and its OpenAPI document,
served by waitress (a production WSGI server), not Bolt's development server."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
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
    headers: list[tuple[str, str]] = [],  # noqa: B006
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


def _not_allowed(start: StartResponse, allow: str) -> Iterable[bytes]:
    body = {"error": "method_not_allowed", "detail": f"use {allow}"}
    return _json(start, 405, body, [("Allow", allow)])


def make_wsgi(
    settings: Settings, db: Database, app: App, clock: Callable[[], Any]
) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app)

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
        waitress_serve(
            build_wsgi(),
            sockets=[sock],
            threads=settings.server_threads,
            max_request_body_size=ingest.MAX_BODY_BYTES * 2,
            ident="retention-bot",
        )

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
