"""The README stays true: every setting is documented, every command it shows exists."""

import re
from pathlib import Path

from click.testing import CliRunner

from core.cli import COMMANDS, cli
from core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table():
    for name in Settings.model_fields:
        assert f"`EMOTIONS_{name.upper()}`" in README, name


def test_configuration_table_is_generated_from_the_settings_class():
    from core.settings import settings_table

    assert settings_table() in README, "regenerate the README table with core.settings.settings_table()"


def test_every_command_in_the_readme_exists():
    shown = set(re.findall(r"`emotions ([a-z][a-z-]*)", README))
    assert shown, "README shows no command"
    assert shown <= set(COMMANDS), shown - set(COMMANDS)


def test_every_group_of_the_cli_is_documented():
    for name in COMMANDS:
        assert f"emotions {name}" in README, name


def test_subcommands_shown_in_the_readme_exist():
    for group, sub in re.findall(r"`emotions ([a-z][a-z-]*) ([a-z][a-z-]+)", README):
        result = CliRunner().invoke(cli, [group, sub, "--help"])
        assert result.exit_code == 0, (group, sub, result.output)
