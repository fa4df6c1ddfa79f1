"""The labelling page tells the truth in a real browser: a refused vote is never shown as saved, and a vote made
while the server is down is kept on the device, sent when the server is back, and only then shown as saved."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import select

from annotation_app.models import User, Vote
from annotation_app.services import importer, people, reviews
from annotation_app.services.votes import submit_vote

from .conftest import F, S, World, build_world, write_manifest

pytest.importorskip("selenium")
from selenium.webdriver.common.by import By

from .test_browser import login, pick, sample_shown, wait

pytestmark = [pytest.mark.slow]
USERS = ("a1", "a2", "alead", "admin")
STATUS_LOG = """
window.__statusLog = [];
const line = document.getElementById('status');
new MutationObserver(() => window.__statusLog.push(line.textContent))
  .observe(line, {childList: true, characterData: true, subtree: true});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """A live server for a world on SQLite that the test can stop and start again on the same port."""

    def __init__(self, world: World) -> None:
        self.world, self.port = world, _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = self.thread = None

    def start(self) -> None:
        import uvicorn

        from annotation_app.app import create_app

        app = create_app(self.world.settings, database_url=self.world.url)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        assert self.server.started, "server did not start"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.server.config.loaded_app = None


@pytest.fixture(scope="module")
def site(tmp_path_factory, synth_videos):
    tmp = tmp_path_factory.mktemp("refusals")
    world = build_world(f"sqlite:///{tmp / 'app.db'}", tmp, samples=0, passwords=USERS)
    clips = sorted(synth_videos(per_class=1).glob("*.mp4"))
    manifest = write_manifest(tmp / "clean", 8)
    for i in range(8):
        shutil.copy(clips[i % len(clips)], tmp / "clean" / "media" / f"s{i}.mp4")
    with world.session() as session:
        importer.import_manifest(session, manifest)
        importer.distribute(session, 8, group_names=["A"])
        for user in session.scalars(select(User)):
            user.language, user.qualified_at = "en", user.created_at
        session.commit()
    world.samples = [f"s{i}" for i in range(8)]
    running = Site(world)
    running.start()
    yield running
    running.stop()
    world.factory.kw["bind"].dispose()


def _as(world: World, name: str, action) -> None:
    with world.session() as session:
        action(session, session.get(User, world.users[name]))
        session.commit()


def _shown(browser) -> str:
    return browser.find_element(By.ID, "labeller").get_attribute("data-sample")


def _watch_status(browser) -> None:
    wait(browser, lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    browser.execute_script(STATUS_LOG)


def _status_log(browser) -> list[str]:
    return browser.execute_script("return window.__statusLog")


def _submit_and_expect_refusal(browser, code: str) -> str:
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "refused")
    line = browser.find_element(By.ID, "status")
    assert line.get_attribute("data-code") == code
    assert not any("Saved" in text or "已保存" in text for text in _status_log(browser))
    assert browser.execute_script("return localStorage.getItem('emotions.outbox.' + "
                                  "JSON.parse(document.getElementById('config').textContent).user_id)") == "[]"
    return line.text


def _votes_of(world: World, name: str) -> dict[str, str]:
    with world.session() as session:
        return {v.sample_id: v.category for v in session.scalars(select(Vote).where(
            Vote.voter_id == world.users[name]))}


def test_excluded_clip_is_shown_as_not_counted(site, browser, shots_dir):
    world = site.world
    login(browser, site.base, "a1")
    wait(browser, lambda d: sample_shown(d, "s0"))
    _watch_status(browser)

    def exclude(session, a2):
        report = reviews.report_sample(session, world.settings, a2, "s0", "broken")
        session.flush()
        reviews.handle_report(session, session.get(User, world.users["alead"]), report.id, "exclude")

    _as(world, "a2", exclude)
    pick(browser, F)
    text = _submit_and_expect_refusal(browser, "sample_excluded")
    assert text.startswith("This clip was excluded by your leader. Your choice was not counted. Next clip…")
    wait(browser, lambda d: sample_shown(d, "s1"))
    browser.save_screenshot(str(shots_dir / "refused_excluded_en.png"))
    assert "s0" not in _votes_of(world, "a1")


def test_a_different_second_vote_is_shown_as_not_counted(site, browser, shots_dir):
    world = site.world
    wait(browser, lambda d: sample_shown(d, "s1"))
    _watch_status(browser)
    _as(world, "a1", lambda session, a1: submit_vote(  # the same person, on another device, chose another word
        session, world.settings, a1, sample_id="s1", adjective_id=S, confidence=0.5, client_id=uuid.uuid4().hex))
    pick(browser, F)
    text = _submit_and_expect_refusal(browser, "already_voted")
    assert "You already voted on this clip with another word" in text
    wait(browser, lambda d: sample_shown(d, "s2"))
    assert _votes_of(world, "a1")["s1"] == "Sadness"


def test_moved_member_sees_the_refusal_in_chinese(site, browser, shots_dir):
    world = site.world
    _as(world, "a1", lambda session, a1: setattr(a1, "language", "zh-Hans"))
    browser.refresh()  # the page comes back with the seat a1 holds
    wait(browser, lambda d: sample_shown(d, "s2"))
    _watch_status(browser)
    _as(world, "a1", lambda session, a1: people.assign(session, a1, people.group_by_name(session, "B")))
    pick(browser, F)
    text = _submit_and_expect_refusal(browser, "moved_group")
    assert text.startswith("你已被调到其他组，此视频不再由你标注。 你的选择未被计入。")
    wait(browser, lambda d: sample_shown(d, ""))  # group B has no clips
    browser.save_screenshot(str(shots_dir / "refused_moved_zh.png"))
    assert "s2" not in _votes_of(world, "a1")


def test_a_vote_made_while_the_server_is_down_is_sent_when_it_is_back(site, browser, shots_dir):
    world = site.world
    login(browser, site.base, "a2")
    wait(browser, lambda d: _shown(d) not in ("", None))
    sample = _shown(browser)
    _watch_status(browser)
    site.stop()
    try:
        pick(browser, F)
        browser.find_element(By.ID, "submit").click()
        wait(browser, lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "pending")
        assert browser.find_element(By.ID, "status").text.startswith("Not saved yet")
        outbox = browser.execute_script("return JSON.parse(localStorage.getItem('emotions.outbox.' + "
                                        "JSON.parse(document.getElementById('config').textContent).user_id))")
        assert [item["sample_id"] for item in outbox] == [sample]
        browser.save_screenshot(str(shots_dir / "pending_offline_en.png"))
        time.sleep(1.5)  # a retry or two fail while the server is still down
        assert not any("Saved" in text for text in _status_log(browser))
        assert sample not in _votes_of(world, "a2")
    finally:
        site.start()
    wait(browser, lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "saved", timeout=40)
    assert browser.find_element(By.ID, "status").text.startswith("Saved (sent after a delay)")
    assert _votes_of(world, "a2")[sample] == "Fear"
    wait(browser, lambda d: _shown(d) not in (sample, None))
