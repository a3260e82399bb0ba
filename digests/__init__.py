"""The shared scorecard (periods, KPIs, owner teams) and, later, the weekly digests built from it."""
