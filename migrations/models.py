"""Imports every module that defines ORM models, so Base.metadata is complete for Alembic."""

import annotation_app.models  # noqa: F401
