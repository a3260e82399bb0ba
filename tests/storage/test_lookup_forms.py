"""Account lookup (storage/lookup.py): a CRM id in any case, through an index on both databases; a
word inside names offers those names; a typo that was taken is marked so the reply can say which
name it took. The /health reply and the CLI say so too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from bot.cli import cli
from storage.db import Database
from storage.lookup import MAX_CANDIDATES, _statements, find_account
from testkit.fake_slack import FakeSlack
from tests.support.helpers import load
from tests.support.slack_harness import Bot

ACCOUNTS = """
    external_id,name,domain,segment
    ACC-000001,Northwind Inc,northwind.example,smb
    ACC-000002,Windsor Ltd,windsor.example,smb
    ACC-000003,Globex,globex.com,enterprise
    ACC-000004,Initech,initech.example,smb
    0015g00000XyZ,Acme Corp,acme.com,smb
"""


@pytest.fixture
def accounts(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    return db


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("acc-000001", "Northwind Inc"), ("Acc-000003", "Globex"), ("0015G00000XYZ", "Acme Corp")],
)
def test_a_crm_id_matches_in_any_case(accounts: Database, ws: int, typed: str, expected: str) -> None:
    with accounts.read() as s:
        result = find_account(s, ws, typed)
    assert result.match is not None and result.match.name == expected and not result.guessed


def test_ids_differing_only_in_case(db: Database, ws: int, tmp_path: Path) -> None:
    """Ids are unique as written: the one typed exactly wins; a third spelling offers both."""
    load(db, ws, "accounts", "external_id,name,segment\nab-1,Upper Co,smb\nAB-1,Lower Co,smb\n", tmp_path)
    with db.read() as s:
        assert find_account(s, ws, "AB-1").match.name == "Lower Co"  # type: ignore[union-attr]
        assert find_account(s, ws, "ab-1").match.name == "Upper Co"  # type: ignore[union-attr]
        both = find_account(s, ws, "Ab-1")
    assert both.match is None and {c.name for c in both.candidates} == {"Upper Co", "Lower Co"}


def plan(db: Database, stmt: Any, values: dict[str, Any]) -> str:
    compiled = stmt.compile(dialect=db.engine.dialect)
    params = compiled.construct_params(values)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            args = tuple(params[k] for k in compiled.positiontup or [])
            return " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args))
        return " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", params))


def test_lookup_statements_are_served_by_indexes(db: Database, ws: int) -> None:
    """At size (analysed, as autovacuum would), on both databases: the exact statement answers
    ``lower(external_id) = …`` from ix_accounts_workspace_external_id_lower (migration 0007), each
    form of its OR from its own index; a name prefix is a range of the name index (a LIKE pattern
    scanned the workspace's accounts: SQLite's LIKE ignores case, PostgreSQL's generic plan cannot
    read a parameter's prefix)."""
    rows = [
        {"ws": ws, "ext": f"ACC-{i:06d}", "name": f"Name {i}", "key": f"name {i}", "dom": f"d{i}.example"}
        for i in range(3_000)
    ]
    with db.write() as s:
        s.execute(
            text(
                "INSERT INTO accounts (workspace_id, external_id, name, name_key, domain, segment) "
                "VALUES (:ws, :ext, :name, :key, :dom, 'smb')"
            ),
            rows,
        )
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    exact = plan(db, _statements()["exact"], {"ws": ws, "query": "x", "domain": "x", "key": "acc-000001"})
    assert "ix_accounts_workspace_external_id_lower" in exact, exact
    prefix = _statements()["prefix" if db.is_sqlite else "prefix_pg"]
    by_name = plan(db, prefix, {"ws": ws, "lo": "name 12", "hi": "name 13"})
    expected = "name_key>? AND name_key<?" if db.is_sqlite else "(name_key)::text ~>=~"
    assert "ix_accounts_workspace_name" in by_name and expected in by_name, by_name
    if not db.is_sqlite:
        assert "Sort" not in by_name  # read in the index's order, only the first few


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("a_", ["A_B Co"]),  # _ and % are letters, not wildcards
        ("50%", ["50% Off"]),
        ("zoë", ["Zoë Labs"]),
        ("zo", ["Zoe Labs", "Zoë Labs"]),
        ("x\U0010ffff", ["X\U0010ffffY"]),  # no character follows the last one
    ],
)
def test_a_name_prefix_is_exact(
    db: Database, ws: int, tmp_path: Path, typed: str, expected: list[str]
) -> None:
    names = ["A_B Co", "AxB Co", "50% Off", "500 Club", "Zoë Labs", "Zoe Labs", "X\U0010ffffY", "Xz"]
    rows = "\n".join(f"P{i},{name},smb" for i, name in enumerate(names))
    load(db, ws, "accounts", f"external_id,name,segment\n{rows}\n", tmp_path)
    with db.read() as s:
        result = find_account(s, ws, typed)
    found = [result.match] if result.match else result.candidates
    assert sorted(m.name for m in found) == expected


