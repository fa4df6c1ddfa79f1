from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import get_settings, load_settings


def test_defaults_need_no_configuration():
    s = load_settings()
    assert s.database_url == "sqlite:///./data/emotions.db"
    assert s.data_dir == Path("./data")
    assert s.adjectives_path is None
    assert s.log_level == "INFO"


def test_environment_overrides_with_prefix(monkeypatch):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("EMOTIONS_LOG_LEVEL", "debug")
    s = load_settings()
    assert s.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    assert s.log_level == "DEBUG"


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("EMOTIONS_DATA_DIR=/srv/emotions\n")
    assert get_settings().data_dir == Path("/srv/emotions")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("EMOTIONS_DATABASE_URL", "mysql://root@localhost/x"),
        ("EMOTIONS_DATABASE_URL", "not a url"),
        ("EMOTIONS_LOG_LEVEL", "chatty"),
    ],
)
def test_bad_value_is_refused_naming_the_key(monkeypatch, key, value):
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.one_line().startswith(f"invalid setting {key}: ")
    assert err.value.exit_code == 2
