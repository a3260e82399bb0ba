"""The metrics store: models, sessions, migrations, import, demo data, metrics and health queries."""
