"""What the admin pages say about refusals, badly typed fields, results, audit actions and details, and import
skips, in the admin's language."""

from __future__ import annotations

import json

from annotation_app import i18n
from annotation_app.i18n import N_
from core.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    EmotionsError,
    InvalidRequest,
    NotFoundError,
    PermissionDenied,
)

# refusal codes of the admin's actions -> what the page says (the English detail is shown below it)
ERRORS = {
    "manifest_not_offered": N_("Choose one of the manifests listed here; other paths are not accepted."),
    "move_needs_reason": N_("This move goes over the group's capacity or breaks the gender rule. Give a reason "
                            "to override the rule."),
    "group_has_leader": N_("That group already has a leader."),
    "role_without_group": N_("Only leaders and members belong to groups."),
    "username_taken": N_("This user name is taken."),
    "password_too_short": N_("A password has at least 8 characters."),
    "last_admin": N_("The last active admin must stay an active admin."),
    "own_account": N_("You cannot deactivate your own account."),
    "user_inactive": N_("This person is deactivated; reactivate them first."),
    "over_capacity": N_("Groups that large go over the group capacity."),
    "profiles_incomplete": N_("Some people have no profile scores yet, so groups cannot be formed."),
    "allocation_impossible": N_("These people cannot fill the groups under these settings (too few people, or "
                                "too few men or women for the gender rule)."),
    "plan_changed": N_("The people changed since the preview; look at the new preview and apply again."),
    "crosscheck_drawn": N_("Cross-check sets with this name were already drawn."),
    "no_groups": N_("There are no groups yet."),
    "backup_failed": N_("The backup failed; nothing was written."),
    "manifest_unreadable": N_("The manifest could not be read."),
    "gold_not_offered": N_("Choose one of the CSV files listed here; other paths are not accepted."),
    "gold_unreadable": N_("The gold label file could not be read (it needs id and category columns with known "
                          "categories)."),
    "token_form_used": N_("This form was already used: a token was issued after this page was shown, and a token "
                          "is shown only once. Nothing new was issued; issue another one below if you need it."),
}

# a badly typed form field: what is wrong (%(label)s is the field's name on the page) ...
FIELD_PROBLEMS = {
    "required": N_("%(label)s: this cannot be empty."),
    "whole": N_("%(label)s: enter a whole number."),
    "at_least": N_("%(label)s: enter a whole number of at least %(min)s."),
    "between": N_("%(label)s: enter a whole number from %(min)s to %(max)s."),
    "score": N_("%(label)s: enter a number from 0 to 100."),
    "choice": N_("%(label)s: choose one of the options offered."),
    "date": N_("%(label)s: enter a date like 2024-05-31."),
    "too_long": N_("%(label)s: at most %(max)s characters."),
}
# ... and the field's name, as its label on the page says it
FIELD_LABELS = {
    "batch_size": N_("Batch size"), "limit": N_("At most (empty: all)"), "groups": N_("Groups"),
    "n_groups": N_("Groups"), "size": N_("Members per group"), "leader_by": N_("Leaders by"),
    "name": N_("Stage name"), "set_size": N_("Set size"), "seed": N_("Random seed"), "username": N_("User name"),
    "password": N_("Password"), "role": N_("Role"), "we": N_("Work experience"), "ms": N_("MSCEIT"),
    "eb": N_("Education"), "cb": N_("Cultural background"), "lp": N_("Leadership"), "page": N_("Page"),
    "manifest": N_("Manifest"), "since": N_("From"), "until": N_("To"),
    "group": N_("Group"), "display_name": N_("Name"), "reason": N_("Reason"), "language": N_("Language"),
    "gender": N_("Gender"), "token_name": N_("Label"),
}


class FieldError(InvalidRequest):
    """A form field typed wrongly (422): the field's form name, what is wrong (a FIELD_PROBLEMS key) and the
    values the message names. The page marks the field and says what to type instead."""

    code = "invalid_field"

    def __init__(self, field: str, problem: str, given: str = "", *, label: str | None = None,
                 **values: object) -> None:
        self.label = label or field  # the FIELD_LABELS key naming it, when two forms use one field name
        english = FIELD_PROBLEMS[problem] % {"label": FIELD_LABELS.get(self.label, field), **values}
        super().__init__(f"{english} (got {given!r})" if given else english)
        self.field, self.problem, self.given, self.values = field, problem, given, values

