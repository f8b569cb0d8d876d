"""Alembic migrations of the records database, run with :mod:`pointillist.store.migrate`."""
