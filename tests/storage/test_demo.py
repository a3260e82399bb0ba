from __future__ import annotations

import datetime as dt
import itertools

from storage.demo import KIND_ORDER, DemoConfig, DemoData

CFG = DemoConfig(accounts=200, months=24, seed=11, as_of=dt.date(2026, 11, 23), usage_days=7)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b = DemoData(CFG), DemoData(CFG)
    c = DemoData(DemoConfig(**{**CFG.__dict__, "seed": 12}))
    for kind in KIND_ORDER:
        assert list(a.records(kind)) == list(b.records(kind)), kind
    assert list(a.records("revenue")) != list(c.records("revenue"))


def test_story_has_every_revenue_movement() -> None:
    moves = {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
    for story in DemoData(CFG).stories():
        series = [story.mrr.get(mo, 0) for mo in CFG.month_list]
        paid = False
        for prev, cur in itertools.pairwise([0, *series]):
            if prev == 0 and cur > 0:
                moves["reactivation" if paid else "new"] += 1
            elif prev > 0 and cur == 0:
                moves["churn"] += 1
            elif prev > 0 and cur > prev:
                moves["expansion"] += 1
            elif 0 < cur < prev:
                moves["contraction"] += 1
            paid = paid or cur > 0
    assert all(v > 0 for v in moves.values()), moves


def test_dataset_has_segments_late_handoffs_and_shared_wins() -> None:
    data = DemoData(CFG)
    segments = {a["segment"] for a in data.records("accounts")}
    assert segments == {"enterprise", "mid-market", "smb"}
    late = [h for h in data.records("handoffs") if h["completed_at"] and h["completed_at"] > h["due_at"]]
    assert late
    assert all(len(w["credited_teams"]) >= 2 for w in data.records("wins"))
    outcomes = {f["outcome"] for f in data.records("risk_flags")}
    assert outcomes == {"open", "saved", "churned"}
    names = [a["name"] for a in data.records("accounts")]
    assert len(set(names)) == len(names)
