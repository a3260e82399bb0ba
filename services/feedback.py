"""The customer feedback loop: capturing feedback against an account (Slack message, reaction,
/feedback, import, NPS comments), themes and who may curate them, theme suggestions at capture,
the ranking of themes by what is at stake, and the facts of the voice-of-the-customer digest and of
the close-the-loop messages. Each public function owns its transaction and returns plain data; the
SQL is ``storage.feedback``.

Who may do what:
- log feedback: anyone in the people list, or an admin (the bot must know who logged it);
- curate themes (add, merge, set a status): admins and the policy's ``feedback.product_admins``;
- read the ranking: anyone who can use the bot (it shows what ``/health`` shows: names and ARR).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process, utils
from sqlalchemy.orm import Session

from services import accounts
from services.errors import Refusal, UnknownSegment
from services.policies import FeedbackPolicy
from services.subscriptions import Subscription, parse_schedule
from storage import feedback as store
from storage import models as m
from storage.accounts import account_in_workspace, segments
from storage.db import Database
from storage.feedback import IMPORTANCE, KINDS, STATUSES, LoggedItem, RankedTheme, Theme
from storage.lookup import Match, find_account
from storage.people import person_by_slack_id

MAX_TEXT = 4000
SUGGESTIONS = 5
SUGGEST_CUTOFF = 45.0  # below this a theme is not offered


class NotAllowed(Refusal):
    """The person may not do this; ``who`` says who may."""

    def __init__(self, who: str) -> None:
        super().__init__(who)
        self.who = who


class FeedbackError(Refusal):
    """Input people can fix; the message says how (already escaped where it quotes data)."""


class UnknownTheme(Refusal):
    def __init__(self, name: str, suggestions: list[Suggestion]) -> None:
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions


# --- authority ---------------------------------------------------------------------------------------

CAPTURE_WHO = "people in the people list and admins"
CURATE_WHO = "admins and product admins (feedback.product_admins in the policy file)"


def may_capture(session: Session, ws: int, user_id: str, admins: Collection[str]) -> NotAllowed | None:
    if user_id in admins or person_by_slack_id(session, ws, user_id) is not None:
        return None
    return NotAllowed(CAPTURE_WHO)


def may_curate(user_id: str, admins: Collection[str], policy: FeedbackPolicy) -> NotAllowed | None:
    if user_id in admins or user_id in policy.product_admins:
        return None
    return NotAllowed(CURATE_WHO)


# --- capture -----------------------------------------------------------------------------------------


@dataclass
class Capture:
    """One piece of feedback as it arrived. ``account`` is what a person typed (or ``account_id`` one
    picked); ``theme`` a theme name (created if new) or ``theme_id`` one picked."""

    external_id: str
    text: str
    source: str
    kind: str = "request"
    importance: str = "medium"
    account: str | None = None
    account_id: int | None = None
    theme: str | None = None
    theme_id: int | None = None
    contact: str | None = None
    link: str | None = None
    logged_by: str | None = None  # Slack user id; None: the CLI or an import


@dataclass(frozen=True)
class Captured:
    item: LoggedItem
    new: bool
    theme_created: bool
    similar: list[Suggestion] = field(default_factory=list)  # close themes, when a new one was made


def _check(c: Capture) -> None:
    if c.kind not in KINDS:
        raise FeedbackError(f"the kind must be one of {', '.join(KINDS)}")
    if c.importance not in IMPORTANCE:
        raise FeedbackError(f"the importance must be one of {', '.join(IMPORTANCE)}")
    if not c.text.strip():
        raise FeedbackError("say what the customer said")


def capture(
    db: Database,
    ws: int,
    c: Capture,
    *,
    admins: Collection[str],
    policy: FeedbackPolicy,
    now: dt.datetime,
    check_authority: bool = True,
) -> Captured:
    """Log one item once (``external_id`` is the claim). Raises ``NotAllowed``, ``FeedbackError`` or
    ``NoSingleAccount`` (nothing written)."""
    _check(c)
    with db.write() as session:
        if check_authority and c.logged_by is not None:
            refusal = may_capture(session, ws, c.logged_by, admins)
            if refusal is not None:
                raise refusal
        existing = store.item_by_external_id(session, ws, c.external_id)
        if existing is not None:
            return Captured(existing, False, False)
        if c.account_id is not None:
            if not account_in_workspace(session, ws, c.account_id):
                raise FeedbackError("that account is not in this workspace")
            account_id = c.account_id
        elif c.account:
            account_id = accounts.resolve_for_write(session, ws, c.account).id
        else:
            raise FeedbackError("name the account")
        theme: Theme | None = None
        created = False
        if c.theme_id is not None:
            theme = store.live(session, ws, store.theme_by_id(session, ws, c.theme_id))
            if theme is None:
                raise FeedbackError("that theme no longer exists; pick another")
        elif c.theme and store.theme_key(c.theme):
            theme, created = store.ensure_theme(session, ws, c.theme, by=c.logged_by, now=now)
        item, new = store.add_item(
            session,
            ws,
            {
                "external_id": c.external_id[:200],
                "account_id": account_id,
                "theme_id": theme.id if theme else None,
                "kind": c.kind,
                "importance": c.importance,
                "text": c.text.strip()[:MAX_TEXT],
                "contact": (c.contact or "").strip()[:254] or None,
                "source": c.source,
                "link": (c.link or "")[:2000] or None,
                "logged_by_id": store.person_id(session, ws, c.logged_by) if c.logged_by else None,
                "logged_by_slack": c.logged_by,
                "logged_at": now,
            },
        )
    similar = (
        [s for s in suggest(db, ws, theme.name, wait=False) if s.theme_id != theme.id][:3]
        if created and theme
        else []
    )
    return Captured(item, new, created, similar)


def already_logged(db: Database, ws: int, external_id: str) -> LoggedItem | None:
    with db.read() as session:
        return store.item_by_external_id(session, ws, external_id)


def message_id(channel: str, ts: str) -> str:
    """The claim of a Slack message: logged once, by reaction or shortcut alike."""
    return f"msg:{channel}:{ts}"


# --- guessing the account of a message ----------------------------------------------------------------

_WORD = re.compile(r"[\w&'.-]+")
_DOMAIN = re.compile(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)+)\b")


def _channel_names(channel_name: str, affixes: Sequence[str]) -> list[str]:
    parts = [p for p in re.split(r"[-_]+", channel_name.lower()) if p]
    core = [p for p in parts if p not in affixes]
    return [" ".join(core)] if core else []


def _text_names(text: str) -> tuple[list[str], list[str]]:
    lowered = text.lower()[:3000]
    words = [w.strip(".'") for w in _WORD.findall(lowered)]
    words = [w for w in words if w]
    grams = [" ".join(words[i : i + n]) for n in (1, 2, 3, 4) for i in range(len(words) - n + 1)]
    domains = [d for d in _DOMAIN.findall(lowered)] + [
        w for w in words if "-" in w or any(ch.isdigit() for ch in w)
    ]
    return grams[:2000], domains[:200]


@dataclass(frozen=True)
class Guess:
    account: Match | None  # the account, when the channel or the message names exactly one
    candidates: list[tuple[int, str]]  # (id, name) of the accounts named, when several
    reason: str  # "channel", "message", "none", "several"


def guess_account(
    db: Database, ws: int, channel_name: str | None, text: str, policy: FeedbackPolicy
) -> Guess:
    """The account a message is about: one named by the channel (``cust-acme``), else one named in the
    message (its name, domain or CRM id); several or none: unsure."""
    with db.read() as session:
        if channel_name:
            names = _channel_names(channel_name, policy.channel_affixes)
            found = store.accounts_named(session, ws, names, names)
            if len(found) == 1:
                return Guess(_match(session, ws, found[0][0]), [], "channel")
        grams, domains = _text_names(text)
        found = store.accounts_named(session, ws, grams, domains)
        if len(found) == 1:
            return Guess(_match(session, ws, found[0][0]), [], "message")
        if not found:  # "Acme" for Acme Corp and Acme Logistics: ask which
            firsts = [g for g in grams if " " not in g and len(g) >= 3 and g not in _STOP][:100]
            found = store.accounts_starting(session, ws, firsts)
        return Guess(None, found[:5], "several" if found else "none")


def _match(session: Session, ws: int, account_id: int) -> Match:
    name = store.account_name(session, ws, account_id) or ""
    return Match(account_id, "", name, None)


# --- theme suggestions ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "the and for you your our their they them with this that have has had are was were not but can "
    "would could should will just like want need needs please from into about when what which who how "
    "all any some more most very also than then there here its been being does did doing get got "
    "use using used one two way too much many make made let lets customer customers user users"
)
_STOP = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    """Content words of a text: lower-cased, short and common words dropped, a plural ``s`` cut."""
    out = []
    for w in _TOKEN.findall(text.lower()):
        if len(w) < 3 or w in _STOP:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


@dataclass(frozen=True)
class Suggestion:
    theme_id: int
    name: str
    status: str
    score: float  # 0–100


class _Index:
    """A workspace's themes and the words of their items, for suggestions in milliseconds: theme names
    matched with rapidfuzz (typo-tolerant), item text through an inverted index weighted by how rare
    each word is among themes (IDF). Built once per change of the themes; new items are added as
    they come (only the items after the last one read)."""

    def __init__(self) -> None:
        self.events: tuple[int, str] = (-1, "")
        self.last_item = 0
        self.themes: dict[int, tuple[str, str]] = {}  # live theme id → (name, status)
        self.leads_to: dict[int, int] = {}  # any theme id → its live theme id
        self.keys: list[str] = []  # processed names (merged themes' old names included)
        self.key_theme: list[int] = []
        self.postings: dict[str, dict[int, int]] = defaultdict(dict)
        self.lock = threading.Lock()

    def rebuild(self, session: Session, ws: int, events: tuple[int, str]) -> None:
        self.names(session, ws, events)
        self.postings = defaultdict(dict)
        self.last_item = 0

    def names(self, session: Session, ws: int, events: tuple[int, str]) -> None:
        """The themes, their names and where merged ones lead (the items' words are kept)."""
        rows = store.suggestion_themes(session, ws)
        merged = {tid: into for tid, _, _, into in rows}

        def leads(tid: int) -> int:
            seen = set()
            while merged.get(tid) is not None and tid not in seen:
                seen.add(tid)
                tid = merged[tid]  # type: ignore[assignment]
            return tid

        self.themes = {tid: (name, status) for tid, name, status, into in rows if into is None}
        self.leads_to = {tid: leads(tid) for tid, *_ in rows}
        self.keys = [utils.default_process(name) for _, name, _, _ in rows]
        self.key_theme = [self.leads_to[tid] for tid, *_ in rows]
        self.events = events

    def add_items(self, items: list[tuple[int, int, str]]) -> None:
        for item_id, theme_id, text in items:
            live = self.leads_to.get(theme_id, theme_id)
            for w in set(words(text)):
                posting = self.postings[w]
                posting[live] = posting.get(live, 0) + 1
            self.last_item = max(self.last_item, item_id)

    def suggest(self, text: str, limit: int) -> list[Suggestion]:
        scores: dict[int, float] = {}
        query = utils.default_process(text[:1000])
        if query and self.keys:
            for _, score, index in process.extract(
                query,
                self.keys,
                scorer=fuzz.token_set_ratio,
                processor=None,
                limit=limit * 3,
                score_cutoff=60,
            ):
                tid = self.key_theme[index]
                # A long message that contains a theme's name scores 100 with token_set_ratio; a short
                # query is compared as typed (WRatio, tolerant of typos).
                if len(query) <= 40:
                    score = max(score * 0.9, fuzz.WRatio(query, self.keys[index], processor=None))
                scores[tid] = max(scores.get(tid, 0.0), float(score))
        qwords = list(dict.fromkeys(words(text)))[:60]
        if qwords and self.postings:
            n = max(len(self.themes), 1)
            weights = {w: math.log((n + 1) / (len(self.postings.get(w, ())) + 1)) + 1 for w in qwords}
            # Words no item has used tell no theme apart: they weigh a quarter in the denominator.
            total = sum(v if w in self.postings else v / 4 for w, v in weights.items())
            matched: dict[int, float] = defaultdict(float)
            for w in qwords:
                for tid in self.postings.get(w, {}):
                    matched[tid] += weights[w]
            for tid, got in matched.items():
                text_score = 100 * got / total
                scores[tid] = (
                    max(scores.get(tid, 0.0), text_score) + min(scores.get(tid, 0.0), text_score) * 0.1
                )
        ranked = sorted(
            ((s, tid) for tid, s in scores.items() if tid in self.themes and s >= SUGGEST_CUTOFF),
            key=lambda p: (-p[0], self.themes[p[1]][0].lower()),
        )
        return [Suggestion(tid, *self.themes[tid], round(min(s, 100.0), 1)) for s, tid in ranked[:limit]]


_INDEXES: dict[tuple[str, int], _Index] = {}
_INDEXES_LOCK = threading.Lock()


REBUILD_IN_BACKGROUND_FROM = 20_000  # items: below this a rebuild takes well under Slack's 3 seconds
WAIT_FOR_INDEX_SECONDS = 0.5  # inside Slack's 3 seconds, how long to wait for another suggestion


def suggest(
    db: Database, ws: int, text: str, limit: int = SUGGESTIONS, *, wait: bool = True
) -> list[Suggestion]:
    """The existing themes closest to ``text`` (a message, or what someone types in the theme field),
    best first: by theme name (fuzzy) and by the words of the items already in each theme.

    ``wait=False`` (inside Slack's 3 seconds): when the index must be built from many items (a first
    use after a start, or a merge) it is built in the background and no suggestion is offered this
    time, rather than letting a dialog's trigger expire; a build under way is waited for half a second."""
    where = (db.url, ws)
    with _INDEXES_LOCK:
        index = _INDEXES.setdefault(where, _Index())
    if not index.lock.acquire(timeout=-1 if wait else WAIT_FOR_INDEX_SECONDS):
        return []  # a build is under way: no suggestion this time
    try:
        with db.read() as session:
            items, events = store.version(session, ws)
            rebuild = items < index.last_item
            if events != index.events and not rebuild:
                since = index.events[0]
                changed = store.events_after(session, ws, since) if 0 <= since < events[0] else {"unknown"}
                rebuild = bool(changed - {"created", "status"})  # a merge moved items (or another database)
                if not rebuild:
                    index.names(session, ws, events)  # new themes, new statuses: the words stay
            if rebuild and not wait and items >= REBUILD_IN_BACKGROUND_FROM:
                threading.Thread(target=suggest, args=(db, ws, "", 1), daemon=True).start()
                return []
            if rebuild:
                index.rebuild(session, ws, events)
            if items > index.last_item:
                index.add_items(store.suggestion_items(session, ws, index.last_item))
                index.last_item = max(index.last_item, items)
        return index.suggest(text, limit)
    finally:
        index.lock.release()


# --- themes --------------------------------------------------------------------------------------------


def theme_list(db: Database, ws: int) -> tuple[list[store.ThemeRow], int]:
    """Live themes with their counts, and how many items have no theme yet."""
    with db.read() as session:
        return store.theme_list(session, ws), store.untriaged(session, ws)


def ensure_policy_themes(db: Database, ws: int, policy: FeedbackPolicy, now: dt.datetime) -> int:
    """Create the themes the policy file lists that do not exist yet; returns how many."""
    if not policy.themes:
        return 0
    with db.write() as session:
        return sum(store.ensure_theme(session, ws, name, by="policy", now=now)[1] for name in policy.themes)


def add_theme(
    db: Database,
    ws: int,
    name: str,
    *,
    by: str,
    admins: Collection[str],
    policy: FeedbackPolicy,
    now: dt.datetime,
) -> tuple[Theme, bool]:
    refusal = may_curate(by, admins, policy)
    if refusal is not None:
        raise refusal
    if not store.theme_key(name):
        raise FeedbackError("a theme needs a name")
    with db.write() as session:
        return store.ensure_theme(session, ws, name, by=by, now=now)


def _existing(session: Session, ws: int, db: Database, name: str) -> Theme:
    theme = store.theme_by_name(session, ws, name)
    if theme is None:
        raise UnknownTheme(name, suggest(db, ws, name, 3))
    return theme


def merge_themes(
    db: Database,
    ws: int,
    source: str,
    target: str,
    *,
    by: str,
    admins: Collection[str],
    policy: FeedbackPolicy,
    now: dt.datetime,
) -> tuple[Theme, Theme, int]:
    """Merge theme ``source`` into ``target``: its items move, its name leads to ``target``."""
    refusal = may_curate(by, admins, policy)
    if refusal is not None:
        raise refusal
    with db.write() as session:
        src, dst = _existing(session, ws, db, source), _existing(session, ws, db, target)
        if src.id == dst.id:
            raise FeedbackError("those are the same theme")
        return src, dst, store.merge(session, ws, src.id, dst.id, by=by, now=now)


def set_status(
    db: Database,
    ws: int,
    name: str,
    status: str,
    *,
    by: str,
    admins: Collection[str],
    policy: FeedbackPolicy,
    now: dt.datetime,
) -> tuple[Theme, str | None]:
    """Set a theme's status; returns the theme and its status before (None: it already had it)."""
    refusal = may_curate(by, admins, policy)
    if refusal is not None:
        raise refusal
    status = status.lower().replace("'", "").replace(" ", "_").replace("-", "_")
    status = {"wontdo": "wont_do", "won_t_do": "wont_do"}.get(status, status)
    if status not in STATUSES:
        raise FeedbackError(f"the status must be one of {', '.join(STATUSES)}")
    with db.write() as session:
        theme = _existing(session, ws, db, name)
        before = store.set_status(session, ws, theme.id, status, by=by, now=now)
        return store.theme_by_id(session, ws, theme.id) or theme, before


# --- ranking -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Top:
    themes: list[RankedTheme]
    kind: str | None
    segment: str | None


def parse_top(words_: Sequence[str], known_segments: Sequence[str]) -> tuple[str | None, str | None]:
    kind = segment = None
    for w in words_:
        lw = w.lower()
        if kind is None and lw.rstrip("s") in KINDS:
            kind = lw.rstrip("s")
        elif segment is None and lw in known_segments:
            segment = lw
        else:
            raise FeedbackError(
                f"I don't understand {w!r}: expected a kind ({', '.join(KINDS)}) or a segment "
                f"({', '.join(known_segments) or 'none yet'})"
            )
    return kind, segment


def top(
    db: Database,
    ws: int,
    *,
    now: dt.datetime,
    kind: str | None = None,
    segment: str | None = None,
    words_: Sequence[str] = (),
    limit: int = 10,
) -> Top:
    """Themes ranked by ARR at risk among the accounts asking (open themes: new and planned)."""
    with db.read() as session:
        known = segments(session, ws)
        if words_:
            kind, segment = parse_top(words_, known)
        if kind is not None and kind not in KINDS:
            raise FeedbackError(f"the kind must be one of {', '.join(KINDS)}")
        if segment is not None and segment not in known:
            raise UnknownSegment(segment, known)
        return Top(store.rank(session, ws, now=now, kind=kind, segment=segment, limit=limit), kind, segment)


# --- NPS comments ---------------------------------------------------------------------------------------


def from_nps(
    db: Database, ws: int, *, now: dt.datetime, since: dt.datetime | None = None, max_score: int = 10
) -> int:
    """Turn NPS comments into feedback items (once each: ``nps:ID``); detractors' and passives'
    comments are pains, promoters' praise. The theme is the closest existing one when it is clear."""
    with db.read() as session:
        rows = store.nps_comments(session, ws, since)
    items = []
    for ext, account_id, score, email, comment, responded_at in rows:
        if score > max_score:
            continue
        best = suggest(db, ws, comment, 1)
        items.append(
            {
                "external_id": f"nps:{ext}"[:200],
                "account_id": account_id,
                "theme_id": best[0].theme_id if best and best[0].score >= 80 else None,
                "kind": "praise" if score >= 9 else "pain",
                "importance": "high" if score <= 6 else "medium",
                "text": comment.strip()[:MAX_TEXT],
                "contact": email,
                "source": "nps",
                "link": None,
                "logged_by_id": None,
                "logged_by_slack": None,
                "logged_at": responded_at,
            }
        )
    if not items:
        return 0
    with db.write() as session:
        return store.add_items(session, ws, items)


# --- account typeahead ----------------------------------------------------------------------------------


def account_options(db: Database, ws: int, query: str) -> list[Match]:
    """Accounts for a typeahead (the dialog's external select): the one named, the ones sharing the
    prefix, or the closest names."""
    if not query.strip():
        return []
    with db.read() as session:
        found = find_account(session, ws, query)
    return [found.match] if found.match else (found.candidates or found.suggestions)


# --- voice-of-the-customer digest subscriptions ---------------------------------------------------------


def voc_subscriptions(db: Database, ws: int) -> list[Subscription]:
    with db.read() as session:
        return [_sub(row) for row in store.subscriptions(session, ws)]


def voc_subscribe(
    db: Database, ws: int, channel_id: str, words_: Sequence[str], *, by: str | None, now: dt.datetime
) -> Subscription:
    """Create or change the channel's voice-of-the-customer digest (``[WEEKDAY] [HH:MM] [Area/City]
    [segment]``, as the scorecard digest); raises ``SubscriptionError`` saying what was not understood."""
    with db.write() as session:
        schedule = parse_schedule(words_, segments(session, ws))
        return _sub(store.subscribe(session, ws, channel_id, schedule, by=by, now=now))


def voc_unsubscribe(db: Database, ws: int, channel_id: str) -> bool:
    with db.write() as session:
        return store.unsubscribe(session, ws, channel_id)


def _sub(row: m.FeedbackDigestSubscription) -> Subscription:
    return Subscription(
        row.channel_id, row.weekday, row.local_time, row.timezone, row.segment, row.active, row.problem
    )


# --- the voice-of-the-customer digest ---------------------------------------------------------------------

DIGEST_TOP = 5
NOTICE_DAYS = 30  # a theme shipped longer ago than this tells nobody any more (no flood on a first run)


@dataclass(frozen=True)
class VocFacts:
    since: dt.datetime
    until: dt.datetime
    segment: str | None
    top: list[RankedTheme]
    quotes: dict[int, str]  # the latest customer words of each top theme
    new_themes: list[tuple[str, int]]
    changes: list[store.StatusChange]


def voc_facts(db: Database, ws: int, *, now: dt.datetime, segment: str | None = None) -> VocFacts:
    """The week before ``now``: the open themes with the most ARR at risk, the themes that appeared and
    the status changes."""
    since = now - dt.timedelta(days=7)
    with db.read() as session:
        top = store.rank(session, ws, now=now, segment=segment, limit=DIGEST_TOP)
        return VocFacts(
            since,
            now,
            segment,
            top,
            store.latest_texts(session, ws, [t.theme_id for t in top]),
            store.new_themes(session, ws, since, now),
            store.status_changes(session, ws, since, now),
        )


# --- close the loop ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippedNotice:
    """One person's message about one shipped theme: their accounts that asked, and what they asked."""

    theme_id: int
    theme: str
    person_id: int
    slack_user_id: str | None
    person: str
    asked: list[store.Asked]


def shipped_notices(db: Database, ws: int, *, now: dt.datetime) -> list[ShippedNotice]:
    """For each theme shipped in the last ``NOTICE_DAYS``, one notice per owner (CSM, AE) of the
    accounts that asked for it. The delivery ledger makes each go out once."""
    out: list[ShippedNotice] = []
    with db.read() as session:
        for theme in store.shipped_since(session, ws, now.date() - dt.timedelta(days=NOTICE_DAYS)):
            by_person: dict[int, list[store.Asked]] = defaultdict(list)
            for asked in store.asked_for(session, ws, theme.id):
                by_person[asked.person_id].append(asked)
            for person_id, rows in by_person.items():
                unique = list({(a.account, a.text, a.logged_at): a for a in rows}.values())
                first = unique[0]
                out.append(
                    ShippedNotice(theme.id, theme.name, person_id, first.slack_user_id, first.person, unique)
                )
    return out
