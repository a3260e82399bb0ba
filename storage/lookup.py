"""Find an account from what a person typed: CRM id (any case), domain, exact name, name prefix, a
word inside names, or a typo.

Exact forms win; several accounts sharing a prefix come back as candidates instead of a guess;
names containing what was typed ("wind" in "Northwind Inc") are offered as "did you mean", and so is
a typo matched by similarity (rapidfuzz). A typo close enough to one name is taken, and the result
says so, so that the reply can show which name it took.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.orm import Session

from storage.models import Account, Workspace

MAX_CANDIDATES = 10
FUZZY_CUTOFF = 75.0  # below this a name is not offered at all ("northwnd" scores 78.75 on "Northwind Inc")
FUZZY_ACCEPT = 85.0  # at or above this, and FUZZY_MARGIN ahead of the next, it is taken
FUZZY_MARGIN = 8.0
MIN_INSIDE = 3  # shorter text is inside too many names to offer them


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
    more: int = 0  # suggestions left out beyond MAX_CANDIDATES (type more of the name)
    guessed: bool = False  # the match was taken from a typo: the reply says which name it took


def _domain_of(text: str) -> str:
    text = text.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return text.split("/", 1)[0].split("@")[-1]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(rows: Sequence[Any]) -> list[Match]:
    """Rows with the account's id, external_id, name and domain."""
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
                # Any case, through ix_accounts_workspace_external_id_lower (SQL's lower() leaves
                # non-ASCII letters alone on SQLite, so the exact test above stays).
                func.lower(Account.external_id) == bindparam("key"),
                Account.domain == bindparam("domain"),
                Account.name_key == bindparam("key"),
            )
        )
        .order_by(Account.name_key)
        .limit(MAX_CANDIDATES + 1),
        # A prefix as the range [prefix, the prefix with its last character's successor), which an
        # index serves: a LIKE pattern is not (SQLite's LIKE ignores case, so its index is of no use;
        # PostgreSQL plans it only for a constant pattern). Strings compare code point by code point:
        # SQLite's BINARY collation, PostgreSQL's pattern operators (ix_accounts_workspace_name uses
        # varchar_pattern_ops there, migration 0007).
        "prefix": _in_order(
            scoped.where(Account.name_key >= bindparam("lo"), Account.name_key < bindparam("hi"))
        ),
        "prefix_pg": scoped.where(
            Account.name_key.op("~>=~", is_comparison=True)(bindparam("lo")),
            Account.name_key.op("~<~", is_comparison=True)(bindparam("hi")),
        )
        .order_by(text("accounts.name_key USING ~<~"))  # the index's order: no sort of every match
        .limit(MAX_CANDIDATES + 1),
        "prefix_like": _in_order(scoped.where(Account.name_key.like(bindparam("pattern"), escape="\\"))),
        "ids": scoped.where(Account.id.in_(bindparam("ids", expanding=True))),
    }


def _in_order(query: Any) -> Any:
    return query.order_by(Account.name_key).limit(MAX_CANDIDATES + 1)


def _prefix_rows(conn: Any, ws: int, key: str) -> list[Any]:
    """Accounts whose name starts with ``key``, from the name index (see `_statements`)."""
    q, last = _statements(), ord(key[-1])
    if last >= 0x10FFFF:  # the last code point has no successor: LIKE finds it, scanning
        return conn.execute(q["prefix_like"], {"ws": ws, "pattern": _escape_like(key) + "%"}).all()
    following = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1  # surrogates are not characters
    bounds = {"ws": ws, "lo": key, "hi": key[:-1] + chr(following)}
    return conn.execute(q["prefix_pg" if conn.dialect.name == "postgresql" else "prefix"], bounds).all()


@dataclass(frozen=True)
class _Names:
    version: str
    ids: list[int]
    keys: list[str]  # each name as the similarity scorer compares it (rapidfuzz's default_process)
    joined: str  # the keys joined by newlines: one C-speed search finds text inside any name
    starts: list[int]  # where each key begins in ``joined``
    fuzzy: list[str]  # each key without a trailing legal form ("northwind inc" → "northwind")

    def containing(self, word: str) -> list[int]:
        """Indexes of the names that contain ``word`` (a processed key), each once."""
        found, at = [], self.joined.find(word)
        while at >= 0:
            index = bisect_right(self.starts, at) - 1
            found.append(index)
            next_key = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.joined)
            at = self.joined.find(word, next_key)
        return found


