"""Sample-size calculator: Cochran with the finite-population correction, and Yamane; per dataset or pooled."""

from __future__ import annotations

import math
from collections.abc import Mapping

from core.errors import ConfigError

FORMULAS = ("cochran_fpc", "cochran_fpc_simple", "yamane")
ALLOCATIONS = ("per-dataset", "pooled-proportional", "equal")
ROUNDINGS = ("ceil", "round", "none")


def z_for(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level in (0, 1), e.g. 0.95 -> 1.959964."""
    from scipy.stats import norm

    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1, got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2))


def cochran_n0(z: float = 1.96, p: float = 0.5, e: float = 0.05) -> float:
    """Infinite-population sample size for a proportion: z^2 p (1 - p) / e^2."""
    if not 0 < e < 1 or not 0 <= p <= 1:
        raise ConfigError(f"need 0 < e < 1 and 0 <= p <= 1 (got e={e}, p={p})")
    return z * z * p * (1 - p) / (e * e)


def finite_correction(n0: float, population: int, *, simple: bool = False) -> float:
    """n0 / (1 + (n0 - 1) / N); the `simple` variant is n0 / (1 + n0 / N)."""
    if population < 1:
        raise ConfigError(f"population must be positive, got {population}")
    return n0 / (1 + (n0 if simple else n0 - 1) / population)


def yamane(population: int, e: float = 0.05) -> float:
    """Yamane (1967): N / (1 + N e^2) (95 % confidence and p = 0.5 built in)."""
    if population < 1 or not 0 < e < 1:
        raise ConfigError(f"need a positive population and 0 < e < 1 (got N={population}, e={e})")
    return population / (1 + population * e * e)


def _rounded(value: float, rounding: str) -> float | int:
    if rounding == "ceil":
        return math.ceil(value - 1e-9)
    if rounding == "round":
        return round(value)
    return value


def sample_size(population: int, *, formula: str = "cochran_fpc", z: float = 1.96, p: float = 0.5,
                e: float = 0.05, rounding: str = "ceil") -> float | int:
    """Sample size for one population with the chosen formula and rounding (ceil by default)."""
    if formula not in FORMULAS:
        raise ConfigError(f"unknown formula {formula!r}; choose one of {', '.join(FORMULAS)}")
    if rounding not in ROUNDINGS:
        raise ConfigError(f"unknown rounding {rounding!r}; choose one of {', '.join(ROUNDINGS)}")
    if formula == "yamane":
        raw = yamane(population, e)
    else:
        raw = finite_correction(cochran_n0(z, p, e), population, simple=formula == "cochran_fpc_simple")
    return _rounded(min(raw, population), rounding)


def plan_sizes(populations: Mapping[str, int], *, allocation: str = "per-dataset", **params) -> dict:
    """Items to sample per dataset. per-dataset: each its own size; pooled-proportional: one size for the
    summed population split in proportion (largest remainder); equal: the pooled size split evenly."""
    if not populations:
        raise ConfigError("sample size: give at least one population (NAME=N)")
    if allocation not in ALLOCATIONS:
        raise ConfigError(f"unknown allocation {allocation!r}; choose one of {', '.join(ALLOCATIONS)}")
    if allocation == "per-dataset":
        sizes = {name: sample_size(n, **params) for name, n in populations.items()}
        pooled = None
    else:
        total_n = sum(populations.values())
        pooled = math.ceil(sample_size(total_n, **{**params, "rounding": "none"}) - 1e-9)
        if allocation == "equal":
            shares = {name: pooled / len(populations) for name in populations}
        else:
            shares = {name: pooled * n / total_n for name, n in populations.items()}
        sizes = {name: math.floor(v) for name, v in shares.items()}
        left = pooled - sum(sizes.values())
        for name in sorted(shares, key=lambda k: shares[k] - sizes[k], reverse=True)[:left]:
            sizes[name] += 1
        sizes = {name: min(v, populations[name]) for name, v in sizes.items()}
    return {"allocation": allocation, "parameters": params, "populations": dict(populations),
            "sizes": sizes, "pooled_size": pooled, "total": sum(sizes.values())}
