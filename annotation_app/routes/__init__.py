"""Thin HTTP routes over the services: JSON API, media, and browser pages."""
