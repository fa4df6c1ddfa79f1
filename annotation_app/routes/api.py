"""The JSON API under /api: login, tasks, votes, reports, qualification, MOS, leader and admin calls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from annotation_app import i18n, schemas
from annotation_app.deps import (
    AdminUser,
    AnyCaller,
    AnyUser,
    AppSettings,
    DbSession,
    ExpertUser,
    LeaderOrAdmin,
    LeaderUser,
    MemberUser,
    client_address,
    csrf_protect,
    db_id,
    in_one_thread,
    released,
    session_data,
    set_session,
)
from annotation_app.models import User
from annotation_app.services import auth, crosscheck, dashboard, importer, people, queue, reviews, votes
from annotation_app.services import export as export_service
from core.errors import InvalidRequest, PermissionDenied
from core.settings import Settings
from core.taxonomy import adjective_table

ERRORS = {code: {"model": schemas.ErrorResponse} for code in (401, 403, 404, 409, 422, 429)}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS, dependencies=[Depends(csrf_protect)])


def me_out(session: Session, user: User, csrf: str | None = None) -> schemas.MeOut:
    membership = people.current_membership(session, user.id)
    return schemas.MeOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                         language=user.language, group=queue.group_name(session, membership.group_id)
                         if membership else None, group_role=membership.role if membership else None,
                         qualified=user.qualified_at is not None, votes=dashboard.vote_count(session, user.id),
                         csrf_token=csrf)


@router.get("/csrf")
@released
def csrf(request: Request) -> dict:
    """The CSRF token of this (possibly anonymous) cookie session, for the login call of a script or page."""
    return {"csrf_token": session_data(request)["csrf"]}


@router.post("/login", response_model=schemas.MeOut)
@released
def login(body: schemas.LoginIn, request: Request, session: DbSession, settings: AppSettings):
    """Check the password and start a cookie session (a fresh CSRF token comes back in the body)."""
    user = auth.login(session, settings, body.username, body.password, client_address(request))
    session.commit()
    payload = auth.session_payload(user)
    set_session(request, payload)
    return me_out(session, user, payload["csrf"])


@router.post("/logout", status_code=204)
@released
def logout(request: Request, session: DbSession) -> Response:
    """End the caller's cookie sessions everywhere (a copied cookie dies too) and start an anonymous one."""
    auth.end_sessions(session, session_data(request).get("uid"), client_address(request))
    session.commit()
    set_session(request, {"csrf": auth.new_csrf()})
    return Response(status_code=204)


@router.get("/me", response_model=schemas.MeOut)
@released
def me(request: Request, caller: AnyCaller, session: DbSession):
    csrf = session_data(request).get("csrf") if caller.via == "cookie" else None
    return me_out(session, caller.user, csrf)


@router.post("/me/language", response_model=schemas.MeOut)
@released
def set_language(body: dict, user: AnyUser, session: DbSession):
    user.language = i18n.normalise(str(body.get("language", "")))
    session.commit()
    return me_out(session, user)


@router.get("/adjectives", response_model=list[schemas.AdjectiveOut])
@released
def adjectives(user: AnyUser, settings: AppSettings, lang: str | None = None):
    """The 62 adjectives in the caller's language; category names only where the setting or role allows."""
    language = i18n.normalise(lang or user.language)
    show = settings.app_show_categories or user.role != "member"
    return [schemas.AdjectiveOut(id=a.id, label=a.label(language), category=a.category.value if show else None)
            for a in adjective_table(settings.adjectives_path).adjectives]


def task_out(sample_id: str, stage: str, duration_s: float | None, lease_s: float | None = None) -> schemas.TaskOut:
    return schemas.TaskOut(sample_id=sample_id, stage=stage, media_url=f"/media/{sample_id}", duration_s=duration_s,
                           lease_s=lease_s)


@router.get("/tasks/next", response_model=schemas.NextOut)
async def next_task(request: Request, settings: AppSettings):
    """The caller's next video (a seat reserved for them); {"task": null} when the queue is empty."""

    def work(session: Session, user: User) -> schemas.NextOut:
        if queue.qualification_required(session, user):
            raise PermissionDenied("pass the qualification set first", code="qualification_required")
        item = crosscheck.next_item(session, user) if user.role == "member" else None
        if item is not None:  # cross-check sets come first while a cross-check stage is running
            return schemas.NextOut(task=task_out(item.sample.id, "crosscheck", item.sample.duration_s))
        task = queue.next_task(session, user, settings)
        session.commit()
        if task is None:
            return schemas.NextOut(task=None)
        return schemas.NextOut(task=task_out(task.id, task.stage, task.duration_s, settings.app_lease_s))

    return await in_one_thread(request, work)


