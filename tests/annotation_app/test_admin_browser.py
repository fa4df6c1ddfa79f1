"""Real browser (headless Chromium): an admin imports, distributes (and mistypes a batch size), creates and
deactivates a person, forms groups and downloads an export; every admin page is photographed in English and in
Chinese."""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from annotation_app.models import Sample, User
from annotation_app.services import people

from .conftest import build_world, served, write_manifest

selenium = pytest.importorskip("selenium")
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed")]
PAGES = {"overview": "/admin", "import": "/admin/import", "people": "/admin/people", "groups": "/admin/groups",
         "crosscheck": "/admin/crosscheck", "export": "/admin/export", "backup": "/admin/backup",
         "audit": "/admin/audit"}



@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A world whose leaders and members have Eq. 1 profiles, a clean manifest in the data folder, served live."""
    from annotation_app.app import create_app

    tmp = tmp_path_factory.mktemp("admin-browser")
    world = build_world(f"sqlite:///{tmp / 'app.db'}", tmp, samples=0, passwords=("admin",))
    write_manifest(world.settings.data_dir / "clean" / "run1", 6, prefix="v")
    with world.session() as session:
        for i, user in enumerate(session.scalars(select(User).order_by(User.username))):
            user.language = "en"
            if user.role in ("leader", "member"):
                user.gender = "f" if user.username.endswith("3") else "m"
                user.work_experience, user.msceit, user.education, user.culture = 40 + i, 50 + 2 * i, 60, 50
                user.leadership = 90 if user.role == "leader" else 30 + i
        session.commit()
    with served(create_app(world.settings, database_url=world.url)) as base:
        yield base, world
    world.factory.kw["bind"].dispose()


def wait(driver, condition, timeout: float = 15):
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(lambda d: condition(d))


def text_of(driver, element_id: str) -> str:
    return wait(driver, lambda d: d.find_element(By.ID, element_id)).text


def click(driver, element_id: str, *, confirm: str | None = None) -> None:
    """Click a submit button (answering its confirmation, which must read `confirm`) and wait until the page it
    leads to has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()
    if confirm is not None:
        alert = wait(driver, lambda d: d.switch_to.alert)
        assert alert.text == confirm
        alert.accept()
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "html") != old)


