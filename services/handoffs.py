"""What people do to handoffs, whichever way they ask (a slash command, a ping's buttons, a dialog, the
scheduler): list the open ones; open one under its SLA policy, with its owner and id chosen here;
finish, pause or resume it; acknowledge, finish or snooze it from a ping. Each public function owns
its transaction, asks ``services.authority`` before it changes anything, and returns plain data or
raises a ``Refusal``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from services import accounts, sla
from services.authority import may, may_open
from services.errors import Refusal
from services.policies import SlaConfig, SlaPolicy
from storage import handoffs as store
from storage import models as m
from storage import vocab
from storage.db import Database
from storage.handoffs import ActionEvent, OpenHandoffRow, PingFacts
from storage.people import person_by_slack_id, reports_of

# Who takes a new handoff by default: the account's owner in the receiving team.
OWNER_BY_TEAM = {team: f"{role}_id" for role, team in vocab.OWNER_ROLE_TEAMS.items()}


class NoPolicy(Refusal):
    """No SLA policy for this kind of handoff in the account's segment; ``kinds`` have one."""

    def __init__(self, kind: str, segment: str | None, kinds: list[str]) -> None:
        super().__init__(f"no SLA policy for {kind!r}")
        self.kind, self.segment, self.kinds = kind, segment, kinds


class UnknownOwner(Refusal):
    """The named owner is not in the people list."""

    def __init__(self, slack_id: str) -> None:
        super().__init__(f"{slack_id} is not in the people list")
        self.slack_id = slack_id


class NoSuchHandoff(Refusal):
    """No handoff by that id in this workspace (``external_id`` None: a ping's row id)."""

    def __init__(self, external_id: str | None = None) -> None:
        super().__init__(f"no handoff {external_id or ''}".strip())
        self.external_id = external_id


class NotListed(Refusal):
    """The person is not in the people list, so the bot cannot tell which handoffs are theirs."""


class NoReports(Refusal):
    """Nobody reports to the person in the people list: there is no team view."""


class FieldError(Refusal):
    """A dialog's answer that cannot be used: which field, and what to tell the person there."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _default_owner(
    session: Session, account: m.Account, to_team: str, requester_slack: str | None = None
) -> m.Person | None:
    """The account's owner in the receiving team; else the person asking (if they are in the people list)."""
    owner_id = getattr(account, OWNER_BY_TEAM.get(to_team, ""), None)
    if owner_id:
        return session.get(m.Person, owner_id)
    return person_by_slack_id(session, account.workspace_id, requester_slack) if requester_slack else None


def new_external_id(seed: str) -> str:
    """A short id people can type, from something unique to the request (Slack's trigger id)."""
    return "S" + hashlib.sha1(seed.encode()).hexdigest()[:8].upper()


@dataclass(frozen=True)
class Opened:
    external_id: str
    new: bool  # False: a handoff with this id was opened before (a retried request)
    account: str = ""
    kind: str = ""
    from_team: str = ""
    to_team: str = ""
    owner_name: str | None = None
    owner_slack: str | None = None
    due: dt.datetime | None = None
    hours: float = 0
    business_hours: bool = False


@dataclass(frozen=True)
class NeedsChecklist:
    """The policy asks for the checklist first: the dialog's subject and what it carries back."""

    account: str
    kind: str
    meta: dict[str, Any]  # a: account id, k: kind, o: owner id, x: external id


def _opened(
    session: Session,
    ws: int,
    config: SlaConfig,
    policy: SlaPolicy,
    account: m.Account,
    owner: m.Person | None,
    external_id: str,
    now: dt.datetime,
    checklist: dict[str, Any] | None = None,
) -> Opened:
    handoff = sla.open_handoff(
        session,
        ws,
        account=account,
        policy=policy,
        config=config,
        owner=owner,
        external_id=external_id,
        now=now,
        checklist=checklist,
    )
    if handoff is None:
        return Opened(external_id, new=False)
    return Opened(
        external_id,
        new=True,
        account=account.name,
        kind=policy.kind,
        from_team=policy.from_team,
        to_team=policy.to_team,
        owner_name=owner.name if owner else None,
        owner_slack=owner.slack_user_id if owner else None,
        due=handoff.effective_due_at,
        hours=policy.hours,
        business_hours=policy.clock == "business",
    )


def open_handoff(
    db: Database,
    ws: int,
    *,
    account_query: str,
    kind: str,
    owner_slack: str | None,
    requester_slack: str,
    seed: str,
    can_ask_checklist: bool,
    now: dt.datetime,
    config: SlaConfig,
    admins: Collection[str],
) -> Opened | NeedsChecklist:
    """Open a handoff of ``kind`` for an account under its SLA policy, owned by ``owner_slack`` or the
    account's owner in the receiving team (else the requester); or, when the policy asks for the
    checklist and the caller can show it, what the checklist dialog needs (the handoff opens when it
    is submitted: ``open_from_checklist``)."""
    with db.write() as session:
        refusal = may_open(session, ws, requester_slack, admins)
        if refusal is not None:
            raise refusal
        match = accounts.resolve_for_write(session, ws, account_query)
        account = session.get(m.Account, match.id)
        assert account is not None
        policy = config.policy_for(kind, account.segment)
        if policy is None:
            raise NoPolicy(kind, account.segment, sorted({p.kind for p in config.policies}))
        if owner_slack:
            owner = person_by_slack_id(session, ws, owner_slack)
            if owner is None:
                raise UnknownOwner(owner_slack)
        else:
            owner = _default_owner(session, account, policy.to_team, requester_slack)
        external_id = new_external_id(seed)
        if not (policy.asks_checklist and can_ask_checklist):
            return _opened(session, ws, config, policy, account, owner, external_id, now)
        meta = {"a": account.id, "k": kind, "o": owner.id if owner else None, "x": external_id}
        return NeedsChecklist(account.name, kind, meta)


