"""Likely label errors by confident learning: out-of-fold probabilities of a cheap classifier on fixed per-sample
features, cleanlab's issue filter and label-quality scores, joined with each sample's annotation evidence.

Inputs are files: a built dataset's manifest (sample_id, category, group, media paths), a features table
(sample_id + numeric columns, e.g. the fused embeddings of a trained run) and, optionally, the app's
exported votes and labels. Nothing here changes a label: the output is a ranked list for a person to review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.manifest import find_dataset_manifest

ISSUE_COLUMNS = ("rank", "sample_id", "given_label", "predicted_label", "quality_score", "p_given", "p_predicted",
                 "group", "votes", "n_votes", "deciding_rung", "confidence_mean", "watch_s_median", "poster")
LADDER_STAGES = ("member", "leader", "exchange", "expert")


@dataclass
class LabelIssues:
    """`scores`: every sample with its out-of-fold prediction and quality score; `issues`: the flagged ones,
    ranked (lowest label quality first); `summary`: the numbers of the JSON summary."""

    scores: pd.DataFrame
    issues: pd.DataFrame
    classes: list[str]
    summary: dict[str, Any] = field(default_factory=dict)


# --- reading ---------------------------------------------------------------------------------------



def _resolve(value: Any, bases: list[Path]) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() in ("", "None", "nan"):
        return None
    p = Path(str(value))
    if p.is_absolute():
        return str(p)
    return str(next((b / p for b in bases if (b / p).exists()), bases[0] / p))


def read_dataset(dataset: str | Path, variant: str = "all") -> pd.DataFrame:
    """The dataset's samples: sample_id, category, group (near-duplicates share one; else the id), absolute
    poster/frames paths where given, and the manifest's vote summary columns when present."""
    manifest = find_dataset_manifest(dataset, variant)
    if manifest.suffix == ".parquet":
        frame = pd.read_parquet(manifest)
    elif manifest.suffix == ".csv":
        frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_json(manifest, lines=True, dtype=False)
    if "sample_id" not in frame.columns and "id" in frame.columns:
        frame = frame.rename(columns={"id": "sample_id"})
    missing = [c for c in ("sample_id", "category") if c not in frame.columns]
    if missing:
        raise ConfigError(f"dataset manifest {manifest} lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame({"sample_id": frame["sample_id"].astype(str), "category": frame["category"].astype(str)})
    group = frame["group"].astype("string").fillna("") if "group" in frame.columns else pd.Series("", index=frame.index)
    out["group"] = group.where(group.str.strip().ne(""), out["sample_id"]).astype(str)
    bases = [manifest.parent, *manifest.parents]
    for col in ("poster", "frames"):
        out[col] = [_resolve(v, bases) for v in frame[col]] if col in frame.columns else None
    for col in ("member_votes", "confidence_mean", "decided_stage"):
        out[col] = frame[col].to_numpy() if col in frame.columns else None
    repeated = out["sample_id"][out["sample_id"].duplicated()]
    if len(repeated):
        raise ConfigError(f"dataset manifest {manifest}: sample_id {repeated.iloc[0]!r} repeats")
    out.attrs["source"] = str(manifest)
    return out


def read_features(path: str | Path) -> tuple[list[str], np.ndarray]:
    """A features table (Parquet or CSV): a sample_id column and numeric feature columns -> (ids, [n, d])."""
    src = Path(path)
    if not src.is_file():
        raise ConfigError(f"features file {src} not found")
    frame = pd.read_parquet(src) if src.suffix == ".parquet" else pd.read_csv(src)
    if "sample_id" not in frame.columns:
        raise ConfigError(f"features file {src}: no sample_id column")
    values = frame.drop(columns=["sample_id"])
    if values.shape[1] == 0:
        raise ConfigError(f"features file {src}: no feature columns")
    try:
        x = values.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"features file {src}: feature columns must be numeric") from None
    if not np.isfinite(x).all():
        raise ConfigError(f"features file {src}: features hold NaN or infinite values")
    return frame["sample_id"].astype(str).tolist(), x


