"""Alembic migrations of the ledger (run by `bot.ledger.db.init_db`)."""