@dataclass(frozen=True)
class Checklist:
    """The sales→CS checklist's answers, as they are stored with the handoff."""

    success_plan: str
    contacts: str
    targets: str
    first_value_target: dt.date

    def stored(self) -> dict[str, Any]:
        return {
            "success_plan": self.success_plan,
            "contacts": self.contacts,
            "targets": self.targets,
            "first_value_target": self.first_value_target.isoformat(),
        }


def check_checklist(
    success_plan: str | None,
    contacts: str | None,
    targets: str | None,
    first_value: dt.date | None,
    now: dt.datetime,
) -> Checklist:
    """The checklist's answers, or a ``FieldError`` for the first one the receiving team cannot use."""
    if first_value is None or first_value < now.date():
        raise FieldError("first_value", "Pick a first-value target date from today on.")
    checklist = Checklist(
        (success_plan or "").strip(), (contacts or "").strip(), (targets or "").strip(), first_value
    )
    for field_name in ("success_plan", "contacts"):
        if not getattr(checklist, field_name):
            raise FieldError(field_name, "This is what the receiving team needs: please fill it in.")
    return checklist


def open_from_checklist(
    db: Database,
    ws: int,
    *,
    account_id: int | None,
    kind: str,
    owner_id: int | None,
    external_id: str,
    checklist: Checklist,
    user_slack: str,
    admins: Collection[str],
    now: dt.datetime,
    config: SlaConfig,
) -> Opened:
    """Open the handoff the checklist dialog was for, and set the account's first-value milestone
    target (unless it has one). Raises ``NotAllowed``, or ``FieldError`` (on the dialog's first field)
    when the account or the policy is gone."""
    with db.write() as session:
        refusal = may_open(session, ws, user_slack, admins)
        if refusal is not None:
            raise refusal
        account = session.get(m.Account, account_id) if account_id is not None else None
        if account is None or account.workspace_id != ws:
            raise FieldError("success_plan", "That account is no longer available.")
        policy = config.policy_for(kind, account.segment)
        if policy is None:
            raise FieldError("success_plan", "That SLA policy was removed meanwhile.")
        owner = session.get(m.Person, owner_id) if owner_id else None
        if owner is not None and owner.workspace_id != ws:
            owner = None
        store.add_milestone_target(session, ws, account.id, "first_value", checklist.first_value_target)
        return _opened(session, ws, config, policy, account, owner, external_id, now, checklist.stored())


@dataclass(frozen=True)
class Changed:
    external_id: str
    verb: str  # done, pause, resume
    already: bool = False  # done: it was done before
    reason: str = ""  # pause: the reason as recorded
    due: dt.datetime | None = None  # resume: the new due time


def change(
    db: Database,
    ws: int,
    external_id: str,
    verb: Literal["done", "pause", "resume"],
    reason: str,
    *,
    user_slack: str,
    admins: Collection[str],
    now: dt.datetime,
    config: SlaConfig,
) -> Changed:
    """Mark a handoff done, or pause or resume its clock. Raises ``NoSuchHandoff``, ``NotAllowed`` or
    ``sla.SlaError`` (it is done, or not paused, …)."""
    with db.write() as session:
        handoff = store.handoff_by_external_id(session, ws, external_id)
        if handoff is None:
            raise NoSuchHandoff(external_id)
        refusal = may(session, handoff, user_slack, admins, verb)
        if refusal is not None:
            raise refusal
        me = person_by_slack_id(session, ws, user_slack)
        actor = me.id if me else None
        if verb == "done":
            return Changed(
                external_id, verb, already=not sla.finish(session, handoff, actor, now, user_slack)
            )
        if verb == "pause":
            sla.pause(session, config, handoff, reason[:500], actor, now)
            return Changed(external_id, verb, reason=reason[:500])
        sla.resume(session, config, handoff, actor, now)
        return Changed(external_id, verb, due=handoff.effective_due_at)


# --- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountHandoffs:
    account: str
    handoffs: list[OpenHandoffRow]


def for_account(db: Database, ws: int, query: str) -> AccountHandoffs:
    """One account's open handoffs, the most overdue first. Raises ``NoSingleAccount``."""
    with db.read() as session:
        match = accounts.resolve(session, ws, query)
        return AccountHandoffs(match.name, store.open_handoffs(session, ws, account_id=match.id))


