"""Backbone nn.Modules: the Video Swin-T visual branch and the one-channel ResNet audio branch (model.md §1.3-1.4)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torchvision.models.video.swin_transformer import SwinTransformer3d

from core.errors import ConfigError
from model.config import NetConfig

log = logging.getLogger(__name__)

CODE_MEAN = 100.0 / 255.0  # the official scalar pixel mean, no std
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VisualBranch(nn.Module):
    """Snippets [B, s, 3, T, H, W] (uint8 or float in 0..255) -> F_v [B, s, dim].

    torchvision's SwinTransformer3d run as patch-embed -> features -> norm, then spatial mean,
    dropout and temporal mean (the official pooling order), then the `v_fc` projection.
    """

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.swin = SwinTransformer3d(
            patch_size=list(cfg.swin_patch), embed_dim=cfg.swin_embed_dim, depths=list(cfg.swin_depths),
            num_heads=list(cfg.swin_heads), window_size=list(cfg.swin_window),
            stochastic_depth_prob=cfg.drop_path, num_classes=1,
        )
        self.swin.head = nn.Identity()
        self.swin.avgpool = nn.Identity()
        self.out_features = self.swin.num_features
        self.dropout = nn.Dropout(cfg.visual_dropout)
        self.v_fc = nn.Linear(self.out_features, cfg.dim)
        self.pixel_norm = cfg.pixel_norm
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1) if cfg.pixel_norm == "imagenet" else torch.tensor(
            CODE_MEAN)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1) if cfg.pixel_norm == "imagenet" else torch.tensor(1.0)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """Per-snippet pooled features: [N, 3, T, H, W] (0..255) -> [N, C]."""
        x = clips.float() / 255.0
        x = (x - self.mean) / self.std
        x = self.swin.patch_embed(x)
        x = self.swin.pos_drop(x)
        x = self.swin.features(x)
        x = self.swin.norm(x)  # [N, T', H', W', C]
        x = x.mean(dim=(2, 3))  # spatial mean -> [N, T', C]
        x = self.dropout(x)
        return x.mean(dim=1)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, s = video.shape[:2]
        feats = self.features(video.flatten(0, 1))
        return self.v_fc(feats).view(b, s, -1)


class BasicBlock(nn.Module):
    """ResNet basic block; parameter names follow torchvision so ImageNet weights load by name."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class AudioBranch(nn.Module):
    """MFCC [B, q, n_mfcc] -> F_a [B, s, dim]: split into s chunks, ResNet with a 7x1 one-channel stem, a_fc."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        if cfg.mfcc_len % cfg.segments:
            raise ConfigError(f"mfcc_len {cfg.mfcc_len} must be a multiple of segments {cfg.segments}")
        self.segments = cfg.segments
        w = cfg.audio_width
        self.conv1 = nn.Conv2d(1, w, kernel_size=(7, 1), stride=(2, 1), padding=(3, 0), bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [w, 2 * w, 4 * w, 8 * w]
        cin = w
        for i, (width, depth) in enumerate(zip(widths, cfg.audio_layers, strict=True)):
            blocks = [BasicBlock(cin, width, 1 if i == 0 else 2)]
            blocks += [BasicBlock(width, width, 1) for _ in range(depth - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.out_features = cin
        self.a_fc = nn.Sequential(nn.Linear(cin, cfg.dim), nn.BatchNorm1d(cfg.dim), nn.Tanh())
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, chunks: torch.Tensor) -> torch.Tensor:
        """[N, 1, L, n_mfcc] -> [N, C]."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(chunks))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)

    def forward(self, mfcc: torch.Tensor) -> torch.Tensor:
        b, q, c = mfcc.shape
        chunks = mfcc.float().reshape(b * self.segments, 1, q // self.segments, c)
        return self.a_fc(self.features(chunks)).view(b, self.segments, -1)


# --- pretrained 2D ImageNet weights (a local file, or torchvision's from the local hub cache) ---------------

IMAGENET = "imagenet"


def imagenet_weights_file(kind: str) -> Path:
    """Where torchvision's weights API keeps `Swin_T_Weights.IMAGENET1K_V1` / `ResNet34_Weights.IMAGENET1K_V1`
    ($TORCH_HOME/hub/checkpoints/<file>); ConfigError naming the file when it is not there. Never downloads."""
    import torchvision.models as tvm

    weights = {"swin_t": tvm.Swin_T_Weights.IMAGENET1K_V1, "resnet34": tvm.ResNet34_Weights.IMAGENET1K_V1}[kind]
    file = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not file.is_file():
        raise ConfigError(f"{weights} is not in the local torch hub cache: place {file.name} at {file}",
                          remedy=f"fetch {weights.url} where there is internet and copy it into $TORCH_HOME/hub/"
                                 "checkpoints; nothing is downloaded at run time")
    return file


def _read_state(path: str | Path, kind: str) -> dict[str, torch.Tensor]:
    file = imagenet_weights_file(kind) if str(path) == IMAGENET else Path(path)
    if not file.is_file():
        raise ConfigError(f"pretrained weights {file} not found", remedy="give 'imagenet' or a local .pth file")
    state = torch.load(file, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def _load_matching(module: nn.Module, state: dict[str, torch.Tensor], what: str) -> int:
    own = module.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(usable, strict=False)
    log.info("%s: loaded %d of %d tensors from pretrained weights", what, len(usable), len(own))
    return len(usable)


def inflate_stem(weight: torch.Tensor) -> torch.Tensor:
    """A 2D RGB stem kernel [C, 3, k, k] as the one-channel k x 1 stem [C, 1, k, 1]: summed over colours (a grey
    picture is R = G = B) and over the kernel's width (an input constant along the coefficient axis)."""
    return weight.sum(dim=(1, 3), keepdim=True)


def load_audio_pretrained(branch: AudioBranch, path: str | Path, stem: str = "random") -> int:
    """ImageNet ResNet weights by name, non-strict; a_fc stays random. The one-channel stem stays random as in
    the official code (`stem="random"`) or is inflated from the RGB stem (`stem="inflate"`, see inflate_stem)."""
    state = dict(_read_state(path, "resnet34"))
    if stem == "inflate" and "conv1.weight" in state and state["conv1.weight"].dim() == 4:
        state["conv1.weight"] = inflate_stem(state["conv1.weight"])
    return _load_matching(branch, state, "audio branch")


def _torchvision_2d_name(key: str) -> str:
    """torchvision swin_t (2D) names -> SwinTransformer3d names: features.0 is the patch embedding there."""
    if key.startswith("features.0.0."):
        return "patch_embed.proj." + key[len("features.0.0."):]
    if key.startswith("features.0.2."):
        return "patch_embed.norm." + key[len("features.0.2."):]
    if key.startswith("features."):
        stage, rest = key[len("features."):].split(".", 1)
        return f"features.{int(stage) - 1}.{rest}"
    return key


def _official_2d_name(key: str) -> str:
    """The Swin repository's names (layers.i.blocks.j, layers.i.downsample) -> SwinTransformer3d names."""
    if key.startswith("layers."):
        parts = key.split(".")
        stage = int(parts[1])
        if parts[2] == "blocks":
            key = ".".join(["features", str(2 * stage), *parts[3:]])
        elif parts[2] == "downsample":
            key = ".".join(["features", str(2 * stage + 1), *parts[3:]])
    return key.replace(".mlp.fc1.", ".mlp.0.").replace(".mlp.fc2.", ".mlp.3.")


def inflate_swin_2d(state: dict[str, torch.Tensor], swin: SwinTransformer3d) -> dict[str, torch.Tensor]:
    """Map a 2D Swin-T state dict (torchvision `swin_t` or the Swin repository's naming) onto torchvision's 3D
    model, inflating in time.

    The patch-embedding kernel is repeated over the temporal taps and divided by their number; each
    relative-position-bias table is tiled over the (2*Wt - 1) temporal offsets. On a clip of identical
    frames the 3D model then computes what the 2D one computes on the frame (tested).
    """
    rename = _torchvision_2d_name if "features.0.0.weight" in state else _official_2d_name
    own = swin.state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = rename(key)
        if new not in own:
            continue
        target = own[new]
        if new == "patch_embed.proj.weight" and value.dim() == 4:
            taps = target.shape[2]
            value = value.unsqueeze(2).repeat(1, 1, taps, 1, 1) / taps
        elif new.endswith("relative_position_bias_table") and value.shape != target.shape:
            value = value.repeat(target.shape[0] // value.shape[0], 1)
        if value.shape == target.shape:
            out[new] = value
    return out


def load_visual_pretrained(branch: VisualBranch, path: str | Path) -> int:
    """2D ImageNet Swin-T weights ('imagenet' or a local file), inflated to 3D (or 3D weights in torchvision naming)."""
    state = _read_state(path, "swin_t")
    if "features.0.0.weight" in state or any(k.startswith("layers.") for k in state):
        state = inflate_swin_2d(state, branch.swin)
    return _load_matching(branch.swin, state, "visual branch")