@router.post("/votes", response_model=schemas.VoteOut, status_code=201)
async def cast_vote(body: schemas.VoteIn, request: Request, response: Response, settings: AppSettings):
    """Store a vote (201); replaying the same submission returns it again (200); a different one is 409."""

    def work(session: Session, user: User) -> tuple[schemas.VoteOut, bool]:
        if body.stage == "crosscheck":
            vote, created = crosscheck.submit(session, settings, user, sample_id=body.sample_id,
                                              adjective_id=body.adjective_id, confidence=body.confidence,
                                              client_id=body.client_id, watch_s=body.watch_s)
            session.commit()
            return schemas.VoteOut(vote_id=vote.id, created=created, sample_id=vote.sample_id,
                                   stage="crosscheck"), created
        result = votes.submit_vote(session, settings, user, sample_id=body.sample_id,
                                   adjective_id=body.adjective_id, confidence=body.confidence,
                                   client_id=body.client_id, watch_s=body.watch_s, stage=body.stage)
        session.commit()
        return schemas.VoteOut(vote_id=result.vote.id, created=result.created, sample_id=result.vote.sample_id,
                               stage=result.vote.stage), result.created

    out, created = await in_one_thread(request, work)
    response.status_code = 201 if created else 200
    return out


@router.post("/votes/{vote_id}/revisions", response_model=schemas.VoteOut, status_code=201)
@released
def correct_vote(vote_id: int, body: schemas.CorrectionIn, response: Response, user: AnyUser,
                 session: DbSession, settings: AppSettings):
    """Correct one's own vote while its stage is open: a new revision replaces it (both are kept)."""
    result = votes.correct_vote(session, settings, user, vote_id=db_id(vote_id, "vote"), adjective_id=body.adjective_id,
                                confidence=body.confidence, client_id=body.client_id, reason=body.reason)
    session.commit()
    if not result.created:
        response.status_code = 200
    return schemas.VoteOut(vote_id=result.vote.id, created=result.created, sample_id=result.vote.sample_id,
                           stage=result.vote.stage)


@router.post("/tasks/{sample_id}/lease", response_model=schemas.LeaseOut)
async def renew_lease(sample_id: str, request: Request, settings: AppSettings):
    """Keep the seat of a clip the caller is still watching; 409 with the reason when it is gone."""

    def work(session: Session, user: User) -> schemas.LeaseOut:
        until = queue.renew_lease(session, user, sample_id, settings)
        session.commit()
        return schemas.LeaseOut(sample_id=sample_id, lease_until=until, lease_s=settings.app_lease_s)

    return await in_one_thread(request, work)


@router.post("/tasks/{sample_id}/release", response_model=schemas.ReleaseOut)
@released
def release_task(sample_id: str, user: AnyUser, session: DbSession):
    """Skip: give the seat back and set the clip aside (it comes back to the caller only when nothing else is left)."""
    released_count = queue.release(session, user, sample_id, skip=True)
    session.commit()
    return schemas.ReleaseOut(sample_id=sample_id, released=released_count)


@router.get("/samples/{sample_id}", response_model=schemas.SampleOut)
@released
def sample_detail(sample_id: str, user: AnyUser, session: DbSession,
                  settings: AppSettings):
    """A sample's state; its votes only for experts, admins and leaders who already voted on it."""
    sample = queue.check_visible(session, user, sample_id, settings)
    out = schemas.SampleOut(id=sample.id, stage=sample.stage, status=sample.status,
                            group=queue.group_name(session, sample.group_id), duration_s=sample.duration_s,
                            media_url=f"/media/{sample.id}")
    if dashboard.may_see_votes(session, user, sample):
        table = adjective_table(settings.adjectives_path)
        names = {u.id: u.username for u in session.query(User)}
        out.final_category, out.decided_stage = sample.final_category, sample.decided_stage
        out.votes = [schemas.VoteView(voter=names[v.voter_id], stage=v.stage, adjective_id=v.adjective_id,
                                      adjective=table.get(v.adjective_id).label(user.language), category=v.category,
                                      confidence=v.confidence, created_at=v.created_at)
                     for v in votes.votes_of(session, sample.id)]
    return out


