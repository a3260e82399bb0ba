"""Slash commands: one module per command (parse → call a service → build a reply).

The Slack app issue fills this package; the services it calls (account lookup, health, scorecard)
live in ``storage`` and ``digests`` and are already used by the CLI.
"""
