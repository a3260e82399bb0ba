"""A slack_sdk ``WebClient`` that keeps its HTTP connections open between calls.

slack_sdk's sync client sends each call through ``urllib.request.urlopen``: a new TCP connection (and,
against slack.com, a new TLS handshake) for every message, which was most of a fan-out's CPU. This
client keeps a small pool of HTTP/1.1 keep-alive connections per host (``http.client``, standard
library: no new dependency, and no change to how the outbox reads errors) and reuses them:

- an idle connection is taken from the pool (newest first) unless it is older than ``IDLE_SECONDS`` or
  the server has closed it meanwhile (its socket is readable while no answer is expected: the same
  check urllib3 makes), else a new one is opened;
- errors look like urllib's: a failure to connect or to send the request is a ``URLError`` (so a refused
  connection is still "surely not sent"), an HTTP status >= 400 an ``HTTPError`` that slack_sdk reads
  (429 with Retry-After included), a failure while reading the answer a plain ``OSError`` (Slack may
  have the message: the outbox looks for it). A request is never re-sent here.

Proxies are not supported by this transport (a client with ``proxy`` set falls back to urllib).

``call_json`` is the outbox's own path for chat.postMessage: the arguments are encoded once with
orjson (which refuses what it cannot encode exactly; the stdlib takes those) and sent as they are,
and the answer is read into the same ``SlackResponse`` (``validate``: the same ``SlackApiError`` on an
HTTP error, a 429 or ``ok: false``). slack_sdk's generic path spent about two thirds of a post's CPU
on its own bookkeeping (argument walks, ``urllib.request.Request``, the stdlib's JSON encoder): 0.40
ms a post against 0.15 ms (``bench/digest_fanout.py``).
"""

from __future__ import annotations

import functools
import http.client
import io
import json
import select
import threading
import time
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

import orjson
from slack_sdk import WebClient
from slack_sdk.web.internal_utils import _build_unexpected_body_error_message, _get_url
from slack_sdk.web.slack_response import SlackResponse

IDLE_SECONDS = 20.0  # under the usual server keep-alive timeouts (Slack's edge: about 60 s)
MAX_IDLE = 64  # idle connections kept per host


class _Pool:
    def __init__(self, timeout: float, ssl_context: Any) -> None:
        self.timeout = timeout
        self.ssl = ssl_context
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[tuple[http.client.HTTPConnection, float]]] = {}
        self.opened = 0  # connections opened (for benches and tests)

    def get(self, scheme: str, host: str, port: int) -> tuple[http.client.HTTPConnection, bool]:
        key = (scheme, host, port)
        now = time.monotonic()
        while True:
            with self._lock:
                stack = self._idle.get(key)
                item = stack.pop() if stack else None
            if item is None:
                break
            conn, since = item
            if now - since <= IDLE_SECONDS and not _dropped(conn):
                return conn, True
            conn.close()
        conn = (
            http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self.ssl)
            if scheme == "https"
            else http.client.HTTPConnection(host, port, timeout=self.timeout)
        )
        with self._lock:
            self.opened += 1
        return conn, False

    def put(self, scheme: str, host: str, port: int, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            stack = self._idle.setdefault((scheme, host, port), [])
            if len(stack) < MAX_IDLE:
                stack.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for stack in idle.values():
            for conn, _ in stack:
                conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when the server closed the idle connection (its socket reads EOF) or it has no socket."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@functools.lru_cache(maxsize=256)
def _api_url(base_url: str, api_method: str) -> str:
    """slack_sdk's URL of a method (the same few, call after call)."""
    return _get_url(base_url, api_method)


@functools.lru_cache(maxsize=256)
def _target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL; URLError for one this client cannot call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise URLError(f"invalid URL: {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


class KeepAliveWebClient(WebClient):
    """``WebClient`` over pooled keep-alive connections (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = _Pool(float(self.timeout), self.ssl)

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None:
            return super()._perform_urllib_http_request_internal(url, req)
        data = req.data if isinstance(req.data, bytes) else None
        status, reason, headers, body = self.request(url, data, dict(req.header_items()))
        if status >= 400:
            raise HTTPError(url, status, reason, headers, io.BytesIO(body))
        if headers.get_content_type() == "application/gzip":
            return {"status": status, "headers": headers, "body": body}
        charset = headers.get_content_charset() or "utf-8"
        return {"status": status, "headers": headers, "body": body.decode(charset)}

    def call_json(self, api_method: str, args: dict[str, Any]) -> SlackResponse:
        """Call ``api_method`` with ``args`` as its JSON body (None values left out, as slack_sdk
        does); the answer as slack_sdk gives it, validated."""
        args = {k: v for k, v in args.items() if v is not None}
        if self.proxy is not None:
            return self.api_call(api_method, json=args)
        try:
            body = orjson.dumps(args)
        except TypeError:  # what orjson does not encode (an integer over 64 bits): the stdlib's way
            body = json.dumps(args).encode()
        url = _api_url(self.base_url, api_method)
        headers = {**self.headers, "Content-Type": "application/json;charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        status, _, response_headers, raw = self.request(url, body, headers)
        header_dict = dict(response_headers.items())
        # Both spellings, as slack_sdk's own path gives them (Slack sends ``retry-after``).
        retry_after = response_headers.get("Retry-After")
        if retry_after is not None:
            header_dict["Retry-After"] = header_dict["retry-after"] = retry_after
        data: dict[str, Any]
        try:  # the stdlib's reading (orjson would turn an integer over 64 bits into a float)
            parsed = json.loads(raw)
            data = parsed if isinstance(parsed, dict) else {"ok": False, "error": "unexpected_body"}
        except ValueError:
            message = _build_unexpected_body_error_message(raw.decode("utf-8", "replace"))
            self._logger.error(f"Failed to decode Slack API response: {message}")
            data = {"ok": False, "error": message}
        return SlackResponse(
            client=self,
            http_verb="POST",
            api_url=url,
            req_args={"json": args, "headers": headers},
            data=data,
            headers=header_dict,
            status_code=status,
        ).validate()

    def request(
        self, url: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, http.client.HTTPMessage, bytes]:
        """POST ``data`` to ``url`` on a pooled connection: (status, reason, headers, body)."""
        scheme, host, port, path = _target(url)
        conn, _reused = self.pool.get(scheme, host, port)
        try:
            conn.request("POST", path, body=data, headers=headers)
        except OSError as exc:  # not sent (urllib says the same: URLError)
            conn.close()
            raise URLError(exc) from exc
        try:
            resp = conn.getresponse()
            body = resp.read()
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            self.pool.put(scheme, host, port, conn)
        return resp.status, resp.reason, resp.headers, body

    def upload(self, url: str, data: bytes) -> int:
        """Send a file's bytes to an upload URL from files.getUploadURLExternal, as slack_sdk's
        ``files_upload_v2`` does (a POST of the raw bytes); returns the HTTP status."""
        status, _, _, _ = self.request(
            url, data, {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        )
        return status
