"""Warehouse sync: the documented Salesforce queries against a real PostgreSQL warehouse, the HubSpot
ones against DuckDB; a bad row rejects the whole sync; two workers sync once per interval."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select
from sqlalchemy.pool import NullPool

from services import sync as sync_mod
from services.errors import ConfigError
from services.policies import Policies, SyncConfig, load_policies
from storage import models as m
from storage.db import Database
from storage.warehouse import WarehouseError
from testkit.pg import create_database, drop_database
from testkit.warehouse import build_hubspot, build_salesforce
from tests.conftest import PG_URL, _in_ci
from tests.support import NOW
from tests.support.helpers import at_once

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def salesforce_url() -> Iterator[str]:
    """A PostgreSQL database of its own playing the warehouse, with Fivetran's Salesforce tables."""
    try:
        url = create_database(PG_URL, "rb_warehouse")
    except Exception as exc:
        if _in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip("PostgreSQL is not reachable (set TEST_POSTGRES_URL)")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        build_salesforce(conn)
        build_hubspot(conn)
    engine.dispose()
    yield url
    drop_database(PG_URL, url)


@pytest.fixture
def hubspot_url(tmp_path: Path) -> str:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        build_hubspot(conn)
        build_salesforce(conn)
    engine.dispose()
    return url


def salesforce(url: str) -> SyncConfig:
    return load_policies(EXAMPLES / "sync-salesforce.toml").sync.model_copy(update={"url": url})


def hubspot(url: str) -> SyncConfig:
    return load_policies(EXAMPLES / "sync-hubspot.toml").sync.model_copy(update={"url": url})


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (m.Person, m.Account, m.MrrSnapshot)
        )


def mrr(db: Database, external_id: str, month: str) -> Decimal:
    with db.read() as s:
        return s.execute(
            select(m.MrrSnapshot.mrr)
            .join(m.Account, m.Account.id == m.MrrSnapshot.account_id)
            .where(m.Account.external_id == external_id, m.MrrSnapshot.month == dt.date.fromisoformat(month))
        ).scalar_one()


def test_salesforce_from_postgresql(db: Database, ws: int, salesforce_url: str) -> None:
    report = sync_mod.sync(db, ws, salesforce(salesforce_url))
    assert [(r.kind, r.inserted, r.updated, r.unchanged) for r in report.results] == [
        ("people", 3, 0, 0),  # the inactive user is left out
        ("accounts", 3, 0, 0),  # the deleted account is left out
        # Acme: 12 months of the first deal and 6 more of the expansion; Initech: 12 months.
        ("revenue", 30, 0, 0),
    ]
    with db.read() as s:
        acme = s.scalars(select(m.Account).where(m.Account.external_id == "0015e00000AcmeA")).one()
        people = {p.id: p for p in s.scalars(select(m.Person))}
        bea = next(p for p in people.values() if p.email == "bea@saas.example")
        ana = next(p for p in people.values() if p.email == "ana@saas.example")
    assert (acme.domain, acme.segment, acme.stage) == ("acme.com", "enterprise", "closed_won")
    assert (acme.closed_won_on, acme.renewal_on) == (dt.date(2026, 1, 15), dt.date(2027, 7, 10))
    assert ana.manager_id == bea.id and ana.team == "cs" and ana.timezone == "Europe/Berlin"
    # 120,000 a year from January 2026; 24,000 more a year from July 2026: 10,000 + 2,000.
    assert mrr(db, "0015e00000AcmeA", "2026-06-01") == Decimal("10000.00")
    assert mrr(db, "0015e00000AcmeA", "2026-08-01") == Decimal("12000.00")
    assert mrr(db, "0015e00000AcmeA", "2027-03-01") == Decimal("2000.00")
    assert mrr(db, "0015e00000InitA", "2026-03-01") == Decimal("500.00")

    again = sync_mod.sync(db, ws, salesforce(salesforce_url))
    assert [(r.inserted, r.updated) for r in again.results] == [(0, 0)] * 3
    assert again.rows == 36


def test_hubspot_from_duckdb(db: Database, ws: int, hubspot_url: str) -> None:
    report = sync_mod.sync(db, ws, hubspot(hubspot_url))
    assert [(r.kind, r.inserted) for r in report.results] == [("people", 2), ("accounts", 3), ("revenue", 30)]
    with db.read() as s:
        acme = s.scalars(select(m.Account).where(m.Account.external_id == "9100000001")).one()
        initech = s.scalars(select(m.Account).where(m.Account.external_id == "9100000003")).one()
    assert (acme.segment, acme.closed_won_on, acme.renewal_on) == (
        "enterprise",
        dt.date(2026, 1, 15),
        dt.date(2027, 7, 10),
    )
    assert initech.domain is None and initech.closed_won_on == dt.date(2026, 3, 31)
    assert mrr(db, "9100000001", "2026-07-01") == Decimal("12000.00")
    assert mrr(db, "9100000003", "2027-02-01") == Decimal("500.00")


