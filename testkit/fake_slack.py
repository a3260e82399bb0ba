"""A local fake of the Slack Web API: a real HTTP server on 127.0.0.1 that answers like Slack.

It checks the bot token and each method's required arguments, validates blocks and views as Slack
would (``blocks.text.message_problems``), accepts ``response_url`` posts at ``/response/<key>``,
can be told to answer a named error or HTTP 429 with ``Retry-After`` (optionally after really posting,
as Slack's ``fatal_error`` may), can enforce chat.postMessage's 1 message per second per channel, keeps
each channel's messages with their metadata for ``conversations.history`` / ``conversations.replies``,
and records a transcript that tests assert on as a whole.

Slack identities: ``add_user`` makes workspace members that ``users.info``, ``users.lookupByEmail``
and ``users.list`` (cursor pagination) answer, e-mails only with the ``users:read.email`` scope;
``auth.test`` reports ``scopes`` in its ``x-oauth-scopes`` header; ``conversations.info`` says whether
the bot is a member (``not_in``); ``method_interval`` is a rate-limit mode (429 + Retry-After for a
method called sooner than its interval, e.g. users.list's Tier 2).

A message posted to a user id lands in the DM conversation with that person, as in Slack: its id is
what ``conversations.open(users=U…)`` answers (here ``D`` + the user id), chat.postMessage answers
that channel, and ``conversations.history`` / ``conversations.replies`` on a user id answer
``channel_not_found``. ``posts("U…")`` reads that person's DM.

Files go through Slack's upload flow: ``files.getUploadURLExternal`` hands out an upload URL served by
this fake (``/upload/<file id>``, which checks the length it was promised; ``fail("upload")`` makes it
answer HTTP 500), and ``files.completeUploadExternal`` shares uploaded files into a channel or thread
as one message whose ``files`` name them, as Slack shows it in ``conversations.replies``. ``files``
keeps every file with its bytes, title and alt text.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from blocks.text import message_problems

REQUIRED = {
    "chat.postMessage": ("channel",),
    "chat.postEphemeral": ("channel", "user"),
    "chat.update": ("channel", "ts"),
    "views.publish": ("user_id", "view"),
    "views.open": ("trigger_id", "view"),
    "conversations.open": ("users",),
    "users.info": ("user",),
    "users.lookupByEmail": ("email",),
    "conversations.history": ("channel",),
    "conversations.replies": ("channel", "ts"),
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "chat.getPermalink": ("channel", "message_ts"),
    "conversations.info": ("channel",),
}

# The scopes auth.test reports by default (its ``x-oauth-scopes`` header): everything the app asks for.
ALL_SCOPES = (
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:write",
    "im:history",
    "users:read",
    "users:read.email",
    "files:write",
    "reactions:read",
    "channels:read",
    "groups:read",
)


@dataclass
class Failure:
    error: str | None = None
    status: int = 200
    retry_after: int | None = None
    posted: bool = False  # the message is posted although the answer is an error


@dataclass
class FakeSlack:
    tokens: set[str] = field(default_factory=lambda: {"xoxb-test-token"})
    team_id: str = "T0TEST"
    transcript: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Seconds between two chat.postMessage calls to one channel; faster ones get 429 (None: no limit).
    channel_interval: float | None = None
    # Channels the bot is not in / that are archived: chat.postMessage answers that error.
    not_in: set[str] = field(default_factory=set)
    archived: set[str] = field(default_factory=set)
    # People who left: a DM to them answers user_disabled.
    gone: set[str] = field(default_factory=set)
    # OAuth: the app's client credentials, and what oauth.v2.access answers for each code (``grant``).
    client_id: str = "123.456"
    client_secret: str = "client-secret"
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The bot token's scopes, as auth.test reports them in its x-oauth-scopes header.
    scopes: tuple[str, ...] = ALL_SCOPES
    # Channels that do not exist (conversations.info answers channel_not_found).
    unknown_channels: set[str] = field(default_factory=set)
    # Rate-limit mode: seconds a method needs between two calls (users.list is Tier 2: 3 s); a call
    # sooner answers HTTP 429 with Retry-After and is counted in ``rate_limited``.
    method_interval: dict[str, float] = field(default_factory=dict)
    # Channel names that conversations.info answers (default: the id in lower case).
    channel_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._last_post: dict[str, float] = {}
        self._last_call: dict[str, float] = {}
        self._validated: dict[tuple[str, str | None], list[str]] = {}
        self.rate_limited = 0
        self.files: dict[str, dict[str, Any]] = {}  # file id → name, length, alt, title, data, shared
        self._file_ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.base}/response/{key}"

    # -- test controls ---------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str | None = None,
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        posted: bool = False,
    ) -> None:
        for _ in range(times):
            self._failures[method].append(Failure(error, status, retry_after, posted))

    def grant(
        self,
        code: str,
        *,
        user: str,
        team: str | None,
        token: str,
        enterprise: str | None = None,
        refresh_token: str | None = None,
    ) -> None:
        """What Slack's OAuth page hands back: ``code`` exchanges for a bot token installed by ``user`` in
        ``team``; ``team=None`` with an ``enterprise`` is an org-wide (Enterprise Grid) install; a
        ``refresh_token`` is token rotation (the token then expires in 12 hours)."""
        rotation = {"refresh_token": refresh_token, "expires_in": 43200} if refresh_token else {}
        self.grants[code] = rotation | {
            "ok": True,
            "app_id": "A0APP",
            "authed_user": {"id": user},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": "UBOT",
            "team": {"id": team, "name": f"Team {team}"} if team else None,
            "enterprise": {"id": enterprise, "name": f"Org {enterprise}"} if enterprise else None,
            "is_enterprise_install": team is None,
        }

    def _oauth_access(self, auth: str | None, args: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: client credentials in HTTP basic auth, a code from ``grant`` used once."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if auth != f"Basic {expected}":
            self._record("oauth.v2.access", args, False, "invalid_client_id")
            return {"ok": False, "error": "invalid_client_id"}
        with self._lock:
            grant = self.grants.pop(str(args.get("code")), None)
            if grant is not None:
                self.tokens.add(grant["access_token"])
        self._record("oauth.v2.access", args, grant is not None, None if grant else "invalid_code")
        return grant or {"ok": False, "error": "invalid_code"}

    def add_user(
        self,
        user_id: str,
        email: str | None,
        *,
        name: str | None = None,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> None:
        """A member of the workspace, as users.info / users.lookupByEmail / users.list show them (an
        e-mail only with the users:read.email scope, as in Slack)."""
        profile: dict[str, Any] = {"real_name": name or user_id}
        if email is not None:
            profile["email"] = email
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": (name or user_id).lower().replace(" ", "."),
            "deleted": deleted,
            "is_bot": is_bot,
            "profile": profile,
        }

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c["args"] for c in self.transcript if c["method"] == method and c["ok"]]

    def clear(self) -> None:
        with self._lock:
            self.transcript.clear()

    def reset(self) -> None:
        """Forget every message, rate-limit clock and transcript entry (between benchmark runs)."""
        with self._lock:
            self.transcript.clear()
            self.messages.clear()
            self._last_post.clear()
            self._last_call.clear()
            self.rate_limited = 0

    def say(self, channel: str, text: str, *, user: str = "UCUSTOMER", thread_ts: str | None = None) -> str:
        """A person's message in a channel (not the bot's: no transcript entry); returns its ts."""
        with self._lock:
            ts = f"1700000000.{next(self._ts):06d}"
            self.messages[_conversation(channel)].append(
                {
                    "ts": ts,
                    "text": text,
                    "thread_ts": thread_ts,
                    "metadata": None,
                    "at": time.monotonic(),
                    "channel": _conversation(channel),
                    "user": user,
                }
            )
        return ts

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages really posted (in channels and threads), in order."""
        with self._lock:
            if channel is not None:
                return list(self.messages.get(_conversation(channel), []))
            return [msg for msgs in self.messages.values() for msg in msgs]

    # -- the API ---------------------------------------------------------------------------------

    def _record(self, method: str, args: dict[str, Any], ok: bool, error: str | None = None) -> None:
        with self._lock:
            self.transcript.append({"method": method, "args": args, "ok": ok, "error": error})

    def answer(
        self, method: str, token: str | None, args: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            failure = self._failures[method].popleft() if self._failures[method] else None
        if method == "oauth.v2.access" and failure is None:
            return 200, {}, self._oauth_access(token, args)
        if failure is None and method == "chat.postMessage":
            failure = self._channel_failure(str(args.get("channel", "")))
        if failure is None and method in self.method_interval:
            failure = self._method_failure(method)
        if failure is not None:
            if failure.posted and method == "files.completeUploadExternal":
                self._complete_upload(args)
            elif failure.posted:
                self._post(args)
            self._record(method, args, False, failure.error or str(failure.status))
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            body = {
                "ok": False,
                "error": failure.error or ("ratelimited" if failure.status == 429 else "fatal_error"),
            }
            return failure.status, headers, body
        if method in ("conversations.history", "conversations.replies") and _is_user(
            str(args.get("channel", ""))
        ):
            self._record(method, args, False, "channel_not_found")  # a user is not a conversation
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if (
            method in ("conversations.history", "conversations.replies")
            and args.get("channel") in self.not_in
        ):
            self._record(method, args, False, "not_in_channel")  # a bot reads only where it is a member
            return 200, {}, {"ok": False, "error": "not_in_channel"}
        if token not in self.tokens:
            self._record(method, args, False, "invalid_auth")
            return 200, {}, {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        missing = [a for a in REQUIRED.get(method, ()) if a not in args]
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update") and not (
            args.get("text") or args.get("blocks")
        ):
            missing.append("text or blocks")
        if missing:
            self._record(method, args, False, "missing_argument")
            return 200, {}, {"ok": False, "error": "missing_argument", "missing": missing}
        problems = self._problems(method, args)
        if problems:
            self._record(method, args, False, "invalid_blocks")
            return 200, {}, {"ok": False, "error": "invalid_blocks", "errors": problems}
        result = self._result(method, args)
        self._record(method, args, bool(result.get("ok")), result.get("error"))
        headers = {"x-oauth-scopes": ",".join(self.scopes)} if method == "auth.test" else {}
        return 200, headers, result

    def _method_failure(self, method: str) -> Failure | None:
        with self._lock:
            now = time.monotonic()
            last = self._last_call.get(method)
            interval = self.method_interval[method]
            if last is not None and now - last < interval - 0.02:
                self.rate_limited += 1
                return Failure(status=429, retry_after=max(1, round(interval - (now - last))))
            self._last_call[method] = now
        return None

    def _channel_failure(self, channel: str) -> Failure | None:
        if channel in self.not_in:
            return Failure("not_in_channel")
        if channel in self.archived:
            return Failure("is_archived")
        if channel in self.gone:
            return Failure("user_disabled")
        if self.channel_interval is None:
            return None
        with self._lock:
            now = time.monotonic()
            last = self._last_post.get(channel)
            # A little slack for clock jitter between the two processes' timers.
            if last is not None and now - last < self.channel_interval - 0.02:
                self.rate_limited += 1
                return Failure(status=429, retry_after=1)
            self._last_post[channel] = now
        return None

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            msg = {
                "ts": f"1700000000.{next(self._ts):06d}",
                "text": args.get("text"),
                "thread_ts": args.get("thread_ts"),
                "metadata": _json(args["metadata"]) if args.get("metadata") else None,
                "files": args.get("_files"),
                "at": time.monotonic(),
            }
            msg["channel"] = _conversation(str(args["channel"]))
            self.messages[msg["channel"]].append(msg)
        return msg

    def _history(self, args: dict[str, Any], replies: bool) -> dict[str, Any]:
        with self._lock:
            msgs = list(self.messages.get(str(args["channel"]), []))
        if replies:
            # ``ts`` names the thread's parent or any message in the thread, as in Slack.
            named = next((m for m in msgs if m["ts"] == args["ts"]), None)
            root = (named or {}).get("thread_ts") or args["ts"]
            msgs = [m for m in msgs if m["thread_ts"] == root or m["ts"] == root]
        else:
            msgs = [m for m in msgs if m["thread_ts"] is None]
        # One message by its ts (``latest`` = ``oldest`` = ts, ``inclusive``): the fake's ts are not
        # real times, so ``latest``/``oldest`` filter only together with ``inclusive``.
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        if inclusive and args.get("latest"):
            latest = float(args["latest"])
            msgs = [m for m in msgs if float(m["ts"]) < latest or (inclusive and float(m["ts"]) == latest)]
        if inclusive and args.get("oldest"):
            oldest = float(args["oldest"])
            msgs = [m for m in msgs if float(m["ts"]) > oldest or (inclusive and float(m["ts"]) == oldest)]
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        out = [
            {"type": "message", "ts": m["ts"], "text": m["text"]}
            | ({"user": m["user"]} if m.get("user") else {"bot_id": "BBOT"})
            | ({"thread_ts": m["thread_ts"]} if m["thread_ts"] and m.get("user") else {})
            | ({"metadata": m["metadata"]} if with_meta and m["metadata"] else {})
            | ({"files": m["files"]} if m.get("files") else {})
            for m in reversed(msgs)
        ]
        if args.get("limit"):
            out = out[: int(args["limit"])]
        return {"ok": True, "messages": out, "has_more": False}

    def _problems(self, method: str, args: dict[str, Any]) -> list[str]:
        if method.startswith("views."):
            view = _json(args["view"])
            return message_problems(view.get("blocks"), None, view=True)
        if "blocks" in args or "text" in args:
            return self._message_problems(json.dumps(_json(args.get("blocks") or [])), args.get("text"))
        return []

    def _message_problems(self, blocks: str, text: str | None) -> list[str]:
        """Validation is pure, so each distinct message is validated once (a fan-out sends one to many)."""
        key = (blocks, text)
        if key not in self._validated:
            self._validated[key] = message_problems(json.loads(blocks), text)
        return self._validated[key]

    def _result(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "team_id": self.team_id,
                "team": "Test",
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "url": "https://test.slack.com/",
            }
        if method == "chat.postMessage":
            msg = self._post(args)
            return {"ok": True, "channel": msg["channel"], "ts": msg["ts"]}
        if method == "chat.update":
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method == "files.getUploadURLExternal":
            return self._upload_url(args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method in ("conversations.history", "conversations.replies"):
            return self._history(args, method == "conversations.replies")
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": _conversation(str(args["users"]).split(",")[0])}}
        if method == "chat.getPermalink":
            channel, ts = str(args["channel"]), str(args["message_ts"])
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            }
        if method == "users.info":
            user = self.users.get(args["user"])
            return (
                {"ok": True, "user": self._visible(user)}
                if user
                else {"ok": False, "error": "user_not_found"}
            )
        if method == "users.lookupByEmail":
            wanted = str(args["email"]).lower()
            for user in list(self.users.values()):
                email = user["profile"].get("email")
                if email and email.lower() == wanted and not user["deleted"]:
                    return {"ok": True, "user": self._visible(user)}
            return {"ok": False, "error": "users_not_found"}
        if method == "users.list":
            return self._users_page(args)
        if method == "conversations.info":
            channel = str(args["channel"])
            if channel in self.unknown_channels:
                return {"ok": False, "error": "channel_not_found"}
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "name": self.channel_names.get(channel, channel.lower()),
                    "is_member": channel not in self.not_in,
                    "is_archived": channel in self.archived,
                },
            }
        return {"ok": True}

    # -- files ---------------------------------------------------------------------------------------

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            file_id = f"F{next(self._file_ids):08d}"
            self.files[file_id] = {
                "id": file_id,
                "name": args["filename"],
                "length": int(args["length"]),
                "alt_txt": args.get("alt_txt"),
                "title": None,
                "data": None,
                "shared": [],
            }
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """The upload URL: takes the bytes of a file whose URL was handed out, of the promised length."""
        with self._lock:
            failure = self._failures["upload"].popleft() if self._failures["upload"] else None
            known = self.files.get(file_id)
        if failure is not None:
            self._record("upload", {"file": file_id, "length": len(data)}, False, str(failure.status))
            return failure.status, "upload failed"
        if known is None or known["length"] != len(data):
            self._record("upload", {"file": file_id, "length": len(data)}, False, "bad upload")
            return 400, "bad upload"
        with self._lock:
            known["data"] = data
        self._record("upload", {"file": file_id, "length": len(data)}, True)
        return 200, f"OK - {len(data)}"

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = _json(args["files"])
        with self._lock:
            found = [self.files.get(str(f.get("id"))) for f in listed]
        if not listed or any(f is None or f["data"] is None for f in found):
            return {"ok": False, "error": "file_not_found"}
        shared = []
        for f, asked in zip(found, listed, strict=True):
            assert f is not None
            f["title"] = asked.get("title") or f["name"]
            shared.append({"id": f["id"], "name": f["name"], "title": f["title"], "alt_txt": f["alt_txt"]})
        channel = args.get("channel_id")
        if channel:
            msg = self._post(
                {
                    "channel": channel,
                    "text": args.get("initial_comment") or "",
                    "thread_ts": args.get("thread_ts"),
                    "_files": shared,
                }
            )
            for f in found:
                assert f is not None
                f["shared"].append((msg["channel"], msg["ts"]))
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    def shared_files(self, channel: str) -> list[dict[str, Any]]:
        """Files shared in ``channel`` (any thread), in order, one entry per share."""
        return [f for msg in self.posts(channel) for f in (msg.get("files") or [])]
    def _visible(self, user: dict[str, Any]) -> dict[str, Any]:
        """A user as the token may see them: no e-mail without users:read.email."""
        if "users:read.email" in self.scopes:
            return user
        return {**user, "profile": {k: v for k, v in user["profile"].items() if k != "email"}}

    def _users_page(self, args: dict[str, Any]) -> dict[str, Any]:
        """users.list with cursor pagination: ``limit`` (default 100, at most 1000) per page; the cursor
        is opaque to callers (here the offset, base64-encoded)."""
        limit = min(int(args.get("limit") or 100), 1000)
        cursor = str(args.get("cursor") or "")
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        ids = sorted(self.users)
        page = [self._visible(self.users[i]) for i in ids[start : start + limit]]
        more = start + limit < len(ids)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def response(self, key: str, body: dict[str, Any]) -> tuple[int, str]:
        problems = message_problems(body.get("blocks"), body.get("text"))
        self._record("response_url", {"key": key, **body}, not problems, "; ".join(problems) or None)
        return (400, "invalid_blocks") if problems else (200, "ok")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # like a real server: a fan-out's burst of connections is not dropped