# what the page says after an action went through (carried to the next page as a flash: keys and values)
DONE = {
    "distributed": N_("Samples distributed: %(n)s."),
    "imported": N_("Rows read: %(rows)s; imported: %(n)s (gold: %(gold)s); skipped: %(skipped)s."),
    "groups_formed": N_("The groups are formed: %(n)s groups, %(people)s people in all. Their sizes are in the table "
                        "below; the People page shows who is where."),
    "drawn": N_("Cross-check sets %(name)s drawn: %(n)s."),
    "backup": N_("Backup made. Tables: %(tables)s, rows: %(rows)s, votes: %(votes)s."),
    "created": N_("%(name)s was created."),
    "deactivated": N_("%(name)s is deactivated and can no longer log in. Clips given back to the queue: %(n)s."),
    "reactivated": N_("%(name)s can log in again."),
    "password": N_("The password of %(name)s is reset; they were logged out everywhere."),
    "role": N_("%(name)s is now %(role)s."),
    "moved": N_("%(name)s is now in group %(group)s."),
    "moved_out": N_("%(name)s is in no group now."),
    "token": N_("New API token for %(name)s. Copy it now: it is shown only once."),
    "revoked": N_("The token is revoked; it no longer works."),
}

# audit actions and entities, as the log's filters and rows name them
ACTIONS = {
    "user.created": N_("person created"), "user.login": N_("logged in"), "user.logout": N_("logged out"),
    "user.deactivated": N_("person deactivated"), "user.reactivated": N_("person reactivated"),
    "user.password_reset": N_("password reset"), "user.role_changed": N_("role changed"),
    "membership.started": N_("joined a group"), "membership.ended": N_("left every group"),
    "membership.override": N_("group rule overridden"), "token.created": N_("API token issued"),
    "token.revoked": N_("API token revoked"), "samples.imported": N_("manifest imported"),
    "samples.distributed": N_("samples distributed"), "groups.formed": N_("groups formed"),
    "crosscheck.drawn": N_("cross-check sets drawn"), "export.downloaded": N_("export downloaded"),
    "backup.created": N_("backup made"), "vote.created": N_("vote cast"), "vote.corrected": N_("vote corrected"),
    "crosscheck.voted": N_("cross-check re-label"), "mos.rated": N_("MOS rating"),
    "qualification.started": N_("qualification started"), "qualification.finished": N_("qualification finished"),
    "sample.escalated": N_("sample escalated"), "sample.reported": N_("sample reported"),
    "sample.resolved": N_("sample resolved"), "report.exclude": N_("report: sample excluded"),
    "report.dismiss": N_("report dismissed"), "audit.queued": N_("queued for expert audit"),
    "audit.label_changed": N_("expert audit: label changed"),
    "audit.label_confirmed": N_("expert audit: label confirmed"),
}
ENTITIES = {"user": N_("person"), "sample": N_("sample"), "project": N_("project"), "report": N_("report")}

# why an import skipped a row
SKIPS = {
    "already_imported": N_("already imported"), "invalid_row": N_("not a valid manifest row"),
    "media_outside_root": N_("media outside the manifest's folder"), "no_web_mp4": N_("no web video"),
    "rejected": N_("rejected while cleaning"), "duplicate": N_("duplicate"),
}

_STATUS = ((NotFoundError, 404), (PermissionDenied, 403), (AuthenticationError, 401), (ConflictError, 409),
           (InvalidRequest, 422), (ConfigError, 422))


def status_of(exc: EmotionsError) -> int:
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)


def refusal(exc: EmotionsError, language: str, code: str | None = None) -> dict:
    """The page's account of a refused action: `text` in the admin's language, the English `detail`, and for a
    badly typed field the `field`'s form name."""
    status = status_of(exc)
    if isinstance(exc, FieldError):
        label = i18n.gettext(FIELD_LABELS[exc.label], language) if exc.label in FIELD_LABELS else exc.field
        return {"text": i18n.gettext(FIELD_PROBLEMS[exc.problem], language, label=label, **exc.values),
                "detail": f"got {exc.given!r}" if exc.given else "", "remedy": None, "status": status,
                "field": exc.field}
    code = code or getattr(exc, "code", "")
    text = i18n.gettext(ERRORS[code], language) if code in ERRORS else i18n.error_text(code, status, language)
    return {"text": text, "detail": exc.message, "remedy": exc.remedy, "status": status}


def done(key: str, language: str, **values: object) -> str:
    """What the page says after the action `key` went through; a role is named in `language`."""
    if "role" in values:
        values = {**values, "role": i18n.role_name(str(values["role"]), language)}
    return i18n.gettext(DONE[key], language, **values)


def named(table: dict[str, str], key: str, language: str) -> str:
    """`key`'s name from `table` in `language`, else `key` itself."""
    return i18n.gettext(table[key], language) if key in table else key


