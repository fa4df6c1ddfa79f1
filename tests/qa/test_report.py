import json

from core.cli import main
from qa.report import build_report, escalation, landis_koch
from qa.sources import member_votes
from tests.qa import synth


def test_escalation_counts_each_item_once():
    votes = synth.votes()
    esc = escalation(votes)
    assert esc["items"].sum() == votes["item"].nunique()
    assert esc["rung"].iloc[0].startswith("members")
    assert abs(esc["share"].sum() - 1) < 1e-9


def test_build_report_writes_every_part(tmp_path):
    written = build_report(tmp_path, all_votes=synth.votes(), relabels=synth.relabels(), ratings=synth.ratings(),
                           sources={"votes": "synthetic"})
    for name in ("report.html", "report.md", "report.json", "confusion.png", "annotators.png", "confidence.png",
                 "consistency.png", "mos.png", "mos_votes.png"):
        assert (tmp_path / name).exists(), name
        assert name in written
    assert (tmp_path / "mos.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    for heading in ("Summary", "Agreement among members", "Escalation", "Cross-check consistency (Table I)",
                    "MOS of label"):
        assert heading in html
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["agreement"]["n_ratings"] == len(member_votes(synth.votes()))
    assert set(data["agreement"]["by_group"]) == {"A", "B", "C"}
    assert set(data["consistency"]["stages"]) == {"sA", "sB"}
    assert "![" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert data["pairwise_cohen"] and {"a", "b", "n_common", "kappa"} <= set(data["pairwise_cohen"][0])


def test_report_cli_from_files(tmp_path, capsys):
    synth.votes().to_csv(tmp_path / "votes.csv", index=False)
    synth.relabels().to_csv(tmp_path / "relabels.csv", index=False)
    synth.ratings().to_csv(tmp_path / "ratings.csv", index=False)
    rc = main(["qa", "report", "--out", str(tmp_path / "rep"), "--votes", str(tmp_path / "votes.csv"),
               "--relabels", str(tmp_path / "relabels.csv"), "--ratings", str(tmp_path / "ratings.csv")])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "rep" / "report.html").exists()
    assert "report written to" in capsys.readouterr().out


def test_landis_koch_words():
    assert [landis_koch(k) for k in (None, -0.1, 0.1, 0.3, 0.45, 0.7, 0.9)] == [
        "undefined", "poor", "slight", "fair", "moderate", "substantial", "almost perfect"]


def test_report_without_votes_source(tmp_path, capsys, monkeypatch, sqlite_url):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)  # empty database: no votes to read
    synth.ratings().to_csv(tmp_path / "ratings.csv", index=False)
    rc = main(["qa", "report", "--out", str(tmp_path / "rep"), "--ratings", str(tmp_path / "ratings.csv"), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "agreement sections are left out" in captured.err
    assert "report.html" in json.loads(captured.out)["files"]
