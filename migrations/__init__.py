"""Alembic environment and the linear history of schema revisions (URL from settings)."""