def write_features(path: str | Path, ids: list[str], features: np.ndarray) -> Path:
    """sample_id + f0000 … columns as Parquet (the format `read_features` reads)."""
    from core.manifest import atomic_write_bytes

    frame = pd.DataFrame(np.asarray(features, dtype=np.float32),
                         columns=[f"f{i:04d}" for i in range(np.asarray(features).shape[1])])
    frame.insert(0, "sample_id", list(ids))
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return atomic_write_bytes(Path(path), buf.getvalue())


# --- evidence from the annotation --------------------------------------------------------------------

def evidence(votes: pd.DataFrame | None, labels: pd.DataFrame | None) -> pd.DataFrame:
    """Per sample (index sample_id): votes ('Category:n;…', most first), n_votes, deciding_rung,
    confidence_mean and watch_s_median over the ladder's votes (cross-check re-labels left out)."""
    columns = ["votes", "n_votes", "deciding_rung", "confidence_mean", "watch_s_median"]
    out = pd.DataFrame(columns=columns, index=pd.Index([], name="sample_id"))
    if votes is not None and len(votes):
        v = votes.copy()
        v["sample_id"] = v["sample_id"].astype(str)
        if "stage" in v.columns:
            v = v[v["stage"].astype(str).isin(LADDER_STAGES)]
        counts = v.groupby(["sample_id", "category"]).size().rename("n").reset_index()
        counts = counts.sort_values(["sample_id", "n", "category"], ascending=[True, False, True])
        pattern = counts.groupby("sample_id").apply(
            lambda g: ";".join(f"{c}:{n}" for c, n in zip(g["category"], g["n"], strict=True)), include_groups=False)
        out = pd.DataFrame({"votes": pattern, "n_votes": v.groupby("sample_id").size()})
        conf = pd.to_numeric(v.get("confidence"), errors="coerce") if "confidence" in v.columns else None
        out["confidence_mean"] = conf.groupby(v["sample_id"]).mean().round(4) if conf is not None else np.nan
        watch = pd.to_numeric(v.get("watch_s"), errors="coerce") if "watch_s" in v.columns else None
        out["watch_s_median"] = watch.groupby(v["sample_id"]).median().round(2) if watch is not None else np.nan
        out["deciding_rung"] = None
        out.index.name = "sample_id"
    if labels is not None and len(labels) and "decided_stage" in labels.columns:
        rung = labels.set_index(labels["sample_id"].astype(str))["decided_stage"]
        out = out.reindex(out.index.union(rung.index))
        out["deciding_rung"] = rung.reindex(out.index).to_numpy()
    return out[columns]


# --- confident learning ------------------------------------------------------------------------------

def effective_folds(y: np.ndarray, groups: list[str], folds: int) -> int:
    """The folds a small set allows: at most one per near-duplicate group and per sample of the largest class."""
    n_groups = len(set(groups))
    largest = int(np.bincount(np.asarray(y)).max()) if len(y) else 0
    splits = min(folds, n_groups, largest)
    if splits < 2:
        raise ConfigError(f"{len(y)} samples in {n_groups} group(s), at most {largest} per class: out-of-fold "
                          "predictions need at least 2 folds", remedy="label-issues needs a larger dataset")
    return splits


