"""`retention-bot import` on bad input: one clear line naming the file, line and field, exit status 2,
nothing written, no traceback; the same limits on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Integer, String, func, select

from bot.cli import cli
from storage import models as m
from storage.db import Database
from storage.importer import KINDS
from storage.records import column_max

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(kind, name, content)`` writes the file and imports it through the real CLI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.delenv("RETENTION_BOT_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(kind: str, name: str, content: str | bytes, *options: str) -> tuple[int, str, str]:
        data = content if isinstance(content, bytes) else content.encode()
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(cli, ["import", kind, name, *options], catch_exceptions=False)
        assert "Traceback" not in result.stderr
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def accounts(run: Run) -> Run:
    code, _, err = run("accounts", "accounts.csv", "external_id,name,segment\nA1,Acme,smb\n")
    assert code == 0, err
    return run


def rows(db: Database, model: type[m.Base]) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_cell_over_128_kib_names_its_line(run: Run, db: Database) -> None:
    body = 'external_id,name,segment\nA1,Acme,smb\nA2,"' + "x" * 140_000 + '",smb\n'
    code, _, err = run("accounts", "big.csv", body)
    assert code == 2
    assert "big.csv:3: line: a cell is longer than 131,072 characters" in err
    assert 'a quote (") that is never closed' in err
    assert rows(db, m.Account) == 0


def test_an_integer_past_its_column_is_refused_on_both_databases(accounts: Run, db: Database) -> None:
    # 2^31 is past PostgreSQL's INTEGER (SQLite took it); 2^63 past SQLite's too.
    body = (
        "account,day,active_users\n"
        "A1,2026-11-01,5\n"
        "A1,2026-11-02,2147483648\n"
        "A1,2026-11-03,9223372036854775808\n"
    )
    code, _, err = accounts("usage", "usage.csv", body)
    assert code == 2
    for line in (3, 4):
        assert f"usage.csv:{line}: active_users: Input should be less than or equal to 2147483647" in err
    assert rows(db, m.UsageDaily) == 0


def test_a_time_leaving_years_1_to_9999_in_utc_is_refused(accounts: Run, db: Database) -> None:
    body = "external_id,account,opened_at\nT1,A1,9999-12-31T23:00:00-05:00\nT2,A1,0001-01-01T00:30:00+01:00\n"
    code, _, err = accounts("tickets", "tickets.csv", body)
    assert code == 2
    for line in (2, 3):
        assert f"tickets.csv:{line}: opened_at: outside years 1-9999 once converted to UTC" in err
    assert rows(db, m.Ticket) == 0


def test_nul_in_a_name_is_refused(run: Run, db: Database) -> None:
    code, _, err = run("accounts", "accounts.csv", "external_id,name,segment\nA1,Ac\x00me,smb\n")
    assert code == 2
    assert "accounts.csv:2: name: control character U+0000 at character 3" in err
    assert rows(db, m.Account) == 0


def test_free_text_keeps_tabs_and_line_breaks_but_not_other_controls(accounts: Run, db: Database) -> None:
    head = "external_id,account,kind,occurred_at,notes\n"
    good = 'P1,A1,call,2026-11-01T09:00:00Z,"line one\n\tline two"\n'
    code, _, err = accounts("touchpoints", "ok.csv", head + good)
    assert code == 0, err
    code, _, err = accounts("touchpoints", "bell.csv", head + "P2,A1,call,2026-11-01T09:00:00Z,ding\x07\n")
    assert code == 2
    assert "bell.csv:2: notes: control character U+0007" in err
    assert rows(db, m.Touchpoint) == 1
    with db.read() as s:
        assert s.scalar(select(m.Touchpoint.notes)) == "line one\n\tline two"


def test_json_nested_past_what_python_parses_is_refused(accounts: Run, db: Database) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    code, _, err = accounts(
        "usage", "usage.jsonl", '{"account": "A1", "day": "2026-11-01", "active_users": ' + deep + "}\n"
    )
    assert code == 2
    assert "usage.jsonl:1: line: nested deeper than a record needs" in err
    assert rows(db, m.UsageDaily) == 0


def test_a_value_nested_deeper_than_records_go_is_refused(accounts: Run, db: Database) -> None:
    record = {"account": {"id": "A1"}, "day": "2026-11-01", "active_users": 1}
    code, _, err = accounts("usage", "usage.jsonl", json.dumps(record) + "\n")
    assert code == 2
    assert "usage.jsonl:1: account: nested deeper than a record needs" in err


def test_a_file_not_in_utf8_names_line_and_byte_and_offers_encoding(run: Run, db: Database) -> None:
    body = "external_id,name,segment\nA1,Acme,smb\nA2,Café,smb\n".encode("cp1252")
    code, _, err = run("accounts", "accounts.csv", body)
    assert code == 2
    at = body.index("é".encode("cp1252"))
    assert f"accounts.csv:3: not UTF-8 text (byte 0xE9 at byte {at} of the file)" in err
    assert "--encoding" in err and rows(db, m.Account) == 0
    code, out, err = run("accounts", "accounts.csv", body, "--encoding", "cp1252")
    assert code == 0 and "2 inserted" in out, err
    with db.read() as s:
        assert s.scalar(select(m.Account.name).where(m.Account.external_id == "A2")) == "Café"


def test_an_unknown_encoding_is_a_usage_error(run: Run) -> None:
    code, _, err = run("accounts", "accounts.csv", "external_id,name,segment\n", "--encoding", "klingon")
    assert code == 2 and "unknown encoding 'klingon'" in err


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl"])
def test_an_empty_file_says_it_is_empty(run: Run, name: str) -> None:
    code, out, err = run("accounts", name, b"")
    assert code == 2
    assert f"{name}: the file is empty" in err and "inserted" not in out


def test_headers_match_case_insensitively_with_spaces_ignored(run: Run, db: Database) -> None:
    code, out, err = run("accounts", "accounts.csv", " External_ID ,NAME, Segment\nA1,Acme,smb\n")
    assert code == 0 and "1 inserted" in out, err
    assert rows(db, m.Account) == 1


def test_a_missing_required_column_is_named(run: Run, db: Database) -> None:
    code, _, err = run("accounts", "accounts.csv", "external_id,name\nA1,Acme\nA2,Globex\n")
    assert code == 2
    assert "accounts.csv:1: header: missing required column(s) 'segment'" in err
    assert "required, missing" not in err  # once, in the header, not once per line
    assert rows(db, m.Account) == 0


def test_json_lines_are_strict_json(accounts: Run, db: Database) -> None:
    records = [
        {"account": "A1", "day": "2026-11-01", "active_users": True},
        {"account": "A1", "day": 0, "active_users": 1},
    ]
    body = "".join(json.dumps(r) + "\n" for r in records)
    code, _, err = accounts("usage", "usage.jsonl", body)
    assert code == 2
    assert "usage.jsonl:1: active_users: Input should be a valid integer" in err
    assert "usage.jsonl:2: day: Input should be a valid date" in err
    assert rows(db, m.UsageDaily) == 0


def test_an_email_longer_than_its_column_is_refused(run: Run, db: Database) -> None:
    email = "a" * 250 + "@x.io"  # PostgreSQL's VARCHAR(254) refused it with a traceback
    code, _, err = run("people", "people.csv", f"email,name,team\n{email},Long,cs\n")
    assert code == 2 and "people.csv:2: email: String should have at most 254 characters" in err
    assert rows(db, m.Person) == 0


def _fields(model: Any) -> dict[str, dict[str, Any]]:
    """Each field's JSON schema, the ``| None`` unwrapped."""
    props = model.model_json_schema()["properties"]
    return {
        name: next((s for s in p.get("anyOf", [p]) if s.get("type") != "null"), p)
        for name, p in props.items()
    }


