"""`sllm winrate`: win rates against a baseline (alpaca_eval's), plain and length-controlled."""

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

  sllm winrate results/*/weighted_alpaca_eval_gpt4_turbo/annotations.json --length-controlled
  sllm winrate annotations.json --length-controlled --difficulty instruction_difficulty.csv --json
  sllm winrate judgments.jsonl --length-controlled --gamed-baseline concise.jsonl \\
      --gamed-baseline verbose.jsonl

Reads alpaca_eval annotations.json / .json.gz (instruction, output_1 = baseline, output_2 = model,
generator_1, generator_2, preference 1..2) and sllm judgments in the same fields; several models
may share one file; a placeholder generator_2 ("example") takes its results/<model>/ folder name.
The length-controlled win rate is alpaca_eval's length_controlled_v1 GLM, regularised toward
length-gamed versions of the baseline as alpaca_eval does. On AlpacaEval 2.0 (baseline
gpt4_1106_preview, AlpacaEval's instructions) difficulty and gamed rows come from sllm's shipped
reference, and a model's LC does not depend on the other files given; as alpaca_eval, a file
missing a few rows has its difficulties looked up by row position (a warning says so;
--difficulty-by-instruction corrects it), and a model that was on alpaca_eval's leaderboard when it
fitted its difficulties has them re-fitted with its own annotations. Elsewhere difficulty is a
joint fit over the files (or --difficulty CSV) and the fit is regularised only with
--gamed-baseline files: the same judge's annotations of a concise and a verbose rewrite of the
baseline's answers against the baseline.
More than 5% unusable preferences fails unless --allow-partial.
"""


@app.command("winrate", epilog=EXAMPLES)
def winrate_command(  # noqa: PLR0913 - the command's options
    annotations: list[Path] = typer.Argument(..., metavar="ANNOTATIONS...", help="Annotation files."),
    length_controlled: bool = typer.Option(False, "--length-controlled", help="Add the LC win rate (GLM)."),
    difficulty: str = typer.Option(
        "auto", "--difficulty", help="auto | alpaca_eval | joint | a CSV of instruction difficulties."
    ),
    by_instruction: bool = typer.Option(
        False,
        "--difficulty-by-instruction",
        help="Match difficulties by instruction where alpaca_eval (and the default) uses row positions.",
    ),
    gamed_baseline: list[Path] | None = typer.Option(
        None, "--gamed-baseline", help="Annotations of a concise / verbose rewrite of the baseline (repeat)."
    ),
    regularization: float = typer.Option(
        0.2,
        "--lc-regularization",
        min=0.0,
        help="Weight of the gamed-baseline rows (alpaca_eval: 0.2; 0 = none).",
    ),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Go on when more than 5% of the preferences are unusable."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Win rate with standard error per model, and optionally the length-controlled win rate."""
    from sllm.ratings.leaderboard import win_rate_files

    results, baseline, note, report = win_rate_files(
        list(annotations), length_controlled, difficulty, by_instruction, gamed_baseline, regularization,
        allow_partial,
    )  # fmt: skip
    if as_json:
        keep = ("win_rate", "standard_error", "length_controlled_winrate", "lc_standard_error", "n_total")
        models = {
            m: {k: r.get(k) for k in keep if k in r or k != "lc_standard_error"}
            | {k: v for k, v in r.items() if k not in keep}
            for m, r in results.items()
        }
        print(json.dumps({"models": models, "baseline": baseline, "note": note, "read": report.as_dict()}))
        return
    Console(stderr=True).print(report.summary(), highlight=False)
    _print(results, baseline, length_controlled)
    if note:
        Console(stderr=True).print(note, highlight=False)


def _print(results: dict, baseline: str, lc: bool) -> None:
    table = Table(title=f"win rate against {baseline} (%)")
    columns = [
        "model",
        "win rate",
        "± s.e.",
        *(["LC win rate", "± s.e. "] if lc else []),
        "wins",
        "losses",
        "draws",
        "n",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=column == "model")
    order = sorted(
        results, key=lambda m: -results[m].get("length_controlled_winrate", results[m]["win_rate"])
    )
    for model in order:
        r = results[model]
        cells = [model, cell(r["win_rate"], ".2f"), cell(r["standard_error"], ".2f")]
        if lc:
            cells += [cell(r["length_controlled_winrate"], ".2f"), cell(r["lc_standard_error"], ".2f")]
        cells += [cell(r[k]) for k in ("n_wins", "n_wins_base", "n_draws", "n_total")]
        table.add_row(*cells)
    Console().print(table)
