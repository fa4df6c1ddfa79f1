"""Leader and quality pages: the leader's group page (reports with inline video, member stats with drift, the
disagreement view) and the live quality dashboard for leaders (their group) and the admin (everything)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from annotation_app import i18n
from annotation_app.deps import AppSettings, DbSession, LeaderOrAdmin, LeaderUser, csrf_protect, released
from annotation_app.routes.pages import language_of, render
from annotation_app.services import charts, dashboard, leader_board, member_stats, people, progress, quality, queue
from core.errors import PermissionDenied

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _group_id(session, user) -> int:
    membership = people.current_membership(session, user.id)
    if membership is None or membership.role != "leader":
        raise PermissionDenied("this page is for group leaders")
    return membership.group_id


@router.get("/leader")
@released
def leader_page(request: Request, user: LeaderUser, session: DbSession, settings: AppSettings) -> Response:
    group_id = _group_id(session, user)
    group_progress = progress.scope_progress(session, [group_id], settings.app_members_per_sample)
    return render(request, "leader.html", user, board=dashboard.leader_dashboard(session, settings, user),
                  stats=member_stats.member_stats(session, group_id),
                  reported=leader_board.reported_samples(session, group_id),
                  disagreements=leader_board.disagreements(session, settings, user),
                  drift_rule={"recent": member_stats.DRIFT_RECENT, "history": member_stats.DRIFT_MIN_HISTORY,
                              "margin": round(member_stats.DRIFT_MARGIN * 100), "z": member_stats.DRIFT_Z},
                  group_progress=group_progress, nav_progress=group_progress,
                  cats=i18n.categories(language_of(request, user)))


@router.post("/leader/samples/{sample_id}/reports")
@released
def leader_sample_reports(sample_id: str, action: Annotated[str, Form()], user: LeaderOrAdmin,
                          session: DbSession) -> Response:
    leader_board.handle_sample_reports(session, user, sample_id, action)
    session.commit()
    return RedirectResponse("/leader#reports" if user.role == "leader" else "/admin", status_code=303)


@router.get("/dashboard")
@released
def quality_page(request: Request, user: LeaderOrAdmin, session: DbSession, settings: AppSettings) -> Response:
    lang = language_of(request, user)
    scope = None if user.role == "admin" else [_group_id(session, user)]
    numbers = quality.dashboard(session, scope)
    if scope is None:
        overall, by_group = progress.all_progress(session, settings.app_members_per_sample)
        groups = [(g.name, by_group[g.id]) for g in people.groups(session) if g.id in by_group]
    else:
        overall, groups = progress.scope_progress(session, scope, settings.app_members_per_sample), []
    charts_svg = {
        "per_day": Markup(charts.bar_chart(numbers["per_day"], "chart-votes-per-day",
                                           i18n.gettext("Votes per day", lang))),
        "kappa": Markup(charts.line_chart([(w.label, w.kappa) for w in numbers["weeks"]], "chart-kappa-per-week",
                                          i18n.gettext("Fleiss' κ per week", lang), low=-0.2, high=1.0)),
    }
    return render(request, "dashboard.html", user, q=numbers, fmt=quality.fmt, overall=overall,
                  group_progress=groups, charts=charts_svg, nav_progress=overall,
                  cache_ttl_s=quality.CACHE_TTL_S,
                  scope_name=None if scope is None else queue.group_name(session, scope[0]))
