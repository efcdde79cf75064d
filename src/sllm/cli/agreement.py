"""`sllm agreement`: can this judge be trusted? Its pairwise verdicts against humans or another judge."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm agreement judgments.jsonl --reference human_votes.jsonl
  sllm agreement gpt4_pair_judgments.json --reference human_judgments.json --reference-judge expert --json
  sllm agreement judge_a.jsonl --reference judge_b.jsonl --ignore-ties --turn 1

Files: sllm pairwise judgments, or MT-Bench judgment files (question_id, model_a, model_b,
winner, judge, turn). Votes are matched on question, model pair and turn, as MT-Bench's
compute_agreement; "tie" and "tie (bothbad)" agree.
"""


@app.command("agreement", epilog=EXAMPLES)
def agreement_command(  # noqa: PLR0913 - the vote filters
    judgments: Path = typer.Argument(..., help="Pairwise verdicts of the judge (JSON list or JSONL)."),
    reference: Path = typer.Option(
        ..., "--reference", "-r", help="Reference verdicts (humans, another judge)."
    ),
    ignore_ties: bool = typer.Option(False, "--ignore-ties", help="Leave out every vote pair with a tie."),
    judge: str | None = typer.Option(None, "--judge", help="Only votes whose judge name starts with this."),
    reference_judge: str | None = typer.Option(None, "--reference-judge", help="The same for the reference."),
    turn: int | None = typer.Option(None, "--turn", help="Only this turn (MT-Bench: 1 or 2)."),
    as_json: bool = JsonOption,
) -> None:
    """Agreement of two sets of pairwise verdicts (with and without ties) and Cohen's kappa."""
    from sllm.metaeval.agreement import agreement_of_files

    result = agreement_of_files(judgments, reference, ignore_ties, judge, reference_judge, turn).as_dict()
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"agreement of {judgments.name} with {reference.name}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("vote pairs", justify="right")
    table.add_row("agreement (ties count)", cell(result["agreement"], ".3f"), cell(result["n"]))
    table.add_row(
        "agreement without ties",
        cell(result["agreement_without_ties"], ".3f"),
        cell(result["n_without_ties"]),
    )
    table.add_row("Cohen's kappa", cell(result["cohen_kappa"], ".3f"), cell(result["n"]))
    Console().print(table)
