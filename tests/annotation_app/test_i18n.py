"""Complete Chinese: the gettext catalogue matches the code, and every page rendered as every role in zh-Hans
uses only translated msgids and shows no stray English."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from annotation_app import i18n
from annotation_app.app import create_app

from .test_pages import HTML, csrf_of

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "annotation_app/locale/zh_Hans/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")
# words that are the same in both languages: product and format names, keys shown on buttons
ALLOWED = {"eMotions", "MOS", "EN", "CSV", "Parquet", "JSON", "SVG", "PNG", "API", "ETA", "UTC", "Fleiss",
           "Krippendorff", "Enter", "Space", "Esc", "Tab", "ID", "URL", "zip", "sha256"}


def _catalogue():
    with PO.open("rb") as handle:
        return read_po(handle)


def test_catalogue_matches_the_code_and_is_fully_translated(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract", "-F", "babel.cfg", "--no-location",
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    catalogue = _catalogue()
    translated = {m.id for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
    assert extracted - translated == set(), "run `make i18n` and translate the new entries"
    for message in catalogue:
        if message.id:  # the same placeholders on both sides
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id
    with MO.open("rb") as handle:  # the compiled file is the catalogue's current text
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == {m.id: m.string for m in catalogue if m.id and m.string}, "run `make i18n` to compile"


def test_lookups_fill_placeholders_and_record_misses():
    from core.taxonomy import CATEGORIES

    assert i18n.normalise("zh-CN") == "zh-Hans" and i18n.normalise(None) == "en"
    assert i18n.js_text("zh-Hans")["done_count"].replace("{n}", "3") == "已完成：3"
    assert i18n.gettext("%(done)s of %(total)s resolved", "zh-Hans", done=2, total=9) == "已解决 2 / 9"
    assert i18n.gettext("%(done)s of %(total)s resolved", "en", done=2, total=9) == "2 of 9 resolved"
    assert set(i18n.categories("zh-Hans")) == {c.value for c in CATEGORIES}
    assert i18n.role_name("leader", "zh-Hans") == "组长" and i18n.status_name("excluded", "zh-Hans") == "已排除"
    i18n.MISSING.discard("no such text anywhere")
    assert i18n.gettext("no such text anywhere", "zh-Hans") == "no such text anywhere"
    assert "no such text anywhere" in i18n.MISSING
    i18n.MISSING.discard("no such text anywhere")


class _Visible(HTMLParser):
    """Text a person reads: text nodes outside script/style and the attributes shown to them."""

    SHOWN = ("placeholder", "title", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0
        self._technical = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        if "technical" in (attributes.get("class") or "").split() or attributes.get("lang") == "en":
            self._technical += 1  # an error's English detail, labelled as such
        self.parts.extend(value for name, value in attrs if name in self.SHOWN and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1
        if tag in ("details", "p") and self._technical:
            self._technical -= 1

    def handle_data(self, data):
        if not self._hidden and not self._technical:
            self.parts.append(data)


def english_words(html: str, allowed: set[str]) -> set[str]:
    parser = _Visible()
    parser.feed(html)
    words = set(re.findall(r"[A-Za-z][A-Za-z'-]{2,}", " ".join(parser.parts)))
    return {w for w in words if w not in ALLOWED and w not in allowed}


def page_paths(app) -> list[str]:
    """Every GET page of the browser routes without path parameters (new pages are covered automatically)."""
    paths, routes = [], []
    for route in app.routes:  # included routers are listed as a wrapper around the original router
        inner = getattr(route, "original_router", None)
        routes.extend(inner.routes if inner is not None else [route])
    for route in routes:
        methods = getattr(route, "methods", None) or set()
        path = getattr(route, "path", "")
        if "GET" in methods and "{" not in path and not path.startswith(("/api", "/media", "/static", "/docs",
                                                                          "/redoc", "/openapi")):
            paths.append(path)
    return [*sorted(set(paths)), "/no-such-page"]


@pytest.fixture(scope="module")
def zh_site(tmp_path_factory):
    from .conftest import build_world

    url = f"sqlite:///{tmp_path_factory.mktemp('i18n')}/app.db"
    names = ("a1", "alead", "expert", "admin")
    world = build_world(url, tmp_path_factory.mktemp("i18n-data"), samples=6, passwords=names)
    app = create_app(world.settings, database_url=url)
    yield app, world, names
    app.state.engine.dispose()


@pytest.mark.parametrize("role_user", [None, "a1", "alead", "expert", "admin"])
def test_every_page_as_every_role_is_fully_chinese(zh_site, role_user):
    app, world, _names = zh_site
    client = TestClient(app, follow_redirects=True)
    client.cookies.set("lang", "zh-Hans")
    if role_user:
        page = client.get("/login", headers=HTML).text
        r = client.post("/login", data={"username": role_user, "password": "password-" + role_user,
                                        "csrf_token": csrf_of(page), "next": "/"}, headers=HTML)
        assert r.status_code == 200, r.text
        client.post("/lang", data={"language": "zh-Hans", "next": "/", "csrf_token": csrf_of(r.text)}, headers=HTML)
    allowed = set(world.users) | {"A", "B", "C"} | set(world.samples)
    i18n.MISSING.clear()
    seen = 0
    for path in page_paths(app):
        response = client.get(path, headers=HTML)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        seen += 1
        assert 'lang="zh-Hans"' in response.text, path
        stray = english_words(response.text, allowed)
        assert stray == set(), f"{path} as {role_user}: untranslated words {sorted(stray)}"
    assert seen >= (3 if role_user else 1)
    assert not i18n.MISSING, f"msgids without a translation: {sorted(i18n.MISSING)}"
