"""Abuse tests: CSRF, session fixation, brute-force login, path traversal on media, hostile request bodies,
and stored XSS through sample metadata and user names, checked in a real browser."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from annotation_app.app import create_app
from annotation_app.deps import COOKIE_NAME
from annotation_app.models import AuditEvent, Sample, Seat, User
from annotation_app.services import auth, reviews, seats, votes

from .conftest import F, N, R, S, T, World, build_world, post_vote, served

HTML = {"Accept": "text/html"}


@pytest.fixture
def site(sqlite_url, world_factory, client_of):
    world = world_factory(sqlite_url, passwords=("a1", "a2"), app_login_max_failures=3)
    client = client_of(world)
    client.follow_redirects = False
    return world, client


def api_login(client: TestClient, username: str, password: str | None = None):
    csrf = client.get("/api/csrf").json()["csrf_token"]
    return client.post("/api/login", json={"username": username, "password": password or "password-" + username},
                       headers={"X-CSRF-Token": csrf})


def is_error(response, status: int, code: str | None = None) -> bool:
    body = response.json()
    ok = response.status_code == status and set(body) == {"error"} and set(body["error"]) == {"code", "message",
                                                                                                "remedy"}
    return ok and (code is None or body["error"]["code"] == code)


# --- CSRF -----------------------------------------------------------------------------------------------------


def test_cookie_posts_need_the_session_csrf_token(site):
    world, client = site
    assert api_login(client, "a1").status_code == 200
    csrf = client.get("/api/me").json()["csrf_token"]
    s0 = world.samples[0]
    assert is_error(post_vote(client, s0, F), 403, "forbidden")  # no token
    client.headers["X-CSRF-Token"] = "forged-" + csrf
    assert is_error(post_vote(client, s0, F), 403, "forbidden")  # wrong token
    client.headers["X-CSRF-Token"] = ""
    assert is_error(post_vote(client, s0, F), 403, "forbidden")  # empty token
    # another session's valid token does not carry over
    other = TestClient(client.app)
    client.headers["X-CSRF-Token"] = other.get("/api/csrf").json()["csrf_token"]
    assert is_error(post_vote(client, s0, F), 403, "forbidden")
    # a cross-site form post (no header, token field missing or wrong) is refused too
    del client.headers["X-CSRF-Token"]
    for data in ({"language": "en"}, {"language": "en", "csrf_token": "nope"}):
        r = client.post("/lang", data=data, headers=HTML)
        assert r.status_code == 403 and "lang=" not in r.headers.get("set-cookie", "")
    assert client.post("/lang", data={"language": "en", "csrf_token": csrf}, headers=HTML).status_code == 303
    r = client.post("/api/logout", headers={"X-CSRF-Token": "nope"})  # logging someone out is refused too
    assert is_error(r, 403, "forbidden") and client.get("/api/me").status_code == 200  # still logged in
    client.headers["X-CSRF-Token"] = csrf
    assert post_vote(client, s0, F).status_code == 201


# --- session fixation -----------------------------------------------------------------------------------------


def test_login_issues_a_new_session_and_the_old_cookie_stays_anonymous(site):
    _world, client = site
    client.get("/api/csrf")
    planted = client.cookies[COOKIE_NAME]
    planted_csrf = client.get("/api/csrf").json()["csrf_token"]
    assert api_login(client, "a1").status_code == 200
    fresh = client.cookies[COOKIE_NAME]
    assert fresh != planted
    assert client.get("/api/me").json()["csrf_token"] != planted_csrf
    # whoever planted the pre-login cookie does not ride on the victim's login
    attacker = TestClient(client.app, cookies={COOKIE_NAME: planted})
    assert is_error(attacker.get("/api/me"), 401, "unauthenticated")
    # logout rotates the session again
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    assert client.post("/api/logout").status_code == 204
    assert client.cookies[COOKIE_NAME] not in (planted, fresh)
    assert client.get("/api/me").status_code == 401
    # a tampered cookie is ignored, never trusted
    forged = TestClient(client.app, cookies={COOKIE_NAME: fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")})
    assert forged.get("/api/me").status_code == 401


def test_logout_revokes_every_copy_of_the_cookie(site):
    world, client = site
    assert api_login(client, "a2").status_code == 200
    stolen = TestClient(client.app, cookies={COOKIE_NAME: client.cookies[COOKIE_NAME]})
    other_browser = TestClient(client.app)
    assert api_login(other_browser, "a2").status_code == 200
    assert stolen.get("/api/me").json()["username"] == "a2"  # a copied cookie works until the logout
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    assert client.post("/api/logout").status_code == 204
    for dead in (stolen, other_browser):  # the copy, and the user's other sessions, are logged out too
        assert is_error(dead.get("/api/me"), 401, "unauthenticated")
        assert dead.get("/label", headers=HTML, follow_redirects=False).status_code in (302, 303, 307)
    assert api_login(client, "a2").status_code == 200  # logging in again works, with a fresh cookie
    assert client.get("/api/me").json()["username"] == "a2"
    with world.session() as session:
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "user.logout")).all()
    assert events == ["user.logout"]


# --- brute force ----------------------------------------------------------------------------------------------


def test_brute_force_login_hits_the_rate_limit(site):
    _world, client = site
    codes = [api_login(client, "a1", f"guess-{i}").status_code for i in range(3)]
    assert codes == [401, 401, 401]
    locked = api_login(client, "a1")  # even the right password, once the name is locked
    assert is_error(locked, 429, "rate_limited")
    # the browser form is limited the same way
    page = client.get("/login", headers=HTML).text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "a1", "password": "password-a1", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 429
    # spraying many names from one address is limited per address (10x the per-name allowance)
    statuses = [api_login(client, f"nobody{i}", "wrong-password").status_code for i in range(31)]
    assert statuses == sorted(statuses) and statuses[0] == 401 and statuses[-1] == 429
    assert api_login(client, "a2").status_code == 429  # this address is locked out for everyone now


def test_wrong_passwords_elsewhere_never_lock_the_right_one_out(sqlite_url, world_factory):
    """20 wrong passwords for admin from one address; the right one from another address gets in within 5 s."""
    world = world_factory(sqlite_url, passwords=("admin",))
    app = create_app(world.settings, database_url=world.url)
    attacker = TestClient(app, client=("203.0.113.9", 40000))
    owner = TestClient(app, client=("198.51.100.7", 40001))
    codes = [api_login(attacker, "admin", f"guess-{i}").status_code for i in range(20)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    held_back = api_login(attacker, "admin")  # even the right password, from the guessing address
    assert is_error(held_back, 429, "rate_limited")
    started = time.monotonic()
    r = api_login(owner, "admin")
    if r.status_code == 429:  # the account-wide wait: at most 5 s after the last failure, never a lock-out
        wait = int(re.search(r"try again in (\d+) s", r.json()["error"]["message"]).group(1))
        assert wait <= 5
        time.sleep(wait)
        r = api_login(owner, "admin")
    assert r.status_code == 200 and time.monotonic() - started < 7
    app.state.engine.dispose()


def _recorded_clients(world) -> list[str]:
    from annotation_app.models import LoginFailure

    with world.session() as session:
        return list(session.scalars(select(LoginFailure.client).order_by(LoginFailure.id)))


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_forwarded_for_counts_only_from_a_trusted_proxy(sqlite_url, world_factory, trusted):
    """Served the way `emotions app serve` serves: a forged X-Forwarded-For from loopback changes nothing unless
    loopback is a configured proxy."""
    import httpx

    from annotation_app.cli import proxy_options

    world = world_factory(sqlite_url, passwords=("a1",))
    app = create_app(world.settings, database_url=world.url)
    try:
        with served(app, **proxy_options(trusted)) as base, httpx.Client(base_url=base) as client:
            for i in range(3):
                csrf = client.get("/api/csrf").json()["csrf_token"]
                r = client.post("/api/login", json={"username": "a1", "password": "wrong-password"},
                                headers={"X-CSRF-Token": csrf, "X-Forwarded-For": f"198.51.100.{i + 1}"})
                assert r.status_code == 401
    finally:
        app.state.engine.dispose()
    expected = ["198.51.100.1", "198.51.100.2", "198.51.100.3"] if trusted else ["127.0.0.1"] * 3
    assert _recorded_clients(world) == expected


# --- path traversal -------------------------------------------------------------------------------------------


TRAVERSALS = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "..%252f..%252fetc%252fpasswd",
              "%2e%2e/%2e%2e/etc/passwd", "%2e%2e%2f%2e%2e%2fsecret.txt", "..\\..\\secret.txt", "/etc/passwd",
              "%2fetc%2fpasswd", "....//....//secret.txt", "..%c0%af..%c0%afsecret.txt", "s0/../../secret.txt",
              "s0%00.mp4", "SECRET", "secret.txt", "..", "%2e%2e"]


def test_media_routes_never_read_a_file_by_path(site, client_of):
    world, _ = site
    secret = world.media_dir.parent.parent / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (world.media_dir / "secret.txt").write_text("TOP-SECRET-CONTENT")
    admin = client_of(world, "admin")  # the role that sees every sample
    for attempt in TRAVERSALS:
        for url in (f"/media/{attempt}", f"/media/{attempt}/poster", f"/media/s0/{attempt}",
                    f"/static/{attempt}", f"/api/samples/{attempt}"):
            r = admin.get(url, follow_redirects=False)  # a client may normalise "x/.." to "/" (a redirect home)
            assert r.status_code in (404, 400, 405) or r.headers.get("location") in ("/login", "/admin"), (
                url, r.status_code)
            assert "TOP-SECRET" not in r.text and "root:" not in r.text, url
    # the real file of a sample is served (so the checks above are not vacuous)
    assert admin.get(f"/media/{world.samples[0]}").content == bytes(range(256)) * 16
    # static files come only from the static folder
    assert admin.get("/static/app.css").status_code == 200
    for url in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/../templates/base.html"):
        r = admin.get(url)
        assert r.status_code == 404 and "create_app" not in r.text and "{%" not in r.text, url


# --- hostile bodies -------------------------------------------------------------------------------------------


def test_oversized_and_malformed_bodies_get_a_json_4xx(site, client_of):
    world, _ = site
    a1 = client_of(world, "a1")
    s0 = world.samples[0]
    json_type = {"content-type": "application/json"}
    huge = json.dumps({"sample_id": s0, "adjective_id": F, "confidence": 0.5, "client_id": "x" * 5_000_000})
    vote = f'"sample_id": "{s0}", "adjective_id": {F}, "client_id": "x"'
    bodies = [huge, "{", "[" * 50_000 + "]" * 50_000, '{"a":' * 20_000 + "1" + "}" * 20_000, b"\xff\xfe\x00\x01",
              "[1, 2]", '"text"', "null", "",
              "{" + vote + ', "confidence": NaN}',
              "{" + vote + ', "confidence": 0.5, "watch_s": Infinity}',
              "{" + vote + ', "confidence": 0.5, "watch_s": -1e999}',
              f'{{"sample_id": "{s0}", "adjective_id": 1e999, "confidence": 0.5, "client_id": "x"}}',
              f'{{"sample_id": ["{s0}"], "adjective_id": "1", "confidence": "0.5", "client_id": {{}}}}',
              f'{{"sample_id": "{s0}\\u0000", "adjective_id": {F}, "confidence": 0.5, "client_id": "x"}}']
    for body in bodies:
        r = a1.post("/api/votes", content=body, headers=json_type)
        assert 400 <= r.status_code < 500, (str(body)[:80], r.status_code, r.text[:200])
        assert set(r.json()["error"]) == {"code", "message", "remedy"}
    assert is_error(a1.post("/api/votes", content=huge, headers=json_type), 413)
    streamed = (chunk for chunk in [huge[i:i + 65536].encode() for i in range(0, len(huge), 65536)])
    assert is_error(a1.post("/api/votes", content=streamed, headers=json_type), 413)  # chunked, no length
    for url in ("/api/samples/s0/report", "/api/admin/users", "/api/me/language", "/api/login"):
        for body in ("{", "[]", "x" * 2_000_000):
            r = a1.post(url, content=body, headers=json_type)
            assert 400 <= r.status_code < 500 and "error" in r.json(), (url, body[:10], r.status_code)
    r = a1.post("/api/votes", content=b"x" * 10, headers={"content-type": "multipart/form-data; boundary=zz"})
    assert 400 <= r.status_code < 500 and "error" in r.json()
    # no vote came from any of it
    assert a1.get("/api/me").json()["votes"] == 0


# --- stored XSS, in a real browser ----------------------------------------------------------------------------


XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = "<img src=x onerror=window.__xss=1>"
XSS_SVG = "<svg onload=window.__xss=1>"



def _poison(world: World) -> dict[str, str]:
    """Hostile text in every stored field a page shows: sample ids and crawl metadata, user names, report notes.

    The first group-A sample climbs the ladder to the expert rung, so the expert page lists its votes.
    """
    s0, s1 = world.samples[0], world.samples[1]
    ids = {s0: XSS_IMG, s1: XSS_SCRIPT}
    with world.session() as session:
        for old, new in ids.items():  # the seats refer to the id: take them off, rename, open the rung again
            session.execute(delete(Seat).where(Seat.sample_id == old))
            session.execute(update(Sample).where(Sample.id == old).values(
                id=new, platform=XSS_SVG, source_path=f"raw/{XSS_SCRIPT}.mp4"))
            seats.open_rung(session, session.get(Sample, new), "member", 3)
        for name in ("a1", "a2", "a3", "alead", "blead", "expert", "admin"):
            user = session.get(User, world.users[name])
            user.display_name = f"{name} {XSS_SCRIPT if name < 'b' else XSS_IMG}"
            user.language = "en"
        session.get(User, world.users["a2"]).username = XSS_IMG
        session.commit()
        people = {name: session.get(User, world.users[name]) for name in ("a1", "a2", "a3", "alead", "blead")}
        for name, adjective in (("a1", F), ("a2", S), ("a3", T), ("alead", N), ("blead", R)):
            votes.submit_vote(session, world.settings, people[name], sample_id=XSS_IMG, adjective_id=adjective,
                              confidence=0.5, client_id=uuid.uuid4().hex)
            session.commit()
        assert session.get(Sample, XSS_IMG).stage == "expert"
        reviews.report_sample(session, world.settings, people["a1"], XSS_SCRIPT, "other", f"{XSS_SCRIPT} {XSS_IMG}")
        session.commit()
    return ids


@pytest.fixture(scope="module")
def poisoned_site(tmp_path_factory):
    """A live server whose database is full of XSS payloads; yields (base_url, world, app)."""

    tmp = tmp_path_factory.mktemp("xss")
    world = build_world(f"sqlite:///{tmp / 'app.db'}", tmp, samples=6)
    _poison(world)
    app = create_app(world.settings, database_url=world.url)
    with served(app) as base:
        yield base, world, app
    world.factory.kw["bind"].dispose()


PAGES = ["/", "/label", "/qualify", "/leader", "/expert/mos", "/admin", "/login",
         "/login?next=/%22%3E%3Cscript%3Ewindow.__xss=1%3C/script%3E", f"/{XSS_SCRIPT}", f"/media/{XSS_SCRIPT}",
         f"/api/samples/{XSS_IMG}"]


MUST_SHOW = {("alead", "/leader"), ("admin", "/admin"), ("a1", "/label")}


def _payload_as_text(html: str) -> bool:
    return any(text in html for text in (XSS_IMG, XSS_SCRIPT, "&lt;img src=x", "&lt;script&gt;window"))


@pytest.mark.slow
def test_stored_xss_never_runs_in_any_page(poisoned_site, browser):
    base, world, app = poisoned_site
    driver = browser
    seen = []
    for name in (None, "a1", "a3", "alead", "blead", "expert", "admin"):
        driver.get(base + "/static/app.css")
        driver.delete_all_cookies()
        if name:  # the signed cookie a login would set (logins themselves are tested above)
            cookie = app.state.codec.dumps({"uid": world.users[name], "csrf": auth.new_csrf()})
            driver.add_cookie({"name": COOKIE_NAME, "value": cookie, "path": "/"})
        for page in PAGES:
            driver.get(base + page)
            time.sleep(0.2)  # let the page's scripts fetch and render the task, votes and dashboards
            deadline = time.time() + (10 if (name, page) in MUST_SHOW else 0)
            while not (hit := _payload_as_text(driver.page_source)) and time.time() < deadline:
                time.sleep(0.1)  # a slow machine: the pages that must show a payload get time to render it
            seen.append((name, page, hit))
            state = driver.execute_script("return typeof window.__xss")
            assert state == "undefined", f"XSS ran for {name} on {page}"
            logs = driver.execute_script("return document.querySelectorAll('img[src=\"x\"], svg[onload]').length")
            assert logs == 0, f"a payload became markup for {name} on {page}"
    # the payloads were actually rendered (as text) somewhere: the leader's reports, the admin's user list ...
    shown = {(name, page) for name, page, hit in seen if hit}
    assert shown >= MUST_SHOW

