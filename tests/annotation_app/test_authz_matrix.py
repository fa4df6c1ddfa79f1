"""Authorisation matrix: every route of the app (OpenAPI schema, HTML pages, media, static, docs) for every role.

A route that is not in TABLE fails the test: a new route must get an explicit allow/deny decision here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from annotation_app.app import create_app
from annotation_app.models import Sample, User
from annotation_app.services import auth, reviews, votes

from .conftest import F, World

ROLES = ("anonymous", "memberA", "memberB", "leader", "expert", "admin")
USERS = {"memberA": "a1", "memberB": "b1", "leader": "alead", "expert": "expert", "admin": "admin"}
OK = "ok"  # any 2xx or 3xx (a redirect that is not to the login page)
LOGIN = "login"  # a browser page sends an anonymous caller to the login page
HTML = {"Accept": "text/html"}

# (method, path pattern) -> how to call it -> expected outcome per role (in ROLES order).
# {s0}, {s1}: group-A samples; {vote}: a1's vote on s0; {report}, {report2}: a1's and a2's reports on s0.
TABLE: dict[tuple[str, str], tuple[dict, tuple]] = {
    # public
    ("GET", "/openapi.json"): ({}, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/docs"): ({}, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/docs/oauth2-redirect"): ({}, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/redoc"): ({}, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/static"): ({"path": "/static/app.css"}, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/static-docs"): ({"path": "/static-docs/swagger-ui.css"}, (OK, OK, OK, OK, OK, OK)),
    ("GET", "/api/csrf"): ({}, (OK, OK, OK, OK, OK, OK)),
    ("POST", "/api/login"): ({"json": {"username": "a1", "password": "password-a1"}}, (OK,) * 6),
    ("POST", "/api/logout"): ({}, (OK,) * 6),
    ("GET", "/login"): ({"headers": HTML}, (OK,) * 6),
    ("POST", "/login"): ({"data": {"username": "a1", "password": "password-a1"}, "headers": HTML}, (OK,) * 6),
    ("POST", "/logout"): ({"headers": HTML}, (LOGIN,) * 6),  # logged out, back to the login page
    ("POST", "/lang"): ({"data": {"language": "en"}, "headers": HTML}, (OK,) * 6),
    ("GET", "/"): ({"headers": HTML}, (LOGIN, OK, OK, OK, OK, OK)),
    # any authenticated caller
    ("GET", "/api/me"): ({}, (401, OK, OK, OK, OK, OK)),
    ("POST", "/api/me/language"): ({"json": {"language": "en"}}, (401, OK, OK, OK, OK, OK)),
    ("GET", "/api/adjectives"): ({}, (401, OK, OK, OK, OK, OK)),
    ("GET", "/api/tasks/next"): ({}, (401, OK, OK, OK, OK, OK)),
    # a1 was just served s1: only they renew its seat; others who see it hold none (409), memberB cannot see it
    ("POST", "/api/tasks/{sample_id}/lease"): ({"path": "/api/tasks/{s1}/lease"}, (401, OK, 404, 409, 409, 409)),
    # giving back a seat one does not hold gives back nothing (and says nothing about the sample)
    ("POST", "/api/tasks/{sample_id}/release"): ({"path": "/api/tasks/{s1}/release"}, (401, OK, OK, OK, OK, OK)),
    ("GET", "/api/qualification"): ({}, (401, OK, OK, OK, OK, OK)),
    # group-scoped: a group-A sample is invisible (404, not 403: its existence does not leak) outside group A
    ("GET", "/api/samples/{sample_id}"): ({"path": "/api/samples/{s0}"}, (401, OK, 404, OK, OK, OK)),
    ("GET", "/media/{sample_id}"): ({"path": "/media/{s0}"}, (401, OK, 404, OK, OK, OK)),
    ("GET", "/media/{sample_id}/poster"): ({"path": "/media/{s0}/poster"}, (401, OK, 404, OK, OK, OK)),
    ("POST", "/api/samples/{sample_id}/report"): ({"path": "/api/samples/{s0}/report", "json": {"note": "x"}},
                                                  (401, OK, 404, OK, OK, OK)),
    # only the member stage's voters of group A may vote now; the expert stage is not open yet
    ("POST", "/api/votes"): ({"json": {"sample_id": "{s1}", "adjective_id": F, "confidence": 0.5,
                                       "client_id": "matrix-1", "stage": "member"}},
                             (401, OK, 404, 403, 403, 403)),
    # only the author corrects a vote (another's vote is "no vote of yours")
    ("POST", "/api/votes/{vote_id}/revisions"): ({"path": "/api/votes/{vote}/revisions",
                                                  "json": {"adjective_id": F, "confidence": 0.9,
                                                           "client_id": "matrix-2", "reason": "typo"}},
                                                 (401, OK, 404, 404, 404, 404)),
    # role-gated
    ("POST", "/api/qualification/answers"): ({"json": {"sample_id": "{s0}", "adjective_id": F}},
                                             (401, 404, 404, 403, 403, 403)),
    ("GET", "/api/leader/dashboard"): ({}, (401, 403, 403, OK, 403, 403)),
    ("POST", "/api/reports/{report_id}"): ({"path": "/api/reports/{report}", "json": {"action": "dismiss"}},
                                           (401, 403, 403, OK, 403, OK)),
    ("GET", "/api/mos/next"): ({}, (401, 403, 403, 403, OK, 403)),
    # the audit queue is the expert's; no review 999 exists (404 for the expert only)
    ("GET", "/api/audit/next"): ({}, (401, 403, 403, 403, OK, 403)),
    ("POST", "/api/audit/reviews/{review_id}/decision"): ({"path": "/api/audit/reviews/999/decision",
                                                           "json": {"adjective_id": F, "confidence": 0.5}},
                                                          (401, 403, 403, 403, 404, 403)),
    ("POST", "/api/mos"): ({"json": {"sample_id": "{s0}", "score": 4}}, (401, 403, 403, 403, 404, 403)),
    ("POST", "/api/admin/users"): ({"json": {"username": "new-{role}", "role": "member", "password": "long-pass-1"}},
                                   (401, 403, 403, 403, 403, OK)),
    ("POST", "/api/admin/users/{username}/tokens"): ({"path": "/api/admin/users/a2/tokens"},
                                                     (401, 403, 403, 403, 403, OK)),
    ("POST", "/api/admin/memberships"): ({"json": {"username": "c3", "group": "C"}}, (401, 403, 403, 403, 403, OK)),
    ("POST", "/api/admin/distribute"): ({"json": {"batch_size": 2}}, (401, 403, 403, 403, 403, OK)),
    # the progress export (per-person vote counts): admins only
    ("GET", "/api/admin/progress"): ({}, (401, 403, 403, 403, 403, OK)),
    # pages
    ("GET", "/label"): ({"headers": HTML}, (LOGIN, OK, OK, OK, OK, OK)),
    ("GET", "/qualify"): ({"headers": HTML}, (LOGIN, OK, OK, 403, 403, 403)),
    ("GET", "/leader"): ({"headers": HTML}, (LOGIN, 403, 403, OK, 403, 403)),
    ("POST", "/leader/reports/{report_id}"): ({"path": "/leader/reports/{report2}", "data": {"action": "dismiss"},
                                               "headers": HTML}, (LOGIN, 403, 403, OK, 403, OK)),
    # a2's own report on s1 (only this entry handles it): the sample's leader or an admin
    ("POST", "/leader/samples/{sample_id}/reports"): ({"path": "/leader/samples/{s1}/reports",
                                                       "data": {"action": "dismiss"}, "headers": HTML},
                                                      (LOGIN, 403, 403, OK, 403, OK)),
    ("GET", "/dashboard"): ({"headers": HTML}, (LOGIN, 403, 403, OK, 403, OK)),
    ("GET", "/expert/mos"): ({"headers": HTML}, (LOGIN, 403, 403, 403, OK, 403)),
    ("GET", "/expert/audit"): ({"headers": HTML}, (LOGIN, 403, 403, 403, OK, 403)),
    ("GET", "/admin"): ({"headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/users"): ({"data": {"username": "form-{role}", "password": "long-pass-1", "role": "member"},
                                "headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/distribute"): ({"data": {"batch_size": "2"}, "headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    **{("GET", f"/admin/{page}"): ({"headers": HTML}, (LOGIN, 403, 403, 403, 403, OK))
       for page in ("import", "people", "groups", "crosscheck", "export", "backup", "audit")},
    ("GET", "/admin/people/{person_id}"): ({"path": "/admin/people/{a2}", "headers": HTML},
                                           (LOGIN, 403, 403, 403, 403, OK)),
    # admin: a manifest the data folder does not hold is refused; without profile scores no groups form (the
    # preview is a GET of /admin/groups)
    ("POST", "/admin/import"): ({"data": {"manifest": "../x.jsonl"}, "headers": HTML},
                                (LOGIN, 403, 403, 403, 403, 422)),
    ("POST", "/admin/groups/apply"): ({"data": {"n_groups": "3", "size": "3", "leader_by": "p", "signature": "x"},
                                       "headers": HTML}, (LOGIN, 403, 403, 403, 403, 422)),
    ("POST", "/admin/crosscheck"): ({"data": {"name": "s{role}", "set_size": "1"}, "headers": HTML},
                                    (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/export"): ({"headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/backup"): ({"headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/people/{person_id}/active"): ({"path": "/admin/people/{a2}/active", "data": {"active": "1"},
                                                    "headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/people/{person_id}/password"): ({"path": "/admin/people/{a2}/password",
                                                      "data": {"password": "long-pass-2"}, "headers": HTML},
                                                     (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/people/{person_id}/role"): ({"path": "/admin/people/{a2}/role", "data": {"role": "member"},
                                                  "headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/people/{person_id}/move"): ({"path": "/admin/people/{a2}/move", "data": {"group": "A"},
                                                  "headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    # the form says how many tokens the person had when it was shown (a3: none); a resent form is refused
    ("POST", "/admin/people/{person_id}/tokens"): ({"path": "/admin/people/{a3}/tokens", "data": {"seen": "0"},
                                                    "headers": HTML}, (LOGIN, 403, 403, 403, 403, OK)),
    ("POST", "/admin/people/{person_id}/tokens/{token_id}/revoke"): (
        {"path": "/admin/people/{a2}/tokens/999999/revoke", "headers": HTML}, (LOGIN, 403, 403, 403, 403, 404)),
}


def _walk(routes, prefix: str = ""):
    """(method, path) of every route, descending into included routers (newer FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, Mount):
            yield "GET", prefix + route.path
        elif isinstance(route, APIRoute | Route):
            yield from ((m, prefix + route.path) for m in route.methods or () if m != "HEAD")
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            yield from _walk(route.original_router.routes, prefix + (getattr(context, "prefix", "") or ""))
        else:
            raise AssertionError(f"unknown kind of route {route!r}: teach this test to walk it")


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, the schema's and the hidden ones (pages, media, static, docs)."""
    found = set(_walk(app.routes))
    for path, operations in app.openapi()["paths"].items():
        found |= {(m.upper(), path) for m in operations}
    return found


