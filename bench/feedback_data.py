"""The feedback benches' dataset: 50,000 accounts with ARR, health and risk flags, 2,000 themes and
200,000 feedback items, written straight into a fresh database (workspace "feedback-bench").

Themes are asked for unevenly (a few very often, most rarely: weights 1 / rank^0.8), each with its own
words, and items mix a theme's words with common ones, as customers' words do."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from storage import models as m
from storage.db import Database
from storage.workspaces import ensure_workspace

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
COMMON = "please need want slow report export users admin team login data page error sync view".split(" ")  # noqa: SIM905
CHUNK = 10_000


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))


def _insert(db: Database, model: type[m.Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        with db.write() as session:
            session.execute(insert(m.table(model)), rows[start : start + CHUNK])


def theme_words(seed: int, themes: int) -> list[list[str]]:
    rng = random.Random(f"{seed}:words")
    vocab = sorted({_word(rng) for _ in range(themes * 4)})
    rng.shuffle(vocab)
    return [vocab[3 * i : 3 * i + 3] for i in range(themes)]


def build(
    url: str, *, accounts: int = 50_000, themes: int = 2_000, items: int = 200_000, seed: int = 15
) -> int:
    db = Database(url)
    db.ensure_schema(auto_upgrade=True)
    with db.write() as session:
        ws = ensure_workspace(session, "feedback-bench", now=NOW)
    rng = random.Random(seed)
    segments = ("smb", "mid-market", "enterprise")
    _insert(
        db,
        m.Account,
        [
            {
                "workspace_id": ws,
                "external_id": f"ACC-{i:06d}",
                "name": f"Account {i}",
                "name_key": f"account {i}",
                "segment": segments[i % 3],
                "renewal_on": NOW.date() + dt.timedelta(days=rng.randrange(1, 365)),
            }
            for i in range(accounts)
        ],
    )
    with db.read() as session:
        ids = [a for (a,) in session.execute(m.Account.__table__.select().with_only_columns(m.Account.id))]
    month = dt.date(2026, 10, 1)
    _insert(
        db,
        m.MrrSnapshot,
        [
            {"workspace_id": ws, "account_id": a, "month": month, "mrr": Decimal(rng.randrange(100, 20_000))}
            for a in ids
        ],
    )
    day = NOW.date() - dt.timedelta(days=1)
    _insert(
        db,
        m.HealthSnapshot,
        [
            {
                "workspace_id": ws,
                "account_id": a,
                "day": day,
                "score": s,
                "band": "red" if s < 40 else "green" if s >= 70 else "yellow",
                "components": {},
            }
            for a in ids
            for s in [rng.uniform(10, 100)]
        ],
    )
    _insert(
        db,
        m.RiskFlag,
        [
            {
                "workspace_id": ws,
                "external_id": f"R-{a}",
                "account_id": a,
                "flagged_on": day,
                "reason": "bench",
                "outcome": "open",
            }
            for a in rng.sample(ids, len(ids) // 10)
        ],
    )
    words = theme_words(seed, themes)
    _insert(
        db,
        m.FeedbackTheme,
        [
            {
                "workspace_id": ws,
                "name": " ".join(w[:2]).title(),
                "name_key": " ".join(w[:2]),
                "status": "new",
                "created_at": NOW - dt.timedelta(days=200),
                "status_changed_at": NOW - dt.timedelta(days=200),
            }
            for w in words
        ],
    )
    with db.read() as session:
        theme_ids = [
            t
            for (t,) in session.execute(
                m.FeedbackTheme.__table__.select()
                .with_only_columns(m.FeedbackTheme.id)
                .order_by(m.FeedbackTheme.id)
            )
        ]
    weights = [1 / (r + 1) ** 0.8 for r in range(themes)]
    picks = rng.choices(range(themes), weights=weights, k=items)
    kinds = ("request", "request", "bug", "pain", "praise")
    _insert(
        db,
        m.FeedbackItem,
        [
            {
                "workspace_id": ws,
                "external_id": f"FB-{n}",
                "account_id": rng.choice(ids),
                "theme_id": theme_ids[t],
                "kind": kinds[n % 5],
                "importance": "medium",
                "text": " ".join(rng.sample(words[t], 2) + rng.sample(COMMON, 4)),
                "source": "import",
                "logged_at": NOW - dt.timedelta(minutes=rng.randrange(1, 180 * 24 * 60)),
            }
            for n, t in enumerate(picks)
        ],
    )
    # As after an import (storage.bulk.refresh_statistics): the planner knows the tables' sizes.
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    if db.is_sqlite:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return ws
