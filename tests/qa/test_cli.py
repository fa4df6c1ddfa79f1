import json
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from tests.qa.test_consistency import HAND
from tests.qa.test_swaps import MEMBERS, pilot


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


VOTES = "item,rater,category,group\n" + "\n".join(
    f"i{i},r{r},{cat},{'A' if i < 3 else 'B'}"
    for i, cats in enumerate([("Fear", "Fear", "Fear"), ("Neutral", "Neutral", "Sadness"),
                              ("Tension", "Fear", "Sadness"), ("Neutral", "Neutral", "Neutral"),
                              ("Excitation", "Excitation", "Relaxation")])
    for r, cat in enumerate(cats)) + "\n"


def run(argv, capsys):
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_kappa_json_keys_and_by_group(tmp_path, capsys):
    path = write(tmp_path, "votes.csv", VOTES)
    rc, out, _ = run(["qa", "kappa", "--votes", str(path), "--by", "group", "--json"], capsys)
    assert rc == 0
    result = json.loads(out)
    for key in ("fleiss_kappa", "krippendorff_alpha", "randolph_kappa", "per_category", "n_items", "n_ratings"):
        assert key in result
    assert result["n_items"] == 5 and result["n_ratings"] == 15
    assert set(result["by_group"]) == {"A", "B"}
    rc, out, _ = run(["qa", "kappa", "--from-csv", str(path), "--out", str(tmp_path / "rep")], capsys)
    assert rc == 0 and "Fleiss kappa" in out
    assert (tmp_path / "rep" / "kappa.json").exists() and (tmp_path / "rep" / "kappa.md").exists()


def test_member_votes_only_by_default(tmp_path, capsys):
    text = VOTES.replace("category,group", "category,group,role").replace(",A\n", ",A,member\n") \
        .replace(",B\n", ",B,member\n") + "i2,lead,Fear,A,leader\n"
    path = write(tmp_path, "votes.csv", text)
    _, out, _ = run(["qa", "kappa", "--votes", str(path), "--json"], capsys)
    assert json.loads(out)["n_ratings"] == 15
    _, out, _ = run(["qa", "kappa", "--votes", str(path), "--json", "--all-votes"], capsys)
    assert json.loads(out)["n_ratings"] == 16


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"item,rater,category\n", "no data rows"),
    (b"item,rater\na,b\n", "missing column(s) category"),
    (b"item,rater,category\na,r1,Fear\na,r2,Joy\n", "line 3: unknown category 'Joy'"),
    (b"item,rater,category\na,r1,Fear\na,r1,Fear\n", "line 3: duplicate row for item='a', rater='r1'"),
    (b"item,rater,category\na,r1,Fear\nb,r1,Sadness\n", "two raters per item"),
    (b"item,rater,category\na,r1,Fear\na,r2,Sad\xffness\n", "line 3: not UTF-8"),
    (b"item,rater,category\na,r1,Fear\na,r2,Fear,extra\n", "malformed CSV"),
    (b"item,rater,category\na,,Fear\n", "line 2: empty value in column 'rater'"),
])
def test_bad_votes_file_is_one_clear_line(tmp_path, capsys, content, message):
    path = write(tmp_path, "votes.csv", content)
    rc, _, err = run(["qa", "kappa", "--votes", str(path)], capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert message in lines[0]
    assert lines[0].startswith("error: ")


def test_missing_file_and_default_source(tmp_path, capsys):
    rc, _, err = run(["qa", "kappa", "--votes", str(tmp_path / "nope.csv")], capsys)
    assert rc == 2 and "cannot read" in err
    rc, _, err = run(["qa", "kappa"], capsys)
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "--from-csv" in err


def test_consistency_cli(tmp_path, capsys):
    path = tmp_path / "relabels.csv"
    HAND.to_csv(path, index=False)
    rc, out, _ = run(["qa", "consistency", "--relabels", str(path), "--json"], capsys)
    assert rc == 0
    result = json.loads(out)
    assert result["groups"]["A"]["S_r"] == pytest.approx(45.625)
    assert result["mean_S_r"] == pytest.approx(57.8125) and "var_S_r" in result
    rc, out, _ = run(["qa", "consistency", "--from-csv", str(path), "--stage", "sA"], capsys)
    assert rc == 0 and "S_r" in out
    rc, _, err = run(["qa", "consistency", "--from-csv", str(path), "--stage", "sZ"], capsys)
    assert rc == 2 and "no rows for stage 'sZ'" in err


def test_plan_swaps_allocate_sample_size_mos(tmp_path, capsys, monkeypatch, sqlite_url):
    labels = pd.DataFrame([{"item": f"{g}{c}{i}", "group": g, "label": c} for g in "ABC"
                           for c in ("Neutral", "Excitation", "Fear", "Sadness", "Tension", "Relaxation")
                           for i in range(12)])
    labels.to_csv(tmp_path / "labels.csv", index=False)
    plan = tmp_path / "plan.csv"
    rc, out, err = run(["qa", "plan-crosscheck", "--from-csv", str(tmp_path / "labels.csv"), "--set-size", "2",
                        "--write", str(plan)], capsys)
    assert rc == 0 and plan.exists() and err == ""
    assert pd.read_csv(plan)["set_id"].nunique() == 54

    pilot().to_csv(tmp_path / "pilot.csv", index=False)
    pd.DataFrame({"rater": list(MEMBERS), "group": list(MEMBERS.values())}).to_csv(tmp_path / "m.csv", index=False)
    rc, out, _ = run(["qa", "swaps", "--from-csv", str(tmp_path / "pilot.csv"), "--members", str(tmp_path / "m.csv"),
                      "--json"], capsys)
    assert rc == 0 and json.loads(out)["status"] == "converged"
    rc, out, _ = run(["qa", "swaps", "--from-csv", str(tmp_path / "pilot.csv"), "--members", str(tmp_path / "m.csv")],
                     capsys)
    assert "status: converged" in out
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)  # an empty database: the move cannot be recorded
    rc, _, err = run(["qa", "swaps", "--from-csv", str(tmp_path / "pilot.csv"), "--members", str(tmp_path / "m.csv"),
                      "--apply"], capsys)
    assert rc != 0 and len(err.strip().splitlines()) == 1

    people = "person,gender,we,ms,eb,cb,lp\n" + "\n".join(
        f"p{i},{'f' if i % 3 == 0 else 'm'},{50 + i},{60 + i % 5},{70 - i},{55},{40 + 2 * i}" for i in range(12))
    rc, out, _ = run(["qa", "allocate", "--from-csv", str(write(tmp_path, "people.csv", people)), "--json"], capsys)
    assert rc == 0 and len(json.loads(out)["groups"]) == 3

    rc, out, _ = run(["qa", "sample-size", "--population", "eMotions=27996", "--population", "Ekman6=1637",
                      "--json"], capsys)
    assert json.loads(out)["sizes"] == {"eMotions": 379, "Ekman6": 312}
    rc, _, err = run(["qa", "sample-size", "--population", "oops"], capsys)
    assert rc == 2

    ratings = "dataset,item,rater,rating\n" + "\n".join(
        f"D{d},i{i},e{r},{1 + (d + i + r) % 5}" for d in range(2) for i in range(4) for r in range(4))
    rc, out, _ = run(["qa", "mos", "--from-csv", str(write(tmp_path, "mos.csv", ratings))], capsys)
    assert rc == 0 and "CI method" in out
    rc, _, err = run(["qa", "mos", "--from-csv", str(write(tmp_path, "bad.csv", ratings + "\nD0,i9,e0,7\n"))], capsys)
    assert rc == 2 and "rating '7'" in err


