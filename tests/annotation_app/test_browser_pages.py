"""Every page as every role in both languages, in real Chromium: a screenshot of each (kept under
$EMOTIONS_TEST_SHOTS), the page in the chosen language, and nothing wider than a laptop screen."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotation_app.app import create_app
from annotation_app.models import User
from annotation_app.services import auth

from .test_browser import live, login, wait  # noqa: F401  (the module's live server fixture)
from .test_i18n import page_paths

selenium = pytest.importorskip("selenium")
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = pytest.mark.slow
ROLES = {"a1": "member-unqualified", "a2": "member", "alead": "leader", "expert": "expert", "admin": "admin"}


def _paths(world) -> list[str]:
    app = create_app(world.settings, database_url=world.url)
    try:
        return [p for p in page_paths(app) if p not in ("/login",)]
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
def test_every_page_as_every_role_renders_in_the_language_and_fits(live, browser, shots_dir, language):  # noqa: F811
    base, world = live
    with world.session() as session:  # the admin gets a password too
        admin = session.scalar(select(User).where(User.username == "admin"))
        admin.password_hash = auth.hash_password("password-admin")
        for user in session.scalars(select(User)):
            user.language = language
        session.commit()
    browser.set_window_size(1280, 900)
    tag = "zh" if language == "zh-Hans" else "en"
    browser.delete_all_cookies()
    browser.get(base + "/login")
    browser.save_screenshot(str(shots_dir / f"anonymous_login_{tag}.png"))
    captured = 0
    for username, role in ROLES.items():
        login(browser, base, username)
        for path in _paths(world):
            browser.get(base + path)
            wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
            html_lang = browser.find_element(By.TAG_NAME, "html").get_attribute("lang")
            assert html_lang == language, (role, path, html_lang)
            width = browser.execute_script("return document.documentElement.scrollWidth")
            assert width <= 1280, f"{path} as {role} is {width} px wide"
            name = path.strip("/").replace("/", "_") or "home"
            browser.save_screenshot(str(shots_dir / f"{role}_{name}_{tag}.png"))
            captured += 1
    assert captured >= 5 * 8