def test_every_route_has_a_decision(sqlite_url, world_factory):
    world = world_factory(sqlite_url, samples=0)
    app = create_app(world.settings, database_url=world.url)
    routes = app_routes(app)
    schema = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert schema and schema <= routes
    missing, stale = routes - TABLE.keys(), TABLE.keys() - routes
    assert not missing, f"routes without an authorisation decision in TABLE: {sorted(missing)}"
    assert not stale, f"TABLE names routes the app no longer has: {sorted(stale)}"
    app.state.engine.dispose()


def _setup(world: World) -> dict[str, str]:
    """a1 votes on and reports s0 (group A); s0 gets a poster file; returns the path placeholders."""
    s0 = world.samples[0]
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        vote = votes.submit_vote(session, world.settings, a1, sample_id=s0, adjective_id=F, confidence=0.5,
                                 client_id="setup-1", watch_s=None, stage="member").vote
        report = reviews.report_sample(session, world.settings, a1, s0, "broken", "setup")
        report2 = reviews.report_sample(session, world.settings, session.get(User, world.users["a2"]), s0, "other")
        reviews.report_sample(session, world.settings, session.get(User, world.users["a2"]), world.samples[1], "other")
        sample = session.get(Sample, s0)
        poster = Path(sample.media_path).with_suffix(".jpg")
        poster.write_bytes(b"\xff\xd8\xff\xe0poster")
        sample.poster_path = str(poster)
        session.commit()
        return {"s0": s0, "s1": world.samples[1], "vote": str(vote.id), "report": str(report.id),
                "report2": str(report2.id), "a2": str(world.users["a2"]), "a3": str(world.users["a3"])}


