"""The only code that changes state, one package per domain (docs/ARCHITECTURE.md):
checkout (money in), outbox (merchant webhooks out), reporting (the portal's numbers) and
accounts (users, projects, credentials). Each public function owns its transaction."""
