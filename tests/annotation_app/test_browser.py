"""Real-browser tests: headless Chromium drives the pages of a live server on loopback (one browser per module)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from annotation_app.models import MosRating, Sample, User, Vote
from annotation_app.services import importer, reviews
from annotation_app.services.votes import submit_vote

from .conftest import E, F, N, R, S, T, World, build_world, served, write_manifest

selenium = pytest.importorskip("selenium")
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed")]
BROWSER_USERS = ("a1", "a2", "alead", "blead", "expert")



@pytest.fixture(scope="module")
def live(tmp_path_factory, synth_videos):
    """A world on SQLite with real clips, served by uvicorn in a thread; yields (base_url, world)."""

    from annotation_app.app import create_app

    tmp = tmp_path_factory.mktemp("browser")
    world = build_world(f"sqlite:///{tmp / 'app.db'}", tmp, samples=6, passwords=BROWSER_USERS)
    clips = sorted(synth_videos(per_class=1).glob("*.mp4"))
    for sample_id, clip in zip(world.samples, clips, strict=False):  # real video behind every sample
        shutil.copy(clip, world.media_dir / f"{sample_id}.mp4")
    gold = write_manifest(tmp / "gold", 2, prefix="g")
    for i in range(2):
        shutil.copy(clips[i], tmp / "gold" / "media" / f"g{i}.mp4")
    with world.session() as session:
        importer.import_manifest(session, gold, gold={"g0": "Fear", "g1": "Fear"})
        for user in session.scalars(select(User)):
            user.language = "en"
            if user.username != "a1":
                user.qualified_at = user.created_at
        session.commit()
    with served(create_app(world.settings, database_url=world.url)) as base:
        yield base, world
    world.factory.kw["bind"].dispose()


@pytest.fixture(scope="module")
def shots(shots_dir) -> Path:
    return shots_dir


def wait(driver, condition, timeout: float = 15):
    ignored = (NoSuchElementException, StaleElementReferenceException)  # pages reload under the test
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(lambda d: condition(d))


def sample_shown(driver, sample_id: str) -> bool:
    return driver.find_element(By.ID, "labeller").get_attribute("data-sample") == sample_id


def login(driver, base: str, username: str, *, keyboard: bool = False) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    password = driver.find_element(By.ID, "password")
    password.send_keys("password-" + username)
    if keyboard:
        password.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, "login-submit").click()
    wait(driver, lambda d: "/login" not in d.current_url)


def text_of(driver, element_id: str) -> str:
    """The text of an element once the page that holds it has loaded (clicks return before navigation ends)."""
    return wait(driver, lambda d: d.find_element(By.ID, element_id)).text


def pick(driver, adjective_id: int) -> None:
    driver.find_element(By.CSS_SELECTOR, f".adj[data-id='{adjective_id}']").click()


def state(world: World, sample_id: str) -> tuple:
    with world.session() as session:
        s = session.get(Sample, sample_id)
        return s.status, s.stage, s.final_category, s.decided_stage


def api_vote(world: World, username: str, sample_id: str, adjective: int) -> None:
    with world.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        submit_vote(session, world.settings, user, sample_id=sample_id, adjective_id=adjective, confidence=0.6,
                    client_id=uuid.uuid4().hex)
        session.commit()


def test_wrong_password_shows_the_login_page_again(live, browser, shots):
    base, _ = live
    browser.get(base + "/label")
    wait(browser, lambda d: "/login" in d.current_url)
    browser.find_element(By.ID, "username").send_keys("a1")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "login-submit").click()
    assert "Wrong user name or password." in text_of(browser, "login-error")
    browser.save_screenshot(str(shots / "01_login_error.png"))


def test_member_passes_qualification_then_labels_with_the_mouse(live, browser, shots):
    base, world = live
    s0, s1 = world.samples[:2]
    login(browser, base, "a1")
    wait(browser, lambda d: d.current_url.endswith("/qualify") and sample_shown(d, "g0"))
    assert len(browser.find_elements(By.CSS_SELECTOR, ".adj")) == 62
    browser.save_screenshot(str(shots / "02_qualification.png"))
    for gold in ("g0", "g1"):
        wait(browser, lambda d, g=gold: sample_shown(d, g))
        pick(browser, F)
        browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: d.find_elements(By.ID, "start-labelling"))
    browser.find_element(By.ID, "start-labelling").click()
    wait(browser, lambda d: d.current_url.endswith("/label") and sample_shown(d, s0))
    pick(browser, F)
    slider = browser.find_element(By.ID, "confidence")
    ActionChains(browser).move_to_element_with_offset(slider, slider.size["width"] // 2 - 2, 0).click().perform()
    assert browser.find_element(By.ID, "confidence-value").text in ("0.9", "1.0")
    browser.save_screenshot(str(shots / "03_member_label_mouse.png"))
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, s1))
    pick(browser, F)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, ""))
    assert "No more videos" in text_of(browser, "status")
    assert "Done: 2" in text_of(browser, "progress-count")


def test_member_labels_with_the_keyboard_only(live, browser, shots):
    base, world = live
    s0, s1 = world.samples[:2]
    login(browser, base, "a2", keyboard=True)
    wait(browser, lambda d: sample_shown(d, s0))
    before = int(text_of(browser, "nav-progress-done"))  # the header's "N of M"
    keys = ActionChains(browser)
    keys.send_keys("/").send_keys("sad").send_keys(Keys.ENTER).send_keys("8").perform()
    assert browser.find_element(By.CSS_SELECTOR, ".adj.selected").get_attribute("data-id") == str(S)
    assert browser.find_element(By.ID, "confidence-value").text == "0.8"
    browser.save_screenshot(str(shots / "04_member_label_keyboard.png"))
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, lambda d: sample_shown(d, s1))
    assert int(text_of(browser, "nav-progress-done")) == before + 1  # counted once the server saved the vote
    ActionChains(browser).send_keys("/").send_keys("heart").send_keys(Keys.ENTER).send_keys(Keys.ARROW_RIGHT) \
        .send_keys(Keys.ENTER).perform()
    wait(browser, lambda d: sample_shown(d, ""))
    with world.session() as session:
        user = session.scalar(select(User).where(User.username == "a2"))
        votes = {v.sample_id: (v.category, v.confidence)
                 for v in session.scalars(select(Vote).where(Vote.voter_id == user.id))}
    assert votes == {s0: ("Sadness", 0.8), s1: ("Sadness", 0.5)}


def test_leader_resolves_a_1_1_1_split(live, browser, shots):
    base, world = live
    s0, s1 = world.samples[:2]
    api_vote(world, "a3", s0, T)
    api_vote(world, "a3", s1, T)
    assert state(world, s0)[:2] == ("open", "leader")
    with world.session() as session:
        a3 = session.scalar(select(User).where(User.username == "a3"))
        reviews.report_sample(session, world.settings, a3, s0, "other", "<img src=x onerror=alert(1)>")
        session.commit()
    login(browser, base, "alead")
    wait(browser, lambda d: d.current_url.endswith("/leader"))
    assert text_of(browser, "waiting-leader") == "2"
    assert browser.find_element(By.CSS_SELECTOR, "#reports .note").text == "<img src=x onerror=alert(1)>"
    browser.save_screenshot(str(shots / "05_leader_dashboard.png"))
    browser.find_element(By.CSS_SELECTOR, "#reports button[value='dismiss']").click()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#reports .note"))
    browser.find_element(By.ID, "vote-now").click()
    wait(browser, lambda d: sample_shown(d, s0))
    assert "leader vote" in text_of(browser, "stage-line")
    pick(browser, S)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, s1))
    pick(browser, N)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, ""))
    assert state(world, s0) == ("resolved", "leader", "Sadness", "leader")
    assert state(world, s1)[:2] == ("open", "exchange")


def test_exchange_leader_and_expert_finish_the_ladder(live, browser, shots):
    base, world = live
    s1 = world.samples[1]
    login(browser, base, "blead")
    assert text_of(browser, "waiting-exchange") == "1"
    browser.find_element(By.ID, "vote-now").click()
    wait(browser, lambda d: sample_shown(d, s1))
    assert "exchange" in text_of(browser, "stage-line")
    pick(browser, R)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, ""))
    assert state(world, s1)[:2] == ("open", "expert")
    login(browser, base, "expert")
    wait(browser, lambda d: sample_shown(d, s1))
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#previous-votes li")) == 5)
    browser.save_screenshot(str(shots / "06_expert_review.png"))
    pick(browser, E)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, ""))
    assert state(world, s1) == ("resolved", "expert", "Excitation", "expert")
    browser.get(base + "/expert/mos")
    wait(browser, lambda d: d.find_element(By.ID, "mos-label").text in ("Sadness", "Excitation"))
    browser.save_screenshot(str(shots / "07_mos.png"))
    browser.find_element(By.CSS_SELECTOR, "#mos-buttons button[data-score='4']").click()
    with world.session() as session:
        wait(browser, lambda d: session.scalar(select(MosRating.score).execution_options(populate_existing=True)))


def test_language_switch_to_chinese(live, browser, shots):
    base, _ = live
    login(browser, base, "a1")
    wait(browser, lambda d: d.current_url.endswith("/label"))
    browser.find_element(By.ID, "lang-zh").click()
    wait(browser, lambda d: d.execute_script("return document.documentElement.lang") == "zh-Hans")
    wait(browser, lambda d: d.execute_script(
        f"const b = document.querySelector(\".adj[data-id='{E}']\"); return b ? b.textContent : null") == "开心的")
    assert "快捷键" in browser.page_source
    browser.save_screenshot(str(shots / "08_chinese.png"))
    ActionChains(browser).send_keys("l").perform()  # and back with the keyboard
    wait(browser, lambda d: d.execute_script("return document.documentElement.lang") == "en")