@pytest.mark.parametrize("warehouse", ["postgresql", "duckdb"])
@pytest.mark.parametrize(("example", "people"), [("salesforce", 3), ("hubspot", 2)])
def test_both_examples_run_on_both_warehouses(
    db: Database, ws: int, request: pytest.FixtureRequest, warehouse: str, example: str, people: int
) -> None:
    url = request.getfixturevalue("salesforce_url" if warehouse == "postgresql" else "hubspot_url")
    cfg = load_policies(EXAMPLES / f"sync-{example}.toml").sync.model_copy(update={"url": url})
    report = sync_mod.sync(db, ws, cfg, dry_run=True)
    assert [(r.kind, r.inserted) for r in report.results] == [
        ("people", people),
        ("accounts", 3),
        ("revenue", 30),
    ]


def test_a_bad_row_rejects_the_whole_sync(db: Database, ws: int, salesforce_url: str) -> None:
    cfg = salesforce(salesforce_url)
    # A later kind's query returns one bad row (row 31, after the 30 good ones): nothing of the sync —
    # not the people or accounts before it — is written.
    bad = cfg.queries["revenue"].replace(
        "ORDER BY 1, 2",
        "UNION ALL SELECT '0015e00000AcmeA', DATE '2027-09-01', -5 ORDER BY 1, 2",
    )
    bad = f"SELECT * FROM ({bad}) AS r ORDER BY (mrr < 0), account, month"
    cfg = cfg.model_copy(update={"queries": {**cfg.queries, "revenue": bad}})
    with pytest.raises(sync_mod.SyncFailed) as failed:
        sync_mod.sync(db, ws, cfg)
    assert failed.value.kind == "revenue"
    assert failed.value.lines() == ["revenue row 31: mrr: Input should be greater than or equal to 0"]
    assert counts(db) == (0, 0, 0)


def test_a_bad_row_keeps_the_earlier_sync(db: Database, ws: int, hubspot_url: str) -> None:
    sync_mod.sync(db, ws, hubspot(hubspot_url))
    before = counts(db)
    engine = create_engine(hubspot_url, poolclass=NullPool)
    with engine.begin() as conn:  # a new owner, and a company whose domain is not one
        conn.exec_driver_sql(
            "INSERT INTO hubspot.owner VALUES (71000003, 'cy@saas.example', 'Cy', 'Do', true, false)"
        )
        conn.exec_driver_sql(
            "INSERT INTO hubspot.company VALUES "
            "(9100000005, 'Bad Co', 'not a domain', 10, NULL, 'lead', NULL, false, false)"
        )
    engine.dispose()
    with pytest.raises(sync_mod.SyncFailed) as failed:
        sync_mod.sync(db, ws, hubspot(hubspot_url))
    assert failed.value.lines() == ["accounts row 4: domain: not a domain name like example.com"]
    assert counts(db) == before  # Cy, from the same sync's people, was not written either
    with db.read() as s:
        assert s.scalar(select(m.Person.id).where(m.Person.email == "cy@saas.example")) is None


def test_dry_run_checks_and_writes_nothing(db: Database, ws: int, hubspot_url: str) -> None:
    report = sync_mod.sync(db, ws, hubspot(hubspot_url), dry_run=True)
    assert report.dry_run and [r.inserted for r in report.results] == [2, 3, 30]
    assert counts(db) == (0, 0, 0)


def test_one_kind(db: Database, ws: int, hubspot_url: str) -> None:
    report = sync_mod.sync(db, ws, hubspot(hubspot_url), kinds=["people"])
    assert [r.kind for r in report.results] == ["people"] and counts(db) == (2, 0, 0)
    with pytest.raises(ConfigError, match="no query for handoffs"):
        sync_mod.sync(db, ws, hubspot(hubspot_url), kinds=["handoffs"])


def test_column_names_match_like_headers(db: Database, ws: int, hubspot_url: str) -> None:
    """Snowflake answers in upper case; a typo is named with the field it most likely meant."""
    upper = 'SELECT email AS "EMAIL", first_name AS "Name", \'sales\' AS "TEAM" FROM hubspot.owner'
    cfg = SyncConfig(url=hubspot_url, queries={"people": upper})
    assert sync_mod.sync(db, ws, cfg).results[0].inserted == 2
    typo = "SELECT email AS emial, first_name AS name, 'sales' AS team FROM hubspot.owner"
    with pytest.raises(WarehouseError) as failed:
        sync_mod.sync(db, ws, SyncConfig(url=hubspot_url, queries={"people": typo}))
    assert str(failed.value).startswith(
        "[sync.queries] people: the query's columns: unknown column(s) 'emial'; "
        "did you mean 'emial' → 'email'?"
    )


