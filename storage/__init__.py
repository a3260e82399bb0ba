"""The metrics store: SQL only (models, sessions, migrations, import, demo data and queries); imports
nothing of ours."""
