"""The messages owed when plays open: the ``Notify`` hook ``services.plays`` calls in the transaction
that opened them (``notifier``).

One message per recipient per call: an evaluation that opens many plays for one person sends ONE
message listing them (a roll-up, each play with its buttons, ``blocks.plays``), never one each. The
recipient is the owner (a DM), else the play's fallback channel; a play with neither is only listed
(``/plays``, App Home) and counted in the log. Each message is claimed in the delivery ledger under
(workspace, ``play``, "<recipient>:<first play id>:<n>"): the play ids are new in this transaction, so
the key is this message's alone, and a retried or racing evaluation (which inserts no play) queues
nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from blocks.plays import play_message
from services import plays
from services.policies import Policies
from storage import deliveries

logger = logging.getLogger(__name__)

PLAY_MESSAGE = "play"  # the delivery kind of a play's message (one play, or a roll-up)


def queue_messages(
    session: Session,
    ws: int,
    play_ids: list[int],
    now: dt.datetime,
    *,
    policies: Policies,
    tag: str = "",
) -> int:
    """Queue one message per recipient for these plays, in the caller's transaction; returns how many."""
    if not play_ids:
        return 0
    views = plays.views(session, ws, sorted(play_ids), policies, now)
    groups: dict[str, list[plays.PlayView]] = {}
    nobody = 0
    for view in views:
        if view.row.state == "closed":
            continue
        to = view.row.owner_slack or view.row.owner_channel or policies.play_settings.fallback_channel
        if to is None:
            nobody += 1
            continue
        groups.setdefault(to, []).append(view)
    if nobody:
        logger.warning("%d new plays have no owner with a Slack id and no fallback channel", nobody)
    rows = []
    for to, mine in groups.items():
        mine.sort(key=lambda v: (v.row.due_at or now, v.row.id))
        args = play_message(mine, now)
        fallback = policies.play_settings.fallback_channel
        if fallback and to != fallback:
            args["_fallback"] = fallback  # an owner who left: the channel
        subject = f"{to}:{min(v.row.id for v in mine)}:{len(mine)}{tag}"
        rows.append((ws, PLAY_MESSAGE, subject, to, args))
    if rows:
        deliveries.enqueue_many(session, rows, now)
    return len(rows)


def notifier(policies: Policies) -> plays.Notify:
    """The ``Notify`` hook for plays opened by a signal or by hand: their owners' messages."""

    def notify(session: Session, ws: int, play_ids: list[int], now: dt.datetime) -> int:
        return queue_messages(session, ws, play_ids, now, policies=policies)

    return notify


def reassign_notifier(policies: Policies) -> plays.Notify:
    """The hook for a reassigned play: its new owner's message (a key of its own: a play may come back
    to someone it left)."""

    def notify(session: Session, ws: int, play_ids: list[int], now: dt.datetime) -> int:
        return queue_messages(session, ws, play_ids, now, policies=policies, tag=f":r{now.timestamp():.0f}")

    return notify
