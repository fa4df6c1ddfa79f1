"""Whole models: AV-CANet (and its ablations by config) and the unimodal baselines, plus the architecture registry."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

from core.errors import ConfigError
from model.backbones import AudioBranch, VisualBranch, load_audio_pretrained, load_visual_pretrained
from model.config import NetConfig
from model.fusion import GLCF, LISF, FusionHead


class AVCANet(nn.Module):
    """video [B, s, 3, T, H, W] (0..255), mfcc [B, q, n_mfcc] -> dict of logits [B, C] and embedding [B, 2D].

    LISF and GLCF can each be switched off (ablations); without GLCF the snippet features are
    mean-pooled, which with both off is the "vanilla" concatenation baseline.
    """

    modalities = ("video", "audio")

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.visual = VisualBranch(cfg)
        self.audio = AudioBranch(cfg)
        self.lisf = LISF(cfg) if cfg.use_lisf else None
        self.glcf = GLCF(cfg) if cfg.use_glcf else None
        self.head = FusionHead(cfg.dim, cfg.num_classes, cfg.fusion, cfg.unimodal_heads)

    def forward(self, video: torch.Tensor, mfcc: torch.Tensor) -> dict[str, torch.Tensor]:
        fv, fa = self.visual(video), self.audio(mfcc)
        if self.lisf is not None:
            fv, fa = self.lisf(fv, fa)
        if self.glcf is not None:
            ev, ea = self.glcf(fv, fa)
        else:
            ev, ea = fv.mean(dim=1), fa.mean(dim=1)
        out = self.head(ev, ea)
        out["embedding"] = torch.cat([ea, ev], dim=-1)
        return out


class VisualOnly(nn.Module):
    """Video Swin-T baseline: snippet features projected, averaged over snippets, linear classifier."""

    modalities = ("video",)

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.visual = VisualBranch(cfg)
        self.fc = nn.Linear(cfg.dim, cfg.num_classes)

    def forward(self, video: torch.Tensor, mfcc: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        emb = self.visual(video).mean(dim=1)
        return {"logits": self.fc(emb), "embedding": emb}


class AudioOnly(nn.Module):
    """ResNet34 audio baseline on the 16 MFCC snippets, averaged, linear classifier."""

    modalities = ("audio",)

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.audio = AudioBranch(cfg)
        self.fc = nn.Linear(cfg.dim, cfg.num_classes)

    def forward(self, video: torch.Tensor | None, mfcc: torch.Tensor) -> dict[str, torch.Tensor]:
        emb = self.audio(mfcc).mean(dim=1)
        return {"logits": self.fc(emb), "embedding": emb}


# --- registry -------------------------------------------------------------------------------------

def _fused(**changes: object) -> Callable[[NetConfig], nn.Module]:
    return lambda cfg: AVCANet(dataclasses.replace(cfg, **changes))


ARCHITECTURES: dict[str, tuple[Callable[[NetConfig], nn.Module], str]] = {
    "av_canet": (_fused(), "full model: LISF + GLCF + fusion head from the config (Mid-Concat by default)"),
    "lisf_only": (_fused(use_lisf=True, use_glcf=False), "ablation: LISF, snippet mean instead of GLCF"),
    "glcf_only": (_fused(use_lisf=False, use_glcf=True), "ablation: GLCF on the backbone features"),
    "vanilla": (_fused(use_lisf=False, use_glcf=False), "ablation: snippet means concatenated, linear head"),
    "av_canet_gated": (_fused(fusion="gated"), "GLCF fusion strategy: gated"),
    "av_canet_ew_multiply": (_fused(fusion="ew_multiply"), "GLCF fusion strategy: element-wise multiply"),
    "av_canet_mid_concat": (_fused(fusion="mid_concat"), "GLCF fusion strategy: Mid-Concat (the paper's)"),
    "av_canet_sum": (_fused(fusion="sum"), "GLCF fusion strategy: sum of per-modality logits"),
    "visual_only": (VisualOnly, "Video Swin-T alone"),
    "audio_only": (AudioOnly, "ResNet34 on MFCC alone"),
}


def build_model(arch: str, cfg: NetConfig, *, load_pretrained: bool = True) -> nn.Module:
    """Instantiate a registered architecture; local pretrained weights are loaded when configured."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}", remedy=f"use one of {', '.join(ARCHITECTURES)}")
    model = ARCHITECTURES[arch][0](cfg)
    if load_pretrained:
        if cfg.pretrained_visual and hasattr(model, "visual"):
            load_visual_pretrained(model.visual, cfg.pretrained_visual)
        if cfg.pretrained_audio and hasattr(model, "audio"):
            load_audio_pretrained(model.audio, cfg.pretrained_audio, cfg.audio_stem_init)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
