"""Contract test over every registered architecture, shapes at paper and tiny sizes, and the parameter count."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from model.backbones import AudioBranch, VisualBranch, inflate_swin_2d, load_visual_pretrained
from model.config import preset
from model.fusion import GLCF, LISF, FusionHead, band_mask
from model.networks import ARCHITECTURES, build_model, count_parameters


def _inputs(cfg, batch=2):
    g = torch.Generator().manual_seed(0)
    video = torch.randint(0, 256, (batch, cfg.segments, 3, cfg.frames, cfg.image_size, cfg.image_size),
                          dtype=torch.uint8, generator=g)
    mfcc = torch.randn(batch, cfg.mfcc_len, cfg.n_mfcc, generator=g) * 50
    return video, mfcc


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_forward_backward(arch, tiny):
    cfg = tiny.net
    model = build_model(arch, cfg)
    model.train()
    video, mfcc = _inputs(cfg)
    out = model(video, mfcc)
    assert out["logits"].shape == (2, cfg.num_classes)
    assert out["embedding"].shape[0] == 2
    for key, value in out.items():
        assert torch.isfinite(value).all(), key
    if "video" in model.modalities and "audio" in model.modalities:
        assert out["logits_v"].shape == out["logits_a"].shape == (2, cfg.num_classes)
    out["logits"].sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    model.eval()
    with torch.no_grad():
        again = model(video, mfcc)["logits"]
    assert torch.isfinite(again).all()


def test_paper_size_parameter_count():
    model = build_model("av_canet", preset("paper").net)
    n = count_parameters(model)
    assert 68.5e6 < n < 70.0e6  # model.md §1.12: about 69.2 M with two pyramid levels
    four = build_model("av_canet", dataclasses.replace(preset("paper").net, pyramid_levels=4))
    assert 86.0e6 < count_parameters(four) < 88.0e6


def test_paper_size_fusion_shapes():
    cfg = preset("paper").net
    torch.manual_seed(0)
    fv, fa = torch.randn(2, 16, 512), torch.randn(2, 16, 512)
    lisf = LISF(cfg).eval()
    ev, ea = lisf(fv, fa)
    assert ev.shape == ea.shape == (2, 16, 512)
    uv, ua = GLCF(cfg)(ev, ea)
    assert uv.shape == ua.shape == (2, 512)
    out = FusionHead(512, 6, "mid_concat")(uv, ua)
    assert out["logits"].shape == (2, 6)
    # unimodal logits are column blocks of the one classifier with half the bias each
    assert torch.allclose(out["logits_a"] + out["logits_v"], out["logits"], atol=1e-5)


def test_paper_size_backbone_shapes():
    cfg = dataclasses.replace(preset("paper").net, segments=1, mfcc_len=256)
    visual = VisualBranch(cfg).eval()
    with torch.no_grad():
        x = torch.randint(0, 256, (1, 3, 8, 112, 112), dtype=torch.uint8)
        tokens = visual.swin.norm(visual.swin.features(visual.swin.patch_embed(x.float())))
        assert tokens.shape == (1, 4, 4, 4, 768)  # [N, T/2, ceil(H/32), ceil(W/32), 8C]
        assert visual(x.unsqueeze(0)).shape == (1, 1, 512)
        audio = AudioBranch(cfg).eval()
        assert audio(torch.randn(1, 256, 32)).shape == (1, 1, 512)
        assert audio.out_features == 512


def test_band_mask_half_window():
    mask = band_mask(5, 1)
    assert mask.tolist()[0] == [True, True, False, False, False]
    assert mask.tolist()[2] == [False, True, True, True, False]
    assert band_mask(5, None) is None


def test_unknown_architecture_is_a_config_error(tiny):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model("nope", tiny.net)


def test_inflated_2d_swin_weights_load(tmp_path, tiny):
    cfg = tiny.net
    visual = VisualBranch(cfg)
    own = visual.swin.state_dict()
    # a 2D checkpoint in the original Swin naming, built from the 3D shapes
    state = {"patch_embed.proj.weight": torch.ones(cfg.swin_embed_dim, 3, 4, 4)}
    table = own["features.0.0.attn.relative_position_bias_table"]
    per_t = table.shape[0] // (2 * cfg.swin_window[0] - 1)
    state["layers.0.blocks.0.attn.relative_position_bias_table"] = torch.full((per_t, table.shape[1]), 0.5)
    state["layers.0.blocks.0.mlp.fc1.weight"] = torch.full_like(own["features.0.0.mlp.0.weight"], 0.25)
    state["layers.0.downsample.reduction.weight"] = torch.full_like(own["features.1.reduction.weight"], 0.125)
    mapped = inflate_swin_2d(state, visual.swin)
    assert set(mapped) == {"patch_embed.proj.weight", "features.0.0.attn.relative_position_bias_table",
                           "features.0.0.mlp.0.weight", "features.1.reduction.weight"}
    path = tmp_path / "swin2d.pth"
    torch.save({"model": state}, path)
    assert load_visual_pretrained(visual, path) == 4
    pe = visual.swin.patch_embed.proj.weight
    assert pe.shape[2] == 2 and torch.allclose(pe, torch.full_like(pe, 0.5))
    assert torch.allclose(visual.swin.features[0][0].attn.relative_position_bias_table, torch.tensor(0.5))


def test_imagenet_resnet34_weights_load_by_name_except_the_one_channel_stem(tmp_path):
    from torchvision.models import resnet34

    from model.backbones import load_audio_pretrained

    reference = resnet34(weights=None).state_dict()
    path = tmp_path / "r34.pth"
    torch.save(reference, path)
    cfg = dataclasses.replace(preset("paper").net, segments=1, mfcc_len=256)
    audio = AudioBranch(cfg)
    loaded = load_audio_pretrained(audio, path)
    own = audio.state_dict()
    body = [k for k in own if k.startswith("layer") or k.startswith("bn1")]
    assert loaded == len(body)  # every residual-stage tensor; conv1 (3-channel 7x7) and fc are skipped
    assert torch.equal(own["layer4.2.conv2.weight"], reference["layer4.2.conv2.weight"])
    assert own["conv1.weight"].shape == (64, 1, 7, 1)
