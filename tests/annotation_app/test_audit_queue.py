"""The expert's audit queue end to end through the CLI and the HTTP API (SQLite and PostgreSQL, migrated schema):
queueing changes no label; the expert changes one label and confirms another; export and audit log show both."""

from __future__ import annotations

import csv
import json
import uuid

import pandas as pd
from click.testing import CliRunner
from sqlalchemy import select

from annotation_app.models import Sample, User
from annotation_app.services import audit
from annotation_app.services.votes import submit_vote
from core import migrate
from core.cli import cli

from .conftest import E, F, S, World

REASON = "label-issues of run tiny-1"


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def resolve(world: World, sample_id: str, adjective: int) -> None:
    """Three members of the sample's group agree: resolved at the member rung."""
    with world.session() as session:
        for name in ("a1", "a2", "a3"):
            user = session.scalar(select(User).where(User.username == name))
            submit_vote(session, world.settings, user, sample_id=sample_id, adjective_id=adjective, confidence=0.8,
                        client_id=uuid.uuid4().hex, watch_s=4.0)
        session.commit()


def labels(world: World) -> dict[str, tuple]:
    with world.session() as session:
        return {s.id: (s.status, s.final_category, s.decided_stage) for s in session.scalars(select(Sample))}


def write_issues(path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "sample_id", "given_label", "predicted_label", "quality_score"])
        writer.writerows(rows)


def test_audit_queue_cli_api_export_and_log(db_url, world_factory, client_of, tmp_path, monkeypatch):
    migrate.upgrade(db_url)  # the Alembic history, not create_all: the new revision is what is tested
    world = world_factory(db_url)
    s0, s1, s2 = world.samples[:3]
    resolve(world, s0, F)
    resolve(world, s1, E)
    before = labels(world)
    assert before[s0] == ("resolved", "Fear", "member") and before[s1] == ("resolved", "Excitation", "member")
    issues = tmp_path / "label_issues.csv"
    write_issues(issues, [(1, s0, "Fear", "Sadness", 0.0012), (2, s1, "Excitation", "Neutral", 0.05),
                          (3, s2, "Fear", "Tension", 0.1), (4, "nope", "Fear", "Tension", 0.2), (5, s0, "", "", "")])
    url = ["--url", db_url]
    out = run("app", "review-queue", "add", "--from", str(issues), "--top", "4", "--reason", REASON, *url)
    assert out.strip() == ("queued 2 sample(s) for the expert's audit; skipped not_resolved_open=1, "
                           "unknown_sample=1; 2 waiting")
    out = run("app", "review-queue", "add", "--from", str(issues), *url)
    assert out.strip() == ("queued 0 sample(s) for the expert's audit; skipped already_queued=3, "
                           "not_resolved_open=1, unknown_sample=1; 2 waiting")
    assert labels(world) == before  # queueing changes no label

    member, expert = client_of(world, "a1"), client_of(world, "expert")
    assert member.get("/api/audit/next").status_code == 403
    first = expert.get("/api/audit/next").json()["item"]
    assert first == {"review_id": first["review_id"], "sample_id": s0, "media_url": f"/media/{s0}",
                     "duration_s": 5.0, "final_category": "Fear", "decided_stage": "member", "reason": REASON,
                     "pending": 2}  # the model's suggestion is not shown before the expert's choice
    votes = expert.get(f"/api/samples/{s0}").json()["votes"]
    assert [(v["voter"], v["stage"], v["category"]) for v in votes] == [("a1", "member", "Fear"),
                                                                        ("a2", "member", "Fear"),
                                                                        ("a3", "member", "Fear")]
    decision = {"adjective_id": S, "confidence": 0.9, "watch_s": 6.5, "note": "sad music"}
    assert member.post(f"/api/audit/reviews/{first['review_id']}/decision", json=decision).status_code == 403
    changed = expert.post(f"/api/audit/reviews/{first['review_id']}/decision", json=decision)
    assert changed.status_code == 200
    assert changed.json() == {"review_id": first["review_id"], "sample_id": s0, "previous_category": "Fear",
                              "category": "Sadness", "changed": True, "decided_stage": "audit",
                              "suggested_category": "Sadness", "quality_score": 0.0012}
    replay = expert.post(f"/api/audit/reviews/{first['review_id']}/decision", json=decision)
    assert replay.status_code == 200 and replay.json() == changed.json()
    other = expert.post(f"/api/audit/reviews/{first['review_id']}/decision", json={**decision, "adjective_id": F})
    assert other.status_code == 409 and other.json()["error"]["code"] == "already_decided"

    second = expert.get("/api/audit/next").json()["item"]
    assert (second["sample_id"], second["final_category"], second["pending"]) == (s1, "Excitation", 1)
    confirmed = expert.post(f"/api/audit/reviews/{second['review_id']}/decision",
                            json={"adjective_id": E, "confidence": 0.7})
    assert confirmed.json() == {"review_id": second["review_id"], "sample_id": s1, "previous_category": "Excitation",
                                "category": "Excitation", "changed": False, "decided_stage": "member",
                                "suggested_category": "Neutral", "quality_score": 0.05}
    assert expert.get("/api/audit/next").json() == {"item": None}
    assert labels(world) == {**before, s0: ("resolved", "Sadness", "audit")}

    run("app", "export", "--out", str(tmp_path / "export"), *url)
    exported = pd.read_csv(tmp_path / "export" / "labels.csv").set_index("sample_id")
    assert exported.loc[s0, ["final_category", "decided_stage"]].tolist() == ["Sadness", "audit"]
    assert exported.loc[s1, ["final_category", "decided_stage"]].tolist() == ["Excitation", "member"]
    trail = pd.read_csv(tmp_path / "export" / "audit.csv")
    assert trail[["sample_id", "previous_category", "category", "changed", "suggested_category", "reason", "expert"]
                 ].values.tolist() == [[s0, "Fear", "Sadness", True, "Sadness", REASON, "expert"],
                                       [s1, "Excitation", "Excitation", False, "Neutral", REASON, "expert"]]

    with world.session() as session:
        expert_id = world.users["expert"]
        log = [(e.action, e.entity_id, e.actor_id, json.loads(e.detail)) for e in audit.events(session)
               if e.action.startswith("audit.")]
    assert [(a, s, who) for a, s, who, _ in log] == [("audit.queued", s0, None), ("audit.queued", s1, None),
                                                     ("audit.label_changed", s0, expert_id),
                                                     ("audit.label_confirmed", s1, expert_id)]
    changed_detail, confirmed_detail = log[2][3], log[3][3]
    assert {k: changed_detail[k] for k in ("previous_category", "category", "reason", "note",
                                           "previous_decided_stage", "suggested_category")} == {
        "previous_category": "Fear", "category": "Sadness", "reason": REASON, "note": "sad music",
        "previous_decided_stage": "member", "suggested_category": "Sadness"}
    assert (confirmed_detail["previous_category"], confirmed_detail["category"]) == ("Excitation", "Excitation")

    # qa label-issues reads the same evidence straight from the database (--from-db)
    from core.settings import get_settings
    from qa.cli_label_issues import _app_tables
    from qa.label_issues import evidence

    monkeypatch.setenv("EMOTIONS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    ev = evidence(*_app_tables(None, True))
    assert ev.loc[s0].tolist() == ["Fear:3", 3, "audit", 0.8, 4.0]
    assert ev.loc[s1].tolist() == ["Excitation:3", 3, "member", 0.8, 4.0]
