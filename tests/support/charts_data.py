"""Hand-made data for the chart tests: three accounts over two years, and health snapshots.

Revenue (MRR, every month from 2024-11): A 100 throughout; B 100, then 150 from 2026-05; C 100
until 2025-12, then nothing (churned in 2026-01). For the digest of Monday 2026-11-23 the revenue
month M is 2026-10, and the charts' months are 2025-11 … 2026-10 (each against 12 months before,
when all three paid 100 — a base of 300):

- 2025-11, 2025-12: NRR 300/300 = 100 %, GRR 100 %
- 2026-01 … 2026-04: NRR 200/300 = 67 %, GRR 67 %
- 2026-05 … 2026-10: NRR 250/300 = 83 %, GRR 200/300 = 67 %

One cohort, 2024-Q4 (3 accounts): 100 % at the end of 2024-12 … 2025-12, then 2/3 = 67 %.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from storage import models as m
from storage.db import Database
from tests.support.helpers import load, months


def revenue_rows() -> str:
    rows = ["account,month,mrr"]
    for month in months("2024-11", "2026-10"):
        rows.append(f"A,{month},100")
        rows.append(f"B,{month},{150 if month >= '2026-05' else 100}")
        if month <= "2025-12":
            rows.append(f"C,{month},100")
    return "\n".join(rows)


def load_accounts_and_revenue(db: Database, ws: int, tmp_path: Path) -> None:
    load(
        db,
        ws,
        "accounts",
        """
        external_id,name,segment
        A,Alpha,ent
        B,Beta,ent
        C,Gamma,smb
    """,
        tmp_path,
    )
    load(db, ws, "revenue", revenue_rows(), tmp_path)


def add_snapshots(db: Database, ws: int, scores: dict[dt.date, dict[str, float]]) -> None:
    """Health snapshots: day → {account external id: score}; the band follows the default policy
    (red below 40, green from 70)."""
    with db.write() as s:
        ids = {a.external_id: a.id for a in s.query(m.Account).filter(m.Account.workspace_id == ws)}
        for day, by_account in scores.items():
            for ext, score in by_account.items():
                band = "red" if score < 40 else "green" if score >= 70 else "yellow"
                s.add(
                    m.HealthSnapshot(
                        workspace_id=ws,
                        account_id=ids[ext],
                        day=day,
                        score=score,
                        band=band,
                        components={},
                    )
                )
