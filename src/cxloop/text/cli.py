"""`cxloop text ...`: train, analyze and evaluate from the command line (a Typer sub-app)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Sentiment and aspect analysis of feedback text."
)
console = Console(stderr=True)


@app.command()
def train(
    data_dir: Path = typer.Option(None, "--data-dir", help="Shared data folder (default ../shared/data)."),
    out: Path = typer.Option(
        None, "--out", help="Output folder or .joblib file (default: inside the package)."
    ),
    n_features: int = typer.Option(2**21, "--n-features", help="Hashed feature space size (power of two)."),
) -> None:
    """Train the sentiment and aspect-polarity models."""
    from cxloop.text.train import train_models

    metrics = train_models(data_dir, out, log=console.print, n_features=n_features)
    typer.echo(f"model {metrics['version']} written to {metrics['path']}")


def _column(rows: list[dict[str, Any]], name: str, path: Path) -> None:
    """Exit with a clear message when a column is missing."""
    if rows and name not in rows[0]:
        raise typer.BadParameter(
            f"column {name!r} not in {path.name}; columns: {', '.join(map(str, rows[0]))}"
        )


@app.command()
def analyze(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV, JSONL or XLSX file."),
    text_column: str = typer.Option(..., "--text-column", help="Column holding the feedback text."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .jsonl or .csv file."),
    taxonomy: Path = typer.Option(None, "--taxonomy", help="Taxonomy YAML (default: e-commerce)."),
    batch_size: int = typer.Option(512, "--batch-size", min=1),
) -> None:
    """Analyse every row and write sentiment, score and aspects next to the input columns."""
    from cxloop.text.analyzer import Analyzer, collector_paused
    from cxloop.text.io import read_table, write_table
    from cxloop.text.taxonomy import load_taxonomy

    rows = read_table(file)
    _column(rows, text_column, file)
    analyzer = Analyzer(taxonomy=load_taxonomy(taxonomy))
    out_rows: list[dict[str, Any]] = []
    # This process does nothing but analyse: pausing the collector is safe and worth it here.
    with (
        Progress(
            TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as progress,
        collector_paused(),
    ):
        task = progress.add_task("analyse", total=len(rows))
        for i in range(0, len(rows), batch_size):
            chunk = rows[i : i + batch_size]
            texts = [r.get(text_column) for r in chunk]
            for row, an in zip(
                chunk, analyzer.analyze([t if t is None else str(t) for t in texts]), strict=True
            ):
                out_rows.append(
                    {
                        **row,
                        "sentiment": an.sentiment,
                        "score": an.score,
                        "aspects": [
                            {"aspect": m.aspect, "sentiment": m.sentiment, "start": m.start, "end": m.end}
                            for m in an.aspects
                        ],
                    }
                )
            progress.advance(task, len(chunk))
    fields = [*(list(rows[0].keys()) if rows else [text_column]), "sentiment", "score", "aspects"]
    n = write_table(output, out_rows, list(dict.fromkeys(fields)))
    console.print(
        f"wrote {n} rows to {output} (model {analyzer.model_version}, taxonomy {analyzer.taxonomy.version})"
    )


@app.command()
def evaluate(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, TSV, JSONL or XLSX file."),
    text_column: str = typer.Option(..., "--text-column"),
    label_column: str = typer.Option(..., "--label-column", help="0/1 or positive/negative/neutral."),
) -> None:
    """Print accuracy and macro-F1 of the review sentiment against labelled rows."""
    from cxloop.text.analyzer import Analyzer
    from cxloop.text.evaluate import accuracy, macro_f1, parse_label, predictions_for
    from cxloop.text.io import read_table

    rows = read_table(file)
    _column(rows, text_column, file)
    _column(rows, label_column, file)
    pairs = [(r.get(text_column), parse_label(r.get(label_column))) for r in rows]
    kept = [(t, lab) for t, lab in pairs if lab is not None]
    if not kept:
        raise typer.BadParameter("no usable labels (expected 0/1 or positive/negative/neutral)")
    analyzer = Analyzer()
    scores = analyzer.score([None if t is None else str(t) for t, _ in kept])
    truth = [lab for _, lab in kept]
    pred = predictions_for(truth, [float(s) for s in scores], analyzer.neutral_band)
    typer.echo(f"rows: {len(kept)} (skipped {len(pairs) - len(kept)} without a usable label)")
    typer.echo(f"accuracy: {accuracy(truth, pred):.4f}")
    typer.echo(f"macro-F1: {macro_f1(truth, pred):.4f}")
