"""`sllm data filter dedup`: remove near-duplicate rows, keeping the first of each group."""

from __future__ import annotations

from pathlib import Path

import typer

from sllm.cli.data.filter import InputArg, OutputOption, RemovedOption, filter_app, print_report
from sllm.cli.options import EncoderOption, JsonOption, NoTrackOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter dedup train.jsonl -o dedup.jsonl
  sllm data filter dedup train.jsonl -o dedup.jsonl --threshold 0.7 --field all
  sllm data filter dedup train.jsonl -o dedup.jsonl --method embedding --threshold 0.95

minhash: Jaccard similarity of character shingles (5 characters; 2 for Korean), MinHash LSH with
128 permutations, each pair confirmed exactly; default threshold 0.8. embedding: cosine of
sentence embeddings; default 0.95. The first row of each group is kept.
"""


@filter_app.command("dedup", epilog=EXAMPLES)
def filter_dedup(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    method: str = typer.Option("minhash", "--method", help="minhash | embedding."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Default 0.8 (minhash), 0.95 (embedding)."
    ),
    field: str = typer.Option(
        "prompt", "--field", help="prompt (instruction + input) | all (every message)."
    ),
    encoder: str | None = EncoderOption,
    removed: Path | None = RemovedOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove near-duplicate rows (MinHash or embeddings), keeping the first of each group."""
    from sllm.data.quality.jobs import dedup_file

    report = dedup_file(path, output, method, threshold, field, encoder, removed, not no_track)
    print_report(report, path, as_json)
