"""Fan-out: one weekly digest to each of 200 subscribed channels, through the real worker and outbox,
against the fake Slack Web API running in its own process and enforcing chat.postMessage's limit of
1 message per second per channel (a faster one gets HTTP 429 with Retry-After).

Each channel gets the digest and its thread reply: two messages, and the reply may only follow one
second after its message. So the floor the rate limit allows is 1 s, whatever the number of
channels; the goal (issue 16) is a delivery time <= 1.2x that floor on every run, every message posted
exactly once. Each run is two weeks of digests by one process: the first week warms the engine
(compiled statements, prepared plans), the second is measured, as a long-running worker does it.

Each run is made twice, back to back, with the outbox's two transports: ``urllib`` (slack_sdk's own:
a new connection per call) and ``keepalive`` (``bot.keepalive``: pooled HTTP/1.1 connections, what
the worker uses), so a busy machine slows both alike; the CPU seconds the sending process spent on
the delivery are printed beside the wall time.

    python bench/digest_fanout.py [--channels 200] [--threads N] [--runs 3] [--transport both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_sdk import WebClient

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from bot.scheduler import Worker, settle_heap
from bot.settings import Settings, build_settings
from bot.slack_api import make_client
from services.subscriptions import parse_schedule
from storage import subscriptions as subs
from storage.db import Database
from storage.workspaces import ensure_workspace

MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
FLOOR_SECONDS = 1.0  # two messages per channel, one second apart


def fake_slack(conn: Any) -> None:
    """The fake Slack in a child process: sends its URL, serves until told, then sends what it saw."""
    from testkit.fake_slack import FakeSlack

    with FakeSlack(channel_interval=1.0) as fake:
        # Slack's own servers do not share this machine's cores: the fake's housekeeping (a full
        # garbage collection walking its start-up heap and the last run's transcript) is kept out of
        # the measured window, so the figure is the outbox's, not the stand-in's.
        gc.collect()
        gc.freeze()
        conn.send(fake.api_url)
        while (asked := conn.recv()) != "stop":
            if asked == "clear":
                fake.reset()
                gc.collect()
            conn.send(time.process_time())  # the fake's CPU so far: the bench takes differences
        posts = fake.posts()
        conn.send(
            {
                "posts": len(posts),
                "channels": len(fake.messages),
                "per_channel": sorted({len(v) for v in fake.messages.values()}),
                "threaded": sum(1 for p in posts if p["thread_ts"]),
                "rate_limited": fake.rate_limited,
            }
        )


def clients(settings: Settings, transport: str) -> Any:
    """One outbox client for the run's workspace, as ``bot.tokens.WorkspaceClients`` caches it."""
    if transport == "keepalive":
        client = make_client(settings, "xoxb-test-token", outbox=True)
    else:
        client = WebClient(token="xoxb-test-token", base_url=settings.slack_api_url, timeout=10)
        client.retry_handlers = []
    return lambda ws: client


