"""Fusion nn.Modules: LISF (pyramid + SCAI, Eq. 4-11), GLCF (Eq. 12-13) and the fusion heads (Eq. 14)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.config import NetConfig


def band_mask(length: int, half: int | None) -> torch.Tensor | None:
    """Boolean [length, length] mask, True where query t may see key u (|t - u| <= half); None = no mask."""
    if half is None:
        return None
    idx = torch.arange(length)
    return (idx[:, None] - idx[None, :]).abs() <= half


class MaskedAttention(nn.Module):
    """Multi-head attention with separate q/k/v/out projections and an optional fixed band mask."""

    def __init__(self, dim: int, heads: int, length: int, half: int | None, attn_dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.attn_dropout = attn_dropout
        mask = band_mask(length, half)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        b, n, d = q.shape
        h = self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, -1, h, d // h).transpose(1, 2)

        mask = self.mask[:n, : kv.shape[1]] if self.mask is not None else None
        x = F.scaled_dot_product_attention(
            split(self.q(q)), split(self.k(kv)), split(self.v(kv)), attn_mask=mask,
            dropout_p=self.attn_dropout if self.training else 0.0,
        )
        return self.out(x.transpose(1, 2).reshape(b, n, d))


class AttnLayer(nn.Module):
    """Pre-norm residual unit: q + Drop(MHA(LN(q), kv)), then + Drop(FFN(LN(.))). Keys/values are not normed."""

    def __init__(self, dim: int, heads: int, ffn: int, length: int, half: int | None,
                 dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedAttention(dim, heads, length, half, attn_dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(ffn, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        x = q + self.drop(self.attn(self.norm1(q), kv))
        return x + self.drop(self.ffn(self.norm2(x)))


class ChannelGate(nn.Module):
    """Eq. 9: X = sigmoid(W1 [S; C] + b1) * S + sigmoid(W2 [S; C] + b2) * C."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate_s = nn.Linear(2 * dim, dim)
        self.gate_c = nn.Linear(2 * dim, dim)

    def forward(self, s: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        g = torch.cat([s, c], dim=-1)
        return torch.sigmoid(self.gate_s(g)) * s + torch.sigmoid(self.gate_c(g)) * c


class DilatedResidual(nn.Module):
    """Conv1d(k=3, dilation) -> ReLU -> Conv1d(k=1), residual, ReLU, over the snippet axis of [B, s, D]."""

    def __init__(self, dim: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, padding=dilation, dilation=dilation)
        self.proj = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.transpose(1, 2)
        y = self.proj(F.relu(self.conv(y)))
        return F.relu(x + y.transpose(1, 2))


class PyramidLevel(nn.Module):
    """One attentive pyramid layer: windowed SA per modality, shared windowed CMA, gates, dilated blocks."""

    def __init__(self, cfg: NetConfig, level: int) -> None:
        super().__init__()
        half = cfg.window_base * 2 ** (level - 1)
        args = (cfg.dim, cfg.lisf_heads, cfg.lisf_ffn, cfg.segments, half, cfg.lisf_dropout, cfg.lisf_attn_dropout)
        self.sa_v = AttnLayer(*args)
        self.sa_a = AttnLayer(*args)
        self.cma = AttnLayer(*args)  # one module for both directions (shared CMA weights)
        self.gate_v = ChannelGate(cfg.dim)
        self.gate_a = ChannelGate(cfg.dim)
        self.res_v = DilatedResidual(cfg.dim, 2 ** (level - 1))
        self.res_a = DilatedResidual(cfg.dim, 2 ** (level - 1))

    def forward(self, v: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s_v, s_a = self.sa_v(v, v), self.sa_a(a, a)
        c_v, c_a = self.cma(v, a), self.cma(a, v)
        return self.res_v(self.gate_v(s_v, c_v)), self.res_a(self.gate_a(s_a, c_a))


class SelectiveIntegration(nn.Module):
    """SCAI (Eq. 10-11): per-level weights sigmoid(Linear(P)), modulated by a shared width-1 cross attention.

    The width-1 LayerNorm is kept literally (it always returns its bias), as in the official module.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score_v = nn.Linear(dim, 1)
        self.score_a = nn.Linear(dim, 1)
        self.cross = AttnLayer(1, 1, 1, length=1 << 30, half=None, dropout=0.0, attn_dropout=0.0)

    def forward(self, pv: torch.Tensor, pa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pv, pa: [B, s, L, D] pyramid outputs -> E2_v, E2_a: [B, s, D]."""
        b, s, n_levels, d = pv.shape
        fv, fa = pv.reshape(b * s, n_levels, d), pa.reshape(b * s, n_levels, d)
        wv, wa = torch.sigmoid(self.score_v(fv)), torch.sigmoid(self.score_a(fa))  # [B*s, L, 1]
        wv2, wa2 = self.cross(wv, wa), self.cross(wa, wv)
        ev = (wv2 * fv).sum(dim=1).view(b, s, d)
        ea = (wa2 * fa).sum(dim=1).view(b, s, d)
        return ev, ea


class LISF(nn.Module):
    """Local-level Interactive-Selective Fusion: L pyramid levels, then SCAI. [B, s, D] x 2 -> [B, s, D] x 2."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.levels = nn.ModuleList(PyramidLevel(cfg, level) for level in range(1, cfg.pyramid_levels + 1))
        self.integrate = SelectiveIntegration(cfg.dim)

    def forward(self, v: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs_v, outs_a = [], []
        for level in self.levels:
            v, a = level(v, a)
            outs_v.append(v)
            outs_a.append(a)
        return self.integrate(torch.stack(outs_v, dim=2), torch.stack(outs_a, dim=2))


class GLCF(nn.Module):
    """Global-level Complementary Fusion (Eq. 12-13): shared unmasked cross attention, linear + residual, mean."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(cfg.dim, cfg.glcf_heads, dropout=0.0, batch_first=True)
        self.proj_v = nn.Linear(cfg.dim, cfg.dim)
        self.proj_a = nn.Linear(cfg.dim, cfg.dim)

    def forward(self, ev: torch.Tensor, ea: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ua = self.attn(ea, ev, ev, need_weights=False)[0]
        uv = self.attn(ev, ea, ea, need_weights=False)[0]
        return (self.proj_v(uv) + ev).mean(dim=1), (self.proj_a(ua) + ea).mean(dim=1)


class FusionHead(nn.Module):
    """Fused and unimodal logits from E4_v, E4_a [B, D].

    mid_concat (Eq. 14): Linear on [a; v]; unimodal logits reuse its column blocks with half the bias.
    sum: per-modality linears whose outputs add. ew_multiply: Linear(a * v). gated: sigmoid(fc_a(a)) * fc_v(v).
    The last two have no natural unimodal slice, so small per-modality heads give the unimodal logits; they
    are built only with `unimodal_heads` (the multi-task loss is their only use).
    """

    STRATEGIES = ("mid_concat", "sum", "ew_multiply", "gated")

    def __init__(self, dim: int, num_classes: int, strategy: str, unimodal_heads: bool = True) -> None:
        super().__init__()
        if strategy not in self.STRATEGIES:
            raise ValueError(f"unknown fusion {strategy!r}; known: {', '.join(self.STRATEGIES)}")
        self.strategy = strategy
        self.dim = dim
        if strategy == "mid_concat":
            self.fc = nn.Linear(2 * dim, num_classes)
        elif strategy == "sum":
            self.fc_a, self.fc_v = nn.Linear(dim, num_classes), nn.Linear(dim, num_classes)
        else:
            if strategy == "gated":
                self.gate_a, self.gate_v = nn.Linear(dim, dim), nn.Linear(dim, dim)
            self.fc = nn.Linear(dim, num_classes)
            self.aux_a = nn.Linear(dim, num_classes) if unimodal_heads else None
            self.aux_v = nn.Linear(dim, num_classes) if unimodal_heads else None

    def forward(self, ev: torch.Tensor, ea: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.strategy == "mid_concat":
            w, b = self.fc.weight, self.fc.bias
            return {"logits": self.fc(torch.cat([ea, ev], dim=-1)),
                    "logits_a": ea @ w[:, : self.dim].t() + b / 2,
                    "logits_v": ev @ w[:, self.dim:].t() + b / 2}
        if self.strategy == "sum":
            la, lv = self.fc_a(ea), self.fc_v(ev)
            return {"logits": la + lv, "logits_a": la, "logits_v": lv}
        if self.strategy == "ew_multiply":
            fused = self.fc(ea * ev)
        else:
            fused = self.fc(torch.sigmoid(self.gate_a(ea)) * self.gate_v(ev))
        if self.aux_a is None or self.aux_v is None:  # built without unimodal heads: fused logits only
            return {"logits": fused}
        return {"logits": fused, "logits_a": self.aux_a(ea), "logits_v": self.aux_v(ev)}
