"""`sllm runs`: list and inspect tracked runs (the same store `mlflow ui` reads)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption

runs_app = typer.Typer(
    help="List and inspect tracked runs (SLLM_TRACKING_URI / MLFLOW_TRACKING_URI).", no_args_is_help=True
)
app.add_typer(runs_app, name="runs")


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
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(row.get("metrics", {}).items())[:4])
        duration = row.get("duration_s")
        table.add_row(
            row["run_id"][:12],
            str(row.get("name") or ""),
            str(row.get("command") or ""),
            str(row.get("status")),
            str(row.get("start_time") or ""),
            "" if duration is None else f"{duration:.1f}",
            metrics,
        )
    Console().print(table)


@runs_app.command("show", epilog="[bold]Example[/bold]\n\n  sllm runs show 3f2a9c…")
def show_command(run_id: str = typer.Argument(..., help="Run id."), as_json: bool = JsonOption) -> None:
    """Show one run: params, metrics, tags, dataset inputs and artifacts."""
    from sllm.tracking import get_run

    run = get_run(run_id)
    if as_json:
        print(json.dumps(run, default=str))
        return
    console = Console()
    for section in ("params", "metrics", "tags"):
        table = Table(title=section)
        table.add_column("key")
        table.add_column("value")
        for key, value in sorted((run.get(section) or {}).items()):
            table.add_row(key, str(value))
        console.print(table)
    for key in ("datasets", "artifacts"):
        if run.get(key):
            console.print(f"[bold]{key}[/bold]: {json.dumps(run[key], default=str)}")
