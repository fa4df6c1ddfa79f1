"""Real browser, leader and quality pages: a leader plays a reported video inline and excludes it; the dashboard
shows the Fleiss kappa that `emotions qa kappa` computes on the same votes; screenshots in both languages."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from annotation_app.models import Group, Report, Sample, User, Vote
from annotation_app.services import reviews
from annotation_app.services.votes import submit_vote
from core.settings import get_settings
from core.taxonomy import CATEGORIES

from .conftest import ADJ, E, F, N, R, S, T, build_world, served

selenium = pytest.importorskip("selenium")
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                                                   reason="chromium/chromedriver not installed")]
USERS = ("alead", "admin")


@pytest.fixture(scope="module")
def live(tmp_path_factory, synth_videos):
    """Group A: s0 F-F-N, s1 N-N-N, s6 F-N-S + the leader's T (at the 5th vote), s7 E-N-T (waiting for the leader,
    reported twice); group B: s2 E-E-R, s3 R-R-R. Served by uvicorn on loopback; yields (base_url, world)."""

    from annotation_app.app import create_app

    tmp = tmp_path_factory.mktemp("leader-browser")
    world = build_world(f"sqlite:///{tmp / 'app.db'}", tmp, samples=12, passwords=USERS)
    clips = sorted(synth_videos(per_class=1).glob("*.mp4"))
    for i, sample_id in enumerate(world.samples):  # a real video behind every sample
        shutil.copy(clips[i % len(clips)], world.media_dir / f"{sample_id}.mp4")
    s = world.samples
    plan = [("a1", s[0], F), ("a2", s[0], F), ("a3", s[0], N), ("a1", s[1], N), ("a2", s[1], N), ("a3", s[1], N),
            ("a1", s[6], F), ("a2", s[6], N), ("a3", s[6], S), ("a1", s[7], E), ("a2", s[7], N), ("a3", s[7], T),
            ("b1", s[2], E), ("b2", s[2], E), ("b3", s[2], R), ("b1", s[3], R), ("b2", s[3], R), ("b3", s[3], R)]
    with world.session() as session:
        for name, sample, adjective in [*plan, ("alead", s[6], T)]:
            submit_vote(session, world.settings, session.get(User, world.users[name]), sample_id=sample,
                        adjective_id=adjective, confidence=0.6, client_id=uuid.uuid4().hex, watch_s=4.0)
        for name, reason, note in (("a1", "broken", "the picture freezes after two seconds"), ("a2", "no_audio", "")):
            reviews.report_sample(session, world.settings, session.get(User, world.users[name]), s[7], reason, note)
        _history(session, world)
        for user in session.scalars(select(User)):
            user.language = "en"
        session.commit()
    with served(create_app(world.settings, database_url=world.url)) as base:
        yield base, world
    world.factory.kw["bind"].dispose()


def _history(session, world) -> None:
    """Six weeks of earlier work in group A: 150 resolved samples (one every 6 hours, categories in turn) that a2
    and a3 label as the result; a1 agrees on 80 of the first 100 and on 30 of the last 50 (a drift to flag)."""
    group = session.get(Sample, world.samples[0]).group_id
    start = datetime.now(UTC) - timedelta(hours=6 * 151)
    for i in range(150):
        sample_id = f"h{i:03d}"
        session.add(Sample(id=sample_id, project_id=session.get(Group, group).project_id, seq=1000 + i,
                           group_id=group, media_path="none", status="resolved",
                           final_category=CATEGORIES[i % 6].value,
                           decided_stage="member"))
        session.flush()
        a1_agrees = i < 80 or 100 <= i < 130
        result, other = CATEGORIES[i % 6], CATEGORIES[(i + 1) % 6]
        for name, agrees in (("a1", a1_agrees), ("a2", True), ("a3", i % 10 != 0)):
            chosen = result if agrees else other
            session.add(Vote(client_id=uuid.uuid4().hex, sample_id=sample_id, voter_id=world.users[name],
                             stage="member", role="member", group_id=group, adjective_id=ADJ[chosen],
                             category=chosen.value, confidence=0.7, watch_s=6.0,
                             created_at=start + timedelta(hours=6 * i)))


def wait(driver, condition, timeout: float = 15):
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(lambda d: condition(d))


def login(driver, base: str, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys("password-" + username)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, lambda d: "/login" not in d.current_url)


def shoot(driver, folder, name: str) -> None:
    """A full-page screenshot (the window grows to the page's height, up to 4000 px)."""
    time.sleep(0.3)  # let videos load their first frame (it sets their height)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(4000, max(900, height + 160)))  # + the window's own bars
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(1280, 900)


def qa_kappa(url: str, monkeypatch) -> dict:
    from qa.cli import qa

    monkeypatch.setenv("EMOTIONS_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(qa, ["kappa", "--json", "--by", "group"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_leader_plays_and_excludes_a_report_and_the_dashboard_shows_qa_kappa(live, browser, shots_dir,
                                                                              monkeypatch):
    base, world = live
    s6, s7 = world.samples[6], world.samples[7]
    login(browser, base, "alead")
    browser.get(base + "/leader")
    article = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"article.report[data-sample='{s7}']"))
    assert "Reporters (2)" in article.text and "the picture freezes" in article.text
    video = article.find_element(By.TAG_NAME, "video")
    assert video.get_attribute("src") == f"{base}/media/{s7}"
    browser.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    wait(browser, lambda d: d.execute_script("return arguments[0].currentTime", video) > 0.3)
    assert browser.execute_script("return arguments[0].readyState", video) >= 2  # decoded frames, not an error
    rows = {r.get_attribute("data-sample"): r.find_element(By.CLASS_NAME, "pattern").text
            for r in browser.find_elements(By.CSS_SELECTOR, "#disagreements tr[data-sample]")}
    assert rows == {s6: "1-1-1-1 · Fear ×1, Neutral ×1, Sadness ×1, Tension ×1", s7: "shown after you vote on it"}
    # group A: s0, s1 and the 150 earlier samples done; s6, s7 open
    assert browser.find_element(By.ID, "nav-progress").text.startswith("152 of 154")
    assert "drifting" in browser.find_element(By.CSS_SELECTOR, "#members tr[data-user='a1']").get_attribute("class")
    shoot(browser, shots_dir, "leader-en")

    article.find_element(By.CSS_SELECTOR, "button.exclude").click()
    wait(browser, lambda d: d.find_elements(By.ID, "no-reports"))
    with world.session() as session:
        assert session.get(Sample, s7).status == "excluded"
        assert session.scalar(select(Report).where(Report.handled_at.is_(None))) is None

    cli = qa_kappa(world.url, monkeypatch)
    browser.get(base + "/dashboard")
    kappa = wait(browser, lambda d: d.find_element(By.ID, "kappa-overall")).text
    assert kappa == f"{cli['by_group']['A']['fleiss_kappa']:.3f}"  # a leader sees their own group
    shoot(browser, shots_dir, "dashboard-leader-en")
    browser.find_element(By.ID, "lang-zh").click()
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans")
    shoot(browser, shots_dir, "dashboard-leader-zh")
    browser.get(base + "/leader")
    wait(browser, lambda d: d.find_element(By.ID, "disagreements"))
    shoot(browser, shots_dir, "leader-zh")

    login(browser, base, "admin")
    browser.get(base + "/dashboard")
    assert wait(browser, lambda d: d.find_element(By.ID, "kappa-overall")).text == f"{cli['fleiss_kappa']:.3f}"
    group_b = browser.find_element(By.CSS_SELECTOR, "#agreement tr[data-group='B'] .kappa").text
    assert group_b == f"{cli['by_group']['B']['fleiss_kappa']:.3f}"
    shoot(browser, shots_dir, "dashboard-admin-en")
    browser.find_element(By.ID, "lang-zh").click()
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans")
    shoot(browser, shots_dir, "dashboard-admin-zh")