@router.post("/samples/{sample_id}/report", status_code=201)
@released
def report(sample_id: str, body: schemas.ReportIn, user: AnyUser, session: DbSession,
           settings: AppSettings) -> dict:
    row = reviews.report_sample(session, settings, user, sample_id, body.reason, body.note)
    session.commit()
    return {"report_id": row.id}


@router.get("/leader/dashboard")
@released
def leader_dashboard(user: LeaderUser, session: DbSession,
                     settings: AppSettings) -> dict:
    return dashboard.leader_dashboard(session, settings, user)


@router.post("/reports/{report_id}")
@released
def handle_report(report_id: int, body: schemas.ReportAction, user: LeaderOrAdmin,
                  session: DbSession) -> dict:
    row = reviews.handle_report(session, user, db_id(report_id, "report"), body.action)
    session.commit()
    return {"report_id": row.id, "action": row.action}


def qualification_out(state: reviews.QualificationState, settings: Settings) -> schemas.QualificationOut:
    return schemas.QualificationOut(total=state.total, answered=state.answered, attempts=state.attempts,
                                    attempts_left=state.attempts_left, passed=state.passed,
                                    last_score=state.last_score, next_sample_id=state.next_sample_id,
                                    pass_mark=settings.app_qualification_pass_mark)


@router.get("/qualification", response_model=schemas.QualificationOut)
@released
def qualification(user: AnyUser, session: DbSession, settings: AppSettings):
    return qualification_out(reviews.qualification_state(session, settings, user), settings)


@router.post("/qualification/answers", response_model=schemas.QualificationOut)
@released
def qualification_answer(body: schemas.QualificationAnswerIn, user: MemberUser,
                         session: DbSession, settings: AppSettings):
    state = reviews.answer_qualification(session, settings, user, body.sample_id, body.adjective_id)
    session.commit()
    return qualification_out(state, settings)


@router.get("/mos/next", response_model=schemas.MosTaskOut | None)
@released
def mos_next(user: ExpertUser, session: DbSession):
    sample = reviews.next_mos(session, user)
    if sample is None:
        return None
    return schemas.MosTaskOut(sample_id=sample.id, media_url=f"/media/{sample.id}", label=sample.final_category)


@router.post("/mos", status_code=201)
@released
def mos_rate(body: schemas.MosIn, user: ExpertUser, session: DbSession) -> dict:
    rating = reviews.rate_mos(session, user, body.sample_id, body.score)
    session.commit()
    return {"rating_id": rating.id}


@router.post("/admin/users", response_model=schemas.MeOut, status_code=201)
@released
def create_user(body: schemas.UserIn, admin: AdminUser, session: DbSession, settings: AppSettings):
    profile = body.model_dump(include=set(people.PROFILE_FIELDS))
    user = people.create_user(session, body.username, body.role, password=body.password, actor_id=admin.id,
                              display_name=body.display_name, language=body.language, gender=body.gender,
                              **profile)
    if body.group:
        people.move(session, user, people.group_by_name(session, body.group), capacity=settings.app_group_capacity,
                    gender_rule=settings.app_gender_rule, reason=body.reason, actor_id=admin.id)
    session.commit()
    return me_out(session, user)


@router.post("/admin/users/{username}/tokens", response_model=schemas.TokenOut, status_code=201)
@released
def create_token(username: str, admin: AdminUser, session: DbSession):
    token = auth.create_token(session, people.user_by_name(session, username), "api", actor_id=admin.id)
    session.commit()
    return schemas.TokenOut(token=token)


@router.post("/admin/memberships")
@released
def set_membership(body: schemas.MembershipIn, admin: AdminUser, session: DbSession, settings: AppSettings) -> dict:
    user = people.user_by_name(session, body.username)
    group = people.group_by_name(session, body.group) if body.group else None
    people.move(session, user, group, capacity=settings.app_group_capacity, gender_rule=settings.app_gender_rule,
                reason=body.reason, actor_id=admin.id)
    session.commit()
    return {"username": user.username, "group": body.group}


@router.post("/admin/distribute")
@released
def distribute(body: schemas.DistributeIn, admin: AdminUser, session: DbSession, settings: AppSettings) -> dict:
    if body.groups == []:
        raise InvalidRequest("name at least one group or leave groups out")
    dealt = importer.distribute(session, body.batch_size, group_names=body.groups, limit=body.limit,
                                actor_id=admin.id, members_per_sample=settings.app_members_per_sample)
    session.commit()
    return {"dealt": dealt}


@router.get("/admin/progress")
@released
def progress(admin: AdminUser, session: DbSession) -> dict:
    return export_service.progress(session)
