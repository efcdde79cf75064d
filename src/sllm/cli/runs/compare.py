"""`sllm runs compare`: runs side by side, with metric deltas judged against their standard errors."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.options import JsonOption
from sllm.cli.runs import runs_app
from sllm.tables import cell

EXAMPLES = """[bold]Examples[/bold]

  sllm runs compare 3f2a9c1b 8d0e4f21               # the first run is the baseline
  sllm runs compare 3f2a9c1b 8d0e4f21 a71c02ee --all-params --json
"""


@runs_app.command("compare", epilog=EXAMPLES)
def compare_command(
    run_ids: list[str] = typer.Argument(
        ..., help="Two or more run ids (or unique prefixes); the first is the baseline."
    ),
    all_params: bool = typer.Option(False, "--all-params", help="Also list the params every run shares."),
    as_json: bool = JsonOption,
) -> None:
    """Compare runs: differing params, dataset digests, prompt versions, and metrics with deltas.

    A delta is marked [bold]*[/bold] when it exceeds 1.96 combined standard errors (a 95% test of
    two independent estimates; runs on the same documents are correlated, so it is conservative)."""
    from sllm.tracking.compare import compare_runs

    report = compare_runs(run_ids, all_params)
    if as_json:
        print(json.dumps(report, default=str))
        return
    console = Console()
    heads = [r["run_id"][:12] + (f" {r['name']}" if r["name"] else "") for r in report["runs"]]
    for section, title in (("params", "params that differ"), ("datasets", "dataset digests"),
                           ("prompts", "prompt versions")):  # fmt: skip
        rows = report[section]
        if not rows:
            continue
        table = Table(title=title if section != "params" or not all_params else "params")
        table.add_column("key", overflow="fold")
        for head in heads:
            table.add_column(head, overflow="fold")
        for row in rows:
            style = "bold" if row["differs"] else None
            table.add_row(row["key"], *[cell(v, "") for v in row["values"]], style=style)
        console.print(table)
    table = Table(title="metrics (Δ against the first run; * beyond 1.96 combined s.e.)")
    table.add_column("metric", overflow="fold")
    table.add_column(heads[0])
    for head in heads[1:]:
        table.add_column(head)
        table.add_column("Δ")
    for row in report["metrics"]:
        first = _with_se(row["values"][0], row["stderr"][0])
        cells = [first]
        for value, se, cmp in zip(row["values"][1:], row["stderr"][1:], row["vs_first"]):
            mark = "*" if cmp["beyond_noise"] else ""
            cells += [_with_se(value, se), ("" if cmp["delta"] is None else f"{cmp['delta']:+.4f}") + mark]
        table.add_row(row["metric"], *cells)
    console.print(table)


def _with_se(value: float | None, se: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f} ± {se:.4f}" if se is not None else cell(value, ".4f")
