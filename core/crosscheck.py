"""Cross-check set drawing (stages sA, sB): the one sampling rule behind the app's draw and QA's plan.

Pure Python, no I/O: samples in, sets out. A sample's place in the draw is a seeded hash of its id, so
a draw does not depend on the order the samples arrive in, and drawing sA and later sB from what is
left gives the same sets as drawing both stages at once (while no category runs short).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.errors import ConfigError
from core.groups import group_order
from core.taxonomy import Category

# Sets per category and stage, in the paper's set order (this order fixes the index i of Eq. 2 / 3).
DEFAULT_LAYOUT: dict[str, int] = {
    Category.NEUTRAL.value: 3, Category.EXCITATION.value: 2, Category.SADNESS.value: 1,
    Category.RELAXATION.value: 1, Category.TENSION.value: 1, Category.FEAR.value: 1,
}


@dataclass(frozen=True, slots=True)
class DrawnSet:
    """One cross-check set: samples `origin_group` labelled `category`, re-labelled by `target_group`."""

    stage: str
    origin_group: str
    target_group: str
    category: str
    number: int  # 1-based, within (stage, origin group, category)
    items: tuple[str, ...]

    @property
    def set_id(self) -> str:
        return f"{self.stage}-{self.origin_group}-{self.category}-{self.number}"


def draw_key(seed: int, item: str) -> bytes:
    """The seeded place of a sample in every cross-check draw (BLAKE2b of seed and sample id)."""
    return hashlib.blake2b(f"{seed}:crosscheck:{item}".encode(), digest_size=8).digest()


def stage_sizes(available: int, sets_per_stage: int, n_stages: int, set_size: int) -> list[int]:
    """Sizes of one stage's sets of a category: `set_size` each when the samples suffice.

    Otherwise every stage gets the same share (available // n_stages), spread over its sets as evenly
    as possible (sizes differ by at most one; a size of 0 means the set is not drawn).
    """
    share = min(available // n_stages, sets_per_stage * set_size)
    base, extra = divmod(share, sets_per_stage)
    return [base + (k < extra) for k in range(sets_per_stage)]


def _shortfall(group: str, category: str, available: int, needed: int, set_size: int, sizes: list[int],
               n_stages: int) -> str:
    made = [s for s in sizes if s]
    if not made:
        how = "no sets"
    else:
        count, lo, hi = len(made) * n_stages, min(made), max(made)
        how = f"{count} set{'s' if count != 1 else ''} of {lo if lo == hi else f'{lo} to {hi}'}"
    return f"group {group}: {available} {category} samples for {needed} sets of {set_size}: {how}"


def draw_sets(labels: Iterable[tuple[str, str, str]], partners: Mapping[str, str], *,
              stages: Sequence[str] = ("sA",), set_size: int = 100, layout: Mapping[str, int] | None = None,
              seed: int = 0) -> tuple[list[DrawnSet], list[str]]:
    """Draw disjoint sets per (origin group, category) for every stage and hand them to the partner group.

    `labels` holds (sample id, origin group, previous label); labels outside the layout (e.g. 'more')
    are never drawn. Groups without a partner, or partnered with themselves, hand out nothing. Returns
    the sets (groups in name order, categories in layout order, stages in the given order) and one
    warning per (group, category) whose sets had to shrink.
    """
    layout = dict(DEFAULT_LAYOUT if layout is None else layout)
    if set_size < 1:
        raise ConfigError("cross-check set size must be at least 1")
    if not stages or len(set(stages)) != len(stages):
        raise ConfigError(f"cross-check stages {list(stages)}: give one or more distinct names")
    pools: dict[str, dict[str, list[str]]] = {}
    for item, group, label in labels:
        if label in layout:
            pools.setdefault(str(group), {}).setdefault(label, []).append(str(item))
    sets: list[DrawnSet] = []
    warnings: list[str] = []
    for group in sorted(pools, key=group_order):
        target = partners.get(group)
        if target is None or target == group:
            continue
        for category, per_stage in layout.items():
            if per_stage < 1:
                continue
            pool = sorted(set(pools[group].get(category, ())), key=lambda x: (draw_key(seed, x), x))
            sizes = stage_sizes(len(pool), per_stage, len(stages), set_size)
            if sum(sizes) < per_stage * set_size:
                warnings.append(_shortfall(group, category, len(pool), per_stage * len(stages), set_size, sizes,
                                           len(stages)))
            start = 0
            for stage in stages:
                for number, size in enumerate(sizes, start=1):
                    if size:
                        sets.append(DrawnSet(stage, group, target, category, number,
                                             tuple(pool[start:start + size])))
                        start += size
    return sets, warnings
