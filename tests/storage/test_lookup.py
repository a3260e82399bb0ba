from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.lookup import find_account
from storage.models import Workspace
from tests.support.helpers import load


@pytest.fixture
def accounts(db: Database, ws: int, tmp_path: Path) -> Database:
    load(
        db,
        ws,
        "accounts",
        """
        external_id,name,domain,segment
        0015g00000XyZ,Acme Corp,acme.com,smb
        A2,Acme Logistics,acmelogistics.io,smb
        A3,Globex,globex.com,enterprise
        A4,Initech,initech.example,smb
        A5,100% Organic,organic.example,smb
        A6,1000 Oaks,oaks.example,smb
        A7,Keystonefield Inc,keystonefield.example,smb
    """,
        tmp_path,
    )
    return db


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0015g00000XyZ", "Acme Corp"),  # CRM id
        ("globex.com", "Globex"),  # domain
        ("https://www.globex.com/pricing", "Globex"),  # a URL names its domain
        ("someone@initech.example", "Initech"),  # so does an e-mail address
        ("acme corp", "Acme Corp"),  # exact name, any case
        ("  ACME   corp ", "Acme Corp"),
        ("glob", "Globex"),  # unique prefix
        ("initeck", "Initech"),  # one clear typo
        ("keystonfield", "Keystonefield Inc"),  # a typo of the name, its legal form left out
        ("100%", "100% Organic"),  # LIKE wildcards are literal
    ],
)
def test_finds_one_account(accounts: Database, ws: int, text: str, expected: str) -> None:
    with accounts.read() as s:
        result = find_account(s, ws, text)
    assert result.match is not None and result.match.name == expected


def test_ambiguous_prefix_offers_candidates(accounts: Database, ws: int) -> None:
    with accounts.read() as s:
        result = find_account(s, ws, "acme")
    assert result.match is None
    assert [c.name for c in result.candidates] == ["Acme Corp", "Acme Logistics"]


def test_unknown_offers_suggestions_or_nothing(accounts: Database, ws: int) -> None:
    with accounts.read() as s:
        near = find_account(s, ws, "globx inc")
        nothing = find_account(s, ws, "zzqqxx")
    assert nothing.match is None and not nothing.candidates and not nothing.suggestions
    assert near.match is not None or "Globex" in [c.name for c in near.suggestions]


@pytest.mark.parametrize("typed", ["northwnd", "nortwind", "northwind inx"])
def test_a_dropped_or_swapped_letter_is_offered(db: Database, ws: int, tmp_path: Path, typed: str) -> None:
    """A short name with one letter missing scores below the bar for taking it, but is offered as
    "did you mean"; an unrelated account is not."""
    load(
        db,
        ws,
        "accounts",
        "external_id,name,segment\nN1,Northwind Inc,smb\nM1,Meridian Bridge,smb\n",
        tmp_path,
    )
    with db.read() as s:
        result = find_account(s, ws, typed)
    offered = [result.match] if result.match else result.suggestions
    assert [m.name for m in offered] == ["Northwind Inc"]


def test_lookup_is_scoped_to_the_workspace(accounts: Database, ws: int) -> None:
    from storage.workspaces import ensure_workspace
    from tests.support import NOW

    with accounts.write() as s:
        other = ensure_workspace(s, "other", now=NOW)
    with accounts.read() as s:
        for text in ("globex.com", "A3", "glob", "globx"):
            result = find_account(s, other, text)
            assert result.match is None and not result.candidates and not result.suggestions


def test_typo_matching_follows_renames_and_new_accounts(accounts: Database, ws: int, tmp_path: Path) -> None:
    """The names typo matching compares against are kept between lookups; an import that renames
    or adds accounts makes the next lookup read them again (and one that changes nothing doesn't)."""
    with accounts.read() as s:
        assert find_account(s, ws, "initeck").match.name == "Initech"  # type: ignore[union-attr]
        version = s.scalar(select(Workspace.accounts_version).where(Workspace.id == ws))
    same = "external_id,name,domain,segment\nA4,Initech,initech.example,smb\n"
    load(accounts, ws, "accounts", same, tmp_path)  # changes nothing
    with accounts.read() as s:
        assert s.scalar(select(Workspace.accounts_version).where(Workspace.id == ws)) == version
    load(
        accounts,
        ws,
        "accounts",
        "external_id,name,segment\nA4,Umbrella Systems,smb\nA7,Stark Industries,enterprise\n",
        tmp_path,
    )
    with accounts.read() as s:
        renamed = find_account(s, ws, "initeck")
        moved = find_account(s, ws, "umbrela systems")
        added = find_account(s, ws, "stark industres")
    assert renamed.match is None and not renamed.suggestions
    assert moved.match is not None and moved.match.external_id == "A4"
    assert added.match is not None and added.match.external_id == "A7"
