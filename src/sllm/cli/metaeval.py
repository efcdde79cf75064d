"""`sllm agreement` and `sllm correlate`: can this judge be trusted, against humans or another judge?"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

AGREEMENT_EXAMPLES = """
[bold]Examples[/bold]

  sllm agreement judgments.jsonl --reference human_votes.jsonl
  sllm agreement gpt4_pair_judgments.json --reference human_judgments.json --reference-judge expert --json
  sllm agreement judge_a.jsonl --reference judge_b.jsonl --ignore-ties --turn 1

Files: sllm pairwise judgments, or MT-Bench judgment files (question_id, model_a, model_b,
winner, judge, turn). Votes are matched on question, model pair and turn, as MT-Bench's
compute_agreement; "tie" and "tie (bothbad)" agree.
"""

CORRELATE_EXAMPLES = """
[bold]Examples[/bold]

  sllm correlate judge_scores.jsonl --reference human.jsonl --field score --reference-field score
  sllm correlate topical_chat_result.json --field predict_scores.coherence \\
      --reference-field scores.coherence --level group --group-by source
  sllm correlate scores.jsonl --field score --reference-field human --level system --group-by system_id --json

With no --reference, both fields come from the same file; otherwise rows pair up in file order.
Dotted fields read into nested objects (also dicts stored as strings, as UniEval writes them).
"""


@app.command("agreement", epilog=AGREEMENT_EXAMPLES)
def agreement_command(
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
    from sllm.metaeval.agreement import compute_agreement, load_votes

    mine, theirs = load_votes(judgments, judge), load_votes(reference, reference_judge)
    if turn is not None:
        mine = {k: v for k, v in mine.items() if k[3] == turn}
        theirs = {k: v for k, v in theirs.items() if k[3] == turn}
    result = compute_agreement(mine, theirs, ignore_ties).as_dict()
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


@app.command("correlate", epilog=CORRELATE_EXAMPLES)
def correlate_command(
    scores: Path = typer.Argument(..., help="Judge scores (JSON list or JSONL)."),
    reference: Path | None = typer.Option(
        None, "--reference", "-r", help="Human scores (default: same file)."
    ),
    field: str = typer.Option("score", "--field", help="Judge score field (dotted path)."),
    reference_field: str = typer.Option("score", "--reference-field", help="Human score field."),
    level: str = typer.Option("sample", "--level", help="sample | group (per-group mean) | system."),
    group_by: str | None = typer.Option(None, "--group-by", help="Group (or system) field for those levels."),
    as_json: bool = JsonOption,
) -> None:
    """Pearson, Spearman and Kendall between judge and human scores at one level."""
    from sllm.errors import SllmError
    from sllm.metaeval import correlate
    from sllm.metaeval.records import field_value, number, read_records

    rows = read_records(scores)
    human_rows = read_records(reference) if reference else rows
    if len(rows) != len(human_rows):
        raise SllmError(f"{scores} has {len(rows)} rows but {reference} has {len(human_rows)}")
    judge_values, human_values, groups, unscored = [], [], [], 0
    for (where, row), (human_where, human_row) in zip(rows, human_rows, strict=True):
        value, truth = number(row, field, where), number(human_row, reference_field, human_where)
        if value is None or truth is None:
            unscored += 1  # an unparsed judgment: counted, never a silent NaN
            continue
        judge_values.append(value)
        human_values.append(truth)
        if group_by:
            groups.append(json.dumps(field_value(row, group_by, where), sort_keys=True, default=str))
    result = correlate(judge_values, human_values, level, groups if group_by else None)
    result["unscored"] = unscored
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"{field} vs {reference_field}: {level} level, n = {result['n']}")
    for column in ("pearson", "spearman", "kendall"):
        table.add_column(column, justify="right")
    table.add_row(*(cell(result[c], ".4f") for c in ("pearson", "spearman", "kendall")))
    Console().print(table)
    if result.get("skipped_groups") or unscored:
        skipped = result.get("skipped_groups", 0)
        note = f"skipped: {skipped} groups with constant scores, {unscored} unscored rows"
        Console(stderr=True).print(note)
