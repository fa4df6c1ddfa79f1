"""ImageNet initialisation: the 2D->3D Swin inflation and the one-channel ResNet34 stem keep what the 2D nets do."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torchvision

from core.errors import ConfigError
from model.backbones import (
    AudioBranch,
    VisualBranch,
    imagenet_weights_file,
    load_audio_pretrained,
    load_visual_pretrained,
)
from model.config import NetConfig

# float32 through 12 transformer blocks (measured: 3.6e-7 max on features of size ~1.3): summation order only
TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}


def test_inflated_swin_on_identical_frames_gives_the_2d_features(tmp_path):
    torch.manual_seed(0)
    swin2d = torchvision.models.swin_t().eval()  # random init, made here: the mapping is what is tested
    path = tmp_path / "swin_t_2d.pth"
    torch.save(swin2d.state_dict(), path)
    cfg = NetConfig(image_size=224, frames=4, drop_path=0.0, visual_dropout=0.0, pixel_norm="imagenet")
    branch = VisualBranch(cfg).eval()
    assert load_visual_pretrained(branch, path) == len(branch.swin.state_dict()) - 12  # all but the 12 index buffers
    frame = torch.rand(1, 3, 224, 224) * 255
    clip = frame.unsqueeze(2).repeat(1, 1, cfg.frames, 1, 1)  # [1, 3, T, H, W]: the same frame T times
    with torch.no_grad():
        x = (frame / 255 - branch.mean.view(1, 3, 1, 1)) / branch.std.view(1, 3, 1, 1)
        expected = swin2d.flatten(swin2d.avgpool(swin2d.permute(swin2d.norm(swin2d.features(x)))))
        got = branch.features(clip)
    assert got.shape == expected.shape == (1, 768)
    torch.testing.assert_close(got, expected, **TOLERANCE)
    other = VisualBranch(cfg).eval()  # control: without the weights the features are unrelated
    with torch.no_grad():
        assert (other.features(clip) - expected).abs().max() > 0.1


def test_inflated_audio_stem_gives_the_2d_stem_on_a_grey_input_constant_along_coefficients(tmp_path):
    torch.manual_seed(0)
    resnet = torchvision.models.resnet34().eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        resnet.bn1.running_mean.uniform_(-1, 1)
        resnet.bn1.running_var.uniform_(0.5, 2)
    path = tmp_path / "resnet34.pth"
    torch.save(resnet.state_dict(), path)
    branch = AudioBranch(dataclasses.replace(NetConfig(), audio_stem_init="inflate")).eval()
    load_audio_pretrained(branch, path, stem="inflate")
    for name, tensor in resnet.state_dict().items():  # the body loads by name
        if name.startswith("layer"):
            assert torch.equal(branch.state_dict()[name], tensor), name
    column = torch.randn(1, 1, 256, 1) * 20
    x = column.repeat(1, 1, 1, 32)  # [1, 1, L, W]: every MFCC row constant along the coefficient axis
    with torch.no_grad():
        ours = branch.relu(branch.bn1(branch.conv1(x)))  # 7x1 stem, stride (2, 1)
        theirs = resnet.relu(resnet.bn1(resnet.conv1(x.repeat(1, 3, 1, 1))))  # 7x7 RGB stem, stride 2
    # 2D column j sees input columns 2j-3..2j+3; away from the zero padding it must equal our column 2j
    inner = range(2, 15)
    torch.testing.assert_close(ours[..., [2 * j for j in inner]], theirs[..., list(inner)], **TOLERANCE)
    random_stem = AudioBranch(NetConfig()).eval()
    load_audio_pretrained(random_stem, path)  # the official default: the stem stays random
    assert not torch.equal(random_stem.conv1.weight, branch.conv1.weight)


def test_imagenet_weights_come_only_from_the_local_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=r"place swin_t-704ceda3\.pth at .*hub/checkpoints/swin_t-704ceda3\.pth"):
        imagenet_weights_file("swin_t")
    target = tmp_path / "hub" / "checkpoints" / "resnet34-b627a593.pth"
    target.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet34().state_dict(), target)
    assert imagenet_weights_file("resnet34") == target
    branch = AudioBranch(NetConfig(audio_layers=(3, 4, 6, 3)))
    assert load_audio_pretrained(branch, "imagenet") > 100
