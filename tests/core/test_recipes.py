import pytest

from core.errors import ConfigError
from core.recipes import read_yaml_mapping


def test_mapping_and_empty_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("seed: 3\nsplit: {train: 0.8}\n", encoding="utf-8")
    assert read_yaml_mapping(recipe) == {"seed": 3, "split": {"train": 0.8}}
    recipe.write_text("", encoding="utf-8")
    assert read_yaml_mapping(recipe) == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("- a\n- b\n", "expected a mapping of settings at the top level"),
        ("seed: [1, 2\n", "not valid YAML (while parsing a flow sequence)"),
        (b"\xff\xfe\x00bad", "not valid YAML ("),
    ],
)
def test_bad_recipe_is_one_line_naming_the_file(tmp_path, body, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(ConfigError) as err:
        read_yaml_mapping(recipe, "clean recipe")
    assert err.value.message.startswith(f"clean recipe {recipe}: ")
    assert message in err.value.message and "\n" not in err.value.message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"crawl recipe .*absent.yaml: cannot read \(No such file or directory\)"):
        read_yaml_mapping(tmp_path / "absent.yaml", "crawl recipe")
