"""Source adapters behind one protocol: douyin, kuaishou, tiktok, site, urls (see `base.SOURCES`)."""

from __future__ import annotations

import importlib

from crawler.sources.base import SOURCES, Candidate, Source, SourceContext, get_source, ref_key, register

_MODULES = ("crawler.sources.site", "crawler.sources.urls", "crawler.sources.platforms")


def load_all() -> None:
    """Import every adapter module so that each registers itself."""
    for module in _MODULES:
        importlib.import_module(module)


__all__ = ["SOURCES", "Candidate", "Source", "SourceContext", "get_source", "load_all", "ref_key", "register"]
