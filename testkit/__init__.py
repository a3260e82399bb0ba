"""Test doubles shared by tests/ and bench/: the fake Slack Web API and fresh PostgreSQL databases.

Not installed (not in ``packages.find``): it is imported from the repository root, which pytest and
``python bench/<name>.py`` both put on ``sys.path``.
"""
