"""What the admin pages share about forms: typed fields read from text, and the one-time flash message of a
Post/Redirect/Get.

Fields arrive as text and are read here, not by the framework's form validation: a value like "abc" or "-1" in
a number field is then a `FieldError`, which the page shows in the admin's language (status 422) with the field
marked and everything typed kept, instead of the generic error page.

A successful action answers 303 to the page it belongs to and leaves its result in the signed cookie session
as a flash: the message key, a few small values and the path it is for. The next GET of that path shows it,
translated then, and drops it, so reloading the page neither repeats the action nor shows the message again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from annotation_app.deps import session_data, set_session
from annotation_app.routes import admin_text
from annotation_app.routes.admin_text import FieldError

FLASH = "flash"
Field = Annotated[str, Form()]  # a form field read as text; the route reads it with the helpers below


def text(value: str, field: str, *, required: bool = True, max_length: int | None = None,
         label: str | None = None) -> str:
    """`value` without surrounding spaces; refused when empty and `required`, or longer than `max_length`.
    `label` is the FIELD_LABELS key naming the field where it is not the field's name."""
    value = value.strip()
    if required and not value:
        raise FieldError(field, "required", label=label)
    if max_length is not None and len(value) > max_length:
        raise FieldError(field, "too_long", value[:20] + "…", label=label, max=max_length)
    return value


def whole(value: str, field: str, *, minimum: int | None = None, maximum: int | None = None,
          required: bool = True, default: int | None = None) -> int | None:
    """A whole number in [minimum, maximum]; an empty field is refused if `required`, else it is `default`."""
    value = value.strip()
    if not value:
        if required:
            raise FieldError(field, "required")
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if minimum is not None and maximum is not None:
            raise FieldError(field, "between", value, min=minimum, max=maximum)
        if minimum is not None:
            raise FieldError(field, "at_least", value, min=minimum)
        raise FieldError(field, "whole", value)
    return number


def score(value: str, field: str) -> float | None:
    """A profile score from 0 to 100, or None for an empty field."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 100:  # NaN fails too
        raise FieldError(field, "score", value)
    return number


def choice(value: str, field: str, options: Iterable[str]) -> str:
    """`value` if it is one of `options`."""
    if value not in set(options):
        raise FieldError(field, "choice", value)
    return value


def choices(values: list[str], field: str, options: Iterable[str]) -> list[str]:
    """The chosen `values` (each one of `options`), in the order of `options`, each once."""
    offered = list(options)
    unknown = [v for v in values if v not in offered]
    if unknown:
        raise FieldError(field, "choice", ", ".join(unknown))
    return [o for o in offered if o in values]


def done(request: Request, path: str, key: str, **values: object) -> RedirectResponse:
    """Answer a successful action: 303 to `path`, which then says `admin_text.DONE[key]` (filled with `values`)
    once. Values must be small and JSON-serialisable: they travel in the cookie."""
    set_session(request, {**session_data(request), FLASH: {"key": key, "values": values, "path": path}})
    return RedirectResponse(path, status_code=303)


def take_flash(request: Request, language: str) -> dict | None:
    """The flash left for this page, translated ({key, data: its values, text}), dropped from the session once read. A
    flash meant for another path is dropped unseen (the admin went elsewhere)."""
    data = session_data(request)
    flash = data.get(FLASH)
    if flash is None:
        return None
    set_session(request, {k: v for k, v in data.items() if k != FLASH})
    if not isinstance(flash, dict) or flash.get("path") != request.url.path or flash.get("key") not in \
            admin_text.DONE:
        return None
    values = flash.get("values") or {}
    return {"key": flash["key"], "data": values, "text": admin_text.done(flash["key"], language, **values)}
