"""The delivery ledger (outbox): every message the bot posts on its own — digests and their thread
replies, shout-outs, notices to admins — is a row here before it is a message in Slack.

Enqueueing inserts the row under its unique key (workspace, kind, subject), so the same digest or
shout-out can be enqueued by any number of replicas, restarts or retries and exists once. Sending
leases rows with a compare-and-set UPDATE (only one sender gets each), and the outcome is written back:
posted with Slack's ``ts``, retry at a later time, failed, or uncertain (see ``models.Delivery``).
A message that nobody can receive yet (an SLA ping on data without Slack ids) waits in the ledger,
unsent, until someone can (``enqueue_waiting``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.bulk import insert_ignore_many
from storage.models import Delivery, Workspace
from storage.upsert import insert_ignore

PENDING, SENDING, POSTED, RETRY, FAILED, UNCERTAIN, WAITING = (
    "pending",
    "sending",
    "posted",
    "retry",
    "failed",
    "uncertain",
    "waiting",
)
STATES = (PENDING, SENDING, POSTED, RETRY, FAILED, UNCERTAIN, WAITING)
KEY = ["workspace_id", "kind", "subject"]


@dataclass(frozen=True)
class Outgoing:
    """One leased message, with what the sender needs to post it."""

    id: int
    workspace_id: int
    kind: str
    subject: str
    channel_id: str
    args: dict[str, Any]  # chat.postMessage arguments, channel included
    attempts: int  # including this one
    created_at: dt.datetime
    parent_id: int | None
    parent_ts: str | None  # the parent's ts when it was posted before this lease
    recovering: bool  # a lease that ran out: Slack may already have this message

    @property
    def key(self) -> str:
        """What identifies the message in Slack (its metadata), to find it again after a crash."""
        return f"{self.workspace_id}:{self.kind}:{self.subject}"


def enqueue(
    session: Session,
    ws: int,
    *,
    kind: str,
    subject: str,
    channel_id: str,
    args: dict[str, Any],
    now: dt.datetime,
    thread: dict[str, Any] | None = None,
    state: str = PENDING,
    error: str | None = None,
    files: dict[str, Any] | None = None,
) -> int | None:
    """Claim (kind, subject) and store its message, plus an optional thread reply (kind + "_thread")
    sent after it, and optional files uploaded into its thread (kind + "_files", see
    ``bot.outbox``). Returns the message's id, or None when it was claimed before (nothing written)."""
    row = {
        "workspace_id": ws,
        "kind": kind,
        "subject": subject[:200],
        "channel_id": channel_id,
        "state": state,
        "attempts": 0,
        "last_error": error,
        "payload": args,
        "created_at": now,
        "updated_at": now,
        "next_attempt_at": now,
    }
    if not insert_ignore(session, Delivery, [row], KEY):
        return None
    parent = session.scalar(
        select(Delivery.id).where(
            Delivery.workspace_id == ws, Delivery.kind == kind, Delivery.subject == row["subject"]
        )
    )
    if thread is not None:
        insert_ignore(
            session,
            Delivery,
            [{**row, "kind": f"{kind}_thread", "payload": thread, "parent_id": parent}],
            KEY,
        )
    if files is not None:
        insert_ignore(
            session,
            Delivery,
            [{**row, "kind": f"{kind}_files", "payload": files, "parent_id": parent}],
            KEY,
        )
    return parent


ENQUEUE_COLUMNS = (
    "workspace_id",
    "kind",
    "subject",
    "channel_id",
    "state",
    "attempts",
    "payload",
    "created_at",
    "updated_at",
    "next_attempt_at",
)


def enqueue_many(
    session: Session, rows: Sequence[tuple[int, str, str, str, dict[str, Any]]], now: dt.datetime
) -> None:
    """Claim many messages at once — (workspace_id, kind, subject, channel_id, chat.postMessage
    arguments) each — skipping any whose key exists. For fan-outs of thousands (SLA pings), where
    ``enqueue`` goes row by row: a bulk write (COPY on PostgreSQL) and one INSERT … ON CONFLICT."""
    insert_ignore_many(
        session,
        Delivery.__table__,  # type: ignore[arg-type]
        ENQUEUE_COLUMNS,
        [
            (ws, kind, subject[:200], channel, PENDING, 0, args, now, now, now)
            for ws, kind, subject, channel, args in rows
        ],
        KEY,
    )


