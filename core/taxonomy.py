"""The emotion taxonomy: six categories, their polarity, and the versioned 62-adjective table."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from core.errors import TaxonomyError

TAXONOMY_VERSION = "v1"
_SHIPPED_TABLE = Path(__file__).with_name("data") / f"adjectives-{TAXONOMY_VERSION}.csv"
_REQUIRED_COLUMNS = ("id", "category", "en", "zh_hans")


class Polarity(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Category(StrEnum):
    """The six eMotions categories; definition order is the class index order (alphabetical)."""

    EXCITATION = "Excitation"
    FEAR = "Fear"
    NEUTRAL = "Neutral"
    RELAXATION = "Relaxation"
    SADNESS = "Sadness"
    TENSION = "Tension"

    @property
    def index(self) -> int:
        """Class index used by the model and exports (0..5, alphabetical)."""
        return CATEGORIES.index(self)

    @property
    def polarity(self) -> Polarity:
        return POLARITY[self]

    @classmethod
    def parse(cls, name: str) -> Category:
        """Case-insensitive lookup by name; raises ValueError naming the known categories."""
        for cat in cls:
            if cat.value.lower() == name.strip().lower():
                return cat
        raise ValueError(f"unknown category {name!r}; known: {', '.join(c.value for c in cls)}")


CATEGORIES: tuple[Category, ...] = tuple(Category)

POLARITY: dict[Category, Polarity] = {
    Category.EXCITATION: Polarity.POSITIVE,
    Category.RELAXATION: Polarity.POSITIVE,
    Category.NEUTRAL: Polarity.NEUTRAL,
    Category.FEAR: Polarity.NEGATIVE,
    Category.SADNESS: Polarity.NEGATIVE,
    Category.TENSION: Polarity.NEGATIVE,
}


@dataclass(frozen=True, slots=True)
class Adjective:
    """One selectable adjective; the server maps it to its category."""

    id: int
    category: Category
    en: str
    zh_hans: str

    def label(self, language: str) -> str:
        """The adjective in `language` ('en' or 'zh-Hans'); English for anything else."""
        return self.zh_hans if language.lower().startswith("zh") else self.en


@dataclass(frozen=True)
class AdjectiveTable:
    """A validated adjective table: unique ids, each adjective in exactly one known category."""

    adjectives: tuple[Adjective, ...]
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.adjectives})

    def __len__(self) -> int:
        return len(self.adjectives)

    def get(self, adjective_id: int) -> Adjective:
        """The adjective with this id; KeyError if the table has none."""
        return self._by_id[adjective_id]  # type: ignore[attr-defined]

    def category_of(self, adjective_id: int) -> Category:
        return self.get(adjective_id).category

    def by_category(self, category: Category) -> tuple[Adjective, ...]:
        return tuple(a for a in self.adjectives if a.category is category)


def load_adjectives(path: Path | str | None = None) -> AdjectiveTable:
    """Read and validate an adjective table (CSV with id,category,en,zh_hans; extra columns ignored).

    Raises TaxonomyError naming the file and the first offending row.
    """
    table_path = Path(path) if path is not None else _SHIPPED_TABLE
    where = str(table_path)
    try:
        with table_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise TaxonomyError(
                    f"adjective table {where}: missing column(s) {', '.join(missing)}",
                    remedy="the header must be id,category,en,zh_hans",
                )
            rows = list(reader)
    except OSError as exc:
        raise TaxonomyError(f"adjective table {where}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TaxonomyError(f"adjective table {where}: not a UTF-8 CSV ({exc})") from None

    adjectives: list[Adjective] = []
    seen_ids: dict[int, int] = {}
    seen_text: dict[tuple[str, str], int] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        adjectives.append(_parse_row(row, f"{where} line {line}", seen_ids, seen_text, line))
    if not adjectives:
        raise TaxonomyError(f"adjective table {where}: no rows")
    empty = [c.value for c in CATEGORIES if not any(a.category is c for a in adjectives)]
    if empty:
        raise TaxonomyError(f"adjective table {where}: no adjective for category {', '.join(empty)}")
    return AdjectiveTable(tuple(adjectives), source=where)


def _parse_row(
    row: dict[str, str | None],
    where: str,
    seen_ids: dict[int, int],
    seen_text: dict[tuple[str, str], int],
    line: int,
) -> Adjective:
    if None in row or any(row.get(c) is None for c in _REQUIRED_COLUMNS):
        raise TaxonomyError(f"{where}: wrong number of fields")
    raw_id = (row["id"] or "").strip()
    try:
        adj_id = int(raw_id)
    except ValueError:
        raise TaxonomyError(f"{where}: id {raw_id!r} is not an integer") from None
    if adj_id <= 0:
        raise TaxonomyError(f"{where}: id {adj_id} must be positive")
    if adj_id in seen_ids:
        raise TaxonomyError(f"{where}: duplicate id {adj_id} (first on line {seen_ids[adj_id]})")
    seen_ids[adj_id] = line
    raw_cat = row["category"] or ""
    if "|" in raw_cat or ";" in raw_cat or "," in raw_cat:
        raise TaxonomyError(f"{where} (id {adj_id}): an adjective maps to exactly one category")
    try:
        category = Category.parse(raw_cat)
    except ValueError as exc:
        raise TaxonomyError(f"{where} (id {adj_id}): {exc}") from None
    texts = {}
    for lang in ("en", "zh_hans"):
        text = (row[lang] or "").strip()
        if not text:
            raise TaxonomyError(f"{where} (id {adj_id}): empty {lang} text; both languages are required")
        key = (lang, text.casefold())
        if key in seen_text:
            raise TaxonomyError(
                f"{where} (id {adj_id}): {lang} text {text!r} repeats line {seen_text[key]}"
            )
        seen_text[key] = line
        texts[lang] = text
    return Adjective(id=adj_id, category=category, en=texts["en"], zh_hans=texts["zh_hans"])


@lru_cache(maxsize=8)
def _cached_table(path: str | None) -> AdjectiveTable:
    return load_adjectives(path)


def adjective_table(path: Path | str | None = None) -> AdjectiveTable:
    """The validated table (shipped one by default), read once per path."""
    return _cached_table(str(path) if path is not None else None)


def configured_adjectives() -> AdjectiveTable:
    """The table the settings point to (EMOTIONS_ADJECTIVES_PATH), else the shipped one."""
    from core.settings import get_settings

    return adjective_table(get_settings().adjectives_path)
