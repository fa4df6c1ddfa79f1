"""The expert's audit queue in a real browser: the labelling player in audit mode, earlier votes shown, the model's
suggestion revealed only after the expert's choice; one label changed, one confirmed; export and audit log agree."""

from __future__ import annotations

import json
import shutil
import uuid

import pandas as pd
import pytest
from sqlalchemy import select

from annotation_app.models import Sample, User
from annotation_app.services import audit, audit_queue
from annotation_app.services.export import export
from annotation_app.services.votes import submit_vote

from .conftest import E, F, S, build_world, served
from .test_browser import CHROMEDRIVER, CHROMIUM, login, pick, sample_shown, text_of, wait

selenium = pytest.importorskip("selenium")
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed")]


@pytest.fixture(scope="module")
def live(tmp_path_factory, synth_videos):
    """Two resolved samples (Fear, Excitation) queued for the audit with the model's suggestions; a live server."""

    from annotation_app.app import create_app

    tmp = tmp_path_factory.mktemp("audit-browser")
    world = build_world(f"sqlite:///{tmp / 'app.db'}", tmp, samples=2, passwords=("expert",))
    for sample_id, clip in zip(world.samples, sorted(synth_videos(per_class=1).glob("*.mp4")), strict=False):
        shutil.copy(clip, world.media_dir / f"{sample_id}.mp4")
    s0, s1 = world.samples
    with world.session() as session:
        for user in session.scalars(select(User)):
            user.language = "en"
        for sample_id, adjective in ((s0, F), (s1, E)):
            for name in ("a1", "a2", "a3"):
                voter = session.scalar(select(User).where(User.username == name))
                submit_vote(session, world.settings, voter, sample_id=sample_id, adjective_id=adjective,
                            confidence=0.8, client_id=uuid.uuid4().hex, watch_s=3.0)
        rows = [{"sample_id": s0, "rank": "1", "quality_score": "0.001", "predicted_label": "Sadness"},
                {"sample_id": s1, "rank": "2", "quality_score": "0.04", "predicted_label": "Neutral"}]
        audit_queue.add(session, rows, reason="likely label error")
        session.commit()
    with served(create_app(world.settings, database_url=world.url)) as base:
        yield base, world, tmp
    world.factory.kw["bind"].dispose()


def test_expert_changes_one_label_and_confirms_another(live, browser, shots_dir):
    base, world, tmp = live
    s0, s1 = world.samples
    login(browser, base, "expert")
    wait(browser, lambda d: d.find_elements(By.ID, "audit-link"))
    browser.find_element(By.ID, "audit-link").click()
    wait(browser, lambda d: d.current_url.endswith("/expert/audit") and sample_shown(d, s0))
    wait(browser, lambda d: d.find_element(By.ID, "previous-votes").is_displayed())
    assert "Audit: current label Fear (decided at: member vote)" in text_of(browser, "stage-line")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#previous-votes li")) == 3
    assert "Waiting for audit: 2" in text_of(browser, "progress-count")
    assert "likely label error" in text_of(browser, "status")
    assert not browser.find_element(By.ID, "audit-reveal").is_displayed()
    shown = browser.find_element(By.ID, "labeller").text
    assert "suggested" not in shown and "Sadness" not in shown  # no hint of the model's word before the choice
    assert not browser.find_elements(By.ID, "skip") and not browser.find_elements(By.ID, "report")
    browser.save_screenshot(str(shots_dir / "audit_01_before_choice.png"))

    pick(browser, S)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, s1))
    reveal = browser.find_element(By.ID, "audit-reveal")
    assert reveal.is_displayed() and reveal.get_attribute("data-changed") == "1"
    assert reveal.text == f"{s0}: Label changed: Fear → Sadness. The model suggested: Sadness."
    assert "Audit: current label Excitation" in text_of(browser, "stage-line")
    browser.save_screenshot(str(shots_dir / "audit_02_changed_then_next.png"))

    pick(browser, E)
    browser.find_element(By.ID, "submit").click()
    wait(browser, lambda d: sample_shown(d, ""))
    assert browser.find_element(By.ID, "audit-reveal").text == (
        f"{s1}: Label confirmed: Excitation. The model suggested: Neutral.")
    assert "The audit queue is empty" in text_of(browser, "status")
    browser.save_screenshot(str(shots_dir / "audit_03_queue_empty.png"))

    with world.session() as session:
        state = {s.id: (s.final_category, s.decided_stage) for s in session.scalars(select(Sample))}
        export(session, tmp / "export")
        log = [(e.action, e.entity_id, json.loads(e.detail)) for e in audit.events(session)
               if e.action.startswith("audit.label")]
    assert state == {s0: ("Sadness", "audit"), s1: ("Excitation", "member")}
    exported = pd.read_csv(tmp / "export" / "labels.csv").set_index("sample_id")
    assert exported.loc[[s0, s1], "decided_stage"].tolist() == ["audit", "member"]
    trail = pd.read_csv(tmp / "export" / "audit.csv")
    assert trail[["sample_id", "previous_category", "category", "changed"]].values.tolist() == [
        [s0, "Fear", "Sadness", True], [s1, "Excitation", "Excitation", False]]
    assert [(a, s, d["previous_category"], d["category"], d["reason"]) for a, s, d in log] == [
        ("audit.label_changed", s0, "Fear", "Sadness", "likely label error"),
        ("audit.label_confirmed", s1, "Excitation", "Excitation", "likely label error")]
