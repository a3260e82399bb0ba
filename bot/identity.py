"""Asking Slack who people are, so that the people list knows their Slack users (docs/slack.md).

Three ways, all by e-mail (scopes ``users:read`` and ``users:read.email``):

- at an import of people (CLI, ingest API), when a token is configured: ``users.lookupByEmail`` for
  each person of the import without a Slack id (Tier 3), or one ``users.list`` walk when there are many;
- lazily (``LazyLinker``): an unknown Slack user runs a command → ``users.info`` → their e-mail → the
  person with it, linked before the command reads the people list;
- in bulk (``retention-bot people link-slack``): ``users.list`` page by page, paced to its Tier 2
  limit (20+ calls a minute: one page every 3 s), waiting out ``ratelimited`` for its Retry-After.

What is linked, and when a link is refused, is ``services.identity``'s rule.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings
from bot.tokens import NoToken, WorkspaceClients
from services import identity
from services.identity import LinkReport
from storage.db import Database

logger = logging.getLogger(__name__)

PAGE_SIZE = 200  # users.list: Slack recommends at most 200 per page
USERS_LIST_PACE = 3.0  # seconds between users.list pages: Tier 2 is 20+ calls a minute
LOOKUP_AT_MOST = 50  # more people to link than this at an import: one users.list walk instead
MAX_WAITS = 5  # ratelimited this many times in a row: give up with the error


class SlackLookupError(Exception):
    """Slack refused a lookup (a missing scope, a dead token…): its error name is the message."""


def _error(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or exc.response.status_code)


@dataclass
class SlackUser:
    id: str
    email: str | None
    name: str


def _user(raw: dict[str, Any]) -> SlackUser | None:
    """A person's Slack user; None for bots, Slackbot and deactivated users (never linked)."""
    if raw.get("deleted") or raw.get("is_bot") or raw.get("id") == "USLACKBOT":
        return None
    profile = raw.get("profile") or {}
    email = profile.get("email")
    return SlackUser(
        str(raw["id"]),
        email.lower() if isinstance(email, str) and email else None,
        str(profile.get("real_name") or raw.get("real_name") or raw.get("name") or raw["id"]),
    )


class SlackDirectory:
    """The workspace's Slack users, through one Web API client."""

    def __init__(
        self,
        client: WebClient,
        *,
        pace: float = USERS_LIST_PACE,
        sleep: Callable[[float], None] = time.sleep,
        max_waits: int = MAX_WAITS,
    ) -> None:
        self.client, self.pace, self.sleep, self.max_waits = client, pace, sleep, max_waits
        self.waits = 0  # times Slack said ratelimited and we waited
        self.calls = 0

    def _call(self, method: str, **args: Any) -> Any:
        waits = 0
        while True:
            self.calls += 1
            try:
                return getattr(self.client, method.replace(".", "_"))(**args)
            except SlackApiError as exc:
                if exc.response.status_code != 429 and _error(exc) != "ratelimited":
                    raise
                waits += 1
                if waits > self.max_waits:
                    raise SlackLookupError(
                        f"{method}: still rate-limited after {self.max_waits} waits"
                    ) from None
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                seconds = float(retry_after) if retry_after else self.pace
                logger.info("%s rate-limited: waiting %.0f s as Slack asks", method, seconds)
                self.waits += 1
                self.sleep(seconds)

    def lookup_email(self, email: str) -> SlackUser | None:
        """users.lookupByEmail: the active Slack user with that e-mail, or None."""
        try:
            answer = self._call("users.lookupByEmail", email=email)
        except SlackApiError as exc:
            if _error(exc) == "users_not_found":
                return None
            raise SlackLookupError(_error(exc)) from None
        return _user(answer["user"])

    def user(self, user_id: str) -> SlackUser | None:
        """users.info: the Slack user (their e-mail needs ``users:read.email``), or None."""
        try:
            answer = self._call("users.info", user=user_id)
        except SlackApiError as exc:
            if _error(exc) in ("user_not_found", "users_not_found"):
                return None
            raise SlackLookupError(_error(exc)) from None
        return _user(answer["user"])

    def users(self, on_page: Callable[[int], None] | None = None) -> Iterator[SlackUser]:
        """Every person's Slack user, through users.list page by page, one page every ``pace`` seconds."""
        cursor = ""
        first = True
        while first or cursor:
            if not first:
                self.sleep(self.pace)
            first = False
            try:
                answer = self._call("users.list", limit=PAGE_SIZE, **({"cursor": cursor} if cursor else {}))
            except SlackApiError as exc:
                raise SlackLookupError(_error(exc)) from None
            members = answer.get("members") or []
            if on_page is not None:
                on_page(len(members))
            for raw in members:
                user = _user(raw)
                if user is not None:
                    yield user
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or ""


