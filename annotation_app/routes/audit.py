"""The expert's audit queue: its page (the labelling player in audit mode) and its JSON API under /api/audit."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from annotation_app import i18n, schemas
from annotation_app.deps import AppSettings, DbSession, ExpertUser, csrf_protect, db_id, released
from annotation_app.models import AuditReview, Sample
from annotation_app.routes.pages import label_config, language_of, render
from annotation_app.services import audit_queue
from core.errors import NotFoundError

ERRORS = {code: {"model": schemas.ErrorResponse} for code in (401, 403, 404, 409, 422)}
api = APIRouter(prefix="/api/audit", tags=["audit"], responses=ERRORS, dependencies=[Depends(csrf_protect)])
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _text(lang: str) -> dict[str, str]:
    """The audit mode's own texts for label.js, translated here; {name} placeholders are filled in the browser."""
    return {
        "audit_stage": i18n.gettext("Audit: current label %(category)s (decided at: %(stage)s)", lang,
                                    category="{category}", stage="{stage}"),
        "audit_empty": i18n.gettext("The audit queue is empty. Thank you!", lang),
        "audit_changed": i18n.gettext("Label changed: %(old)s → %(new)s.", lang, old="{old}", new="{new}"),
        "audit_confirmed": i18n.gettext("Label confirmed: %(category)s.", lang, category="{category}"),
        "audit_suggestion": i18n.gettext("The model suggested: %(category)s.", lang, category="{category}"),
        "audit_no_suggestion": i18n.gettext("The model made no suggestion.", lang),
        "audit_pending": i18n.gettext("Waiting for audit: %(n)s", lang, n="{n}"),
        "audit_reason": i18n.gettext("Why it is here: %(reason)s", lang, reason="{reason}"),
        "error_already_decided": i18n.gettext("This clip's audit was already decided.", lang),
        "error_sample_not_resolved": i18n.gettext("This clip no longer has a final label to audit.", lang),
    }


@pages.get("/expert/audit")
@released
def audit_page(request: Request, user: ExpertUser, session: DbSession, settings: AppSettings) -> Response:
    """The audit queue in the labelling player: the clip and every earlier vote, the model's word after the choice."""
    config = label_config(request, session, settings, user, "audit")
    config["text"].update(_text(language_of(request, user)))
    return render(request, "label.html", user, mode="audit", pass_mark=settings.app_qualification_pass_mark,
                  config=config)


@api.get("/next", response_model=schemas.AuditNextOut)
@released
def next_review(user: ExpertUser, session: DbSession):
    """The first clip waiting in the audit queue ({"item": null} when it is empty)."""
    item = audit_queue.next_item(session, user)
    if item is None:
        return schemas.AuditNextOut(item=None)
    sample = session.get(Sample, item.sample_id)
    return schemas.AuditNextOut(item=schemas.AuditTaskOut(
        review_id=item.id, sample_id=sample.id, media_url=f"/media/{sample.id}", duration_s=sample.duration_s,
        final_category=sample.final_category, decided_stage=sample.decided_stage, reason=item.reason,
        pending=audit_queue.pending_count(session)))


@api.post("/reviews/{review_id}/decision", response_model=schemas.AuditDecisionOut)
@released
def decide(review_id: int, body: schemas.AuditDecisionIn, user: ExpertUser, session: DbSession,
           settings: AppSettings):
    """The expert's word on the clip: its category confirms or changes the final label; the model's suggestion
    comes back only now. Replaying the same decision returns it; a different second one is 409."""
    item = audit_queue.decide(session, settings, user, db_id(review_id, "audit review"),
                              adjective_id=body.adjective_id, confidence=body.confidence, watch_s=body.watch_s,
                              note=body.note)
    session.commit()
    return _decision_out(session, item)


def _decision_out(session, item: AuditReview) -> schemas.AuditDecisionOut:
    sample = session.get(Sample, item.sample_id)
    if sample is None:
        raise NotFoundError(f"no sample {item.sample_id!r}")
    return schemas.AuditDecisionOut(review_id=item.id, sample_id=item.sample_id,
                                    previous_category=item.previous_category, category=item.category,
                                    changed=bool(item.changed), decided_stage=sample.decided_stage,
                                    suggested_category=item.suggested_category, quality_score=item.quality_score)
