"""Alembic revision files (Alembic itself ignores this ``__init__``; it makes the folder a package so it is installed)."""
