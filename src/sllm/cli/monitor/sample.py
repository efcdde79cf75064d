"""`sllm monitor sample`: an eval set drawn from the request log (serving back to evaluation)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from sllm.cli.monitor import monitor_app
from sllm.cli.options import JsonOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm monitor sample requests.jsonl --n 100 --out evalset.jsonl
  sllm monitor sample requests.jsonl --n 50 --seed 7 --out evalset.jsonl --json
  sllm judge single --judge default --input evalset.jsonl --output grades.jsonl   # grade the served answers

Draws N distinct prompts (seeded; in log order). Each row is sllm's judge input (question_id,
question, model, answer = the served model's logged answer), an alpaca_eval model-outputs row
(instruction, output, generator) and an Alpaca instruction row for sllm data, all at once.
The log is already PII-masked by sllm serve --request-log.
"""


@monitor_app.command("sample", epilog=EXAMPLES)
def monitor_sample(
    log: Path = typer.Argument(..., help="Request log (JSONL) written by sllm serve --request-log."),
    n: int = typer.Option(..., "--n", "-n", min=1, help="How many distinct prompts to draw."),
    out: Path = typer.Option(..., "--out", "-o", help="Eval set JSONL to write."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draw."),
    as_json: bool = JsonOption,
) -> None:
    """Draw an eval set from the request log: rows `sllm judge single` and `sllm data` read."""
    from sllm.serve.request_log import sample_eval_set

    summary = sample_eval_set(log, n, out, seed)
    if as_json:
        print(json.dumps(summary))
        return
    short = (
        f" (the log has only {summary['distinct_prompts']} distinct prompts)"
        if summary["written"] < n
        else ""
    )
    Console().print(
        f"wrote {summary['written']} prompts of {summary['requests']} logged requests to {out}{short}",
        highlight=False,
    )