def _walk(
    directory: SlackDirectory, wanted: set[str], on_page: Callable[[int], None] | None
) -> dict[str, str]:
    """E-mail → Slack id of the users.list members whose e-mail is wanted."""
    found: dict[str, str] = {}
    users = with_email = 0
    for user in directory.users(on_page):
        users += 1
        if user.email:
            with_email += 1
            if user.email in wanted:
                found[user.email] = user.id
    if users and not with_email:
        raise SlackLookupError("missing_scope: Slack shows no e-mail addresses without users:read.email")
    return found


def link_all(
    db: Database, ws: int, directory: SlackDirectory, on_page: Callable[[int], None] | None = None
) -> LinkReport:
    """Walk users.list and link every person without a Slack id whose e-mail Slack knows."""
    searched = identity.unlinked_emails(db, ws)
    found = _walk(directory, set(searched), on_page) if searched else {}
    return identity.link_by_email(db, ws, found, searched=searched)


def link_emails(
    db: Database, ws: int, directory: SlackDirectory, emails: list[str] | None = None
) -> LinkReport:
    """Link the people of ``emails`` (None: everyone) who have no Slack id yet: one users.lookupByEmail
    each, or one users.list walk when there are more than ``LOOKUP_AT_MOST``."""
    searched = identity.unlinked_emails(db, ws, emails)
    if len(searched) > LOOKUP_AT_MOST:
        found = _walk(directory, set(searched), None)
    else:
        found = {}
        for email in searched:
            user = directory.lookup_email(email)
            if user is not None:
                found[email] = user.id
    return identity.link_by_email(db, ws, found, searched=searched)


def client_for(settings: Settings, db: Database, ws: int) -> WebClient | None:
    """The workspace's Web API client (no automatic retries: ``SlackDirectory`` waits out rate limits
    itself), or None when no token is configured."""
    if not settings.oauth and settings.slack_bot_token is None:
        return None
    try:
        return WorkspaceClients(settings, db)(ws)
    except NoToken:
        return None


class LazyLinker:
    """Called before a command reads the people list: an unknown Slack user is looked up once
    (``users.info`` → e-mail → person) and linked. Users already linked cost one cached check; users
    Slack cannot link (no such person, no e-mail scope) are asked again only after ``retry_seconds``."""

    def __init__(
        self,
        db: Database,
        clients: Callable[[int], WebClient],
        *,
        retry_seconds: float = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.clients, self.retry_seconds, self.clock = db, clients, retry_seconds, clock
        self._lock = threading.Lock()
        self._linked: set[tuple[int, str]] = set()
        self._misses: dict[tuple[int, str], float] = {}

    def __call__(self, ws: int, user_id: str) -> bool:
        """Whether the user is (now) in the people list. Never raises: a lookup that fails leaves the
        command to answer as for anyone the people list does not know."""
        key = (ws, user_id)
        with self._lock:
            if key in self._linked:
                return True
            if self._misses.get(key, 0.0) > self.clock():
                return False
        try:
            name = self._link(ws, user_id)
        except Exception as exc:  # Slack down, no token, a missing scope: the command still answers
            logger.warning("could not look up Slack user %s: %s", user_id, exc)
            name = None
        with self._lock:
            if len(self._linked) > 100_000 or len(self._misses) > 100_000:
                self._linked.clear()
                self._misses.clear()
            if name is None:
                self._misses[key] = self.clock() + self.retry_seconds
            else:
                self._linked.add(key)
        return name is not None

    def _link(self, ws: int, user_id: str) -> str | None:
        if identity.is_linked(self.db, ws, user_id):
            return ""
        user = SlackDirectory(self.clients(ws)).user(user_id)
        if user is None or user.email is None:
            return None
        name = identity.link_user(self.db, ws, user_id, user.email)
        if name:
            logger.info("linked Slack user %s to %s by e-mail", user_id, name)
        return name


_background = threading.Lock()


def link_in_background(settings: Settings, db: Database, ws: int) -> bool:
    """After people arrive through the ingest API: link those without a Slack id on a thread of its
    own, so the response does not wait for Slack (one such thread at a time). False: none started."""
    client = client_for(settings, db, ws)
    if client is None or not _background.acquire(blocking=False):
        return False

    def work() -> None:
        try:
            report = link_emails(db, ws, SlackDirectory(client))
            logger.info(
                "linked %d people to Slack users by e-mail (%d without one)",
                len(report.linked),
                len(report.not_found),
            )
        except Exception as exc:
            logger.warning("could not link people to Slack users: %s", exc)
        finally:
            _background.release()

    threading.Thread(target=work, name="link-slack", daemon=True).start()
    return True
