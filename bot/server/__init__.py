"""How the bot runs: the Application wired together, the webhook, the metrics page."""
