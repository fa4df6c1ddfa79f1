"""Losses: EP-CE (Eq. 15) with per-polarity gamma, plain CE, and the multi-task sum over fused and unimodal logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

POLARITY_CODES = {"positive": 0, "neutral": 1, "negative": 2}


class EPCELoss(nn.Module):
    """Emotion-polarity-enhanced cross-entropy.

    `polarity[c]` is the polarity code (0 positive, 1 neutral, 2 negative) of class c; `gamma` is
    (gamma_pos, gamma_neu, gamma_neg). Sample i is weighted 1 + gamma[pol(y_i)] when the argmax
    prediction has another polarity than the truth; the weight carries no gradient. Optional
    `valid` masks samples out (failed loads); the mean is over valid samples.
    """

    def __init__(self, polarity: Sequence[int], gamma: Sequence[float] = (0.7, 0.7, 0.7)) -> None:
        super().__init__()
        self.register_buffer("polarity", torch.as_tensor(list(polarity), dtype=torch.long), persistent=False)
        self.register_buffer("gamma", torch.as_tensor(list(gamma), dtype=torch.float32), persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        ce = F.cross_entropy(logits.float(), target, reduction="none")
        with torch.no_grad():
            true_pol = self.polarity[target]
            pred_pol = self.polarity[logits.argmax(dim=-1)]
            weight = 1.0 + self.gamma[true_pol] * (pred_pol != true_pol).float()
        return _masked_mean(weight * ce, valid)


class CELoss(nn.Module):
    """Plain cross-entropy with the same call signature as EPCELoss."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return _masked_mean(F.cross_entropy(logits.float(), target, reduction="none"), valid)


def _masked_mean(values: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    if valid is None:
        return values.mean()
    mask = valid.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def build_loss(kind: str, polarity: Sequence[int], gamma: Sequence[float]) -> nn.Module:
    if kind == "epce":
        return EPCELoss(polarity, gamma)
    if kind == "ce":
        return CELoss()
    raise ValueError(f"unknown loss {kind!r}; use epce or ce")


def multitask_loss(criterion: nn.Module, outputs: dict[str, torch.Tensor], target: torch.Tensor,
                   valid: torch.Tensor | None = None, multitask: bool = True) -> torch.Tensor:
    """Loss on the fused logits plus, when present and enabled, the visual and audio logits (weight 1 each)."""
    total = criterion(outputs["logits"], target, valid)
    if multitask:
        for key in ("logits_v", "logits_a"):
            if key in outputs:
                total = total + criterion(outputs[key], target, valid)
    return total
