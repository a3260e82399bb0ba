"""Map files: CRM exports (a Salesforce report, a HubSpot companies export) imported through the
documented example maps; a bad map is one line naming it; headers close to a field are named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import models as m
from storage.column_map import BadColumnMap, date_fields_of, load_column_map
from storage.db import Database
from storage.errors import ImportFailed
from storage.importer import KINDS, import_file
from tests.support.helpers import load

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
PEOPLE = """
    email,name,team
    ana@saas.example,Ana Lima,cs
    bob@saas.example,Bob Ng,sales
"""


def accounts_map(path: Path):
    return load_column_map(
        path, "accounts", KINDS["accounts"].fields, date_fields_of(KINDS["accounts"].model)
    )


def accounts(db: Database) -> dict[str, m.Account]:
    with db.read() as s:
        return {a.external_id: a for a in s.scalars(select(m.Account))}


def test_a_salesforce_report_export(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    cmap = accounts_map(EXAMPLES / "salesforce-accounts.map.toml")
    with db.write() as s:
        result = import_file(s, ws, "accounts", EXAMPLES / "salesforce-accounts-report.csv", column_map=cmap)
    assert (result.inserted, result.updated) == (4, 0)
    got = accounts(db)
    acme, globex, hooli, initech = (got[k] for k in sorted(got))
    assert (acme.name, acme.domain, acme.segment, acme.renewal_on) == (
        "Acme Corp",
        "acme.com",
        "enterprise",
        dt.date(2027, 7, 10),  # 7/10/2027, a US date
    )
    assert (globex.segment, globex.renewal_on, initech.domain) == ("mid-market", None, None)
    assert hooli.name == "Hooli, Inc." and hooli.segment == "enterprise"
    with db.read() as s:
        bob = s.scalar(select(m.Person.id).where(m.Person.email == "bob@saas.example"))
    assert acme.ae_id == bob


def test_a_hubspot_companies_export(db: Database, ws: int) -> None:
    cmap = accounts_map(EXAMPLES / "hubspot-companies.map.toml")
    with db.write() as s:
        result = import_file(s, ws, "accounts", EXAMPLES / "hubspot-companies-export.csv", column_map=cmap)
    assert result.inserted == 4
    got = accounts(db)
    assert sorted(got) == ["9100000001", "9100000002", "9100000003", "9100000004"]
    assert (got["9100000004"].name, got["9100000004"].segment) == ("Umbrella, Ltd.", "enterprise")
    assert got["9100000003"].segment == "smb" and got["9100000003"].domain is None


def test_without_the_map_the_export_is_refused_with_hints(db: Database, ws: int) -> None:
    with db.write() as s, pytest.raises(ImportFailed) as failed:
        import_file(s, ws, "accounts", EXAMPLES / "hubspot-companies-export.csv")
    (line,) = failed.value.lines()
    export = EXAMPLES / "hubspot-companies-export.csv"
    assert line.startswith(f"{export}:1: header: unknown column(s) 'Record ID', 'Company name'")
    assert line.endswith("(a CRM export? rename its columns with a map file, --map: docs/import.md)")


def test_a_header_close_to_a_field_is_named(db: Database, ws: int, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as failed:
        load(db, ws, "accounts", "Extrenal ID,Name,Segmnet\nA1,Acme,smb\n", tmp_path)
    (line,) = failed.value.lines()
    assert "unknown column(s) 'Extrenal ID', 'Segmnet'; did you mean 'Extrenal ID' → 'external_id', " in line
    assert "'Segmnet' → 'segment'?" in line


def test_a_bad_date_is_named(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    report = tmp_path / "report.csv"
    text = (EXAMPLES / "salesforce-accounts-report.csv").read_text()
    report.write_text(text.replace('"3/31/2027"', '"31/3/2027"'))
    with db.write() as s, pytest.raises(ImportFailed) as failed:
        import_file(
            s, ws, "accounts", report, column_map=accounts_map(EXAMPLES / "salesforce-accounts.map.toml")
        )
    assert failed.value.lines() == [
        f"{report}:4: renewal_on: '31/3/2027' is not a date written as date_format '%m/%d/%Y' of "
        f"{EXAMPLES / 'salesforce-accounts.map.toml'} (e.g. 01/31/2026)"
    ]
    assert accounts(db) == {}


def test_the_map_renames_json_lines_keys_too(db: Database, ws: int, tmp_path: Path) -> None:
    cmap = accounts_map(EXAMPLES / "hubspot-companies.map.toml")
    path = tmp_path / "companies.jsonl"
    path.write_text(
        '{"Record ID": "9100000001", "Company name": "Acme", "Segment": "Mid-Market", "City": "Ohio"}\n'
    )
    with db.write() as s:
        assert import_file(s, ws, "accounts", path, column_map=cmap).inserted == 1
    assert accounts(db)["9100000001"].segment == "mid-market"


def test_headers_match_ignoring_case_spaces_and_underscores(db: Database, ws: int, tmp_path: Path) -> None:
    result = load(db, ws, "accounts", "External ID,NAME,segment\nA1,Acme,smb\n", tmp_path)
    assert result.inserted == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[columns]\n"Account ID" = "extrnal_id"\n',
            "'extrnal_id' is not a field of accounts; did you mean 'external_id'?",
        ),
        (
            '[columns]\n"Account ID" = "external_id"\n"account id" = "name"\n',
            'column "account id" is mapped twice',
        ),
        ('[columns]\n"A" = "name"\n"B" = "name"\n', '"A" and "B" are both mapped to \'name\''),
        ('[colums]\n"A" = "name"\n', "unknown key(s) 'colums'"),
        ("[columns\n", "not valid TOML"),
        ('ignore = "Industry"\n', "ignore is a list of column names"),
        ('[values.segmnt]\n"SMB" = "smb"\n', "'segmnt' is not a field of accounts; did you mean 'segment'?"),
        ('date_format = "dd/mm/yyyy"\n', "is not a date format like"),
        ('ignore = ["Name"]\n[columns]\n"name" = "name"\n', "'name' both mapped and ignored"),
    ],
)
def test_a_bad_map_is_one_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "map.toml"
    path.write_text(body)
    with pytest.raises(BadColumnMap) as failed:
        accounts_map(path)
    text = str(failed.value)
    assert text.startswith(f"map {path}: ") and message in text and "\n" not in text