def fold_splits(y: np.ndarray, groups: list[str], folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays: folds stratified by label, every near-duplicate group inside one test fold
    (StratifiedGroupKFold; fewer folds when there are fewer groups)."""
    from sklearn.model_selection import StratifiedGroupKFold

    splits = effective_folds(y, groups, folds)
    cv = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros((len(y), 1)), y, groups))


def out_of_fold_probabilities(x: np.ndarray, y: np.ndarray, groups: list[str], n_classes: int, *, folds: int = 5,
                              seed: int = 0, c: float = 1.0) -> np.ndarray:
    """[n, n_classes] probabilities, each row from a logistic regression (on standardised features) that never
    saw the sample nor its near-duplicate group."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probs = np.zeros((len(y), n_classes))
    for train, test in fold_splits(y, groups, folds, seed):
        seen = np.unique(y[train])
        if len(seen) < 2:  # a fold that saw one class can only say that class
            probs[np.ix_(test, seen)] = 1.0
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        clf.fit(x[train], y[train])
        probs[np.ix_(test, clf.classes_)] = clf.predict_proba(x[test])
    return probs


def find_label_issues(table: pd.DataFrame, ids: list[str], x: np.ndarray, *, folds: int = 5, seed: int = 0,
                      ev: pd.DataFrame | None = None) -> LabelIssues:
    """Score every sample of `table` (read_dataset) that has features; flag and rank the likely label errors."""
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    position = {sid: i for i, sid in enumerate(ids)}
    data = table[table["sample_id"].isin(position)].reset_index(drop=True)
    if len(data) < 2:
        raise ConfigError("fewer than 2 dataset samples have features", remedy="check that the features belong to "
                          "this dataset (same sample ids)")
    feats = x[[position[s] for s in data["sample_id"]]]
    classes = sorted(data["category"].unique())
    y = data["category"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    probs = out_of_fold_probabilities(feats, y, data["group"].tolist(), len(classes), folds=folds, seed=seed)
    mask = cl_find(labels=y, pred_probs=probs, filter_by="prune_by_noise_rate", n_jobs=1)
    quality = get_label_quality_scores(y, probs, method="self_confidence")
    pred = probs.argmax(axis=1)
    scores = pd.DataFrame({
        "sample_id": data["sample_id"], "given_label": data["category"],
        "predicted_label": [classes[i] for i in pred], "quality_score": np.round(quality, 6),
        "p_given": np.round(probs[np.arange(len(y)), y], 6), "p_predicted": np.round(probs.max(axis=1), 6),
        "group": data["group"], "is_issue": mask, "poster": data["poster"], "frames": data["frames"]})
    scores = _join_evidence(scores, data, ev)
    issues = scores[scores["is_issue"]].sort_values(["quality_score", "sample_id"], kind="stable")
    issues = issues.reset_index(drop=True)
    issues.insert(0, "rank", np.arange(1, len(issues) + 1))
    summary = _summary(scores, issues, classes, folds=effective_folds(y, data["group"].tolist(), folds), seed=seed,
                       dropped=len(table) - len(data))
    return LabelIssues(scores=scores, issues=issues[list(ISSUE_COLUMNS)], classes=classes, summary=summary)


def _join_evidence(scores: pd.DataFrame, data: pd.DataFrame, ev: pd.DataFrame | None) -> pd.DataFrame:
    """Annotation evidence per sample: from the app export when given, else the manifest's vote summary."""
    if ev is not None:
        joined = ev.reindex(scores["sample_id"])
        for col in ev.columns:
            scores[col] = joined[col].to_numpy()
    else:
        scores["votes"] = data["member_votes"].to_numpy()
        scores["n_votes"] = None
        scores["deciding_rung"] = data["decided_stage"].to_numpy()
        scores["confidence_mean"] = pd.to_numeric(data["confidence_mean"], errors="coerce").to_numpy()
        scores["watch_s_median"] = np.nan
    return scores


def _summary(scores: pd.DataFrame, issues: pd.DataFrame, classes: list[str], *, folds: int, seed: int,
             dropped: int) -> dict[str, Any]:
    confusion = {g: {p: int(((issues["given_label"] == g) & (issues["predicted_label"] == p)).sum())
                     for p in classes} for g in classes}
    per_category = {c: {"samples": int((scores["given_label"] == c).sum()),
                        "issues": int((issues["given_label"] == c).sum())} for c in classes}
    return {"n_samples": len(scores), "n_without_features": dropped, "n_issues": len(issues),
            "issue_rate": round(len(issues) / max(len(scores), 1), 4), "classes": classes, "folds": folds,
            "seed": seed,
            "oof_accuracy": round(float((scores["given_label"] == scores["predicted_label"]).mean()), 4),
            "per_category": per_category, "confusion_given_vs_predicted": confusion,
            "method": {"classifier": "logistic regression on standardised features (scikit-learn)",
                       "cv": "StratifiedGroupKFold (near-duplicate groups kept in one fold)",
                       "filter": "cleanlab.filter.find_label_issues(filter_by='prune_by_noise_rate')",
                       "score": "cleanlab.rank.get_label_quality_scores(method='self_confidence')"}}


def precision_at(issues: pd.DataFrame, wrong: set[str], k: int) -> float:
    """Share of the first `k` ranked issues whose label is known to be wrong (k larger than the list: over it)."""
    top = issues["sample_id"].head(k).tolist()
    return sum(s in wrong for s in top) / len(top) if top else 0.0
