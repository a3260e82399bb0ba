"""Demo data gives accounts sources and campaigns whose churn differs, and champions (advocacy wins), so a
new user sees the cuts and the stage conversion do something."""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal

from storage.demo import DemoConfig, DemoData


def test_sources_and_campaigns_churn_differently() -> None:
    data = DemoData(DemoConfig(accounts=800))
    source = {a["external_id"]: a["source"] for a in data.records("accounts")}
    campaigns = {a["campaign"] for a in data.records("accounts")}
    assert set(source.values()) == {"inbound", "outbound", "partner", "paid-ads"}
    assert {"black-friday", "partner-summit", None} <= campaigns
    series: dict[str, list[Decimal]] = defaultdict(list)
    for rec in data.records("revenue"):
        series[rec["account"]].append(rec["mrr"])
    churned: dict[str, list[bool]] = defaultdict(list)
    for account, mrr in series.items():
        lost = any(a > 0 and b == 0 for a, b in itertools.pairwise(mrr))
        churned[source[account]].append(lost)
    rate = {s: sum(v) / len(v) for s, v in churned.items()}
    assert rate["paid-ads"] > 1.5 * rate["partner"], rate  # bad-fit deals for the cuts to find


def test_some_adopted_accounts_become_champions() -> None:
    wins = [w for w in DemoData(DemoConfig(accounts=300)).records("wins") if w["kind"] == "advocacy"]
    assert wins and all("marketing" in w["credited_teams"] for w in wins)
