"""The one exception tree of the toolkit; edges (CLI, web) translate it into one clear message."""

from __future__ import annotations


class EmotionsError(Exception):
    """Base of every error the toolkit raises on purpose.

    `remedy` is a short hint telling the user what to do; the CLI prints it after the message.
    """

    exit_code = 1

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def one_line(self) -> str:
        """The message and its remedy on one line, as the CLI prints it."""
        return f"{self.message} ({self.remedy})" if self.remedy else self.message


class ConfigError(EmotionsError):
    """A setting, recipe or data table is invalid; raised at start-up, before any work."""

    exit_code = 2


class TaxonomyError(ConfigError):
    """The adjective table is malformed (names the offending row)."""


class MissingDependency(EmotionsError):
    """A system program, server or optional Python extra is not available."""

    exit_code = 3


class DatabaseError(EmotionsError):
    """The database cannot be reached or its schema is not in the expected state."""

    exit_code = 4


class MediaError(EmotionsError):
    """A media tool failed on an input in a way that is not a per-video rejection."""


class NotBuiltYet(EmotionsError):
    """A pipeline stage that this version of the toolkit does not provide yet."""


class CrawlBlocked(EmotionsError):
    """A platform showed signs of blocking (captcha, repeated 403, empty pages); the crawl stopped politely."""

    exit_code = 5


class AppError(EmotionsError):
    """A request to the annotation app that cannot be honoured; `code` is a stable machine-readable name."""

    code = "app_error"

    def __init__(self, message: str, *, remedy: str | None = None, code: str | None = None) -> None:
        super().__init__(message, remedy=remedy)
        if code is not None:  # a more precise reason than the class's (e.g. 'sample_excluded' for a conflict)
            self.code = code


class NotFoundError(AppError):
    """The object does not exist or is not visible to the caller."""

    code = "not_found"


class PermissionDenied(AppError):
    """The caller is known but their role or group does not allow this."""

    code = "forbidden"


class AuthenticationError(AppError):
    """No valid session, token or credentials."""

    code = "unauthenticated"


class ConflictError(AppError):
    """The request contradicts stored state (a different second vote, a closed stage, a taken name)."""

    code = "conflict"


class InvalidRequest(AppError):
    """The request is well-formed but its values are not acceptable."""

    code = "invalid"


class TooManyAttempts(AppError):
    """Rate limit reached (e.g. failed logins); retry later."""

    code = "rate_limited"
