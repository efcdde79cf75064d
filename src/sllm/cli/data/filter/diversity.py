"""`sllm data filter diversity`: the best rows of each prompt cluster (LIMA-style diversity)."""

from __future__ import annotations

from pathlib import Path

import typer

from sllm.cli.data.filter import InputArg, OutputOption, RemovedOption, filter_app, print_report
from sllm.cli.options import EncoderOption, JsonOption, NoTrackOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter diversity train.jsonl -o diverse.jsonl --clusters 100
  sllm data filter diversity scored.jsonl -o diverse.jsonl --clusters 50 --per-cluster 2 \\
      --score-field alpagasus_score
  sllm data filter diversity ko.jsonl -o diverse.jsonl --encoder ./paraphrase-multilingual-MiniLM-L12-v2

Embeds each prompt (instruction + input), clusters with k-means (default sqrt(rows) clusters,
seeded) and keeps the best --per-cluster rows of each: highest --score-field first, else the
rows nearest the cluster centre. The default MiniLM encoder is English-only.
"""


@filter_app.command("diversity", epilog=EXAMPLES)
def filter_diversity(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    clusters: int | None = typer.Option(
        None, "--clusters", min=1, help="k-means clusters (default sqrt(n))."
    ),
    per_cluster: int = typer.Option(1, "--per-cluster", min=1, help="Rows kept per cluster."),
    score_field: str | None = typer.Option(None, "--score-field", help="Rank rows by this numeric field."),
    encoder: str | None = EncoderOption,
    seed: int = typer.Option(0, "--seed"),
    removed: Path | None = RemovedOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Keep the best k rows of each prompt cluster (LIMA-style diversity)."""
    from sllm.data.quality.jobs import diversity_file

    report = diversity_file(
        path, output, clusters, per_cluster, score_field, encoder, seed, removed, not no_track
    )
    print_report(report, path, as_json)
