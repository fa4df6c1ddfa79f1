import pytest

from core.errors import MissingDependency
from core.system import PROGRAMS, find_program, require_program


def test_missing_program_names_it_and_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_program("chromedriver") is None
    with pytest.raises(MissingDependency) as err:
        require_program("chromedriver")
    assert err.value.one_line() == (
        "chromedriver not found on PATH (needed by crawl (platform discovery)) "
        "(install it with: apt-get install chromium-driver)"
    )


def test_installed_program_is_found():
    assert require_program("ffmpeg").endswith("/ffmpeg")
    assert set(PROGRAMS) >= {"ffmpeg", "ffprobe", "chromium", "chromedriver"}
