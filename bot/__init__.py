"""retention-bot: settings, the app factory, the CLI and (later) the server, scheduler and Slack delivery."""
