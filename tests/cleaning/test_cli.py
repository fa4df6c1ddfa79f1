import json
import shutil

from click.testing import CliRunner

from cleaning.synth import EdgeCase
from core.cli import COMMANDS, cli, main


def test_clean_is_registered():
    assert COMMANDS["clean"][0] == "cleaning.cli:clean"


def test_run_then_report(synth_videos, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(synth_videos(per_class=1, seed=0) / "excitation_000.mp4", src / "excitation_000.mp4")
    still = synth_videos(per_class=0, seed=1, edge_cases=(EdgeCase.STATIC,))
    shutil.copy(next(still.glob("edge_static_*.mp4")), src / "still.mp4")
    runner = CliRunner()
    out = tmp_path / "out"
    ran = runner.invoke(cli, ["clean", "run", "--source", str(src), "--out", str(out), "--workers", "1"])
    assert ran.exit_code == 0, ran.output
    assert "cleaned 2 videos" in ran.output and "kept 1" in ran.output and "rejected 1" in ran.output
    shown = runner.invoke(cli, ["clean", "report", str(out), "--json"])
    assert shown.exit_code == 0, shown.output
    stats = json.loads(shown.output)
    assert stats["status"] == {"kept": 1, "rejected": 1}
    assert stats["reasons"] == {"static_video": 1}
    assert stats["platforms"]["unknown"] == {"raw": 2, "kept": 1, "kept_rate": 0.5}
    assert stats["table2"]["count"] == 1 and stats["table2"]["frames"] > 0
    png = out / "report" / "duration_hist.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = runner.invoke(cli, ["clean", "report", str(out)])
    assert "Table II" in text.output and "Table III" in text.output


def test_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "r.yaml").write_text("cache: {fps: -1}\n")
    (tmp_path / "src").mkdir()
    code = main(["clean", "run", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "o"),
                 "--recipe", str(tmp_path / "r.yaml")])
    assert code == 2
    assert "invalid cleaning recipe: cache.fps" in capsys.readouterr().err
    assert main(["clean", "report", str(tmp_path / "src")]) == 2
    assert main(["clean", "run", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "o"),
                 "--address", "x:1"]) == 2


def test_cache_fps_option_overrides_the_recipe(tmp_path, capsys):
    from cleaning.recipe import load_recipe

    (tmp_path / "r.yaml").write_text("cache: {short_side: 96}\n")
    recipe = load_recipe(tmp_path / "r.yaml", cache_fps=8)
    assert (recipe.cache.fps, recipe.cache.short_side) == (8.0, 96)
    assert load_recipe(None).cache.fps == 30.0  # default: the source's own rate up to 30
    (tmp_path / "src").mkdir()
    assert main(["clean", "run", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "o"),
                 "--cache-fps", "0"]) == 2
    assert "invalid cleaning recipe: cache.fps" in capsys.readouterr().err
