"""Config presets, YAML recipes on top of a preset, and validation errors."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from model.config import Config, load_config, preset


def test_paper_defaults_follow_the_spec():
    cfg = load_config(None)
    assert (cfg.net.segments, cfg.net.frames, cfg.net.image_size, cfg.net.mfcc_len, cfg.net.dim) == (16, 8, 112, 4096,
                                                                                                       512)
    assert cfg.net.pyramid_levels == 2 and cfg.net.fusion == "mid_concat" and cfg.net.lisf_heads == 8
    t = cfg.train
    assert (t.lr, t.weight_decay, t.epochs, t.batch_size, t.grad_accum, t.gamma) == (1.5e-4, 0.02, 30, 8, 4,
                                                                                    (0.7, 0.7, 0.7))
    assert cfg.data.audio_length_mode == "tile" and cfg.data.crop == "code"


def test_yaml_recipe_on_a_preset_and_roundtrip(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("base: tiny\ntrain:\n  epochs: 3\n  gamma: [0.5, 0.4, 0.3]\nnet:\n  fusion: sum\n")
    cfg = load_config(path)
    assert cfg.train.epochs == 3 and cfg.train.gamma == (0.5, 0.4, 0.3) and cfg.net.fusion == "sum"
    assert cfg.net.image_size == preset("tiny").net.image_size
    import yaml

    assert Config.from_dict(yaml.safe_load(cfg.dump_yaml())) == cfg


@pytest.mark.parametrize("text, match", [
    ("train:\n  epochz: 3\n", "unknown train field"),
    ("net:\n  fusion: concat\n", "not allowed"),
    ("bogus:\n  a: 1\n", "unknown config section"),
    ("- a\n- b\n", "mapping"),
])
def test_bad_recipes_are_config_errors(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="neither a preset nor a file"):
        load_config("huge")