def _fill(value, names: dict[str, str]):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _client(world: World, role: str) -> TestClient:
    client = TestClient(create_app(world.settings, database_url=world.url), follow_redirects=False)
    if role == "anonymous":  # an anonymous cookie session with its CSRF token: only the missing login should count
        client.headers["X-CSRF-Token"] = client.get("/api/csrf").json()["csrf_token"]
    else:
        with world.session() as session:
            token = auth.create_token(session, session.get(User, world.users[USERS[role]]))
            session.commit()
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def _outcome(response) -> str | int:
    status = response.status_code
    if status in (301, 302, 303, 307) and response.headers["location"].startswith("/login"):
        return LOGIN
    return OK if status < 400 else status


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(role, sqlite_url, world_factory):
    world = world_factory(sqlite_url, passwords=("a1",))
    names = {**_setup(world), "role": role}
    client = _client(world, role)
    column = ROLES.index(role)
    wrong = []
    # logins and logouts last: they would change who the cookie session is
    order = sorted(TABLE, key=lambda key: key[1] in ("/api/login", "/login", "/api/logout", "/logout"))
    for method, pattern in order:
        call, expected = TABLE[(method, pattern)]
        call = _fill(call, names)
        kwargs = {k: call[k] for k in ("json", "data", "headers") if k in call}
        if role == "anonymous":  # a login in this walk rotates the token
            client.headers["X-CSRF-Token"] = client.get("/api/csrf").json()["csrf_token"]
        response = client.request(method, call.get("path", pattern), **kwargs)
        got = _outcome(response)
        if got != expected[column]:
            wrong.append(f"{method} {pattern}: expected {expected[column]}, got {got} {response.text[:200]}")
        if got not in (OK, LOGIN) and response.headers.get("content-type", "").startswith("application/json"):
            assert set(response.json()) == {"error"}, response.text
    client.app.state.engine.dispose()
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
