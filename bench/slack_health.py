"""/health through the real HTTP server with signed requests: 20 concurrent clients, 50,000 accounts.

Prints p50/p99 latency of ``/health ACCOUNT`` and of a trivial command (``/health help``) on the same
server under the same load, and the server's CPU time per request of each (20 closed-loop clients
keep the server busy, so the latency ratio follows the CPU ratio). Goal (issue 3): p99 ≤ 150 ms and
≤ 2× the trivial command's. The bot runs as its own process (``retention-bot serve``, waitress, one
process per core) with its scheduler off (its daily jobs would compete for the same cores: a
production deployment at this size runs them in ``retention-bot worker``); Slack's Web API is the
local fake from testkit/ (only ``auth.test`` is called: /health answers inside the HTTP response).
Accounts are drawn at random from the whole workspace.

    python bench/slack_health.py [--database-url URL] [--clients 20] [--requests 6000] [--wrk]
        [--processes N] [--server-threads N] [--db-concurrency N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from bench.common import ROOT, machine
from storage.db import Database
from storage.models import Account
from storage.workspaces import find_workspace
from testkit.fake_slack import FakeSlack

SECRET = "bench-signing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_load(port: int, texts: list[str], clients: int, per_client: int) -> list[float]:
    verifier = SignatureVerifier(SECRET)
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random(k)
        mine = []
        for _ in range(per_client):
            body = urlencode(
                {
                    "team_id": "T0TEST",
                    "user_id": "UBENCH",
                    "command": "/health",
                    "text": rng.choice(texts),
                    "channel_id": "C1",
                    "response_url": "http://127.0.0.1:9/x",
                    "trigger_id": "t",
                }
            )
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
            }
            t = time.perf_counter()
            conn.request("POST", "/slack/events", body, headers)
            resp = conn.getresponse()
            payload = resp.read()
            mine.append(time.perf_counter() - t)
            if resp.status != 200 or b"Working on it" in payload:
                failures.append(f"{resp.status} {payload[:120]!r}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print(f"  {len(failures)} unexpected answers, e.g. {failures[0]}")
    return latencies


def wrk_script(texts: list[str], path: Path) -> None:
    """A wrk Lua script cycling through pre-signed /health requests (signatures stay valid 5 minutes)."""
    verifier, ts = SignatureVerifier(SECRET), str(int(time.time()))
    with path.open("w") as fh:
        fh.write("local reqs = {}\n")
        for text in texts:
            body = urlencode(
                {
                    "team_id": "T0TEST",
                    "user_id": "UBENCH",
                    "command": "/health",
                    "text": text,
                    "channel_id": "C1",
                    "response_url": "http://127.0.0.1:9/x",
                    "trigger_id": "t",
                }
            )
            sig = verifier.generate_signature(timestamp=ts, body=body)
            headers = (
                f'{{["Content-Type"]="application/x-www-form-urlencoded", '
                f'["X-Slack-Request-Timestamp"]="{ts}", ["X-Slack-Signature"]="{sig}"}}'
            )
            fh.write(
                f'table.insert(reqs, wrk.format("POST", "/slack/events", {headers}, {json.dumps(body)}))\n'
            )
        fh.write("local i = 0\nrequest = function()\n  i = i + 1\n  return reqs[(i % #reqs) + 1]\nend\n")


def run_wrk(port: int, texts: list[str], clients: int, seconds: int) -> str:
    """p50, p99 and req/s from wrk (a C load generator: the client takes little of the shared CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.lua"
        wrk_script(texts, script)
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{clients}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    keep = [
        line.strip()
        for line in out.splitlines()
        if line.strip().startswith(("50%", "99%", "Requests/sec", "Non-2xx"))
    ]
    return " | ".join(" ".join(line.split()) for line in keep)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server: the process and its forked workers (Linux /proc)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def context_switches(pid: int) -> int:
    """Voluntary context switches of every thread of the server's processes: a thread that gives up
    the CPU to wait (for the GIL, a lock, a socket) counts one."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def postgres_cpu_seconds() -> float:
    """CPU of the local PostgreSQL server's processes (0 when there are none): it shares the cores."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm, rest = (entry / "stat").read_text().split(") ", 1)
            if comm.endswith("(postgres"):
                fields = rest.split()
                total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            continue
    return total


def cpu_now(pid: int) -> tuple[float, float, int]:
    return cpu_seconds(pid), postgres_cpu_seconds(), context_switches(pid)


def report(label: str, lat: list[float], took: float, cpu: tuple[float, float, int] | None = None) -> float:
    q = statistics.quantiles(lat, n=100)
    per = ""
    if cpu is not None:
        per = f", CPU per request: bot {cpu[0] / len(lat) * 1000:4.2f} ms"
        per += f", PostgreSQL {cpu[1] / len(lat) * 1000:4.2f} ms" if cpu[1] else ""
        per += f", {cpu[2] / len(lat):.0f} context switches"
    print(
        f"  {label:<28}: p50 {statistics.median(lat) * 1000:6.1f} ms, p99 {q[98] * 1000:6.1f} ms, "
        f"{len(lat) / took:6.0f} req/s ({len(lat)} requests){per}"
    )
    return q[98]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/rb-bench/scorecard-50000-24.db")
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--server-threads", type=int, default=0, help="threads per server process")
    parser.add_argument("--processes", type=int, default=0, help="server processes")
    parser.add_argument("--db-concurrency", type=int, default=0, help="threads per process in the database")
    parser.add_argument("--wrk", action="store_true", help="also measure with wrk (apt-get install wrk)")
    args = parser.parse_args()
    db = Database(args.database_url)
    with db.read() as s:
        ws = find_workspace(s, args.workspace)
        if ws is None:
            raise SystemExit(f"no workspace {args.workspace!r}: run bench/scorecard_health.py first")
        ids = s.scalars(select(Account.external_id).where(Account.workspace_id == ws)).all()
    db.dispose()
    print(f"/health bench: {len(ids):,} accounts, {args.clients} concurrent clients; {machine()}")
    texts = random.Random(7).sample(list(ids), min(len(ids), 5000))
    port = free_port()
    with FakeSlack(tokens={"xoxb-bench"}) as fake:
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "RETENTION_BOT_WORKSPACE": args.workspace,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "SCHEDULER": "false",
        }
        # The server's own defaults unless told otherwise.
        env.update({"SERVER_THREADS": str(args.server_threads)} if args.server_threads else {})
        env.update({"WEB_PROCESSES": str(args.processes)} if args.processes else {})
        env.update({"DB_CONCURRENCY": str(args.db_concurrency)} if args.db_concurrency else {})
        log_path = Path(tempfile.gettempdir()) / "retention-bot-bench-server.log"
        log = log_path.open("w")  # a file, not a pipe nobody reads (a full pipe would stall the server)
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                    break
                except OSError:
                    time.sleep(0.1)
            per = max(1, args.requests // args.clients)
            run_load(port, ["help"], args.clients, 20)  # warm up: connections, compiled statements
            run_load(port, texts[:40], args.clients, 20)
            p99s: dict[str, float] = {}
            for label, load in (("/health help (trivial)", ["help"]), ("/health ACCOUNT", texts)):
                t, (bot0, pg0, cs0) = time.perf_counter(), cpu_now(server.pid)
                latencies = run_load(port, load, args.clients, per)
                took, (bot1, pg1, cs1) = time.perf_counter() - t, cpu_now(server.pid)
                p99s[label] = report(label, latencies, took, (bot1 - bot0, pg1 - pg0, cs1 - cs0))
            base, p99 = p99s["/health help (trivial)"], p99s["/health ACCOUNT"]
            print(f"  p99 ratio to the trivial command on an idle server: {p99 / base:.2f}×")
            # The same comparison on a busy server: trivial probes sent while the /health load runs.
            probes: list[float] = []
            prober = threading.Thread(target=lambda: probes.extend(run_load(port, ["help"], 2, per)))
            t = time.perf_counter()
            prober.start()
            health_busy = run_load(port, texts, args.clients, per)
            prober.join()
            took = time.perf_counter() - t
            busy = report("/health ACCOUNT, mixed load", health_busy, took)
            base_busy = report("/health help, same time", probes, took)
            print(f"  p99 ratio to the trivial command under the same load: {busy / base_busy:.2f}×")
            if args.wrk and shutil.which("wrk"):
                print(f"  wrk /health help  : {run_wrk(port, ['help'], args.clients, 10)}")
                print(f"  wrk /health ACCOUNT: {run_wrk(port, texts, args.clients, 10)}")
            print("  goal: p99 <= 150 ms and <= 2x the trivial command")
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
            print(f"  server log: {log_path}")


if __name__ == "__main__":
    main()