def owned_by(db: Database, ws: int, user_slack: str, *, team: bool = False) -> list[OpenHandoffRow]:
    """The person's open handoffs (``team``: their reports'), the most overdue first. Raises
    ``NotListed`` or (``team``) ``NoReports``."""
    with db.read() as session:
        me = person_by_slack_id(session, ws, user_slack)
        if me is None:
            raise NotListed(user_slack)
        if not team:
            return store.open_handoffs(session, ws, owner_ids=[me.id])
        reports = reports_of(session, ws, me.id)
        if not reports:
            raise NoReports(user_slack)
        return store.open_handoffs(session, ws, owner_ids=reports)


# --- from a ping ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingState:
    """A ping as it stands now: what it is about, its stage, what people did, and whether it is done."""

    facts: PingFacts
    stage: int
    history: list[ActionEvent]
    done: bool
    due: dt.datetime | None


def _ping_handoff(session: Session, ws: int, handoff_id: int | None) -> m.Handoff:
    """The handoff a button names, only if it is in this workspace (values come from Slack)."""
    handoff = store.handoff_in(session, ws, handoff_id) if handoff_id is not None else None
    if handoff is None:
        raise NoSuchHandoff()
    return handoff


def _state(session: Session, handoff: m.Handoff) -> PingState:
    return PingState(
        store.ping_facts(session, [handoff.id])[handoff.id],
        handoff.sla_stage,
        store.action_events(session, handoff.id),
        handoff.completed_at is not None,
        handoff.effective_due_at,
    )


def act_on_ping(
    db: Database,
    ws: int,
    handoff_id: int | None,
    action: Literal["ack", "done"],
    *,
    user_slack: str,
    admins: Collection[str],
    now: dt.datetime,
) -> PingState:
    """Acknowledge or finish the handoff of a ping (pressing twice does nothing twice); its state after.
    Raises ``NoSuchHandoff`` or ``NotAllowed``."""
    with db.write() as session:
        handoff = _ping_handoff(session, ws, handoff_id)
        refusal = may(session, handoff, user_slack, admins, action)
        if refusal is not None:
            raise refusal
        me = person_by_slack_id(session, ws, user_slack)
        act = sla.acknowledge if action == "ack" else sla.finish
        act(session, handoff, me.id if me else None, now, user_slack)
        session.flush()
        return _state(session, handoff)


@dataclass(frozen=True)
class SnoozeOffer:
    handoff_id: int
    account: str
    max_hours: float


def snooze_offer(
    db: Database,
    ws: int,
    handoff_id: int | None,
    *,
    user_slack: str,
    admins: Collection[str],
    config: SlaConfig,
) -> SnoozeOffer | None:
    """What the Snooze dialog offers (the policy's allowance); None when the handoff is gone or done.
    Raises ``NotAllowed``."""
    with db.read() as session:
        handoff = store.handoff_in(session, ws, handoff_id) if handoff_id is not None else None
        if handoff is None or handoff.completed_at is not None:
            return None
        refusal = may(session, handoff, user_slack, admins, "snooze")
        if refusal is not None:
            raise refusal
        policy = sla.policy_of(session, config, handoff)
        account = store.account_name(session, handoff.account_id) or ""
        return SnoozeOffer(handoff.id, account, policy.max_snooze_hours)


def snooze(
    db: Database,
    ws: int,
    handoff_id: int | None,
    hours: float,
    reason: str,
    *,
    user_slack: str,
    admins: Collection[str],
    now: dt.datetime,
    config: SlaConfig,
) -> PingState:
    """Stop the handoff's clock for ``hours``; its state after. Raises ``NoSuchHandoff``,
    ``NotAllowed`` or ``sla.SlaError`` (beyond the policy's snooze allowance, or done)."""
    with db.write() as session:
        handoff = _ping_handoff(session, ws, handoff_id)
        refusal = may(session, handoff, user_slack, admins, "snooze")
        if refusal is not None:
            raise refusal
        me = person_by_slack_id(session, ws, user_slack)
        sla.snooze(session, config, handoff, hours, reason, me.id if me else None, now, user_slack)
        return _state(session, handoff)


# --- sales→CS on closed/won ----------------------------------------------------------------------------


def open_for_closed_won(db: Database, ws: int, config: SlaConfig, now: dt.datetime, *, days: int = 7) -> int:
    """A CRM closed/won starts the sales→CS handoff: each account closed/won in the last ``days`` days
    without one gets it under the sales_to_cs policy (if there is one), owned by its CSM — once, the
    external id being the claim. The clock starts when the bot learns of the closed/won."""
    if not any(p.kind == "sales_to_cs" for p in config.policies):
        return 0
    with db.write() as session:
        accounts = store.closed_won_without_handoff(
            session, ws, "sales_to_cs", now.date() - dt.timedelta(days=days), now.date()
        )
        opened = 0
        for account in accounts:
            policy = config.policy_for("sales_to_cs", account.segment)
            if policy is None:
                continue
            owner = _default_owner(session, account, "cs")
            external_id = f"closed-won:{account.external_id}"
            opened += _opened(session, ws, config, policy, account, owner, external_id[:64], now).new
        return opened
