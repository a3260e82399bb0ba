"""How long `people link-slack` takes for a large org, apart from Slack's pace: N people in the people
list, N + 10 % members in the fake Slack (200 a page), pace 0. Prints the time to walk users.list
(the fake's HTTP round trips and JSON) and to link (the SQL), on SQLite and PostgreSQL.

At Slack's real Tier 2 pace the walk itself takes 3 s a page: 10,000 members are 50 pages, 2.5 minutes.

    python bench/link_slack.py [--people 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from bot.identity import PAGE_SIZE, SlackDirectory, link_all
from bot.settings import build_settings
from bot.slack_api import make_client
from storage.db import Database
from storage.importer import import_records
from storage.workspaces import ensure_workspace
from testkit.fake_slack import FakeSlack

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def people(n: int) -> list[dict[str, object]]:
    return [{"email": f"person{i}@corp.example", "name": f"Person {i}", "team": "cs"} for i in range(n)]


def one_run(url: str, n: int, fake: FakeSlack) -> tuple[float, float, int]:
    db = Database(url)
    db.upgrade()
    with db.write() as session:
        ws = ensure_workspace(session, "bench", now=NOW)
        import_records(
            session, ws, "people", ((i, r, None) for i, r in enumerate(people(n), 1)), source="bench"
        )
    settings = build_settings(SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=fake.api_url)
    directory = SlackDirectory(make_client(settings, "xoxb-test-token", outbox=True), pace=0)
    started = time.perf_counter()
    members = list(directory.users())
    walked = time.perf_counter() - started
    # The same walk again inside link_all (what the command does), timed as a whole.
    started = time.perf_counter()
    report = link_all(db, ws, SlackDirectory(make_client(settings, "xoxb-test-token", outbox=True), pace=0))
    total = time.perf_counter() - started
    db.dispose()
    assert len(report.linked) == n and len(members) >= n
    return walked, total, directory.calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.people
    print(
        f"people link-slack: {n:,} people, {int(n * 1.1):,} Slack members, {PAGE_SIZE} a page — {machine()}"
    )
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        for i in range(int(n * 1.1)):
            fake.add_user(f"U{i:08d}", f"person{i}@corp.example" if i < n else f"guest{i}@else.example")
        for backend in ("sqlite", "postgresql"):
            walks, links, calls = [], [], 0
            for run in range(args.runs):
                url = fresh_sqlite(Path(tmp), f"link{run}") if backend == "sqlite" else fresh_postgres("link")
                if url is None:
                    break
                try:
                    walk, link, calls = one_run(url, n, fake)
                finally:
                    if backend == "postgresql":
                        drop_postgres(url)
                walks.append(walk)
                links.append(link)
            if walks:
                walk = statistics.median(walks)
                print(
                    f"  {backend:<10} users.list walk ({calls} calls): median {walk:.2f} s "
                    f"[{min(walks):.2f}–{max(walks):.2f}]; walk + link {n:,}: median "
                    f"{statistics.median(links):.2f} s [{min(links):.2f}–{max(links):.2f}]"
                )


if __name__ == "__main__":
    main()
