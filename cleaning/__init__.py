"""Cleaning stage: probe, filter, de-duplicate and normalise videos (and make synthetic fixtures)."""