def one_run(
    url: str, api_url: str, channels: int, threads: int, conn: Any, transport: str
) -> tuple[float, float, float, float, float, Any]:
    """Two weekly fan-outs by one long-lived process: the first on a cold engine (statements not yet
    compiled or prepared), the second as a worker that has been running does it. Returns the plan time
    and both delivery times of the measured (second) week, and its report."""
    db = Database(url)
    db.ensure_schema(auto_upgrade=True)
    with db.write() as s:
        ws = ensure_workspace(s, "bench", now=MONDAY)
        schedule = parse_schedule(["mon", "09:00", "UTC"], [])
        for i in range(channels):
            subs.subscribe(s, ws, f"C{i:05d}", schedule, by=None, now=MONDAY - dt.timedelta(days=14))
    settings = build_settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=api_url,
        RETENTION_BOT_WORKSPACE="bench",
        DELIVERY_THREADS=str(threads),
    )
    settle_heap()  # what `retention-bot worker` does before its scheduler starts (bot/cli/run.py)
    times, cpu, slack_cpu = [], 0.0, 0.0
    # One worker for both weeks, as `retention-bot worker` keeps one (its engine, client pool and
    # sending threads live as long as the process); only its clock moves on a week.
    today = [MONDAY]
    worker = Worker(
        settings, db, clock=lambda: today[0] + dt.timedelta(minutes=1), clients=clients(settings, transport)
    )
    for week in (MONDAY - dt.timedelta(days=7), MONDAY):
        today[0] = week
        # A week apart for Slack's 1 msg/s/channel too: the outbox's pacing (and the fake's) must not
        # see the first week's thread replies as a second ago.
        time.sleep(FLOOR_SECONDS * 1.5)
        conn.send("clear")
        slack_cpu = conn.recv()
        t = time.perf_counter()
        planned = worker.plan()
        plan_s = time.perf_counter() - t
        assert planned.digests == channels, planned
        t, c = time.perf_counter(), time.process_time()
        delivered = worker.deliver()
        times.append(time.perf_counter() - t)
        cpu = time.process_time() - c
    conn.send("cpu")
    slack_cpu = conn.recv() - slack_cpu  # the fake's CPU over the measured week
    db.dispose()
    return plan_s, times[0], times[1], cpu, slack_cpu, delivered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--threads", type=int, default=32, help="DELIVERY_THREADS")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--transport", choices=("both", "keepalive", "urllib"), default="both")
    args = parser.parse_args()
    transports = ("urllib", "keepalive") if args.transport == "both" else (args.transport,)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=fake_slack, args=(child,), daemon=True)
    proc.start()
    api_url = parent.recv()
    print(f"digest fan-out bench: {args.channels} channels × (digest + thread reply); {machine()}")
    print(f"  fake Slack in its own process enforcing 1 msg/s/channel; {args.threads} delivery threads")
    workdir = Path(tempfile.mkdtemp(prefix="rb-fanout-"))
    backends: list[tuple[str, Any]] = [("SQLite", lambda i: fresh_sqlite(workdir, f"fanout{i}"))]
    backends.append(("PostgreSQL", lambda i: fresh_postgres(f"fanout{i}")))
    last: Any = None
    for label, make_url in backends:
        times: dict[str, list[float]] = {t: [] for t in transports}
        for i in range(args.runs):
            for transport in transports:
                url = make_url(f"{i}{transport[0]}")
                if url is None:
                    break
                plan_s, cold_s, deliver_s, cpu_s, slack_cpu_s, delivered = one_run(
                    url, api_url, args.channels, args.threads, parent, transport
                )
                times[transport].append(deliver_s)
                last = delivered
                print(
                    f"  {label:<10} run {i + 1} {transport:<9}: claimed {args.channels} in {plan_s:.2f} s; "
                    f"delivered in {deliver_s:.2f} s = {deliver_s / FLOOR_SECONDS:.2f}× the floor, "
                    f"CPU {cpu_s:.2f} s sender + {slack_cpu_s:.2f} s fake Slack "
                    f"({delivered.posted} posted, {delivered.rate_limited} rate-limited; "
                    f"the first week, on a cold engine: {cold_s:.2f} s)"
                )
                if url.startswith("postgresql"):
                    drop_postgres(url)
        for transport, got in times.items():
            if got:
                print(
                    f"  {label:<10} {transport:<9} median {statistics.median(got):.2f} s, "
                    f"max {max(got):.2f} s "
                    f"-> {max(got) / FLOOR_SECONDS:.2f}× the {FLOOR_SECONDS:.0f} s floor at worst"
                )
    parent.send("stop")
    seen = parent.recv()
    proc.join(timeout=5)
    print(
        f"  fake Slack saw (last run): {seen['posts']} messages in {seen['channels']} channels, "
        f"{seen['threaded']} of them thread replies, messages per channel {seen['per_channel']}, "
        f"{seen['rate_limited']} answered 429"
    )
    assert last is None or seen["per_channel"] == [2], "every channel must get exactly its two messages"
    print("  goal: delivery <= 1.2× the floor the 1 msg/s/channel limit allows (1 s), on every run")


if __name__ == "__main__":
    main()
