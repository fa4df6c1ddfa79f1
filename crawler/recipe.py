"""The crawl recipe: every per-run option, validated by pydantic, loaded from YAML and/or CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError
from core.recipes import read_yaml_mapping


class Politeness(BaseModel):
    """How gently hosts are treated. Defaults follow the conservative norms of the crawl notes."""

    model_config = ConfigDict(extra="forbid")

    min_interval_s: float = Field(2.0, ge=0, description="least time between two request starts to one host")
    per_host_concurrency: int = Field(1, ge=1, description="most requests in flight to one host")
    obey_robots: bool = True
    x_robots_block: tuple[str, ...] = Field(
        ("noai", "noimageai", "noindex", "noimageindex", "none"),
        description="X-Robots-Tag directives that exclude a response",
    )
    max_retries: int = Field(4, ge=0, description="retries on 429, 5xx and connection errors")
    backoff_base_s: float = Field(1.0, ge=0, description="first retry delay; doubles each attempt")
    backoff_cap_s: float = Field(60.0, ge=0)
    jitter_s: float = Field(1.0, ge=0, description="uniform random extra delay added to each backoff")
    max_retry_after_s: float = Field(600.0, ge=0, description="a longer Retry-After fails the item instead")
    block_threshold: int = Field(3, ge=1, description="consecutive blocking signs on a host before stopping")
    block_backoff_s: float = Field(30.0, ge=0, description="pause after each blocking sign (doubles)")
    timeout_s: float = Field(30.0, gt=0, description="connect/read timeout of one request")


class CrawlRecipe(BaseModel):
    """One crawl run. Written, resolved, next to the output as `recipe.yaml`."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="registered source name: douyin, kuaishou, tiktok, site, urls")
    query: str | None = Field(None, description="search term; '#tag' for a hashtag, '@account' for an account")
    seeds: tuple[str, ...] = Field((), description="start URLs of the site source")
    file: Path | None = Field(None, description="text/CSV list of page or media URLs (urls source)")
    limit: int = Field(100, ge=1, description="stop after this many downloaded videos")
    out: Path = Field(Path("data/raw"), description="output folder (manifests, media, state)")
    base_url: str | None = Field(None, description="replaces the platform's web origin (mirrors, fixtures)")
    max_depth: int = Field(2, ge=0, description="link depth followed from each seed (site source)")
    max_pages: int = Field(500, ge=1, description="most pages visited during discovery")
    max_scrolls: int = Field(30, ge=0, description="infinite-scroll steps on a listing page (platform sources)")
    scroll_pause_s: float = Field(1.5, ge=0, description="wait for new items after each scroll")
    max_bytes: int = Field(200 * 1024 * 1024, ge=1, description="size cap of one media file")
    content_types: tuple[str, ...] = Field(
        ("video/", "application/octet-stream", "application/mp4", "binary/octet-stream"),
        description="accepted media Content-Type prefixes",
    )
    backend: Literal["requests", "ytdlp"] = Field("requests", description="media download backend")
    fsync: bool = Field(True, description="fsync media and manifest rows: power-loss safety (a killed process "
                                          "loses nothing either way)")
    workers: int = Field(2, ge=1, le=64, description="videos processed in parallel")
    shard_size: int = Field(1000, ge=1, description="rows per manifest shard")
    hash_author_ids: bool = True
    retry_failed: bool = Field(False, description="try items recorded as failed again (default: done is done)")
    deny_file: Path | None = Field(None, description="takedown list (URLs or platform,platform_id): never fetched")
    cookie_file: Path | None = Field(None, description="Netscape cookies.txt; no cookies are sent otherwise")
    keep_session_cookies: bool = Field(False, description="keep cookies servers set during the run (default: "
                                                          "only the cookie file's are ever sent)")
    browser_profile: Path | None = Field(None, description="Chromium user-data dir you logged in with "
                                                           "(platform discovery)")
    frontier_url: str | None = Field(None, description="PostgreSQL URL of a frontier shared by several workers")
    worker_id: str = Field("w0", pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="this worker's name (frontier)")
    lease_s: float = Field(600.0, gt=0, description="a claimed frontier item is re-offered after this long")
    politeness: Politeness = Field(default_factory=Politeness)

    @model_validator(mode="after")
    def _inputs_match_source(self) -> CrawlRecipe:
        from crawler.sources import get_source

        get_source(self.source).check_recipe(self)
        if self.deny_file is not None and not self.deny_file.is_file():
            raise ValueError(f"deny_file {self.deny_file} does not exist")
        if self.cookie_file is not None and not self.cookie_file.is_file():
            raise ValueError(f"cookie_file {self.cookie_file} does not exist")
        if self.frontier_url is not None and not self.frontier_url.startswith("postgresql"):
            raise ValueError("frontier_url must be a postgresql:// or postgresql+psycopg:// URL")
        return self

    def resolved(self) -> dict[str, Any]:
        """The recipe as plain data (what `recipe.yaml` holds)."""
        return self.model_dump(mode="json")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def build_recipe(path: Path | None = None, **overrides: Any) -> CrawlRecipe:
    """Recipe from an optional YAML file, with non-None `overrides` (CLI flags) applied on top.

    Raises ConfigError with one line naming the bad field.
    """
    data: dict[str, Any] = read_yaml_mapping(path, "crawl recipe") if path is not None else {}
    politeness = dict(data.get("politeness") or {})
    for key, value in overrides.items():
        if value is None or value == ():
            continue
        if key in Politeness.model_fields:
            politeness[key] = value
        else:
            data[key] = value
    if politeness:
        data["politeness"] = politeness
    try:
        return CrawlRecipe.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid crawl recipe: {_first_error(exc)}",
                          remedy="see `emotions crawl run --help`") from None
