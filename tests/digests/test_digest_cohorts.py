"""Cohort retention in the weekly digest's thread reply, on the hand-computed metrics dataset
(tests/storage/test_metrics.py): as of 2026-11-23 the cohorts run through October 2026, and each start
quarter shows its retention at the latest quarter end it reached (September 2026)."""

from __future__ import annotations

import datetime as dt
import json

from digests.digest import context, render
from services.digest import weekly
from services.policies import Policies
from storage.db import Database
from tests.storage.test_metrics import AS_OF, dataset  # noqa: F401
from tests.support import NOW


def test_thread_reply_lists_cohort_retention_newest_first(dataset: Database, ws: int) -> None:  # noqa: F811
    facts = weekly(dataset, ws, as_of=AS_OF, now=NOW, policies=Policies())
    assert facts.cohort_month == dt.date(2026, 10, 1)
    message = render(context(facts))
    assert message.problems == []
    thread = json.dumps(message.thread_blocks, ensure_ascii=False)
    assert "*Cohort retention* by start quarter, through October 2026" in thread
    # 2026-Q1: D and G, both paying in September; 2025-Q4: A B C E, 3 of 4 logos and 380 of 650;
    # 2025-Q2: F, gone by September.
    lines = [
        "• *2026-Q1* 2 accounts — logo 100.0%, revenue 100.0% at Sep 2026",
        "• *2025-Q4* 4 accounts — logo 75.0%, revenue 58.5% at Sep 2026",
        "• *2025-Q2* 1 account — logo 0.0%, revenue 0.0% at Sep 2026",
    ]
    assert "\\n".join(lines) in thread


def test_thread_reply_without_revenue_says_so(db: Database, ws: int) -> None:
    message = render(context(weekly(db, ws, as_of=AS_OF, now=NOW, policies=Policies())))
    assert "_No revenue yet._" in json.dumps(message.thread_blocks)
