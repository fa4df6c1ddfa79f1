import re

import pytest
from fastapi.testclient import TestClient

from annotation_app.app import create_app

HTML = {"Accept": "text/html"}


@pytest.fixture
def site(sqlite_url, world_factory):
    world = world_factory(sqlite_url, passwords=("a1", "admin"))
    client = TestClient(create_app(world.settings, database_url=world.url), follow_redirects=False)
    yield client, world
    client.app.state.engine.dispose()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client: TestClient, username: str, next_path: str = "/") -> None:
    page = client.get("/login", headers=HTML).text
    r = client.post("/login", data={"username": username, "password": "password-" + username,
                                    "csrf_token": csrf_of(page), "next": next_path})
    assert r.status_code == 303, r.text


def test_pages_redirect_to_login_and_back(site):
    client, _ = site
    r = client.get("/label", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/label"
    login(client, "a1", "/label")
    assert client.get("/", headers=HTML).headers["location"] == "/label"
    page = client.get("/label", headers=HTML)
    assert page.status_code == 200 and 'id="adjectives"' in page.text


def test_form_posts_need_the_csrf_token(site):
    client, _ = site
    page = client.get("/login", headers=HTML).text
    r = client.post("/login", data={"username": "a1", "password": "password-a1"}, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text and "text/html" in r.headers["content-type"]
    bad = client.post("/login", data={"username": "a1", "password": "nope-nope", "csrf_token": csrf_of(page)})
    assert bad.status_code == 401 and "Wrong user name or password." in bad.text


def test_no_open_redirect_after_login(site):
    client, _ = site
    page = client.get("/login", headers=HTML).text
    r = client.post("/login", data={"username": "a1", "password": "password-a1", "csrf_token": csrf_of(page),
                                    "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


def test_roles_get_friendly_forbidden_pages(site):
    client, _ = site
    login(client, "a1")
    r = client.get("/admin", headers=HTML)
    assert r.status_code == 403 and "this needs the role admin" in r.text and "<html" in r.text


def test_admin_creates_a_user_through_the_form(site):
    client, _ = site
    login(client, "admin")
    page = client.get("/admin", headers=HTML)
    assert page.status_code == 200 and "a1" in page.text
    r = client.post("/admin/users", data={"username": "<script>x</script>", "password": "long-enough-1",
                                          "role": "member", "group": "B", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    listing = client.get("/admin", headers=HTML).text
    assert "&lt;script&gt;x&lt;/script&gt;" in listing and "<script>x</script>" not in listing


def test_language_switch_sets_cookie_and_user_language(site):
    client, _ = site
    login(client, "a1")
    page = client.get("/label", headers=HTML).text
    r = client.post("/lang", data={"language": "en", "next": "/label", "csrf_token": csrf_of(page)})
    assert r.status_code == 303 and "lang=en" in r.headers["set-cookie"]
    assert 'lang="en"' in client.get("/label", headers=HTML).text
    assert client.get("/api/me").json()["language"] == "en"


def test_api_docs_load_nothing_from_the_internet(world, client_of):
    """/docs and /redoc reference only assets the app serves itself, and those assets are there."""
    import re

    client = client_of(world)
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "http://" not in html and "https://" not in html, page
        assets = re.findall(r'(?:src|href)="(/static-docs/[^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


def test_error_pages_have_the_full_layout_with_working_language_switch_and_logout(site):
    client, _world = site
    anonymous = client.get("/no-such-page", headers=HTML)
    assert anonymous.status_code == 404 and 'id="logout"' not in anonymous.text
    login(client, "a1")
    page = client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404
    assert 'id="logout"' in page.text and 'id="who"' in page.text and 'lang="zh-Hans"' in page.text  # a1's language
    token = csrf_of(page.text)
    switched = client.post("/lang", data={"language": "en", "csrf_token": token, "next": "/no-such-page"},
                           headers=HTML)
    assert switched.status_code == 303  # the error page's own token is the session's: not a 403
    assert 'lang="en"' in client.get("/no-such-page", headers=HTML).text
    out = client.post("/logout", data={"csrf_token": csrf_of(client.get("/no-such-page", headers=HTML).text)},
                      headers=HTML)
    assert out.status_code == 303 and 'id="logout"' not in client.get("/no-such-page", headers=HTML).text
