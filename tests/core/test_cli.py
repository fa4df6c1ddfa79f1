import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from core.cli import COMMANDS, cli, main


def test_every_registered_command_loads_and_has_help():
    runner = CliRunner()
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert isinstance(command, click.Command), name
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage: " in result.output


def test_help_lists_every_stage_group():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, (_target, short) in COMMANDS.items():
        assert f"{name}  " in result.output and short in result.output


def test_help_is_fast_and_imports_no_heavy_library():
    code = (
        "import sys; from core.cli import main; rc = main(['--help']);"
        "heavy = [m for m in ('torch', 'selenium', 'cv2', 'ray', 'sqlalchemy', 'pandas') if m in sys.modules];"
        "print('HEAVY', heavy)"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    assert "HEAVY []" in out.stdout
    assert elapsed < 2.0  # generous bound; bench/cli_startup.py measures the real figure


def test_emotions_error_is_one_line_and_non_zero(monkeypatch, capsys):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", "mysql://nope")
    rc = main(["db", "current"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1
    assert err[0].startswith("error: invalid setting EMOTIONS_DATABASE_URL: ")


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "No such command 'frobnicate'" in capsys.readouterr().err


def test_missing_extra_names_the_install_command(monkeypatch, capsys):
    monkeypatch.setitem(COMMANDS, "fake", ("tests.core.needs_missing_extra:cmd", "needs an extra"))
    monkeypatch.setitem(sys.modules, "tests.core.needs_missing_extra", None)

    import core.cli as core_cli

    def fake_import(name):
        raise ModuleNotFoundError("No module named 'selenium'", name="selenium")

    monkeypatch.setattr(core_cli.importlib, "import_module", fake_import)
    assert main(["fake"]) == 3
    assert capsys.readouterr().err.strip() == (
        "error: `emotions fake` needs the Python package 'selenium' "
        "(install it with: pip install 'emotions[crawl]')"
    )


@pytest.mark.parametrize("argv", [["--version"], ["-h"]])
def test_version_and_short_help_exit_zero(argv, capsys):
    assert main(argv) == 0


def test_bad_project_adjective_table_is_refused_at_start_up(tmp_path, monkeypatch, capsys):
    table = tmp_path / "adjectives.csv"
    table.write_text("id,category,en,zh_hans\n1,Joy,happy,开心的\n", encoding="utf-8")
    monkeypatch.setenv("EMOTIONS_ADJECTIVES_PATH", str(table))
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {table} line 2 (id 1): unknown category 'Joy'; known: " \
                  "Excitation, Fear, Neutral, Relaxation, Sadness, Tension"