_NAMES: dict[tuple[str, int], _Names] = {}  # (database, workspace) → its account names


# Legal forms at the end of a company name: a typo of the name itself ("keystonfield") scores low
# against "keystonefield inc" only because of them (83 instead of 96), so they are left out of the
# similarity (the name is still shown whole).
LEGAL_FORMS = frozenset(
    [
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "pty",
        "pte",
        "oy",
        "ab",
        "as",
        "aps",
        "kk",
        "srl",
        "spa",
    ]
)


def _without_legal_form(key: str) -> str:
    words = key.split()
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def _names(session: Session, ws: int) -> _Names:
    """The workspace's account names for typo matching, read once per change of its accounts
    (``workspaces.accounts_version``, set anew by every import that changes an account): at 50,000
    accounts reading and preparing them costs 100–250 ms, checking the version one small read."""
    version = session.scalar(select(Workspace.accounts_version).where(Workspace.id == ws)) or ""
    where = (session.get_bind().engine.url.render_as_string(hide_password=True), ws)
    cached = _NAMES.get(where)
    if cached is not None and cached.version == version:
        return cached
    rows = session.execute(select(Account.id, Account.name_key).where(Account.workspace_id == ws)).all()
    keys = [utils.default_process(k) for _, k in rows]
    starts, offset = [], 0
    for key in keys:
        starts.append(offset)
        offset += len(key) + 1
    fuzzy = [_without_legal_form(k) for k in keys]
    names = _Names(version, [aid for aid, _ in rows], keys, "\n".join(keys), starts, fuzzy)
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
    # A CRM id is unique as written; in another case it can be shared (ACC-1 and acc-1), so an id
    # typed exactly wins, then one id matched in any case; otherwise the hits are shared names, a
    # name equal to a domain, or ids differing only in case.
    by_id = [row for row in exact if row.external_id == query] or [
        row for row in exact if row.external_id.lower() == key
    ]
    if len(by_id) == 1 or (by_id and by_id[0].external_id == query):
        return LookupResult(query, match=_matches(by_id)[0])
    if len(exact) == 1:
        return LookupResult(query, match=_matches(exact)[0])
    if exact:
        return LookupResult(query, candidates=_matches(exact[:MAX_CANDIDATES]))

    prefix = _prefix_rows(conn, ws, key)
    if len(prefix) == 1:
        return LookupResult(query, match=_matches(prefix)[0])
    if prefix:
        return LookupResult(query, candidates=_matches(prefix[:MAX_CANDIDATES]))

    names = _names(session, ws)
    processed = utils.default_process(key)
    # A word inside names ("wind" in "Northwind Inc"): offer them, words starting with it first.
    inside = names.containing(processed) if len(processed) >= MIN_INSIDE else []
    if inside:
        inside.sort(key=lambda i: (f" {processed}" not in f" {names.keys[i]}", names.keys[i]))
        offered = _by_ids(conn, ws, [names.ids[i] for i in inside[:MAX_CANDIDATES]])
        return LookupResult(query, suggestions=offered, more=max(0, len(inside) - MAX_CANDIDATES))

    # Typo tolerance: similarity over the workspace's account names.
    found = process.extract(
        _without_legal_form(processed),
        names.fuzzy,
        scorer=fuzz.WRatio,
        processor=None,
        limit=5,
        score_cutoff=FUZZY_CUTOFF,
    )
    if not found:
        return LookupResult(query)
    ordered = _by_ids(conn, ws, [names.ids[index] for _, _, index in found])
    best, second = found[0][1], found[1][1] if len(found) > 1 else 0.0
    # One clearly best near-miss ("initeck" for "Initech"): take it, saying so; several close ones: ask.
    if ordered and best >= FUZZY_ACCEPT and best - second >= FUZZY_MARGIN:
        return LookupResult(query, match=ordered[0], guessed=True)
    return LookupResult(query, suggestions=ordered)


def _by_ids(conn: Any, ws: int, ids: list[int]) -> list[Match]:
    """The accounts ``ids`` in that order (one that vanished since the names were read is left out)."""
    rows = {r.id: r for r in conn.execute(_statements()["ids"], {"ws": ws, "ids": ids}).all()}
    return _matches([rows[i] for i in ids if i in rows])
