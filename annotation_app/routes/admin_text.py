"""What the admin pages say about refusals, audit actions and import skips, in the admin's language."""

from __future__ import annotations

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
}

# what the page says after an action went through
DONE = {
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
    """The page's account of a refused action: `text` in the admin's language, the English `detail`."""
    code = code or getattr(exc, "code", "")
    status = status_of(exc)
    text = i18n.gettext(ERRORS[code], language) if code in ERRORS else i18n.error_text(code, status, language)
    return {"text": text, "detail": exc.message, "remedy": exc.remedy, "status": status}


def done(key: str, language: str, **values: object) -> str:
    return i18n.gettext(DONE[key], language, **values)


def named(table: dict[str, str], key: str, language: str) -> str:
    """`key`'s name from `table` in `language`, else `key` itself."""
    return i18n.gettext(table[key], language) if key in table else key
