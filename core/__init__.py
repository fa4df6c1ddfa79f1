"""Shared foundation of the emotions toolkit: settings, taxonomy, errors, database plumbing, CLI root."""

__version__ = "0.1.0"
