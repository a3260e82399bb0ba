"""Workspaces (tenants): every other query is scoped to the id these functions return."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Workspace
from storage.upsert import insert_ignore


def ensure_workspace(session: Session, slug: str, *, now: dt.datetime, timezone: str = "UTC") -> int:
    """The id of the workspace ``slug``, created if it does not exist yet (safe under concurrency)."""
    found = session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    if found is not None:
        return found
    insert_ignore(
        session, Workspace, [{"slug": slug, "name": slug, "timezone": timezone, "created_at": now}], ["slug"]
    )
    return session.scalars(select(Workspace.id).where(Workspace.slug == slug)).one()


def find_workspace(session: Session, slug: str) -> int | None:
    return session.scalar(select(Workspace.id).where(Workspace.slug == slug))
