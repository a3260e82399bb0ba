"""The outbox's keep-alive Slack client (bot/keepalive.py) against real HTTP servers on 127.0.0.1:
connections are reused, a connection the server closed is replaced before use, and errors keep the
shape the outbox reads (urllib's)."""

from __future__ import annotations

import socket
import threading
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError

from bot.keepalive import KeepAliveWebClient
from testkit.fake_slack import FakeSlack


def client(url: str) -> KeepAliveWebClient:
    c = KeepAliveWebClient(token="xoxb-test-token", base_url=url, timeout=5)
    c.retry_handlers = []
    return c


def test_one_connection_serves_many_calls(fake: FakeSlack) -> None:
    c = client(fake.api_url)
    for i in range(20):
        assert c.chat_postMessage(channel=f"C{i}", text="hi")["ok"]
    assert c.pool.opened == 1
    assert len(fake.posts()) == 20


def test_threads_share_the_pool_without_mixing_answers(fake: FakeSlack) -> None:
    c = client(fake.api_url)
    seen: list[str] = []

    def post(k: int) -> None:
        for j in range(10):
            seen.append(str(c.chat_postMessage(channel=f"C{k}", text=f"{k}-{j}")["channel"]))

    threads = [threading.Thread(target=post, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"C{k}" for k in range(4) for _ in range(10))
    assert c.pool.opened <= 4


def test_slack_errors_and_429_read_as_with_urllib(fake: FakeSlack) -> None:
    c = client(fake.api_url)
    fake.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        c.chat_postMessage(channel="C1", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers.get("Retry-After") == "7"
    fake.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        c.chat_postMessage(channel="C1", text="x")
    assert c.chat_postMessage(channel="C1", text="x")["ok"]  # the connection is still good


def test_a_refused_connection_is_a_urlerror_so_the_outbox_knows_nothing_was_sent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(URLError) as caught:
        client(f"http://127.0.0.1:{port}/api/").chat_postMessage(channel="C1", text="x")
    assert isinstance(caught.value.reason, ConnectionRefusedError)


def test_a_connection_the_server_closed_while_idle_is_replaced_not_used() -> None:
    """A server that answers keep-alive, then closes the connection: the next call notices before
    sending (the socket reads EOF) and opens a new connection; nothing is sent into a dead one."""
    body = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
    accepted: list[int] = []
    requests: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = server.accept()
            accepted.append(1)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, rest = data.split(b"\r\n\r\n", 1)
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            requests.append(head.split(b"\r\n")[0])
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            conn.close()  # keep-alive was promised; the server closes anyway (an idle timeout)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    c = client(f"http://127.0.0.1:{port}/api/")
    assert c.chat_postMessage(channel="C1", text="one")["ok"]
    thread.join(timeout=0.5)  # the first connection is closed by now
    assert c.chat_postMessage(channel="C1", text="two")["ok"]
    thread.join(timeout=5)
    server.close()
    assert len(accepted) == 2 and len(requests) == 2 and c.pool.opened == 2


def test_call_json_posts_what_chat_postmessage_posts_and_fails_the_same_way(fake: FakeSlack) -> None:
    """The outbox's fast path (``call_json``) against slack_sdk's own ``chat_postMessage``: the same
    message arrives (non-ASCII text, blocks, None left out, the bot token), and every failure is the
    same ``SlackApiError`` with the same status, error and Retry-After."""
    c = client(fake.api_url)
    args = {
        "channel": "C1",
        "text": "Acme & Co — 50% <@U1>",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "naïve ✓"}}],
        "thread_ts": None,
    }
    fast = c.call_json("chat.postMessage", args)
    slow = c.chat_postMessage(**args)
    assert fast["ok"] and fast.status_code == 200 and fast["ts"] != slow["ts"]
    a, b = fake.calls("chat.postMessage")
    assert a == b == {k: v for k, v in args.items() if v is not None}  # a None argument is left out
    assert [p["ts"] for p in fake.posts("C1")] == [fast["ts"], slow["ts"]]
    assert c.pool.opened == 1

    def failure(call: object) -> tuple[int, object, object, object]:
        with pytest.raises(SlackApiError) as caught:
            call()  # type: ignore[operator]
        r = caught.value.response
        return r.status_code, r.get("error"), r.headers.get("Retry-After"), r.headers.get("retry-after")

    for status, error, retry_after in (
        (429, "ratelimited", 7),
        (200, "channel_not_found", None),
        (500, "fatal_error", None),
    ):
        got = []
        for call in (lambda: c.call_json("chat.postMessage", args), lambda: c.chat_postMessage(**args)):
            fake.fail("chat.postMessage", error, status=status, retry_after=retry_after)
            got.append(failure(call))
        assert got[0] == got[1], (status, error)
        assert got[0][0] == status
    assert c.call_json("chat.postMessage", args)["ok"]  # the connection is still good


def test_call_json_to_a_closed_port_is_a_urlerror() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(URLError) as caught:
        client(f"http://127.0.0.1:{port}/api/").call_json("chat.postMessage", {"channel": "C1", "text": "x"})
    assert isinstance(caught.value.reason, ConnectionRefusedError)


def test_a_lowercase_retry_after_reads_as_slack_sends_it() -> None:
    """Slack sends ``retry-after`` in lower case: both paths give it under both spellings, and the
    outbox waits what it says (not its one-second default)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot.outbox import _retry_after

    class Limited(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"ok": false, "error": "ratelimited"}'
            self.send_response(429)
            self.send_header("content-type", "application/json")
            self.send_header("retry-after", "30")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Limited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = client(f"http://127.0.0.1:{server.server_address[1]}/api/")
        for call in (
            lambda: c.call_json("chat.postMessage", {"channel": "C1", "text": "x"}),
            lambda: c.chat_postMessage(channel="C1", text="x"),
        ):
            with pytest.raises(SlackApiError) as caught:
                call()
            headers = caught.value.response.headers
            assert (headers.get("Retry-After"), headers.get("retry-after")) == ("30", "30")
            assert _retry_after(caught.value) == 30.0
    finally:
        server.shutdown()
        server.server_close()
