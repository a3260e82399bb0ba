"""retention-bot wiring: settings, the CLI, the app factory, the server, the scheduler, the Slack client,
tokens, OAuth and the outbox that delivers what the other rooms build."""
