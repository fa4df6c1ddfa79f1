"""EP-CE against a hand computation, the multi-task sum, and the metrics against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import torch

from model.losses import CELoss, EPCELoss, multitask_loss
from model.metrics import evaluate_predictions

# eMotions polarity per class index: Excitation+, Fear-, Neutral0, Relaxation+, Sadness-, Tension-
POL = [0, 2, 1, 0, 2, 2]


def test_epce_hand_computed_three_samples():
    logits = torch.tensor([
        [2.0, 0.0, 0.0, 1.0, 0.0, 0.0],  # true Relaxation(+), predicted Excitation(+): same polarity, no penalty
        [0.0, 0.0, 0.0, 0.0, 3.0, 0.0],  # true Neutral(0), predicted Sadness(-): penalty gamma_neu
        [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],  # true Fear(-), predicted Fear: correct, no penalty
    ])
    target = torch.tensor([3, 2, 1])
    gamma = (0.7, 0.4, 0.9)

    def ce(row, t):
        return -(row[t] - math.log(sum(math.exp(v) for v in row)))

    rows = logits.tolist()
    expected = (ce(rows[0], 3) * 1.0 + ce(rows[1], 2) * (1 + 0.4) + ce(rows[2], 1) * 1.0) / 3
    got = EPCELoss(POL, gamma)(logits, target).item()
    assert abs(got - expected) < 1e-6
    plain = CELoss()(logits, target).item()
    assert abs(plain - (ce(rows[0], 3) + ce(rows[1], 2) + ce(rows[2], 1)) / 3) < 1e-6


def test_epce_valid_mask_and_multitask_sum():
    crit = EPCELoss(POL)
    logits = torch.randn(4, 6, requires_grad=True)
    target = torch.tensor([0, 1, 2, 3])
    valid = torch.tensor([True, True, False, True])
    masked = crit(logits, target, valid)
    assert torch.allclose(masked, crit(logits[valid], target[valid]))
    out = {"logits": logits, "logits_v": logits * 2, "logits_a": logits * 3}
    total = multitask_loss(crit, out, target)
    parts = crit(logits, target) + crit(logits * 2, target) + crit(logits * 3, target)
    assert torch.allclose(total, parts)
    assert torch.allclose(multitask_loss(crit, out, target, multitask=False), crit(logits, target))
    total.backward()
    assert logits.grad is not None


def test_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, 6, 200))
    p[p == 5] = 4  # class 5 never predicted
    names = ["a", "b", "c", "d", "e", "f"]
    m = evaluate_predictions(y, p, names)
    assert abs(m["acc"] - accuracy_score(y, p)) < 1e-12
    assert abs(m["wa_f1"] - f1_score(y, p, average="weighted", zero_division=0)) < 1e-12
    assert abs(m["uar"] - recall_score(y, p, average="macro", zero_division=0)) < 1e-12
    assert m["per_class_acc"]["f"] == 0.0
    assert np.asarray(m["confusion"]).sum() == 200


def test_uar_counts_empty_class_as_zero():
    m = evaluate_predictions([0, 0, 1], [0, 0, 1], ["x", "y", "z"])
    assert m["acc"] == 1.0 and abs(m["uar"] - 2 / 3) < 1e-12
