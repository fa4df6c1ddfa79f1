"""Annotation group names (A, B, … Z, AA, …) and exchange partners: one syntax, one parser for app and QA."""

from __future__ import annotations

import logging
import string
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache

from core.errors import ConfigError

log = logging.getLogger(__name__)

SYNTAX = "A:B,B:C,C:A"  # origin group : the group that takes its exchange votes and cross-check sets


def group_name(index: int) -> str:
    """A, B, … Z, AA, AB, … (spreadsheet-style) for the group at 0-based `index`."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = string.ascii_uppercase[rest] + name
    return name


def group_order(name: str) -> tuple[int, str]:
    """Sort key that puts groups in name order: A … Z, AA … (and G2 before G10)."""
    return len(name), name


@lru_cache(maxsize=64)
def _log_deprecated(spec: str) -> None:
    """Log the deprecated form once per spec and process (the hot paths parse the setting on every call)."""
    log.warning("exchange partners %r use the deprecated 'A=B' form; write %r", spec, spec.replace("=", ":"))


def parse_pairs(spec: str) -> dict[str, str]:
    """'A:B,B:C' -> {'A': 'B', 'B': 'C'} (spaces ignored; empty -> {}).

    The older 'A=B' form is still read, with a DeprecationWarning (and one logged warning).
    Raises ConfigError on a pair without a separator or with an empty side, or a group named twice.
    """
    pairs: dict[str, str] = {}
    deprecated = False
    for part in filter(None, (p.strip() for p in spec.split(","))):
        sep = ":" if ":" in part else "="
        src, found, dst = part.partition(sep)
        src, dst = src.strip(), dst.strip()
        if not found or not src or not dst:
            raise ConfigError(f"exchange partners {spec!r}: {part!r} is not a pair", remedy=f"write {SYNTAX!r}")
        if src in pairs:
            raise ConfigError(f"exchange partners {spec!r}: group {src} is named twice", remedy=f"write {SYNTAX!r}")
        deprecated |= sep == "="
        pairs[src] = dst
    if deprecated:
        warnings.warn(f"exchange partners {spec!r}: the 'A=B' form is deprecated; write 'A:B'",
                      DeprecationWarning, stacklevel=2)
        _log_deprecated(spec)
    return pairs


def exchange_partners(groups: Iterable[str], spec: str | Mapping[str, str] = "", *,
                      complete: bool = False) -> dict[str, str]:
    """Origin group -> partner group: cyclic in name order (A->B->C->A) unless `spec` says otherwise.

    `spec` is '' or 'cyclic' (the default rotation), 'A:B,B:C,C:A', or a mapping. By default it may
    name only some groups (the others keep their cyclic partner). With `complete` (the cross-check
    plan) it must name every group and make a permutation, so that each group receives exactly one
    group's sets. A group is never its own partner by choice. Raises ConfigError.
    """
    ordered = sorted(set(groups), key=group_order)
    if isinstance(spec, Mapping):
        pairs = {str(k).strip(): str(v).strip() for k, v in spec.items()}
    else:
        pairs = {} if spec.strip() in ("", "cyclic") else parse_pairs(spec)
    shown = spec if isinstance(spec, str) else ",".join(f"{k}:{v}" for k, v in pairs.items())
    unknown = sorted({*pairs, *pairs.values()} - set(ordered), key=group_order)
    if unknown:
        raise ConfigError(f"exchange partners {shown!r} name unknown group(s) {', '.join(unknown)}",
                          remedy=f"the groups are {', '.join(ordered) or 'none'}")
    own = sorted((k for k, v in pairs.items() if k == v), key=group_order)
    if own:
        raise ConfigError(f"exchange partners {shown!r}: group {own[0]} may not be its own partner")
    mapping = {g: ordered[(i + 1) % len(ordered)] for i, g in enumerate(ordered)}
    if complete:
        if len(ordered) < 2:
            raise ConfigError("an exchange between groups needs at least two groups")
        if pairs and (set(pairs) != set(ordered) or len(set(pairs.values())) != len(ordered)):
            raise ConfigError(f"exchange partners {shown!r}: must send each of {', '.join(ordered)} to exactly "
                              "one other group, each receiving from one", remedy=f"write e.g. {SYNTAX!r}")
    return mapping | pairs
