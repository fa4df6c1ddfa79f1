"""The label vocabulary of a build: the six eMotions categories, or a source dataset's own classes (e.g. VE-8)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.taxonomy import CATEGORIES


@dataclass(frozen=True)
class Vocabulary:
    """Category names in class-index order, with a polarity per name where one is known."""

    names: tuple[str, ...]
    polarity: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {n.lower(): n for n in self.names})

    def parse(self, raw: str) -> str | None:
        """The canonical spelling of `raw` (case-insensitive, trimmed), or None when it is not a category."""
        return self._by_key.get(str(raw).strip().lower())  # type: ignore[attr-defined]

    def keys(self) -> dict[str, str]:
        """Lower-case name -> canonical name (for vectorised mapping)."""
        return dict(self._by_key)  # type: ignore[attr-defined]

    def index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    @property
    def is_emotions(self) -> bool:
        return self.names == EMOTIONS.names


EMOTIONS = Vocabulary(tuple(c.value for c in CATEGORIES), {c.value: c.polarity.value for c in CATEGORIES})


def vocabulary(categories: Iterable[str] | None = None, polarity: Mapping[str, str] | None = None) -> Vocabulary:
    """The eMotions vocabulary (None), or the given names sorted case-insensitively (class index = position).

    Names that are eMotions categories keep their polarity; `polarity` sets or overrides others.
    """
    if categories is None:
        return EMOTIONS
    seen: dict[str, str] = {}
    for name in categories:
        clean = str(name).strip()
        if clean and clean.lower() not in seen:
            seen[clean.lower()] = clean
    names = tuple(sorted(seen.values(), key=lambda n: (n.lower(), n)))
    if names == EMOTIONS.names:
        return EMOTIONS
    known = {k.lower(): v for k, v in EMOTIONS.polarity.items()}
    given = {k.strip().lower(): v for k, v in (polarity or {}).items()}
    return Vocabulary(names, {n: given.get(n.lower(), known.get(n.lower())) for n in names})
