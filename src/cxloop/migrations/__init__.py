"""Alembic migrations (batch mode so SQLite can alter tables)."""
