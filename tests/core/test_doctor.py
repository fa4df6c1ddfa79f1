from click.testing import CliRunner

from core.cli import cli


def test_doctor_reports_each_requirement_and_passes_when_complete(sqlite_url, monkeypatch):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["doctor"])
    lines = result.output.splitlines()
    names = [line.split()[1] for line in lines]
    assert names[:7] == ["python", "ffmpeg", "ffprobe", "chromium", "chromedriver", "pg_dump", "database"]
    assert all(line.startswith("ok") for line in lines), result.output
    assert result.exit_code == 0


def test_doctor_names_the_fix_for_each_gap(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "MISS ffmpeg         not found; install: apt-get install ffmpeg" in result.output
    assert "MISS chromedriver   not found; install: apt-get install chromium-driver" in result.output
    # the empty database is behind head only when migrations exist
    assert "database" in result.output
