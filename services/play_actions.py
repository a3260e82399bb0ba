"""What the Slack surfaces of plays ask before they show a dialog: may this person act on this play
(``services.plays.may``, the same rule the change itself checks), and is it still open. Asked when a
button opens a dialog, so a stranger is refused at once and privately, not after filling it in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from services import plays
from services.policies import Policies
from storage import plays as store
from storage.db import Database


def checked(
    db: Database,
    ws: int,
    play_id: int | None,
    *,
    user_id: str,
    admins: Collection[str],
    action: plays.Action,
    policies: Policies,
    now: dt.datetime,
) -> plays.PlayView:
    """The play, if ``user_id`` may ``action`` it and it is not closed; else ``PlayNotFound``,
    ``PlayNotAllowed`` or ``PlayIsClosed``."""
    if play_id is None:
        raise plays.PlayNotFound(0)
    with db.read() as session:
        rows = store.plays_by_ids(session, ws, [play_id])
        if not rows:
            raise plays.PlayNotFound(play_id)
        refusal = plays.may(session, ws, rows[0].owner_id, user_id, admins, action)
        if refusal is not None:
            raise refusal
        if rows[0].state == "closed":
            raise plays.PlayIsClosed(rows[0])
        return plays.views(session, ws, [play_id], policies, now)[0]