def test_app_database_source(monkeypatch, capsys):
    import annotation_app.services.export as export

    rows = [("s1", "m1", "member", "A", "member", 1, "Fear"), ("s1", "m2", "member", "A", "member", 2, "Fear"),
            ("s1", "m3", "member", "A", "member", 3, "Sadness"), ("s2", "m1", "member", "A", "member", 4, "Tension"),
            ("s2", "m2", "member", "A", "member", 5, "Fear"), ("s2", "m3", "member", "A", "member", 6, "Sadness"),
            ("s2", "lead", "leader", "A", "leader", 7, "Fear"),
            ("s1", "m3", "member", "A", "member", 8, "Fear")]  # a later revision of m3's vote on s1
    frame = pd.DataFrame(rows, columns=["sample_id", "voter", "role", "group", "stage", "adjective_id", "category"])
    frame["confidence"] = 0.7
    frame["created_at"] = pd.Timestamp("2026-01-01", tz="UTC")
    monkeypatch.setattr(export, "load_votes", lambda url: frame)
    rc, out, err = run(["qa", "kappa", "--json"], capsys)
    assert rc == 0, err
    result = json.loads(out)
    assert result["n_ratings"] == 6 and result["n_items"] == 2  # leader vote left out, revision replaces
    assert result["observed_agreement"] == pytest.approx(0.5)  # s1 unanimous, s2 1-1-1


def test_unmigrated_database_is_one_line(monkeypatch, capsys, sqlite_url):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)
    rc, _, err = run(["qa", "kappa"], capsys)
    assert rc == 4 and len(err.strip().splitlines()) == 1 and "--from-csv" in err


def test_every_qa_command_has_help_and_import_is_light(capsys):
    import subprocess
    import sys

    from qa.cli import qa

    for name in qa.commands:
        rc, out, _ = run(["qa", name, "--help"], capsys)
        assert rc == 0 and "Usage:" in out, name
    code = "import sys, qa.cli; print([m for m in ('pandas', 'statsmodels', 'matplotlib') if m in sys.modules])"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.strip() == "[]"


