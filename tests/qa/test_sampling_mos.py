import math

import pandas as pd
import pytest

from core.errors import ConfigError
from qa.mos import mos_summary, t_interval
from qa.sampling import cochran_n0, finite_correction, plan_sizes, sample_size, yamane, z_for


@pytest.mark.parametrize(("z", "e", "raw", "ceil"), [
    (1.96, 0.05, 384.16, 385), (1.96, 0.03, 1067.11, 1068), (1.96, 0.10, 96.04, 97),
    (1.645, 0.05, 270.60, 271), (2.576, 0.05, 663.58, 664),
])
def test_cochran_n0(z, e, raw, ceil):
    assert abs(cochran_n0(z, 0.5, e) - raw) < 5e-3
    assert math.ceil(cochran_n0(z, 0.5, e)) == ceil


@pytest.mark.parametrize(("population", "raw", "ceil"), [
    (2000, 322.395, 323), (27_996, 378.97, 379), (1_637, 311.30, 312), (3_323, 344.44, 345), (1_101, 284.98, 285),
])
def test_finite_population_correction(population, raw, ceil):
    assert abs(finite_correction(384.16, population) - raw) < 5e-3
    assert sample_size(population) == ceil


@pytest.mark.parametrize(("population", "expected"), [
    (10_000, [1000.0, 384.62, 200.0, 99.01]), (2_000, [714.29, 333.33, 185.19, 95.24]),
    (100_000, [1098.90, 398.41, 203.67, 99.90]),
])
def test_yamane(population, expected):
    for e, value in zip([0.03, 0.05, 0.07, 0.10], expected, strict=True):
        assert abs(yamane(population, e) - value) < 5e-3
    assert sample_size(10_000, formula="yamane", e=0.03) == 1000  # exact value is not bumped by ceil
    assert sample_size(10_000, formula="yamane", e=0.05, rounding="round") == 385


def test_plan_sizes_allocations():
    pops = {"eMotions": 27_996, "Ekman6": 1_637, "Music_video": 3_323, "VideoEmotion8": 1_101}
    per = plan_sizes(pops)
    assert per["sizes"] == {"eMotions": 379, "Ekman6": 312, "Music_video": 345, "VideoEmotion8": 285}
    assert per["total"] == 1321
    pooled = plan_sizes(pops, allocation="pooled-proportional")
    assert pooled["total"] == pooled["pooled_size"] == math.ceil(finite_correction(384.16, sum(pops.values())))
    equal = plan_sizes(pops, allocation="equal")
    assert max(equal["sizes"].values()) - min(equal["sizes"].values()) <= 1
    assert abs(z_for(0.95) - 1.959964) < 1e-6
    with pytest.raises(ConfigError):
        plan_sizes({})
    with pytest.raises(ConfigError):
        sample_size(100, formula="magic")


def test_mos_item_interval_vector():
    mean, sd, low, high = t_interval([5, 4, 4, 3])
    assert mean == 4.0 and abs(sd - 0.816497) < 1e-6
    assert abs(low - 2.7008) < 5e-4 and abs(high - 5.2992) < 5e-4


def test_mos_dataset_uses_items_as_units_and_clips():
    ratings = pd.DataFrame([{"dataset": "X", "item": f"i{i}", "rater": f"e{r}", "rating": v}
                            for i, row in enumerate([[5, 4, 4, 3], [4, 4, 5, 4], [3, 3, 4, 2]])
                            for r, v in enumerate(row)])
    res = mos_summary(ratings, clip=False)["datasets"]["X"]
    assert res["mos"] == pytest.approx(3.75)
    assert abs(res["ci_low"] - 2.1069) < 5e-4 and abs(res["ci_high"] - 5.3931) < 5e-4
    assert res["histogram"] == {"1": 0, "2": 1, "3": 3, "4": 6, "5": 2}
    assert res["n_items"] == 3 and res["n_votes"] == 12
    clipped = mos_summary(ratings)
    assert clipped["datasets"]["X"]["ci_high"] == 5.0 and clipped["datasets"]["X"]["ci_clipped_to_scale"]
    assert "clipped" in clipped["ci_method"]
    assert clipped["rater_agreement"]["krippendorff_alpha_interval"] is not None


def test_mos_between_datasets():
    rows = []
    for d, base in (("A", 4), ("B", 2)):
        for i in range(5):
            for r in range(4):
                rows.append({"dataset": d, "item": f"{d}{i}", "rater": f"e{r}", "rating": base + (i + r) % 2})
    res = mos_summary(pd.DataFrame(rows))
    assert res["between_datasets"]["p"] < 0.05
    assert res["datasets"]["A"]["mos"] > res["datasets"]["B"]["mos"]
