"""Find an account from what a person typed: CRM id, domain, exact name, name prefix, or a typo.

Exact forms win; several accounts sharing a prefix come back as candidates instead of a guess;
a typo is matched by similarity (rapidfuzz) and offered as "did you mean".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from storage.models import Account, Workspace

MAX_CANDIDATES = 10
FUZZY_CUTOFF = 75.0  # below this a name is not offered at all ("northwnd" scores 78.75 on "Northwind Inc")
FUZZY_ACCEPT = 85.0  # at or above this, and FUZZY_MARGIN ahead of the next, it is taken
FUZZY_MARGIN = 8.0


@dataclass(frozen=True)
class Match:
    id: int
    external_id: str
    name: str
    domain: str | None


@dataclass(frozen=True)
class LookupResult:
    query: str
    match: Match | None = None
    candidates: list[Match] = field(default_factory=list)  # ambiguous: let the person choose
    suggestions: list[Match] = field(default_factory=list)  # not found: "did you mean"


def _domain_of(text: str) -> str:
    text = text.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return text.split("/", 1)[0].split("@")[-1]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(rows: list[Account]) -> list[Match]:
    return [Match(a.id, a.external_id, a.name, a.domain) for a in rows]


@functools.cache
def _statements() -> dict[str, Any]:
    """Built once with bound parameters: every /health runs at least the first."""
    scoped = select(Account.id, Account.external_id, Account.name, Account.domain).where(
        Account.workspace_id == bindparam("ws")
    )
    return {
        "exact": scoped.where(
            or_(
                Account.external_id == bindparam("query"),
                Account.domain == bindparam("domain"),
                Account.name_key == bindparam("key"),
            )
        )
        .order_by(Account.name_key)
        .limit(MAX_CANDIDATES + 1),
        "prefix": scoped.where(Account.name_key.like(bindparam("pattern"), escape="\\"))
        .order_by(Account.name_key)
        .limit(MAX_CANDIDATES + 1),
        "ids": scoped.where(Account.id.in_(bindparam("ids", expanding=True))),
    }


@dataclass(frozen=True)
class _Names:
    version: str
    ids: list[int]
    keys: list[str]  # each name as the similarity scorer compares it (rapidfuzz's default_process)


_NAMES: dict[tuple[str, int], _Names] = {}  # (database, workspace) → its account names


def _names(session: Session, ws: int) -> _Names:
    """The workspace's account names for typo matching, read once per change of its accounts
    (``workspaces.accounts_version``, set anew by every import that changes an account): at 50,000
    accounts reading and preparing them costs 100–250 ms, checking the version one small read."""
    version = session.scalar(select(Workspace.accounts_version).where(Workspace.id == ws)) or ""
    where = (session.get_bind().url.render_as_string(hide_password=True), ws)
    cached = _NAMES.get(where)
    if cached is not None and cached.version == version:
        return cached
    rows = session.execute(select(Account.id, Account.name_key).where(Account.workspace_id == ws)).all()
    names = _Names(version, [aid for aid, _ in rows], [utils.default_process(k) for _, k in rows])
    _NAMES[where] = names
    return names


def find_account(session: Session, ws: int, text: str) -> LookupResult:
    query = " ".join(text.split())
    if not query:
        return LookupResult(query)
    q, key = _statements(), query.lower()
    params = {"ws": ws, "query": query, "domain": _domain_of(query), "key": key}
    conn = session.connection()  # Core execution: the ORM's per-statement work costs more than the query
    exact = conn.execute(q["exact"], params).all()
    # A CRM id is unique; several exact hits can only be shared names or a name equal to a domain.
    by_id = [row for row in exact if row.external_id == query]
    if by_id:
        return LookupResult(query, match=_matches(by_id)[0])  # type: ignore[arg-type]
    if len(exact) == 1:
        return LookupResult(query, match=_matches(exact)[0])  # type: ignore[arg-type]
    if exact:
        return LookupResult(query, candidates=_matches(exact[:MAX_CANDIDATES]))  # type: ignore[arg-type]

    prefix = conn.execute(q["prefix"], {"ws": ws, "pattern": _escape_like(key) + "%"}).all()
    if len(prefix) == 1:
        return LookupResult(query, match=_matches(prefix)[0])  # type: ignore[arg-type]
    if prefix:
        return LookupResult(query, candidates=_matches(prefix[:MAX_CANDIDATES]))  # type: ignore[arg-type]

    # Typo tolerance: similarity over the workspace's account names.
    names = _names(session, ws)
    found = process.extract(
        utils.default_process(key),
        names.keys,
        scorer=fuzz.WRatio,
        processor=None,
        limit=5,
        score_cutoff=FUZZY_CUTOFF,
    )
    if not found:
        return LookupResult(query)
    ids = [names.ids[index] for _, _, index in found]
    rows = {r.id: r for r in session.execute(q["ids"], {"ws": ws, "ids": ids}).all()}
    ordered = _matches([rows[i] for i in ids if i in rows])  # type: ignore[arg-type]
    best, second = found[0][1], found[1][1] if len(found) > 1 else 0.0
    # One clearly best near-miss ("initeck" for "Initech"): take it; several close ones: ask.
    if best >= FUZZY_ACCEPT and best - second >= FUZZY_MARGIN:
        return LookupResult(query, match=ordered[0])
    return LookupResult(query, suggestions=ordered)


def segments(session: Session, ws: int) -> list[str]:
    """The segments the workspace's accounts are in, for validating and listing them."""
    query = select(Account.segment).where(Account.workspace_id == ws).distinct().order_by(Account.segment)
    return list(session.scalars(query))