def test_plan_from_votes_file_and_app(tmp_path, capsys, monkeypatch):
    import annotation_app.services.export as export
    from tests.qa import synth

    votes = synth.votes(90)
    member = votes[votes["role"] == "member"]
    member.to_csv(tmp_path / "votes.csv", index=False)
    rc, out, err = run(["qa", "plan-crosscheck", "--from-csv", str(tmp_path / "votes.csv"), "--set-size", "1",
                        "--write", str(tmp_path / "plan.csv"), "--json"], capsys)
    assert rc == 0, err
    from_file = json.loads(out)
    app_frame = votes.rename(columns={"item": "sample_id", "rater": "voter"})
    monkeypatch.setattr(export, "load_votes", lambda url: app_frame)
    rc, out, err = run(["qa", "plan-crosscheck", "--set-size", "1", "--write", str(tmp_path / "plan2.csv"), "--json"],
                       capsys)
    assert rc == 0, err
    assert json.loads(out)["summary"] == from_file["summary"]
    assert (tmp_path / "plan.csv").read_text() == (tmp_path / "plan2.csv").read_text()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: f.assign(label=f["label"].where(f.index != 4, "Joy")), "line 6: unknown category 'Joy' in column"),
    (lambda f: pd.concat([f, f.iloc[[0]]]), "duplicate row"),
    (lambda f: f.assign(group=f["group"].where(f.index != 0, "B")), "re-labelled by more than one group"),
    (lambda f: f.drop(columns="previous_label"), "missing column(s) previous_label"),
])
def test_bad_relabels_file(tmp_path, capsys, edit, message):
    edit(HAND.reset_index(drop=True)).to_csv(tmp_path / "r.csv", index=False)
    rc, _, err = run(["qa", "consistency", "--from-csv", str(tmp_path / "r.csv")], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert message in err


def test_bad_people_file(tmp_path, capsys):
    path = write(tmp_path, "p.csv", "person,gender,we,ms,eb,cb,lp\nx,m,1,2,3,4,5\ny,q,1,2,3,4,5\n")
    rc, _, err = run(["qa", "allocate", "--from-csv", str(path)], capsys)
    assert rc == 2 and "line 3: gender must be m or f" in err
    path = write(tmp_path, "p.csv", "person,gender,we,ms,eb,cb,lp\nx,m,1,two,3,4,5\n")
    rc, _, err = run(["qa", "allocate", "--from-csv", str(path)], capsys)
    assert rc == 2 and "line 2: column 'ms' is not a number" in err


def test_crlf_numeric_ids_short_rows_and_group_errors(tmp_path, capsys):
    text = "item,rater,category,group\r\n1,1,Fear,A\r\n1,2,fear,A\r\n2,1, Sadness ,A\r\n2,2,Tension,A\r\n3,9,Fear,B\r\n"
    rc, out, err = run(["qa", "kappa", "--votes", str(write(tmp_path, "v.csv", text)), "--by", "group", "--json"],
                       capsys)
    assert rc == 0, err
    result = json.loads(out)
    assert result["n_ratings"] == 5 and result["fleiss_method"] == "gwet-generalised"
    assert "two raters" in result["by_group"]["B"]["error"]
    rc, _, err = run(["qa", "kappa", "--votes", str(write(tmp_path, "s.csv", "item,rater,category\na,r1\n"))], capsys)
    assert rc == 2 and "line 2: empty value in column 'category'" in err


def test_root_help_lists_qa(capsys):
    rc, out, _ = run(["--help"], capsys)
    assert rc == 0 and "qa  " in out and "cross-check consistency" in out


def test_line_numbers_survive_the_member_filter(tmp_path, capsys):
    text = ("item,rater,category,role\na,l,Fear,leader\na,r1,Fear,member\na,r2,Fear,member\n"
            "b,r1,Fear,member\na,r1,Sadness,member\n")
    rc, _, err = run(["qa", "kappa", "--votes", str(write(tmp_path, "v.csv", text))], capsys)
    assert rc == 2 and "line 6: duplicate row for item='a', rater='r1'" in err


def test_unterminated_quote_is_one_line_naming_file_and_line(tmp_path, capsys):
    # Accepted silently before: the open quote ran to the end of the file and "Fear\n" passed as Fear.
    path = write(tmp_path, "votes.csv", b'item,rater,category\na,r1,Fear\na,r2,"Fear\n')
    rc, out, err = run(["qa", "kappa", "--votes", str(path)], capsys)
    assert rc == 2 and out == ""
    assert err == (f"error: votes file {path} line 3: unterminated quote: the quoted field opened on this line "
                   "never closes (close the quote; inside a quoted field, write each quote twice)\n")
    ratings = write(tmp_path, "mos.csv", 'dataset,item,rater,rating\nd,a,r1,4\nd,"a,r2,5\n')
    rc, _, err = run(["qa", "mos", "--ratings", str(ratings)], capsys)
    assert rc == 2 and err.startswith(f"error: MOS ratings file {ratings} line 3: unterminated quote:")
