"""`sllm runs list`: the newest tracked runs (the same store `mlflow ui` reads)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.options import JsonOption
from sllm.cli.runs import runs_app
from sllm.tables import cell


@runs_app.command("list", epilog="[bold]Examples[/bold]\n\n  sllm runs list\n  sllm runs list --json")
def list_command(
    experiment: str | None = typer.Option(None, "--experiment", help="Only this experiment."),
    limit: int = typer.Option(50, "--limit", help="At most this many runs."),
    as_json: bool = JsonOption,
) -> None:
    """List the newest runs."""
    from sllm.tracking import list_runs, tracking_uri

    rows = list_runs(experiment=experiment, max_results=limit)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table(title=f"runs in {tracking_uri()}")
    for column in ("run_id", "name", "command", "status", "started", "duration s", "metrics"):
        table.add_column(column)
    for row in rows:
        metrics = dict(sorted(row.get("metrics", {}).items())[:4])
        table.add_row(
            row["run_id"][:12],
            cell(row.get("name")),
            cell(row.get("command")),
            cell(row.get("status")),
            cell(row.get("start_time")),
            cell(row.get("duration_s"), ".1f"),
            cell(metrics),
        )
    Console().print(table)