def _is_user(channel: str) -> bool:
    return channel.startswith(("U", "W"))


def _conversation(channel: str) -> str:
    """Where a message to ``channel`` lands: a user id means the DM conversation with them."""
    return "D" + channel if _is_user(channel) else channel


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1: connections stay open between requests (keep-alive), as Slack's do; every answer
        # carries its Content-Length.
        protocol_version = "HTTP/1.1"
        # The answer's headers and body go out as two writes: without TCP_NODELAY, Nagle's algorithm
        # holds the body back until the client's delayed ACK (40 ms) on a reused connection.
        disable_nagle_algorithm = True

        def log_message(self, *_: Any) -> None:  # keep test output quiet
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/upload/"):
                status, text = fake.upload(self.path.removeprefix("/upload/"), body)
                self._send(status, {}, text.encode(), "text/plain")
                return
            raw = body.decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                args = json.loads(raw or "{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw).items()}
            if self.path.startswith("/response/"):
                status, text = fake.response(self.path.removeprefix("/response/"), args)
                self._send(status, {}, text.encode(), "text/plain")
                return
            method = self.path.removeprefix("/api/")
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth else args.pop("token", None)
            status, headers, body = fake.answer(method, token, args)
            self._send(status, headers, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, headers: dict[str, str], body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    return Handler
