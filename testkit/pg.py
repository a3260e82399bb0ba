"""A fresh, empty PostgreSQL database per test session or bench run, and dropping it afterwards."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, make_url, text


def create_database(admin_url: str, prefix: str) -> str:
    """Create ``<prefix>_<random>`` on the server of ``admin_url`` and return its URL (with password).

    Raises the driver's error when no server answers; the caller decides whether that skips or fails.
    """
    admin = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of ``url``, closing its open connections, through ``admin_url``."""
    engine = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        engine.dispose()