def test_a_failing_query_names_the_kind(db: Database, ws: int, hubspot_url: str) -> None:
    cfg = SyncConfig(url=hubspot_url, queries={"people": "SELECT * FROM hubspot.no_such_table"})
    with pytest.raises(WarehouseError, match=r"^\[sync.queries\] people: the query failed: .*no_such_table"):
        sync_mod.sync(db, ws, cfg)


def test_the_password_is_never_shown(db: Database, ws: int, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-Pa55word"
    url = make_url(PG_URL).set(password=secret, port=1).render_as_string(hide_password=False)
    cfg = SyncConfig(
        url="postgresql+psycopg://reader:${WH_PASSWORD}@127.0.0.1:1/warehouse", queries={"people": "SELECT 1"}
    )
    with pytest.raises(WarehouseError) as failed:
        sync_mod.sync(db, ws, cfg, environ={"WH_PASSWORD": secret})
    assert "cannot connect to the warehouse postgresql+psycopg://reader:***@127.0.0.1:1/warehouse" in str(
        failed.value
    )
    assert secret not in str(failed.value)
    with pytest.raises(WarehouseError) as failed:  # not a URL at all: the message must not quote it
        sync_mod.sync(db, ws, cfg.model_copy(update={"url": f"nonsense {secret}"}))
    assert secret not in str(failed.value)

    every = cfg.model_copy(update={"every": "1h", "url": url.replace(":1/", ":1/warehouse")})
    caplog.set_level(logging.INFO)
    run = sync_mod.run_due(db, "test", every, NOW)
    assert run is not None and run.error is not None and "cannot connect" in run.error
    assert "failed" in caplog.text and secret not in caplog.text and secret not in run.error
    with pytest.raises(ConfigError, match="WH_PASSWORD not set"):
        sync_mod.sync(db, ws, cfg, environ={})


def test_two_workers_sync_once_per_interval(db: Database, ws: int, hubspot_url: str) -> None:
    cfg = hubspot(hubspot_url)
    assert cfg.every == "1h"
    runs = at_once(lambda now: sync_mod.run_due(db, "test", cfg, now), [NOW, NOW])
    done = [r for r in runs if r is not None]
    assert len(done) == 1 and done[0].report is not None and done[0].report.rows == 35
    # Later in the same hour: nothing to do; the next hour: synced again (all unchanged).
    assert sync_mod.run_due(db, "test", cfg, NOW + dt.timedelta(minutes=59 - NOW.minute)) is None
    later = sync_mod.run_due(db, "test", cfg, NOW + dt.timedelta(hours=1))
    assert later is not None and later.report is not None and later.report.results[2].unchanged == 30
    with db.read() as s:
        claims = s.execute(
            select(m.JobRun.subject, m.JobRun.finished_at).where(m.JobRun.job == "warehouse_sync")
        )
        subjects = sorted(claims.all())
    assert len(subjects) == 2 and all(finished is not None for _, finished in subjects)


def test_a_failed_interval_waits_for_the_next(db: Database, ws: int, hubspot_url: str) -> None:
    cfg = SyncConfig(url=hubspot_url, every="1h", queries={"people": "SELECT nonsense"})
    first = sync_mod.run_due(db, "test", cfg, NOW)
    assert first is not None and first.error is not None and first.report is None
    assert sync_mod.run_due(db, "test", cfg, NOW) is None  # not every tick: once per interval
    assert sync_mod.run_due(db, "test", cfg, NOW + dt.timedelta(hours=1)) is not None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"url": "duckdb://", "queries": {"acounts": "SELECT 1"}}, "unknown kind(s) ['acounts']"),
        ({"url": "duckdb://", "every": "hourly", "queries": {"people": "SELECT 1"}}, "write an interval"),
        ({"url": "duckdb://", "every": "1m", "queries": {"people": "SELECT 1"}}, "at least 5 minutes"),
        ({"queries": {"people": "SELECT 1"}}, "url: required"),
        ({"url": "duckdb://", "queries": {"people": "  "}}, "is empty"),
        (
            {"url": "warehouse at s3cret", "queries": {"people": "SELECT 1"}},
            "url: not a SQLAlchemy database URL",
        ),
    ],
)
def test_the_sync_section_is_checked(section: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Policies.model_validate({"sync": section})


@pytest.mark.parametrize(
    "url", ["${WAREHOUSE_URL}", "postgresql://reader:${PW}@${HOST}/db", "duckdb:///${DIR}/wh.duckdb"]
)
def test_urls_with_variables_are_accepted(url: str) -> None:
    cfg = Policies.model_validate({"sync": {"url": url, "queries": {"people": "SELECT 1"}}}).sync
    assert cfg.resolved_url({"WAREHOUSE_URL": "duckdb://", "PW": "p", "HOST": "h", "DIR": "/d"}) in (
        "duckdb://",
        "postgresql://reader:p@h/db",
        "duckdb:////d/wh.duckdb",
    )