# audit details: the fixed field names the services write, as the log shows them
DETAIL_KEYS = {
    "username": N_("user name"), "role": N_("role"), "old": N_("before"), "new": N_("after"), "group": N_("group"),
    "previous_group_id": N_("previous group (id)"), "problems": N_("rules broken"), "reason": N_("reason"),
    "seats_released": N_("clips given back"), "name": N_("name"), "token_id": N_("token (id)"),
    "client": N_("address"), "source": N_("source"), "imported": N_("imported"), "gold": N_("gold"),
    "skipped": N_("skipped"), "batch_size": N_("batch size"), "dealt": N_("samples dealt"), "plan": N_("plan"),
    "sets": N_("sets"), "votes": N_("votes"), "labels": N_("labels"), "rows": N_("rows"), "file": N_("file"),
    "vote_id": N_("vote (id)"), "old_vote_id": N_("previous vote (id)"), "set_id": N_("set (id)"),
    "stage": N_("stage"), "from_stage": N_("from stage"), "to_stage": N_("to stage"),
    "previous_decided_stage": N_("stage decided before"), "adjective_id": N_("adjective (id)"),
    "category": N_("category"), "previous_category": N_("previous category"),
    "given_category": N_("given category"), "suggested_category": N_("suggested category"),
    "confidence": N_("confidence"), "pattern": N_("vote pattern"), "revision": N_("revision"),
    "report_id": N_("report (id)"), "review_id": N_("review (id)"), "attempt_id": N_("attempt (id)"),
    "score": N_("score"), "passed": N_("passed"), "rank": N_("rank"), "quality_score": N_("quality score"),
    "note": N_("note"),
}
_ROLE_KEYS = {"role", "old", "new"}
_CATEGORY_KEYS = {"category", "previous_category", "given_category", "suggested_category"}
_STAGE_KEYS = {"stage", "from_stage", "to_stage", "previous_decided_stage"}
_PROBLEMS = {"over_capacity": N_("group capacity"), "gender_rule": N_("gender rule")}


def _plain(value: object) -> str:
    """A stored value as one line of text: mappings as `key: value; …`, lists comma-separated."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "–" if value is None else str(value)


def _value(key: str, value: object, language: str) -> tuple[str, bool]:
    """(the value as shown, whether it is in `language`): roles, categories, stages, import skips and yes/no are
    named in the admin's language; everything else is data, shown as stored."""
    if isinstance(value, str) and key in _ROLE_KEYS and value in i18n.ROLE_NAMES:
        return i18n.role_name(value, language), True
    if isinstance(value, str) and key in _CATEGORY_KEYS and value in i18n.CATEGORY_NAMES:
        return i18n.gettext(i18n.CATEGORY_NAMES[value], language), True
    if isinstance(value, str) and key in _STAGE_KEYS and value in i18n.STAGE_NAMES:
        return i18n.gettext(i18n.STAGE_NAMES[value], language), True
    if isinstance(value, bool):
        return i18n.gettext(N_("yes") if value else N_("no"), language), True
    if key == "problems" and isinstance(value, list) and all(v in _PROBLEMS for v in value):
        return ", ".join(i18n.gettext(_PROBLEMS[v], language) for v in value), True
    if key == "skipped" and isinstance(value, dict):
        return "; ".join(f"{named(SKIPS, k, language)}: {n}" for k, n in value.items()), True
    return _plain(value), False


def detail_items(detail: str, language: str) -> list[dict]:
    """An audit event's stored JSON detail as rows to show, known fields first in DETAIL_KEYS order: `label` (the
    field's name in `language`, or None for a field the log does not know: its `key` is shown as stored), the
    `value` as text and whether it is `translated` (else it is stored data, marked as such for screen readers and
    translation tools). Empty values are left out; the raw JSON stays available on the page."""
    try:
        fields = json.loads(detail or "{}")
    except ValueError:
        fields = {"detail": detail}
    if not isinstance(fields, dict):
        fields = {"detail": fields}
    items = []
    order = {key: i for i, key in enumerate(DETAIL_KEYS)}  # known fields in a reading order (before, after ...)
    for key, value in sorted(fields.items(), key=lambda kv: order.get(kv[0], len(order))):
        if value in ("", None, [], {}):
            continue
        shown, translated = _value(key, value, language)
        label = i18n.gettext(DETAIL_KEYS[key], language) if key in DETAIL_KEYS else None
        items.append({"key": key, "label": label, "value": shown, "translated": translated})
    return items
