"""`sllm rate`: a leaderboard from pairwise battles (Bradley-Terry or online Elo, bootstrap CIs),
and Arena-Hard's score against a baseline, optionally style-controlled."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import EMPTY, cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm rate battles.json                               # Chatbot Arena clean_battle JSON
  sllm rate judgments.jsonl --json                     # sllm pairwise judgments
  sllm rate model_judgment/*.jsonl                     # single-answer grades -> per-question battles
  sllm rate model_judgment/gpt-4-1106-preview/*.jsonl --baseline gpt-4-0314 --style-control
  sllm rate battles.json --anchor mixtral-8x7b-instruct-v0.1=1114 --matrix
  sllm rate battles.json --method elo --bootstrap 100

Bradley-Terry (default) is fitted by maximum likelihood without a penalty, as Chatbot Arena
(base 10, scale 400, 1000 offset; a tie is half a win). Intervals are the 2.5-97.5 percentiles of
a seeded bootstrap over battles (1000 rounds, as FastChat). --baseline adds Arena-Hard's score:
the win rate against that model predicted by the ratings, with its interval. --style-control
adds answer length and markdown counts (headers, lists, bold) as covariates, as arena-hard-auto.
Rows that cannot be used are counted by reason; more than 5% dropped fails unless --allow-partial.
"""


@app.command("rate", epilog=EXAMPLES)
def rate_command(  # noqa: PLR0913 - the command's options
    battles_files: list[Path] = typer.Argument(
        ..., metavar="BATTLES...", help="JSON list or JSONL: battles, judgments or single-answer grades."
    ),
    method: str = typer.Option("bt", "--method", help="bt (Bradley-Terry MLE) | elo (online)."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap rounds for the CI (0: none)."),
    seed: int = typer.Option(42, "--seed", help="Bootstrap seed."),
    anchor: str | None = typer.Option(None, "--anchor", help="MODEL=RATING pins one model's rating."),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Arena-Hard score: predicted win rate (%) against this model."
    ),
    style_control: bool = typer.Option(
        False, "--style-control", help="Control for answer length and markdown (Bradley-Terry only)."
    ),
    style_features: str = typer.Option(
        "length,markdown", "--style-features", help="With --style-control: length, markdown or both."
    ),
    drop_ties: bool = typer.Option(False, "--drop-ties", help="Ignore tied battles."),
    matrix: bool = typer.Option(False, "--matrix", help="Also print the observed win-rate matrix."),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Rate even when more than 5% of the rows cannot be used."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Rate models from pairwise battles; print a leaderboard with confidence intervals."""
    from sllm.ratings.leaderboard import rate_battle_files

    payload, report = rate_battle_files(
        list(battles_files), method, bootstrap, seed, parse_anchor(anchor), baseline,
        style_features if style_control else None, drop_ties, matrix, allow_partial,
    )  # fmt: skip
    if as_json:
        print(json.dumps(payload))
        return
    Console(stderr=True).print(report.summary(), highlight=False)
    _print(payload)
    if matrix:
        _print_matrix(payload["win_rate_matrix"])


def parse_anchor(text: str | None) -> tuple[str, float] | None:
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


def _print(payload: dict) -> None:
    method, bootstrap = payload["method"], payload["bootstrap"]
    title = (
        f"{'Bradley-Terry' if method == 'bt' else 'online Elo'} ratings from {payload['n_battles']} battles"
    )
    if payload.get("style_features"):
        title += f", controlled for {' + '.join(payload['style_features'])}"
    out = Table(title=title + (f" (95% CI, {bootstrap} bootstrap rounds)" if bootstrap else ""))
    scores = payload.get("scores")
    columns = ["rank", "model", "rating", "95% CI", "battles"]
    if scores:
        columns[2:2] = [f"score vs {payload['baseline']} (%)", "score 95% CI"]
    for column in columns:
        out.add_column(column, justify="left" if column == "model" else "right")
    for rank, (model, row) in enumerate(payload["ratings"].items(), start=1):
        cells = [str(rank), model]
        if scores:
            s = scores[model]
            cells += [
                cell(s["score"], ".1f"),
                EMPTY if s["ci_low"] is None else f"({s['ci_low']:.1f}, {s['ci_high']:.1f})",
            ]
        ci = (
            EMPTY
            if row["ci_low"] is None
            else f"-{row['rating'] - row['ci_low']:.1f} / +{row['ci_high'] - row['rating']:.1f}"
        )
        out.add_row(*cells, cell(row["rating"], ".1f"), ci, cell(row["n"]))
    Console().print(out)
    if payload.get("style_coefficients"):
        shown = ", ".join(f"{k} {v:+.3f}" for k, v in payload["style_coefficients"].items())
        Console().print(f"style coefficients (log-odds per s.d. of the difference): {shown}")


def _print_matrix(matrix: dict[str, dict[str, float]]) -> None:
    models = list(matrix)
    out = Table(title="observed win rate of row model against column model")
    out.add_column("")
    for m in models:
        out.add_column(m, justify="right")
    for a in models:
        out.add_row(a, *[cell(matrix[a].get(b), ".2f") for b in models])
    Console().print(out)
