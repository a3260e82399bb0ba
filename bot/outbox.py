"""Posting the delivery ledger to Slack: paced, parallel, and never twice.

``Outbox.drain()`` leases what is ready (``storage.deliveries.lease``) and posts it with a pool of
threads: channels in parallel, at most one message per second per channel (Slack's chat.postMessage
limit), a thread reply right after its message. Outcomes, by what Slack said:

- ok: posted, with its ``ts``.
- HTTP 429 / ``ratelimited``: the workspace waits ``Retry-After`` and the same message is sent then.
- ``not_in_channel``, ``channel_not_found``, ``is_archived``: failed for good; a digest's
  subscription is paused with the reason and every admin gets one DM saying what to do.
- a dead token: failed, and the workspace's scheduled work stops (``disabled_reason``).
- ``fatal_error``, a 5xx or a broken connection: Slack may have posted it. Every message carries its
  ledger key in Slack message metadata, so the bot looks for it in the channel (for a DM: the DM
  conversation) before sending again; when it cannot look (no history scope), the row becomes
  ``uncertain`` for an operator, never re-posted.
- a connection that never reached Slack, or a missing token: retried later with backoff.

A sender that dies mid-lease is recovered the same way: the next lease of the row looks before it posts.

Files (a digest's charts, kind ``digest_files``) go into their message's thread with Slack's upload
flow, the calls slack_sdk's ``files_upload_v2`` makes: ``files.getUploadURLExternal`` per file, the
bytes POSTed to the URL it returns, then one ``files.completeUploadExternal`` that shares them all in
the thread. Only that last call makes anything visible, so it is the commit point: a failure before
it is retried from the start (an upload never completed is discarded by Slack); a failure in it that
may have shared the files (``fatal_error``, a 5xx, a dropped answer, an expired lease) is looked for
in the thread by the files' names, which are unique there, before anything is uploaded again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from queue import SimpleQueue
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from blocks.slack_errors import DEAD_TOKEN_ERRORS, ERROR_ADVICE, error_name
from bot.keepalive import KeepAliveWebClient
from bot.tokens import NoToken
from digests.charts import draw_from_ledger, filenames
from digests.notices import is_person, place, tell_admins, unreachable
from services.tenancy import disable_workspace
from storage import deliveries as dl
from storage import feedback as feedback_store
from storage import subscriptions
from storage.db import Database

logger = logging.getLogger(__name__)

EVENT_TYPE = "retention_bot_delivery"
CHANNEL_ERRORS = ("not_in_channel", "channel_not_found", "is_archived")
# A DM that cannot reach its person: someone who left, or a user id Slack does not know.
PERSON_GONE = ("user_not_found", "user_disabled", "channel_not_found", "cannot_dm_bot")
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)
LEASE = dt.timedelta(minutes=5)
LONGEST_IN_MEMORY_WAIT = 60.0  # a longer Retry-After goes back to the ledger instead of a thread
LOOK_BACK_PAGES = 5
FILES = "_files"  # the kind's suffix of files uploaded into a message's thread
CHARTS_COMMENT = "This week in pictures: NRR and GRR, accounts by health band, logo retention by cohort."


@dataclass(frozen=True)
class Outcome:
    state: str  # a storage.deliveries state, or RATELIMITED
    ts: str | None = None
    error: str | None = None  # Slack's error name (or ours)
    wait: float = 0.0  # RATELIMITED: seconds to wait


RATELIMITED = "ratelimited"


@dataclass
class DrainReport:
    posted: int = 0
    retry: int = 0
    failed: int = 0
    uncertain: int = 0
    rate_limited: int = 0

    def add(self, state: str) -> None:
        name = {dl.POSTED: "posted", dl.RETRY: "retry", dl.FAILED: "failed", dl.UNCERTAIN: "uncertain"}
        attr = name.get(state, "rate_limited")
        setattr(self, attr, getattr(self, attr) + 1)


class _Writer:
    """Writes outcomes to the ledger from one thread, many per transaction: sixteen senders each
    opening a write transaction would queue on SQLite's one writer and on PostgreSQL's commits.
    A crash before a write is covered like any other: the lease runs out and the message is looked for.

    Outcomes are gathered for up to ``GATHER_SECONDS`` before a write (at once when the round ends):
    a fan-out's first wave of messages then goes out without the writer taking the GIL from the
    senders, and its outcomes are written in the second a thread reply waits for its message."""

    GATHER_SECONDS = 0.25

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        # A write, or (id, ts) of a message posted: those are recorded together, in one statement.
        self.queue: SimpleQueue[Callable[[Session, dt.datetime], None] | tuple[int, str | None] | None] = (
            SimpleQueue()
        )
        self._closing = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self.thread.start()

    def put(self, write: Callable[[Session, dt.datetime], None]) -> None:
        self.queue.put(write)

    def posted(self, delivery_id: int, ts: str | None) -> None:
        self.queue.put((delivery_id, ts))

    def close(self) -> None:
        self._closing.set()
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        done = False
        while not done:
            batch = [self.queue.get()]
            self._closing.wait(self.GATHER_SECONDS)  # more outcomes meanwhile; no wait once closing
            while not self.queue.empty():
                batch.append(self.queue.get())
            done = None in batch
            posted = [w for w in batch if isinstance(w, tuple)]
            writes = [w for w in batch if w is not None and not isinstance(w, tuple)]
            if not writes and not posted:
                continue
            try:
                with self.db.write() as session:
                    now = self.clock()
                    dl.finish_posted(session, posted, now)
                    for write in writes:
                        write(session, now)
            except Exception:  # the rows stay leased; the lease runs out and they are looked for
                logger.exception("could not record %d delivery outcomes", len(writes) + len(posted))


def _conversation(client: WebClient, channel_id: str) -> str:
    """The conversation a message to ``channel_id`` is in. A DM is posted to the person's user id, but
    it lives in the DM conversation (D…), whose id conversations.open gives (scope im:write); its
    history needs im:history. A user id is not a conversation: conversations.history answers
    channel_not_found for it."""
    if not is_person(channel_id):
        return channel_id
    return str(client.conversations_open(users=channel_id)["channel"]["id"])


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers
    return float(headers.get("Retry-After") or headers.get("retry-after") or 1)


def _upload(client: WebClient, url: str, data: bytes) -> int:
    """POST a file's bytes to its upload URL; the HTTP status (slack_sdk's own way without the pool)."""
    if isinstance(client, KeepAliveWebClient):
        return client.upload(url, data)
    result = client._upload_file(  # what files_upload_v2 calls
        url=url, data=data, logger=client.logger, timeout=client.timeout, proxy=client.proxy, ssl=client.ssl
    )
    return int(result.status)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


class Outbox:
    def __init__(
        self,
        db: Database,
        clients: Callable[[int], WebClient],
        clock: Callable[[], dt.datetime],
        *,
        threads: int = 16,
        channel_interval: float = 1.0,
        admins: list[str] | None = None,
    ) -> None:
        self.db = db
        self.clients = clients
        self.clock = clock
        self.threads = threads
        self.channel_interval = channel_interval
        self.admins = admins or []
        self._draining = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # the senders, started once and kept (see _senders)
        # Pacing outlives one drain: when each channel last got a message, when each workspace may go on.
        self._last: dict[tuple[int, str], float] = {}
        self._paused: dict[int, float] = defaultdict(float)

    # -- the loop ---------------------------------------------------------------------------------

    def drain(self, rounds: int = 5) -> DrainReport:
        """Send everything ready now, including what becomes ready meanwhile (notices to admins).
        One drain at a time per process; a second caller returns at once."""
        report = DrainReport()
        if not self._draining.acquire(blocking=False):
            return report
        try:
            for _ in range(rounds):
                with self.db.write() as session:
                    batch = dl.lease(session, self.clock(), lease_for=LEASE)
                if not batch:
                    break
                self._send_all(batch, self._senders(), report)
        finally:
            self._draining.release()
        return report

    def _senders(self) -> ThreadPoolExecutor:
        """The sending threads, started all at once the first time and kept for the process's life:
        a pool made per drain started its threads one by one during the first messages of every
        fan-out (about 0.5 ms each, under the GIL, while 200 messages waited). Idle threads cost
        nothing; the interpreter joins them at exit."""
        if self._pool is None:
            pool = ThreadPoolExecutor(self.threads, thread_name_prefix="outbox")
            started = threading.Barrier(self.threads + 1)
            for _ in range(self.threads):
                pool.submit(started.wait, 10.0)  # each waits for the others: one thread per task
            # Fewer threads could start (a broken barrier): the rest start as needed.
            with contextlib.suppress(threading.BrokenBarrierError):
                started.wait(10.0)
            self._pool = pool
        return self._pool

    def _slot(self, key: tuple[int, str]) -> float:
        last = self._last.get(key)
        ready = -1.0 if last is None else last + self.channel_interval
        return max(ready, self._paused[key[0]])

    def _send_all(self, batch: list[dl.Outgoing], pool: ThreadPoolExecutor, report: DrainReport) -> None:
        queues: dict[tuple[int, str], deque[dl.Outgoing]] = defaultdict(deque)
        for item in batch:  # in id order, so a thread reply is queued behind its message
            queues[(item.workspace_id, item.channel_id)].append(item)
        posted: dict[int, str] = {}
        seq = itertools.count()
        heap = [(self._slot(key), next(seq), key) for key in queues]
        heapq.heapify(heap)
        cond = threading.Condition()
        in_flight = 0
        writer = _Writer(self.db, self.clock)

        def run(key: tuple[int, str], item: dl.Outgoing) -> None:
            nonlocal in_flight
            try:
                outcome = self._send(item, item.parent_ts or posted.get(item.parent_id or -1))
                if outcome.state == dl.POSTED:
                    writer.posted(item.id, outcome.ts)
                else:
                    writer.put(lambda session, now: self._record(session, item, outcome, now))
            except Exception:  # a bug or the database: leave the row leased; its lease runs out
                logger.exception("delivery %s (%s %s) failed unexpectedly", item.id, item.kind, item.subject)
                outcome = Outcome(dl.UNCERTAIN, error="internal")
            with cond:
                in_flight -= 1
                # Paced from the answer, not the request: Slack counts arrivals, and this one has
                # surely arrived by now, so the next message cannot reach Slack under a second later.
                self._last[key] = time.monotonic()
                report.add(outcome.state)
                queue = queues[key]
                if outcome.state == RATELIMITED and outcome.wait <= LONGEST_IN_MEMORY_WAIT:
                    self._paused[key[0]] = max(self._paused[key[0]], time.monotonic() + outcome.wait)
                else:
                    queue.popleft()
                    if outcome.state == dl.POSTED and outcome.ts:
                        posted[item.id] = outcome.ts
                    else:
                        self._drop_replies(queue, item, outcome, writer)
                if queue:
                    heapq.heappush(heap, (self._slot(key), next(seq), key))
                cond.notify_all()

        try:
            while True:
                with cond:
                    if not heap and not in_flight:
                        break
                    wait = heap[0][0] - time.monotonic() if heap else None
                    if wait is None or wait > 0:
                        cond.wait(timeout=wait)
                        continue
                    ready = []
                    while heap and heap[0][0] <= time.monotonic():
                        ready.append(heapq.heappop(heap)[2])
                    in_flight += len(ready)
                # Submitted outside the lock, so that finishing senders never wait for the dispatcher.
                for key in ready:
                    pool.submit(run, key, queues[key][0])
        finally:
            writer.close()

    def _drop_replies(
        self, queue: deque[dl.Outgoing], item: dl.Outgoing, outcome: Outcome, writer: _Writer
    ) -> None:
        """A message that was not posted takes its queued thread replies out of this round."""
        replies = [r for r in queue if r.parent_id == item.id]
        if not replies:
            return
        for reply in replies:
            queue.remove(reply)
        ids = [r.id for r in replies]
        failed = outcome.state == dl.FAILED

        def write(session: Session, now: dt.datetime) -> None:
            if not failed:
                dl.release(session, ids, now)  # sent in a later round, after their message
                return
            for reply_id in ids:
                dl.finish(session, reply_id, dl.FAILED, now, error="its message was not posted")

        writer.put(write)

    # -- one message ------------------------------------------------------------------------------

    def _send(self, item: dl.Outgoing, thread_ts: str | None) -> Outcome:
        try:
            client = self.clients(item.workspace_id)
        except NoToken as exc:
            return Outcome(dl.RETRY, error=f"no token: {exc}")
        if item.kind.endswith(FILES):
            return self._send_files(client, item, thread_ts)
        if item.recovering:
            found = self._look_back(client, item, thread_ts)
            if found:
                return Outcome(dl.POSTED, ts=found)
            if found is None:
                return Outcome(dl.UNCERTAIN, error="lease_expired")
        args: dict[str, Any] = {
            **{k: v for k, v in item.args.items() if not k.startswith("_")},  # "_…": the outbox's own
            "channel": item.channel_id,
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"delivery": item.key}},
        }
        if item.parent_id is not None:
            if not thread_ts:
                return Outcome(dl.RETRY, error="its message has no ts yet")
            args["thread_ts"] = thread_ts
        try:
            if isinstance(client, KeepAliveWebClient):  # the fast path (bot.keepalive.call_json)
                response = client.call_json("chat.postMessage", args)
            else:
                response = client.chat_postMessage(**args)
            return Outcome(dl.POSTED, ts=str(response["ts"]))
        except SlackApiError as exc:
            name, status = error_name(exc), exc.response.status_code
            if status == 429 or name == "ratelimited":
                return Outcome(RATELIMITED, error="ratelimited", wait=_retry_after(exc))
            if name == "fatal_error" or status >= 500:
                return self._maybe_posted(client, item, thread_ts, name)
            return Outcome(dl.FAILED, error=name)
        except URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                return Outcome(dl.RETRY, error="connection refused")
            return self._maybe_posted(client, item, thread_ts, f"connection: {exc.reason}")
        except OSError as exc:  # timeouts, resets: the request may have reached Slack
            return self._maybe_posted(client, item, thread_ts, f"connection: {exc.__class__.__name__}")

    # -- files into a thread ------------------------------------------------------------------------

    def _send_files(self, client: WebClient, item: dl.Outgoing, thread_ts: str | None) -> Outcome:
        """Upload a digest's charts into its thread (see the module's docstring for the commit point)."""
        if not thread_ts:
            return Outcome(dl.RETRY, error="its message has no ts yet")
        facts = item.args.get("charts") or {}
        try:
            names = filenames(facts)
        except (KeyError, TypeError, ValueError) as exc:
            return Outcome(dl.FAILED, error=f"charts_unreadable: {exc}")
        if item.recovering:
            found = self._look_back(client, item, thread_ts, names)
            if found:
                return Outcome(dl.POSTED, ts=found)
            if found is None:
                return Outcome(dl.UNCERTAIN, error="lease_expired")
        try:
            charts = draw_from_ledger(facts)
        except Exception as exc:  # matplotlib or the data: nothing was sent, and retrying will not help
            logger.exception("delivery %s: the charts could not be drawn", item.id)
            return Outcome(dl.FAILED, error=f"charts_not_drawn: {exc.__class__.__name__}")
        if not charts:
            return Outcome(dl.POSTED)  # nothing to draw: nothing to upload
        uploaded: list[dict[str, str | None]] = []
        try:  # steps 1 and 2: nothing is visible yet, so any failure here is safe to retry from the start
            for chart in charts:
                ticket = client.files_getUploadURLExternal(
                    filename=chart.filename, length=len(chart.png), alt_txt=chart.alt
                )
                status = _upload(client, str(ticket["upload_url"]), chart.png)
                if status != 200:
                    return Outcome(dl.RETRY, error=f"upload answered HTTP {status}")
                uploaded.append({"id": str(ticket["file_id"]), "title": chart.title})
        except SlackApiError as exc:
            name, status = error_name(exc), exc.response.status_code
            if status == 429 or name == "ratelimited":
                return Outcome(RATELIMITED, error="ratelimited", wait=_retry_after(exc))
            if name == "fatal_error" or status >= 500:
                return Outcome(dl.RETRY, error=name)
            return Outcome(dl.FAILED, error=name)
        except OSError as exc:  # URLError included: an upload URL or a ticket lost is simply redone
            return Outcome(dl.RETRY, error=f"upload: {getattr(exc, 'reason', exc)}")
        try:  # step 3, the commit point: the files are shared in the thread
            client.files_completeUploadExternal(
                files=uploaded,
                channel_id=item.channel_id,
                thread_ts=thread_ts,
                initial_comment=str(item.args.get("comment") or CHARTS_COMMENT),
            )
            return Outcome(dl.POSTED)
        except SlackApiError as exc:
            name, status = error_name(exc), exc.response.status_code
            if status == 429 or name == "ratelimited":
                return Outcome(RATELIMITED, error="ratelimited", wait=_retry_after(exc))
            if name == "fatal_error" or status >= 500:
                return self._maybe_posted(client, item, thread_ts, name, names)
            return Outcome(dl.FAILED, error=name)
        except URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                return Outcome(dl.RETRY, error="connection refused")
            return self._maybe_posted(client, item, thread_ts, f"connection: {exc.reason}", names)
        except OSError as exc:
            return self._maybe_posted(client, item, thread_ts, f"connection: {exc.__class__.__name__}", names)

    def _maybe_posted(
        self,
        client: WebClient,
        item: dl.Outgoing,
        thread_ts: str | None,
        why: str,
        files: list[str] | None = None,
    ) -> Outcome:
        found = self._look_back(client, item, thread_ts, files)
        if found:
            return Outcome(dl.POSTED, ts=found)
        if found == "":
            return Outcome(dl.RETRY, error=why)  # looked, and it is not there: safe to send again
        return Outcome(dl.UNCERTAIN, error=why)

    def _look_back(
        self, client: WebClient, item: dl.Outgoing, thread_ts: str | None, files: list[str] | None = None
    ) -> str | None:
        """The ts of this message if Slack has it; "" if Slack surely does not; None if we cannot tell.
        With ``files``: the message in the thread that shares files of these names."""
        oldest = f"{(item.created_at - dt.timedelta(minutes=1)).timestamp():.6f}"
        cursor = None
        try:
            channel = _conversation(client, item.channel_id)
            for _ in range(LOOK_BACK_PAGES):
                common: dict[str, Any] = {
                    "channel": channel,
                    "oldest": oldest,
                    "include_all_metadata": True,
                    "limit": 200,
                    "cursor": cursor,
                }
                if item.parent_id is not None:
                    if not thread_ts:
                        return ""
                    response = client.conversations_replies(ts=thread_ts, **common)
                else:
                    response = client.conversations_history(**common)
                for msg in response.get("messages") or []:
                    if files is not None:
                        if set(files) & {str(f.get("name")) for f in msg.get("files") or []}:
                            return str(msg["ts"])
                        continue
                    meta = msg.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == EVENT_TYPE and payload.get("delivery") == item.key:
                        return str(msg["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not response.get("has_more") or not cursor:
                    return ""
        except SlackApiError as exc:
            logger.warning("cannot look for delivery %s in %s: %s", item.id, item.channel_id, error_name(exc))
            return None
        except OSError as exc:
            logger.warning("cannot look for delivery %s in %s: %s", item.id, item.channel_id, exc)
            return None
        return None  # more pages than we read: cannot tell

    # -- the ledger -------------------------------------------------------------------------------

    def _record(self, session: Session, item: dl.Outgoing, outcome: Outcome, now: dt.datetime) -> None:
        if outcome.state == dl.POSTED:
            dl.finish(session, item.id, dl.POSTED, now, ts=outcome.ts)
        elif outcome.state == RATELIMITED:
            if outcome.wait > LONGEST_IN_MEMORY_WAIT:
                retry_at = now + dt.timedelta(seconds=outcome.wait)
                dl.finish(session, item.id, dl.RETRY, now, error="ratelimited", retry_at=retry_at)
        elif outcome.state == dl.RETRY and item.attempts < MAX_ATTEMPTS:
            dl.finish(
                session,
                item.id,
                dl.RETRY,
                now,
                error=outcome.error,
                retry_at=now + _backoff(item.attempts),
            )
        elif outcome.state == dl.UNCERTAIN:
            words = self._uncertain_words(item, outcome)
            dl.finish(session, item.id, dl.UNCERTAIN, now, error=words)
            self._tell_admins(session, item, words, now)
        else:
            gave_up = outcome.state == dl.RETRY
            words = (
                f"gave up after {item.attempts} attempts: {outcome.error}"
                if gave_up
                else ERROR_ADVICE.get(outcome.error or "", f"Slack answered {outcome.error}")
            )
            dl.finish(session, item.id, dl.FAILED, now, error=words)
            self._after_failure(session, item, outcome, words, now)

    @staticmethod
    def _uncertain_words(item: dl.Outgoing, outcome: Outcome) -> str:
        where = place(item.channel_id)
        return (
            f"Slack may have posted this ({outcome.error}) and the bot could not check {where}; "
            f"look in {where}, then run `retention-bot deliveries retry {item.id}` "
            "only if it is not there"
        )

    def _after_failure(
        self, session: Session, item: dl.Outgoing, outcome: Outcome, words: str, now: dt.datetime
    ) -> None:
        if outcome.error in DEAD_TOKEN_ERRORS:
            disable_workspace(session, item.workspace_id, words)
            # Nobody can be told in Slack with a dead token: the log and `retention-bot deliveries` say it.
            logger.error("workspace %s disabled: %s", item.workspace_id, words)
            return
        if item.kind == "digest" and outcome.error in CHANNEL_ERRORS:
            subscriptions.pause(session, item.workspace_id, item.channel_id, words)
        if item.kind == "voc" and outcome.error in CHANNEL_ERRORS:
            feedback_store.pause_subscription(session, item.workspace_id, item.channel_id, words)
        fallback = item.args.get("_fallback")
        if fallback and outcome.error in PERSON_GONE:
            # A person who left (or cannot be messaged): the escalation channel hears it instead.
            args = unreachable(item.args, item.channel_id, words)
            dl.enqueue(
                session,
                item.workspace_id,
                kind=item.kind,
                subject=f"{item.subject}:fallback",
                channel_id=str(fallback),
                args=args,
                now=now,
            )
            return
        self._tell_admins(session, item, words, now)

    def _tell_admins(self, session: Session, item: dl.Outgoing, words: str, now: dt.datetime) -> None:
        tell_admins(
            session,
            item.workspace_id,
            self.admins,
            kind=item.kind,
            subject=item.subject,
            channel_id=item.channel_id,
            words=words,
            now=now,
        )