def test_every_field_fits_its_column_on_every_database() -> None:
    """Record limits are the database's: no integer past its column type, no text past its length."""
    checked = 0
    for kind in KINDS.values():
        for name, schema in _fields(kind.model).items():
            column = kind.table.c.get(name)
            if column is None:
                continue
            if isinstance(column.type, Integer) and schema.get("type") == "integer":
                assert schema.get("maximum", float("inf")) <= column_max(column), (kind.name, name)
                checked += 1
            if isinstance(column.type, String) and column.type.length and schema.get("type") == "string":
                longest = max(map(len, schema["enum"])) if "enum" in schema else schema.get("maxLength")
                assert (longest or float("inf")) <= column.type.length, (kind.name, name)
                checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        (
            "accounts",
            "external_id,name,segment,closed_won_on\nA2,Foo,smb,03/04/2026\n",
            "write dates as YYYY-MM-DD",
        ),
        (
            "revenue",
            'account,month,mrr\nA1,2026-10,"1,000.50"\n',
            "no thousands separators, no currency sign",
        ),
        ("usage", "account,day,active_users\nA1,2026-10-01,1.5\n", "a whole number"),
        # A date written the local way: the map file's date_format is named.
        (
            "accounts",
            "external_id,name,segment,closed_won_on\nA2,Foo,smb,11/20/2026\n",
            'date_format = "%m/%d/%Y"',
        ),
        ("revenue", "account,month,mrr\nA1,2026-1,100\n", "'2026-1' is not a month: write YYYY-MM"),
        ("revenue", "account,month,mrr\nA1,20.11.2026,100\n", "--map MAP.toml"),
        (
            "handoffs",
            "external_id,account,kind,from_team,to_team,opened_at,due_at\n"
            "H1,A1,sales_to_cs,sales,cs,yesterday,2026-11-20T09:00:00Z\n",
            "write times as YYYY-MM-DDTHH:MM:SSZ",
        ),
    ],
)
def test_a_value_of_the_wrong_form_says_what_to_write(
    accounts: Run, db: Database, kind: str, content: str, expected: str
) -> None:
    code, _, err = accounts(kind, f"{kind}.csv", content)
    assert code == 2 and f"{kind}.csv:2:" in err and expected in err, err
    assert rows(db, m.Account) == 1  # only the fixture's
