"""The escalation ladder as one pure function: votes so far + completed stage -> resolved or next rung."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Rule = Literal["plurality", "strict"]
LADDER: tuple[str, ...] = ("member", "leader", "exchange", "expert")


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to a sample after a stage completes.

    `resolved` with `category` and `decided_stage`, or not resolved with `next_stage`;
    `pattern` is the vote count pattern by category, highest first ("2-1-1").
    """

    resolved: bool
    category: str | None
    decided_stage: str | None
    next_stage: str | None
    pattern: str


def pattern_of(categories: Sequence[str]) -> str:
    """Vote counts per category, highest first, joined by '-' (e.g. ['a','b','a'] -> '2-1')."""
    return "-".join(str(n) for n in sorted(Counter(categories).values(), reverse=True))


def winner(categories: Sequence[str], rule: Rule = "plurality") -> str | None:
    """The category that wins under `rule`, or None.

    plurality: the highest count is >= 2 and held by exactly one category.
    strict: one category holds more than half of all votes cast.
    """
    if not categories:
        return None
    ranked = Counter(categories).most_common()
    top_category, top = ranked[0]
    if rule == "strict":
        return top_category if top * 2 > len(categories) else None
    if rule != "plurality":
        raise ValueError(f"unknown vote rule {rule!r}; known: plurality, strict")
    if top < 2 or (len(ranked) > 1 and ranked[1][1] == top):
        return None
    return top_category


def decide(categories: Sequence[str], stage: str, rule: Rule = "plurality") -> Decision:
    """Apply the ladder after `stage` completed, counting every vote cast so far (all stages) by category.

    The expert's stage always resolves with the expert's (last) vote; any other stage resolves
    when `winner` finds one, else the sample moves one rung up.
    """
    if stage not in LADDER:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(LADDER)}")
    if not categories:
        raise ValueError("a stage cannot complete without votes")
    pattern = pattern_of(categories)
    if stage == "expert":
        return Decision(True, categories[-1], "expert", None, pattern)
    found = winner(categories, rule)
    if found is not None:
        return Decision(True, found, stage, None, pattern)
    return Decision(False, None, None, LADDER[LADDER.index(stage) + 1], pattern)
