"""The dataset build recipe: every number of the build (variant sizes, split ratios, seed) in one validated model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from core.recipes import read_yaml_mapping
from dataset.vocab import Vocabulary, vocabulary

VARIANTS = ("all", "balanced", "test")
PAPER_BALANCED = {"Excitation": 4000, "Neutral": 3000}  # Section III-G
Variant = Literal["all", "balanced", "test"]


class SplitSpec(BaseModel):
    """Split ratios; they must add up to 1. A zero `val` means no validation split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train: float = Field(0.8, gt=0, lt=1)
    val: float = Field(0.0, ge=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitSpec:
        if abs(self.train + self.val + self.test - 1.0) > 1e-9:
            raise ValueError(f"split ratios must add up to 1, got {self.train} + {self.val} + {self.test}")
        return self

    def ratios(self) -> dict[str, float]:
        """Split name -> ratio, in output order, without empty splits."""
        pairs = {"train": self.train, "val": self.val, "test": self.test}
        return {k: v for k, v in pairs.items() if v > 0}


class DatasetRecipe(BaseModel):
    """What to build. Loaded from YAML (`--recipe`) and overridden by command-line options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("emotions", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field("v1", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    seed: int = Field(0, ge=0)
    variants: tuple[Variant, ...] = VARIANTS
    categories: tuple[str, ...] | None = Field(
        None, description="label vocabulary; default the six eMotions categories (a source's own classes on import)")
    polarity: dict[str, Literal["positive", "neutral", "negative"]] = Field(
        default_factory=dict, description="polarity of categories outside the eMotions taxonomy")
    balanced: dict[str, int] | None = Field(
        None, description="samples per category in `balanced`; categories not named are taken whole "
        "(default: Excitation 4000, Neutral 3000 for the eMotions vocabulary, nothing capped otherwise)",
    )
    test_size: int = Field(5000, gt=0, description="size of the `test` variant (category shares as in `all`)")
    split: SplitSpec = SplitSpec()
    split_column: str | None = Field(None, description="use this label column (train/val/test) instead of drawing")
    media: Literal["link", "copy", "none"] = Field("link", description="hard links (copy across devices), or none")
    urls_only: bool = Field(False, description="write urls.csv and no media (Kinetics-style redistribution)")
    webdataset: bool = Field(False, description="also write WebDataset tar shards of media and training cache")
    shard_size: int = Field(1000, gt=0, description="samples per WebDataset shard")
    rehash_media: bool = Field(False, description="hash every media file for SHA256SUMS, even content-addressed "
                               "ones whose name is their sha256")
    require_complete: bool = Field(False, description="refuse when any labelled sample is still unresolved")
    include_duplicates: bool = Field(False, description="also take labelled samples cleaning marked duplicate")
    license: str = "Research use only; the videos remain the property of their owners and platforms."
    description: str = "Short-form videos labelled with one of six emotion categories (eMotions taxonomy)."
    provenance: str = Field(
        "Videos were crawled from short-video platforms, then probed, filtered, de-duplicated (exact and near "
        "duplicates) and normalised by the clean stage; rejected videos never reach the dataset.",
        description="where the videos and labels come from (the card's provenance paragraph)")

    @field_validator("variants", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("variants")
    @classmethod
    def _unique_in_order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one variant is needed")
        return tuple(v for v in VARIANTS if v in value)

    @field_validator("balanced")
    @classmethod
    def _non_negative(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for name, count in (value or {}).items():
            if count < 0:
                raise ValueError(f"balanced count of {name} must be >= 0")
        return value

    def vocab(self) -> Vocabulary:
        """The label vocabulary this recipe builds with."""
        return vocabulary(self.categories, self.polarity)

    def balanced_targets(self) -> dict[str, int]:
        """Per-category caps of the balanced variant, in canonical spelling; ConfigError for unknown names."""
        vocab = self.vocab()
        if self.balanced is None:
            return dict(PAPER_BALANCED) if vocab.is_emotions else {}
        out: dict[str, int] = {}
        for name, count in self.balanced.items():
            canon = vocab.parse(name)
            if canon is None:
                raise ConfigError(f"invalid dataset recipe: balanced: unknown category {name!r}",
                                  remedy="known: " + ", ".join(vocab.names))
            out[canon] = count
        return dict(sorted(out.items()))

    def resolved(self, **inputs: Any) -> dict[str, Any]:
        """The recipe as plain data plus the inputs it ran on: what `recipe.yaml` holds."""
        data = self.model_dump(mode="json")
        data["variants"] = list(self.variants)
        data["categories"] = list(self.vocab().names)
        data["balanced"] = self.balanced_targets()
        data["inputs"] = {k: (str(v) if v is not None else None) for k, v in inputs.items()}
        return data

    def fingerprint(self) -> str:
        """A short hash of the recipe (sorted JSON)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def load_recipe(path: Path | str | None = None, *, check_categories: bool = True, **overrides: Any) -> DatasetRecipe:
    """Recipe from a YAML file (optional) with `overrides` (None values ignored); ConfigError when invalid.

    `check_categories=False` defers checking category names until the vocabulary is known (imports).
    """
    data: dict[str, Any] = read_yaml_mapping(path, "dataset recipe") if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        recipe = DatasetRecipe(**data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "recipe"
            problems.append(f"{loc}: {err['msg']}")
        raise ConfigError("invalid dataset recipe: " + "; ".join(problems), remedy="fix the recipe or option") from None
    if check_categories:
        recipe.balanced_targets()  # names outside the vocabulary fail here, before any work
    return recipe


def dump_yaml(data: dict[str, Any]) -> str:
    """Deterministic YAML text (sorted keys) for the resolved recipe."""
    import yaml

    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)
