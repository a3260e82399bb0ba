"""The claims of once-a-day jobs (``job_runs``): one row per workspace, job and subject."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.models import JobRun
from storage.upsert import insert_ignore


def claim_job_run(session: Session, ws: int, job: str, subject: str, now: dt.datetime) -> bool:
    """Claim ``job`` for ``subject`` in this workspace. Claim and work share the caller's transaction:
    if the work fails, the claim is rolled back with it and the next tick tries again."""
    return bool(
        insert_ignore(
            session,
            JobRun,
            [{"workspace_id": ws, "job": job, "subject": subject, "started_at": now, "finished_at": now}],
            ["workspace_id", "job", "subject"],
        )
    )


# --- warehouse sync: claimed before the work, finished after it ---


def start_job_run(session: Session, ws: int, job: str, subject: str, now: dt.datetime) -> bool:
    """Claim ``job`` for ``subject`` with no finish time yet; the caller commits the claim before the
    work (so other replicas skip at once) and calls ``finish_job_run`` when the work succeeded."""
    return bool(
        insert_ignore(
            session,
            JobRun,
            [{"workspace_id": ws, "job": job, "subject": subject, "started_at": now, "finished_at": None}],
            ["workspace_id", "job", "subject"],
        )
    )


def finish_job_run(session: Session, ws: int, job: str, subject: str, now: dt.datetime) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.workspace_id == ws, JobRun.job == job, JobRun.subject == subject)
        .values(finished_at=now)
    )
def last_run(session: Session, ws: int) -> tuple[str, dt.datetime] | None:
    """The workspace's latest claimed job and when it started (the scheduler's last sign of life)."""
    from sqlalchemy import select

    row = session.execute(
        select(JobRun.job, JobRun.started_at)
        .where(JobRun.workspace_id == ws)
        .order_by(JobRun.started_at.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])
