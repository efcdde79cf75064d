"""`sllm winrate`: win rates against a baseline (alpaca_eval's), plain and length-controlled."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm winrate results/*/weighted_alpaca_eval_gpt4_turbo/annotations.json --length-controlled
  sllm winrate annotations.json --length-controlled --difficulty instruction_difficulty.csv --json
  sllm winrate my_judgments.jsonl

Reads alpaca_eval annotations.json (instruction, output_1 = baseline, output_2 = model,
generator_1, generator_2, preference 1..2) and sllm judgments in the same fields; several
models may share one file. The length-controlled win rate needs per-instruction difficulty:
--difficulty reads alpaca_eval's instruction_difficulty.csv; without it, difficulty is
estimated jointly from all the models given (more models give a better estimate).
"""


@app.command("winrate", epilog=EXAMPLES)
def winrate_command(
    annotations: list[Path] = typer.Argument(..., metavar="ANNOTATIONS...", help="Annotation files."),
    length_controlled: bool = typer.Option(False, "--length-controlled", help="Add the LC win rate (GLM)."),
    difficulty: Path | None = typer.Option(None, "--difficulty", help="Instruction difficulty CSV."),
    as_json: bool = JsonOption,
) -> None:
    """Win rate with standard error per model, and optionally the length-controlled win rate."""
    from sllm.errors import SllmError
    from sllm.ratings.length_control import estimate_difficulty, length_controlled_winrate, load_difficulty
    from sllm.ratings.winrate import head_to_head, load_annotations

    by_model: dict[str, list] = defaultdict(list)
    for path in annotations:
        for row in load_annotations(path):
            by_model[row.generator_2].append(row)
    baselines = {r.generator_1 for rows in by_model.values() for r in rows}
    if len(baselines) > 1:
        raise SllmError(f"the annotations compare against several baselines ({', '.join(sorted(baselines))})")
    results = {model: head_to_head([r.preference for r in rows]) for model, rows in by_model.items()}
    note = ""
    if length_controlled:
        instructions = list(dict.fromkeys(r.instruction for rows in by_model.values() for r in rows))
        if difficulty is not None:
            table = load_difficulty(difficulty, instructions)
            note = f"instruction difficulty from {difficulty}"
        else:
            table = estimate_difficulty(list(by_model.values()))
            note = f"instruction difficulty estimated jointly from {len(by_model)} model(s)"
            if len(by_model) < 3:
                note += " -- few models: pass more annotation files or --difficulty for a steadier estimate"
        for model, rows in by_model.items():
            results[model].update(length_controlled_winrate(rows, table))
    if as_json:
        keep = ("win_rate", "standard_error", "length_controlled_winrate", "n_total")
        models = {
            m: {k: r.get(k) for k in keep} | {k: v for k, v in r.items() if k not in keep}
            for m, r in results.items()
        }
        print(json.dumps({"models": models, "baseline": next(iter(baselines)), "note": note}))
        return
    _print(results, next(iter(baselines)), length_controlled)
    if note:
        Console(stderr=True).print(note)


def _print(results: dict, baseline: str, lc: bool) -> None:
    table = Table(title=f"win rate against {baseline} (%)")
    columns = [
        "model",
        "win rate",
        "± s.e.",
        *(["LC win rate"] if lc else []),
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
        cells = [model, f"{r['win_rate']:.2f}", f"{r['standard_error']:.2f}"]
        if lc:
            cells.append(f"{r['length_controlled_winrate']:.2f}")
        cells += [str(r["n_wins"]), str(r["n_wins_base"]), str(r["n_draws"]), str(r["n_total"])]
        table.add_row(*cells)
    Console().print(table)
