"""The HTTP server: Slack requests at ``/slack/events`` (plus ``/slack/install`` and
``/slack/oauth_redirect`` in OAuth mode), ``/healthz``, the ingest API and its OpenAPI document,
served by waitress (a production WSGI server), not Bolt's development server."""

from __future__ import annotations

import json
import logging
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


def _json(start: StartResponse, status: int, body: dict[str, Any]) -> Iterable[bytes]:
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
    start(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


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
        if path == "/api/v1/openapi.json":
            return _json(start, 200, ingest.openapi())
        if path.startswith(ingest.PREFIX):
            if method != "POST":
                return _json(start, 405, {"error": "method_not_allowed", "detail": "use POST"})
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


def serve(settings: Settings, wsgi: Callable[..., Iterable[bytes]]) -> None:
    from waitress import serve as waitress_serve

    logger.info("listening on http://%s:%s (Slack request URL: /slack/events)", settings.host, settings.port)
    waitress_serve(
        wsgi,
        host=settings.host,
        port=settings.port,
        threads=settings.server_threads,
        max_request_body_size=ingest.MAX_BODY_BYTES * 2,
        ident="retention-bot",
    )
