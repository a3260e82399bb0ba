"""The scorecard cut by source, campaign, CSM and segment on a small hand-computed dataset, on SQLite and
PostgreSQL. As of 2026-11-23, month October 2026 (M = 2026-10, M−12 = 2025-10). MRR by account:

  A inbound/webinar  ent  won 2025-09-01  100 from 2025-10 to 2026-09, 150 in 2026-10
  B inbound/webinar  ent  won 2025-09-01  200 from 2025-10 to 2026-05, then 0   (lost in June: early)
  C inbound/—        smb  won 2025-09-01  300 from 2025-10 to 2026-10
  D partner/summit   smb  won 2025-08-01  400 from 2025-08 to 2026-09, then 0  (lost in October: not early)
  E partner/summit   smb  won 2026-09-01  500 from 2026-09                      (new; 12 months not over)
  F —/—              smb  won 2025-01-01  50 from 2025-01 to 2025-06, then 0    (lost in July 2025: early)

First value: A due Oct 5, reached Oct 3 (397 days after closed/won); B due Oct 20, not reached; E due
Oct 10, reached Oct 15 (44 days).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services import cuts
from storage.db import Database
from tests.support.helpers import load, months

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture
def dataset(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", "email,name,team\nana@x.io,Ana Lima,cs\nbob@x.io,Bob Stone,cs\n", tmp_path)
    load(
        db,
        ws,
        "accounts",
        """
        external_id,name,segment,closed_won_on,source,campaign,csm_email
        A,Alpha,ent,2025-09-01,inbound,webinar,ana@x.io
        B,Beta,ent,2025-09-01,inbound,webinar,ana@x.io
        C,Gamma,smb,2025-09-01,inbound,,ana@x.io
        D,Delta,smb,2025-08-01,partner,summit,bob@x.io
        E,Epsilon,smb,2026-09-01,partner,summit,bob@x.io
        F,Phi,smb,2025-01-01,,,
    """,
        tmp_path,
    )
    series = {
        "A": {**dict.fromkeys(months("2025-10", "2026-09"), "100"), "2026-10": "150"},
        "B": {**dict.fromkeys(months("2025-10", "2026-05"), "200"), "2026-06": "0"},
        "C": dict.fromkeys(months("2025-10", "2026-10"), "300"),
        "D": {**dict.fromkeys(months("2025-08", "2026-09"), "400"), "2026-10": "0"},
        "E": dict.fromkeys(months("2026-09", "2026-10"), "500"),
        "F": {**dict.fromkeys(months("2025-01", "2025-06"), "50"), "2025-07": "0"},
    }
    rows = ["account,month,mrr"] + [f"{a},{mo},{v}" for a, s in series.items() for mo, v in s.items()]
    load(db, ws, "revenue", "\n".join(rows) + "\n", tmp_path)
    load(
        db,
        ws,
        "milestones",
        """
        account,kind,target_on,achieved_on
        A,first_value,2026-10-05,2026-10-03
        B,first_value,2026-10-20,
        E,first_value,2026-10-10,2026-10-15
    """,
        tmp_path,
    )
    return db


def by(db: Database, ws: int, cut: str) -> dict[str, cuts.CutRow]:
    report = cuts.cut(db, ws, by=cut, as_of=AS_OF, period="month")  # type: ignore[arg-type]
    return {row.value: row for row in report.rows}


def test_by_source(dataset: Database, ws: int) -> None:
    report = cuts.cut(dataset, ws, by="source", as_of=AS_OF, period="month")
    assert [r.value for r in report.rows] == ["inbound", "partner", "(none)"]  # most accounts first
    inbound, partner, none = report.rows
    # Inbound: base (Oct 2025) A 100 + B 200 + C 300 = 600; October 150 + 0 + 300 = 450; capped 100 + 0 + 300.
    assert (inbound.accounts, inbound.paying) == (3, 2)
    assert inbound.nrr == pytest.approx(450 / 600)
    assert inbound.grr == pytest.approx(400 / 600)
    assert inbound.logo_churn == 0  # A and C paid in September and in October
    assert (inbound.ttv_days, inbound.ttv_accounts) == (397, 1)
    assert (inbound.first_value_on_time, inbound.first_value_due) == (0.5, 2)  # A on time, B not
    assert (inbound.early_lost, inbound.early_base) == (1, 3)  # B, in June, within 12 months
    assert inbound.early_churn == pytest.approx(1 / 3)
    # Partner: D (400 in Oct 2025) is gone in October: NRR = GRR = 0; D and E paid in September, D left.
    assert (partner.nrr, partner.grr, partner.logo_churn) == (0, 0, 0.5)
    assert (partner.ttv_days, partner.first_value_on_time) == (44, 0)
    assert (partner.early_lost, partner.early_base) == (0, 1)  # D lost after 14 months; E's year not over
    # No source: F, lost in July 2025, within its first year; nobody of it paid in Oct 2025 or Sep 2026.
    assert (none.accounts, none.nrr, none.logo_churn, none.early_churn) == (1, None, None, 1)
    assert all(r.small for r in report.rows)


def test_by_campaign_csm_and_segment(dataset: Database, ws: int) -> None:
    campaign = by(dataset, ws, "campaign")
    assert set(campaign) == {"webinar", "summit", "(none)"}
    assert campaign["webinar"].nrr == pytest.approx(150 / 300)  # A 150, B 0 over A 100 + B 200
    assert campaign["(none)"].accounts == 2 and campaign["(none)"].nrr == 1  # C flat; F not in the base
    csm = by(dataset, ws, "csm")
    assert {k: v.accounts for k, v in csm.items()} == {"Ana Lima": 3, "Bob Stone": 2, "(none)": 1}
    assert csm["Ana Lima"].nrr == pytest.approx(450 / 600)
    segment = by(dataset, ws, "segment")
    assert segment["ent"].grr == pytest.approx(100 / 300)
    assert segment["smb"].logo_churn == pytest.approx(1 / 3)  # C, D, E paid in September; D left


def test_json_and_an_empty_workspace(dataset: Database, db: Database, ws: int) -> None:
    data = cuts.cut(dataset, ws, by="source", as_of=AS_OF, period="month").to_json()
    assert data["revenue_month"] == "2026-10" and data["small_group_below"] == 10
    first = data["rows"][0]
    assert first["value"] == "inbound" and first["small"] is True
    assert first["early_churn_lost"] == 1 and first["nrr"] == 0.75
    with pytest.raises(ValueError, match="unknown cut"):
        cuts.cut(dataset, ws, by="colour", as_of=AS_OF, period="month")  # type: ignore[arg-type]
