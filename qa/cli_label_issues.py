"""`emotions qa label-issues`: likely label errors of a built dataset, from a run's embeddings or a features file."""

from __future__ import annotations

from pathlib import Path

import click

from core.errors import ConfigError, MissingDependency


def _table(folder: Path, name: str):
    import pandas as pd

    for suffix, read in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        if (folder / f"{name}{suffix}").is_file():
            return read(folder / f"{name}{suffix}")
    return None


def _app_tables(export_dir: Path | None, from_db: bool):
    """(votes, labels) from an app export folder or the app database; (None, None) when neither is asked for."""
    if export_dir is not None:
        votes, labels = _table(export_dir, "votes"), _table(export_dir, "labels")
        if votes is None and labels is None:
            raise ConfigError(f"no votes or labels table in {export_dir}", remedy="run `emotions app export --out DIR`")
        return votes, labels
    if not from_db:
        return None, None
    try:
        from annotation_app.services.export import labels_frame, votes_frame
    except ImportError:
        raise MissingDependency("the annotation app is not available in this installation",
                                remedy="pass --export DIR (an app export), or pip install 'emotions[app]'") from None
    from core.db import make_engine, session_factory
    from core.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        with session_factory(engine)() as session:
            return votes_frame(session), labels_frame(session)
    finally:
        engine.dispose()


def _run_features(run: Path, dataset: Path, variant: str, device: str, out: Path) -> tuple[Path, list[str]]:
    """Embed the dataset with the run's checkpoint and keep the features next to the results."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependency("--run needs the model extra (torch)",
                                remedy="pip install 'emotions[model]', or pass --features FILE") from None
    from model.embed import embed_dataset
    from qa.label_issues import write_features

    emb = embed_dataset(run, dataset, variant=variant, device=device)
    return write_features(out / "features.parquet", emb.sample_ids, emb.features), emb.failed


@click.command("label-issues", short_help="Likely label errors (confident learning) for the expert's audit queue.")
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path),
              help="Built dataset: datasets/<name>/<version>[/<variant>] or a manifest file.")
@click.option("--variant", default="all", show_default=True)
@click.option("--run", "run", type=click.Path(exists=True, path_type=Path),
              help="Trained run folder (or .pt): its fused embeddings are the features.")
@click.option("--features", "features", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Features file instead of --run: Parquet/CSV with sample_id and numeric columns.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--top", type=click.IntRange(min=1), default=50, show_default=True, help="Samples shown in the report.")
@click.option("--export", "export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="App export folder (votes, labels) for the annotation evidence.")
@click.option("--from-db", is_flag=True, help="Read the annotation evidence from the app database instead.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def label_issues(dataset: Path, variant: str, run: Path | None, features: Path | None, out: Path, folds: int,
                 top: int, export_dir: Path | None, from_db: bool, seed: int, device: str) -> None:
    """Rank the samples whose given label a model trained on the others disagrees with (out-of-fold logistic
    regression on fixed features, cleanlab). Writes label_issues.csv/.parquet, label_scores.parquet,
    summary.json and report.html into --out; labels are never changed here."""
    if (run is None) == (features is None):
        raise ConfigError("pass exactly one of --run and --features")
    try:
        import cleanlab  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise MissingDependency("label-issues needs cleanlab and scikit-learn", remedy="pip install 'emotions[qa]'"
                                ) from None
    from qa.label_issues import evidence, find_label_issues, read_dataset, read_features
    from qa.label_report import write_outputs

    table = read_dataset(dataset, variant)
    failed: list[str] = []
    if run is not None:
        features, failed = _run_features(run, dataset, variant, device, out)
    ids, x = read_features(features)
    votes, labels = _app_tables(export_dir, from_db)
    ev = evidence(votes, labels) if votes is not None or labels is not None else None
    result = find_label_issues(table, ids, x, folds=folds, seed=seed, ev=ev)
    extra = {"dataset": table.attrs["source"], "features_source": str(run or features), "n_embedding_failed":
             len(failed), "evidence": "app export" if export_dir else "app database" if from_db else "manifest"}
    written = write_outputs(out, result, top=top, extra=extra)
    s = result.summary
    click.echo(f"{s['n_issues']} likely label errors among {s['n_samples']} samples "
               f"(out-of-fold agreement {100 * s['oof_accuracy']:.1f}%, {s['folds']} folds)")
    for _, row in result.issues.head(min(top, 10)).iterrows():
        click.echo(f"  #{row['rank']:<3} {row['sample_id']:<24} {row['given_label']} -> {row['predicted_label']}"
                   f"  quality {row['quality_score']:.3f}")
    click.echo("wrote " + ", ".join(str(p) for p in written.values()))
