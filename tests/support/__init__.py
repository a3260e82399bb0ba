"""What tests share: the fixed clock (``NOW``), loaders, the running bot, and the small data sets.

Tests import from here (and from ``testkit``), never from each other or from ``conftest``.
"""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
