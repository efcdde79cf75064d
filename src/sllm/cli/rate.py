"""`sllm rate`: a leaderboard from pairwise battles (Bradley-Terry or online Elo, bootstrap CIs)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm rate battles.json                               # Chatbot Arena clean_battle JSON
  sllm rate judgments.jsonl --bootstrap 1000 --json    # sllm pairwise judgments
  sllm rate battles.json --anchor mixtral-8x7b-instruct-v0.1=1114 --matrix
  sllm rate battles.json --method elo
  sllm rate model_judgment/*.jsonl                     # single-answer grades -> per-question battles

Bradley-Terry (default) is fitted by maximum likelihood without a penalty, as Chatbot Arena
(base 10, scale 400, 1000 offset; a tie is half a win). Intervals are the 2.5-97.5 percentiles of
a seeded bootstrap over battles. Online Elo (K=4) depends on battle order; it is for reference.
"""


@app.command("rate", epilog=EXAMPLES)
def rate_command(
    battles_files: list[Path] = typer.Argument(
        ..., metavar="BATTLES...", help="JSON list or JSONL: battles, or single-answer grades."
    ),
    method: str = typer.Option("bt", "--method", help="bt (Bradley-Terry MLE) | elo (online)."),
    bootstrap: int = typer.Option(100, "--bootstrap", min=0, help="Bootstrap rounds for the CI (0: none)."),
    seed: int = typer.Option(42, "--seed", help="Bootstrap seed."),
    anchor: str | None = typer.Option(None, "--anchor", help="MODEL=RATING pins one model's rating."),
    drop_ties: bool = typer.Option(False, "--drop-ties", help="Ignore tied battles."),
    matrix: bool = typer.Option(False, "--matrix", help="Also print the observed win-rate matrix."),
    as_json: bool = JsonOption,
) -> None:
    """Rate models from pairwise battles; print a leaderboard with confidence intervals."""
    import numpy as np

    from sllm.errors import UsageError
    from sllm.progress import track_stream
    from sllm.ratings import fit_bradley_terry, online_elo
    from sllm.ratings.battles import load_battle_files
    from sllm.ratings.bradley_terry import win_rate_matrix

    if method not in ("bt", "elo"):
        raise UsageError(f"--method must be bt or elo, got '{method}'")
    pinned = _parse_anchor(anchor)
    battles, missing = load_battle_files(list(battles_files), drop_ties=drop_ties)
    fit = (lambda b: fit_bradley_terry(b, anchor=pinned)) if method == "bt" else online_elo
    ratings = fit(battles)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {m: [] for m in ratings}
    rounds = (rng.integers(0, len(battles), size=len(battles)) for _ in range(bootstrap))
    for picked in track_stream(rounds, bootstrap, "bootstrap", not as_json):
        for model, value in fit([battles[i] for i in picked]).items():
            samples[model].append(value)
    games = Counter(m for b in battles for m in (b.model_a, b.model_b))
    table = {
        model: {
            "rating": rating,
            "ci_low": float(np.percentile(samples[model], 2.5)) if samples[model] else None,
            "ci_high": float(np.percentile(samples[model], 97.5)) if samples[model] else None,
            "n": games[model],
        }
        for model, rating in ratings.items()
    }
    if as_json:
        payload = {
            "ratings": table,
            "method": method,
            "bootstrap": bootstrap,
            "n_battles": len(battles),
            "missing_grades": missing,
        }
        if matrix:
            payload["win_rate_matrix"] = win_rate_matrix(battles)
        print(json.dumps(payload))
        return
    _print(table, method, len(battles), bootstrap)
    if missing:
        Console(stderr=True).print(
            f"[yellow]note:[/yellow] {missing} grades were missing (unparsed) and left out"
        )
    if matrix:
        _print_matrix(win_rate_matrix(battles))


def _parse_anchor(text: str | None) -> tuple[str, float] | None:
    """`MODEL=RATING` -> (model, rating)."""
    from sllm.errors import UsageError

    if text is None:
        return None
    model, _, value = text.rpartition("=")
    try:
        if model:
            return model, float(value)
    except ValueError:
        pass
    raise UsageError(f"--anchor: expected MODEL=RATING, got '{text}'")


def _print(table: dict, method: str, n: int, bootstrap: int) -> None:
    title = f"{'Bradley-Terry' if method == 'bt' else 'online Elo'} ratings from {n} battles"
    out = Table(title=title + (f" (95% CI, {bootstrap} bootstrap rounds)" if bootstrap else ""))
    for column in ("rank", "model", "rating", "95% CI", "battles"):
        out.add_column(column, justify="left" if column == "model" else "right")
    for rank, (model, row) in enumerate(table.items(), start=1):
        ci = (
            ""
            if row["ci_low"] is None
            else f"-{row['rating'] - row['ci_low']:.1f} / +{row['ci_high'] - row['rating']:.1f}"
        )
        out.add_row(str(rank), model, f"{row['rating']:.1f}", ci, str(row["n"]))
    Console().print(out)


def _print_matrix(matrix: dict[str, dict[str, float]]) -> None:
    models = list(matrix)
    out = Table(title="observed win rate of row model against column model")
    out.add_column("")
    for m in models:
        out.add_column(m, justify="right")
    for a in models:
        out.add_row(a, *[f"{matrix[a][b]:.2f}" if b in matrix[a] else "" for b in models])
    Console().print(out)
