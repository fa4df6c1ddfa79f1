"""User-interface text: gettext catalogues (Babel) with English msgids and a Simplified Chinese translation.

Every user-visible string is a msgid: `_("…")` in templates, `gettext("…", language)` in Python, and
`N_("…")` where a string is only marked for extraction (role names, JS texts). `make i18n` runs
`pybabel extract/update/compile`; the compiled catalogue ships with the package. Adjectives come from the
taxonomy table, which carries both languages itself.
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from pathlib import Path

from babel.support import Translations

from core.errors import ConfigError

LANGUAGES = ("en", "zh-Hans")
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
_BABEL_LOCALE = {"zh-Hans": "zh_Hans"}

# msgids looked up in a non-English language without a translation; the completeness test reads it
MISSING: set[str] = set()


def N_(text: str) -> str:
    """Marks `text` for extraction; it is translated where it is shown."""
    return text


ROLE_NAMES = {"member": N_("member"), "leader": N_("leader"), "expert": N_("expert"), "admin": N_("admin")}
STATUS_NAMES = {"open": N_("open"), "resolved": N_("resolved"), "excluded": N_("excluded")}
STAGE_NAMES = {"member": N_("member vote"), "leader": N_("leader vote (4th)"),
               "exchange": N_("exchange leader vote (5th)"), "expert": N_("expert final review"),
               "crosscheck": N_("cross-check re-label")}
CATEGORY_NAMES = {"Excitation": N_("Excitation"), "Fear": N_("Fear"), "Neutral": N_("Neutral"),
                  "Relaxation": N_("Relaxation"), "Sadness": N_("Sadness"), "Tension": N_("Tension")}
REPORT_REASONS = {"broken": N_("Broken / does not play"), "no_audio": N_("No sound"),
                  "inappropriate": N_("Inappropriate"), "other": N_("Other")}
MOS_SCORES = {1: N_("1 Bad"), 2: N_("2 Poor"), 3: N_("3 Fair"), 4: N_("4 Good"), 5: N_("5 Excellent")}

# texts the labelling page's JavaScript shows; {name} placeholders are filled in the browser
JS_TEXT = {
    "saved": N_("Saved"),
    "saving": N_("Saving…"),
    "offline": N_("Not saved yet: will retry"),
    "retrying": N_("Not saved yet: the server cannot be reached. Your choice is kept on this device and sent "
                   "again in {s} s."),
    "sent_later": N_("Saved (sent after a delay)"),
    "reported": N_("Report sent to your group leader."),
    "not_counted": N_("Your choice was not counted."),
    "next_clip": N_("Next clip…"),
    "skipped": N_("Skipped: the clip goes back to the queue."),
    "queue_empty": N_("No more videos for you right now. Thank you!"),
    "stage": N_("Stage"),
    "previous_votes": N_("Previous votes"),
    "qualification_passed": N_("You passed the qualification test."),
    "qualification_failed": N_("Not passed (score {score}%). Attempts left: {left}."),
    "done_count": N_("Done: {n}"),
    "refused_sample_excluded": N_("This clip was excluded by your leader."),
    "refused_moved_group": N_("You were moved to another group; this clip is no longer yours."),
    "refused_already_voted": N_("You already voted on this clip with another word; your first vote stands."),
    "refused_lease_expired": N_("Your reservation of this clip ran out and another annotator took it."),
    "refused_no_free_seat": N_("Every place for a vote on this clip is taken."),
    "refused_stage_closed": N_("This round of voting on the clip is already closed."),
    "refused_sample_resolved": N_("This clip already has its final label."),
    "refused_client_id_reused": N_("This submission was already used for another vote."),
    "refused_not_found": N_("This clip is not available to you."),
    "refused_forbidden": N_("You may not vote on this clip."),
    "refused_qualification_required": N_("Pass the qualification test first."),
    "refused_not_served": N_("This clip was not given to you; the next one is loaded."),
    "refused_superseded": N_("This vote was already corrected; correct the newest one."),
    "refused_other": N_("The server refused it: {message}"),
}

# what an error page says for each error code (the technical detail is shown below it)
ERROR_TEXT = {
    "not_found": N_("This page or item does not exist, or you may not see it."),
    "forbidden": N_("You may not do this with your role."),
    "unauthenticated": N_("Please log in."),
    "conflict": N_("This could not be done because the data changed in the meantime."),
    "invalid": N_("The request was not valid."),
    "rate_limited": N_("Too many attempts; please wait a moment."),
    "csrf": N_("The form expired; reload the page and try again."),
    "server_error": N_("Something went wrong on the server. Try again in a moment; if it keeps happening, "
                       "tell the admin."),
    "method_not_allowed": N_("This address does not accept that kind of request."),
    "payload_too_large": N_("What you sent is too large."),
}


def normalise(language: str | None) -> str:
    """'zh', 'zh-CN', 'zh-Hans' -> 'zh-Hans'; everything else -> 'en'."""
    return "zh-Hans" if (language or "").lower().startswith("zh") else "en"


@cache
def catalogue(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue for `language` (English: the msgids themselves)."""
    language = normalise(language)
    if language == "en":
        return _gettext.NullTranslations()
    locale = _BABEL_LOCALE[language]
    if not (LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
        raise ConfigError(f"the {language} catalogue is not compiled", remedy="run: make i18n")
    return Translations.load(str(LOCALE_DIR), [locale], domain=DOMAIN)


def gettext(text: str, language: str, **values: object) -> str:
    """`text` in `language`, with %(name)s placeholders filled from `values`."""
    translated = catalogue(language).gettext(text)
    if translated == text and normalise(language) != "en" and any(c.isalpha() for c in text):
        MISSING.add(text)
    return translated % values if values else translated


def ngettext(singular: str, plural: str, n: int, language: str, **values: object) -> str:
    translated = catalogue(language).ngettext(singular, plural, n)
    if translated in (singular, plural) and normalise(language) != "en":
        MISSING.add(singular)
    return translated % {"num": n, **values}


def template_functions(language: str) -> dict:
    """`_`, `gettext` and `ngettext` bound to `language`, for one template render (jinja2.ext.i18n, new style)."""
    def _(text: str, **values: object) -> str:
        return gettext(text, language, **values)

    def plural(singular: str, plural_text: str, n: int, **values: object) -> str:
        return ngettext(singular, plural_text, n, language, **values)

    return {"_": _, "gettext": _, "ngettext": plural}


def js_text(language: str) -> dict[str, str]:
    """The labelling page's JavaScript texts plus the stage names (`stage_<name>`), in `language`."""
    texts = {key: gettext(text, language) for key, text in JS_TEXT.items()}
    texts.update({f"stage_{key}": gettext(text, language) for key, text in STAGE_NAMES.items()})
    texts.update({f"error_{code}": gettext(text, language) for code, text in ERROR_TEXT.items()})
    return texts


def categories(language: str) -> dict[str, str]:
    """Category name -> its name in `language` (for leaders, experts and the MOS page)."""
    return {name: gettext(text, language) for name, text in CATEGORY_NAMES.items()}


def role_name(role: str, language: str) -> str:
    return gettext(ROLE_NAMES[role], language) if role in ROLE_NAMES else role


def status_name(status: str, language: str) -> str:
    return gettext(STATUS_NAMES[status], language) if status in STATUS_NAMES else status


def error_text(code: str, status: int, language: str) -> str:
    """What an error page says for `code` (refusal codes use the labelling page's texts)."""
    text = ERROR_TEXT.get(code) or JS_TEXT.get(f"refused_{code}")
    if text is None:
        text = ERROR_TEXT["server_error"] if status >= 500 else ERROR_TEXT["invalid"]
    return gettext(text, language)