def shoot(driver, shots: Path, name: str) -> None:
    """A screenshot of the whole page (the viewport is stretched to the page's height, at most 4000 px)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": min(max(height, 800), 4000),
                                                                   "deviceScaleFactor": 1, "mobile": False})
    try:
        driver.save_screenshot(str(shots / f"{name}.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_admin_runs_the_campaign_in_the_browser(live, browser, shots_dir, tmp_path):
    base, world = live
    browser.delete_all_cookies()
    browser.get(base + "/login")
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys("password-admin")
    browser.find_element(By.ID, "login-submit").click()
    wait(browser, lambda d: d.current_url.endswith("/admin"))

    # import the manifest the data folder holds
    browser.get(base + "/admin/import")
    Select(browser.find_element(By.ID, "manifest")).select_by_value("clean/run1/clean.jsonl")
    click(browser, "import")
    assert text_of(browser, "admin-done").startswith("Rows read: 7; imported: 6 (gold: 0); skipped: 1.")
    assert browser.current_url == base + "/admin/import"  # redirected after the import: a reload repeats nothing
    shoot(browser, shots_dir, "admin_en_import_report")

    # distribute in batches of 2
    browser.get(base + "/admin")
    field = browser.find_element(By.ID, "batch-size")
    field.clear()
    field.send_keys("2")
    click(browser, "distribute")
    assert text_of(browser, "admin-done").startswith("Samples distributed: 6.")
    with world.session() as session:
        assert session.scalar(select(Sample).where(Sample.group_id.is_(None))) is None
    shoot(browser, shots_dir, "admin_en_distributed")

    # a badly typed batch size (the browser's own check bypassed) is refused on the page itself, the field marked
    browser.execute_script("const f = document.getElementById('batch-size'); f.type = 'text'; f.value = 'abc';")
    old = browser.find_element(By.TAG_NAME, "html")
    browser.execute_script("document.getElementById('distribute-form').submit()")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "html") != old)
    assert text_of(browser, "error-batch_size") == "Batch size: enter a whole number of at least 1."
    assert browser.switch_to.active_element.get_attribute("id") == "batch-size"
    shoot(browser, shots_dir, "admin_en_bad_batch_size")

    # create a person, then deactivate them
    browser.get(base + "/admin/people")
    for element_id, value in [("new-username", "li"), ("new-display-name", "Li Hua"),
                              ("new-password", "long-enough-1"), ("new-we", "55"), ("new-ms", "65"),
                              ("new-eb", "60"), ("new-cb", "50"), ("new-lp", "40")]:
        browser.find_element(By.ID, element_id).send_keys(value)
    Select(browser.find_element(By.ID, "new-gender")).select_by_value("f")
    old = browser.find_element(By.TAG_NAME, "html")
    # an impatient admin sends the form twice: the second is held back in the page
    held_back = browser.execute_script("""
        const form = document.getElementById("create-form"), seen = [];
        window.addEventListener("submit", (event) => seen.push(event.defaultPrevented));
        form.requestSubmit(); form.requestSubmit();
        return seen;""")
    assert held_back == [False, True]
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "html") != old)
    assert text_of(browser, "admin-done") == "li was created."
    shoot(browser, shots_dir, "admin_en_person_created")
    browser.refresh()  # no "resend the form?" question, no second person, the message shown once
    wait(browser, lambda d: d.find_element(By.ID, "person-name"))
    assert browser.find_elements(By.ID, "admin-done") == []
    with world.session() as session:
        assert len(session.scalars(select(User).where(User.username == "li")).all()) == 1
    click(browser, "deactivate", confirm="Deactivate li? They are logged out at once.")
    assert text_of(browser, "person-status") == "deactivated"
    assert text_of(browser, "admin-done").startswith("li is deactivated")
    shoot(browser, shots_dir, "admin_en_person_deactivated")

    # form groups: preview, then apply
    browser.get(base + "/admin/groups")
    Select(browser.find_element(By.ID, "leader-by")).select_by_value("lp")
    click(browser, "preview")
    assert text_of(browser, "plan").startswith("Nothing has changed yet.")
    shoot(browser, shots_dir, "admin_en_groups_preview")
    click(browser, "apply", confirm="Move everyone as planned? The membership history is kept.")
    assert text_of(browser, "admin-done").startswith("The groups are formed: 3 groups, 12 people in all.")
    with world.session() as session:
        leaders = {g.name: people.leader_of(session, g.id) for g in people.groups(session)}
        assert {session.get(User, uid).username for uid in leaders.values()} == {"alead", "blead", "clead"}
    shoot(browser, shots_dir, "admin_en_groups_applied")

    # download the export
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.get(base + "/admin/export")
    browser.find_element(By.ID, "export").click()
    archive = wait(browser, lambda d: next((p for p in downloads.glob("emotions-export-*.zip")), None), 30)
    time.sleep(0.3)  # the browser renames the file when it is complete
    with zipfile.ZipFile(archive) as bundle:
        assert sorted(bundle.namelist()) == ["labels.csv", "labels.parquet", "votes.csv", "votes.parquet"]
        assert bundle.read("labels.csv").decode().count("\n") == 1 + 6

    browser.get(base + "/admin/backup")
    click(browser, "backup")
    assert text_of(browser, "admin-done").startswith("Backup made.")

    # every admin page in both languages
    for language, button in (("en", "lang-en"), ("zh", "lang-zh")):
        browser.get(base + "/admin")
        if browser.find_element(By.ID, button).is_enabled():
            click(browser, button)
        for name, path in PAGES.items():
            browser.get(base + path)
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == \
                ("en" if language == "en" else "zh-Hans")
            shoot(browser, shots_dir, f"admin_{language}_{name}")
        with world.session() as session:
            li = people.user_by_name(session, "li").id
        browser.get(f"{base}/admin/people/{li}")
        shoot(browser, shots_dir, f"admin_{language}_person")
    assert len(list(shots_dir.glob("admin_*.png"))) == 7 + 2 * (len(PAGES) + 1)
    print("screenshots in", shots_dir)