def test_a_word_inside_names_offers_them(accounts: Database, ws: int) -> None:
    with accounts.read() as s:
        wind = find_account(s, ws, "wind")  # a prefix of Windsor, inside Northwind
        north = find_account(s, ws, "thwind")  # inside one name only: offered, not taken
    # "wind" starts a name: the prefix rule takes Windsor Ltd, as before
    assert wind.match is not None and wind.match.name == "Windsor Ltd"
    assert north.match is None and [c.name for c in north.suggestions] == ["Northwind Inc"]


def test_a_word_inside_many_names_offers_the_first_and_counts_the_rest(
    db: Database, ws: int, tmp_path: Path
) -> None:
    rows = [f"W{i:02d},{p}wind Inc,smb" for i, p in enumerate(["North", "Blue", "Iron"] * 5)]
    rows.append("S1,Storm Wind Co,smb")
    load(db, ws, "accounts", "external_id,name,segment\n" + "\n".join(rows) + "\n", tmp_path)
    with db.read() as s:
        result = find_account(s, ws, "wind")
    assert result.match is None and not result.candidates
    assert len(result.suggestions) == MAX_CANDIDATES and result.more == 16 - MAX_CANDIDATES
    assert result.suggestions[0].name == "Storm Wind Co"  # a word starting with it comes first


def test_a_typo_that_was_taken_is_marked(accounts: Database, ws: int) -> None:
    with accounts.read() as s:
        typo = find_account(s, ws, "initeck")
        exact = find_account(s, ws, "initech")
        prefix = find_account(s, ws, "glob")
    assert typo.match is not None and typo.match.name == "Initech" and typo.guessed
    assert not exact.guessed and not prefix.guessed


@pytest.fixture
def bot(accounts: Database) -> Iterator[Bot]:
    with FakeSlack() as fake:
        b = Bot(accounts, fake)
        yield b
        b.close()


def test_health_reply_says_which_name_a_typo_took(bot: Bot) -> None:
    r = bot.command("/health", "initeck")
    blocks = json.dumps(r.body["blocks"], ensure_ascii=False)
    assert "“initeck” is not an account name: showing the closest, *Initech*." in blocks
    r = bot.command("/health", "initech")
    assert "closest" not in json.dumps(r.body["blocks"], ensure_ascii=False)
    r = bot.command("/health", "acc-000004")
    assert "Initech" in json.dumps(r.body["blocks"]) and "closest" not in json.dumps(r.body["blocks"])


def test_health_reply_offers_names_containing_the_word(bot: Bot) -> None:
    r = bot.command("/health", "thwind")
    assert "Did you mean" in r.body["text"]
    assert "Northwind Inc (ACC-000001)" in json.dumps(r.body["blocks"])


@pytest.fixture
def run(accounts: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", accounts.url)
    monkeypatch.delenv("RETENTION_BOT_CONFIG", raising=False)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")  # the `ws` fixture's workspace

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_cli_lookup(run) -> None:
    code, out, err = run("health", "initeck", "--json")
    assert code == 0 and json.loads(out)["account"]["name"] == "Initech"
    assert err.strip() == "'initeck' is not an account name: showing the closest, Initech (ACC-000004)"
    code, out, err = run("health", "acc-000002", "--json")
    assert code == 0 and json.loads(out)["account"]["external_id"] == "ACC-000002" and err == ""
    code, _, err = run("health", "thwind")
    assert code == 1 and "no account is named 'thwind'; did you mean:\n  ACC-000001  Northwind Inc" in err


def test_workspace_scoping_still_holds(accounts: Database, ws: int) -> None:
    from storage.workspaces import ensure_workspace
    from tests.support import NOW

    with accounts.write() as s:
        other = ensure_workspace(s, "other", now=NOW)
    with accounts.read() as s:
        for typed in ("acc-000001", "thwind", "initeck"):
            result = find_account(s, other, typed)
            assert result.match is None and not result.candidates and not result.suggestions
