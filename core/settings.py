"""The one settings class (environment prefix EMOTIONS_, optional .env file) and its cached getter."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

_ENV_PREFIX = "EMOTIONS_"
_DB_SCHEMES = ("sqlite", "postgresql")


class Settings(BaseSettings):
    """Process-wide configuration. Every field is `EMOTIONS_<NAME>` in the environment or `.env`."""

    model_config = SettingsConfigDict(
        env_prefix=_ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    database_url: str = Field(
        "sqlite:///./data/emotions.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host:port/db",
    )
    data_dir: Path = Field(Path("./data"), description="Root folder for raw, clean and derived files")
    adjectives_path: Path | None = Field(
        None, description="Project-specific adjective table (CSV: id,category,en,zh_hans); default shipped"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Logging level")
    ffmpeg_binary: str = Field("ffmpeg", description="ffmpeg executable (name on PATH or absolute path)")
    ffprobe_binary: str = Field("ffprobe", description="ffprobe executable (name on PATH or absolute path)")
    app_secret_key: str | None = Field(
        None, description="Annotation app: key signing session cookies (default: generated once under data_dir)"
    )
    app_session_max_age_s: int = Field(12 * 3600, ge=60, description="Annotation app: session cookie lifetime")
    app_cookie_secure: bool | None = Field(
        None, description="Annotation app: Secure cookie flag (default: set when the request came over https)"
    )
    app_login_max_failures: int = Field(5, ge=1, description="Annotation app: failed logins allowed per window")
    app_login_window_s: int = Field(300, ge=1, description="Annotation app: login rate-limit window")
    app_trusted_proxies: str = Field(
        "", description="Annotation app: reverse proxies whose X-Forwarded-For is believed (comma-separated "
                        "addresses; empty: none, the peer address counts)"
    )
    app_qualification_pass_mark: float = Field(0.9, ge=0, le=1, description="Annotation app: qualification score")
    app_qualification_attempts: int = Field(3, ge=1, description="Annotation app: qualification attempts allowed")
    app_vote_rule: Literal["plurality", "strict"] = Field(
        "plurality", description="Annotation app: unique plurality of >= 2 votes, or strict majority of votes cast"
    )
    app_members_per_sample: int = Field(3, ge=1, description="Annotation app: member votes that complete stage 1")
    app_group_count: int = Field(3, ge=1, description="Annotation app: number of annotation groups")
    app_gender_rule: bool = Field(True, description="Annotation app: two male and one female member per group")
    app_group_capacity: int = Field(
        3, ge=1, description="Annotation app: most members a group holds; a move beyond it, or against the gender "
                             "rule, needs a reason (kept in the audit log)"
    )
    app_leader_by: Literal["p", "lp"] = Field("p", description="Annotation app: leaders by Eq. 1 score or leadership")
    app_exchange: str = Field(
        "", description="Annotation app: exchange partners 'A:B,B:C,C:A' (default: cyclic in group name order)"
    )
    app_lease_s: int = Field(1800, ge=10, description="Annotation app: how long a served task stays reserved")
    app_show_categories: bool = Field(False, description="Annotation app: show category names to members")
    crawl_user_agent: str = Field(
        "emotions-crawler/0.1 (academic research crawler; add a contact via EMOTIONS_CRAWL_USER_AGENT)",
        description="User-Agent the crawler identifies itself with; its first token is matched against robots.txt",
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if "://" not in value or scheme not in _DB_SCHEMES:
            raise ValueError(
                "must be a sqlite:/// or postgresql+psycopg:// URL, got " + repr(value)
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and overrides), turning validation errors into ConfigError.

    The error names the environment variable, e.g. `EMOTIONS_DATABASE_URL: must be ...`.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{key}: {err['msg']}")
        raise ConfigError(
            "invalid setting " + "; ".join(problems),
            remedy="fix the environment variable or the .env file",
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call `get_settings.cache_clear()` after changing env."""
    return load_settings()


def settings_table() -> str:
    """The configuration reference as a Markdown table (the README's copy is checked against it)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if default is None:
            shown = "unset"
        elif isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        elif isinstance(default, Path):
            shown = f"`./{default}`" if not default.is_absolute() else f"`{default}`"
        elif default == "":
            shown = "empty"
        else:
            shown = f"`{default}`"
        rows.append(f"| `{_ENV_PREFIX}{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows) + "\n"