def enqueue_waiting(
    session: Session, rows: Sequence[tuple[int, str, str, dict[str, Any], str]], now: dt.datetime
) -> None:
    """Claim messages that nobody can receive yet — (workspace_id, kind, subject, payload, why) each,
    the subject or payload saying what to build them from — as ``waiting``: never leased, never sent
    as they are. Whoever can address them later claims them back (``claim_waiting``) and queues the
    real messages."""
    insert_ignore_many(
        session,
        Delivery.__table__,  # type: ignore[arg-type]
        (*ENQUEUE_COLUMNS, "last_error"),
        [
            (ws, kind, subject[:200], "", WAITING, 0, what, now, now, None, why)
            for ws, kind, subject, what, why in rows
        ],
        KEY,
    )


def waiting(session: Session, kind: str) -> list[tuple[int, int, str, str | None]]:
    """The ``waiting`` rows of a kind: (id, workspace_id, subject, why)."""
    return [
        (row.id, row.workspace_id, row.subject, row.last_error)
        for row in session.execute(
            select(Delivery.id, Delivery.workspace_id, Delivery.subject, Delivery.last_error)
            .where(Delivery.state == WAITING, Delivery.kind == kind)
            .order_by(Delivery.id)
        )
    ]


def still_waiting(session: Session, delivery_id: int, why: str, now: dt.datetime) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == WAITING)
        .values(last_error=why, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def claim_waiting(session: Session, ids: Sequence[int]) -> set[int]:
    """Take waiting rows out of the ledger (they are handed on, or no longer needed); returns the ids
    this call removed — a second sweeper racing for them gets none, so it queues nothing twice."""
    taken: set[int] = set()
    ordered = sorted(ids)
    for chunk in range(0, len(ordered), 5000):
        result = session.execute(
            delete(Delivery)
            .where(Delivery.id.in_(ordered[chunk : chunk + 5000]), Delivery.state == WAITING)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        taken.update(result.scalars())
    return taken


def lease(
    session: Session, now: dt.datetime, *, lease_for: dt.timedelta, limit: int = 5000
) -> list[Outgoing]:
    """Take the messages that are ready to send (or whose sender's lease ran out) for ``lease_for``.

    A thread reply is taken only with, or after, its message. Disabled workspaces are skipped.
    The UPDATE re-checks each row's state, so two senders never take the same row; it returns the
    messages themselves, so each payload is read once, by the sender that got it.
    """
    parent = aliased(Delivery)
    ready = or_(
        and_(Delivery.state.in_((PENDING, RETRY)), Delivery.next_attempt_at <= now),
        and_(Delivery.state == SENDING, Delivery.next_attempt_at < now),
    )
    rows = session.execute(
        select(Delivery.id, Delivery.state, Delivery.parent_id, parent.state, parent.slack_ts)
        .join(Workspace, Workspace.id == Delivery.workspace_id)
        .outerjoin(parent, parent.id == Delivery.parent_id)
        .where(ready, Workspace.disabled_reason.is_(None))
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    parent_ts = {i: p_ts for i, _, parent_id, p_state, p_ts in rows if parent_id is None or p_state == POSTED}
    # A reply whose message is taken in this same lease follows it.
    parent_ts.update({i: None for i, _, parent_id, _, _ in rows if parent_id in parent_ts})
    if not parent_ts:
        return []
    stale = {i for i, state, *_ in rows if i in parent_ts and state == SENDING}
    taken: dict[int, Any] = {}
    for ids, from_state, due in (
        (set(parent_ts) - stale, (PENDING, RETRY), Delivery.next_attempt_at <= now),
        (stale, (SENDING,), Delivery.next_attempt_at < now),
    ):
        if not ids:
            continue
        result = session.execute(
            update(Delivery)
            .where(Delivery.id.in_(sorted(ids)), Delivery.state.in_(from_state), due)
            .values(
                state=SENDING,
                attempts=Delivery.attempts + 1,
                next_attempt_at=now + lease_for,
                updated_at=now,
            )
            .returning(
                Delivery.id,
                Delivery.workspace_id,
                Delivery.kind,
                Delivery.subject,
                Delivery.channel_id,
                Delivery.payload,
                Delivery.attempts,
                Delivery.created_at,
                Delivery.parent_id,
            )
            .execution_options(synchronize_session=False)
        )
        taken.update((row.id, row) for row in result)
    out, orphans = [], []
    for i in sorted(taken):
        row = taken[i]
        if row.parent_id is not None and row.parent_id not in taken and parent_ts[i] is None:
            orphans.append(i)  # its message was taken by another sender meanwhile
            continue
        out.append(
            Outgoing(
                row.id,
                row.workspace_id,
                row.kind,
                row.subject,
                row.channel_id,
                dict(row.payload or {}),
                row.attempts,
                row.created_at,
                row.parent_id,
                parent_ts[i],
                i in stale,
            )
        )
    if orphans:
        release(session, orphans, now)
    return out


def release(session: Session, ids: Sequence[int] | set[int], now: dt.datetime) -> None:
    """Give leased rows back untried (their message was not posted in this round)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(sorted(ids)), Delivery.state == SENDING)
        .values(state=PENDING, attempts=Delivery.attempts - 1, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def finish(
    session: Session,
    delivery_id: int,
    state: str,
    now: dt.datetime,
    *,
    ts: str | None = None,
    error: str | None = None,
    retry_at: dt.datetime | None = None,
) -> None:
    """Record the outcome of a send; only a row still leased (``sending``) is changed."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == SENDING)
        .values(
            state=state,
            slack_ts=ts,
            last_error=error,
            next_attempt_at=retry_at,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def finish_posted(session: Session, posted: Sequence[tuple[int, str | None]], now: dt.datetime) -> None:
    """``finish(…, POSTED, ts=…)`` for many rows — (id, Slack ts) each — as one statement executed for
    them all (executemany), not one compiled ORM UPDATE per message of a fan-out."""
    if not posted:
        return
    table = Delivery.__table__
    statement = (
        update(table)  # type: ignore[arg-type]
        .where(table.c.id == bindparam("b_id"), table.c.state == SENDING)
        .values(
            state=POSTED, slack_ts=bindparam("b_ts"), last_error=None, next_attempt_at=None, updated_at=now
        )
    )
    session.execute(statement, [{"b_id": i, "b_ts": ts} for i, ts in posted])


def recent(
    session: Session, ws: int, *, limit: int = 50, states: Sequence[str] | None = None
) -> list[Delivery]:
    query = select(Delivery).where(Delivery.workspace_id == ws)
    if states:
        query = query.where(Delivery.state.in_(list(states)))
    return list(session.scalars(query.order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(limit)))


def retry(session: Session, ws: int, delivery_id: int, now: dt.datetime) -> Delivery | None:
    """An operator's decision to send a failed or uncertain message (again): back to pending, due
    at once. Due from when it was first queued, not from ``now``: the command may run on a host whose
    clock is ahead of the worker's, and "retry" must not mean "retry once the worker catches up"."""
    row = session.get(Delivery, delivery_id)
    if row is None or row.workspace_id != ws or row.state not in (FAILED, UNCERTAIN):
        return None
    row.state, row.next_attempt_at, row.updated_at = PENDING, min(row.created_at, now), now
    return row


def state_of(session: Session, ws: int, delivery_id: int) -> str | None:
    """The state of the workspace's delivery ``delivery_id``; None when it has none of that id."""
    return session.scalar(
        select(Delivery.state).where(Delivery.id == delivery_id, Delivery.workspace_id == ws)
    )


def taken(session: Session, kind: str, subjects: Sequence[str]) -> set[tuple[int, str]]:
    """Which of ``subjects`` of ``kind`` are in the ledger already, as (workspace id, subject)."""
    rows = session.execute(
        select(Delivery.workspace_id, Delivery.subject).where(
            Delivery.kind == kind, Delivery.subject.in_(list(subjects))
        )
    )
    return {(ws, subject) for ws, subject in rows}


SHARE = "share"


def claim_share(session: Session, ws: int, *, subject: str, channel_id: str, now: dt.datetime) -> bool:
    """Record that ``subject`` (a message and what it shares) was shared; False when it was already:
    a second press, a double click or a retried request then posts nothing more."""
    row = {
        "workspace_id": ws,
        "kind": SHARE,
        "subject": subject[:200],
        "channel_id": channel_id,
        "state": "posted",
        "attempts": 1,
        "created_at": now,
        "updated_at": now,
    }
    return bool(insert_ignore(session, Delivery, [row], ["workspace_id", "kind", "subject"]))
