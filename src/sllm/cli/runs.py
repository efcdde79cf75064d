"""`sllm runs`: list and inspect tracked runs (the same store `mlflow ui` reads)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

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


SHOW_EXAMPLES = """[bold]Examples[/bold]

  sllm runs show 3f2a9c1b7d0e          # any unique prefix of the id, as `runs list` shows it
  sllm runs show 3f2a9c1b7d0e --json
"""


@runs_app.command("show", epilog=SHOW_EXAMPLES)
def show_command(
    run_id: str = typer.Argument(..., help="Run id, or a unique prefix of it (as `runs list` shows)."),
    as_json: bool = JsonOption,
) -> None:
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
            table.add_row(key, cell(value, ""))  # "": floats at full precision
        console.print(table)
    if run.get("datasets"):
        table = Table(title="datasets")
        for column in ("name", "role", "digest", "source"):
            table.add_column(column, overflow="fold")
        for d in run["datasets"]:
            role = d["tags"].get("mlflow.data.context", "")
            table.add_row(d["name"], role, d["digest"], _source_path(d["source"]))
        console.print(table)
    if run.get("artifacts"):
        console.print("[bold]artifacts[/bold]: " + ", ".join(run["artifacts"]), highlight=False)


def _source_path(source: str) -> str:
    """A dataset source as MLflow stores it (a JSON blob) reduced to its path or URL."""
    try:
        value = json.loads(source)
    except (TypeError, ValueError):
        return str(source)
    if isinstance(value, dict):
        return str(value.get("uri") or value.get("url") or value.get("path") or value)
    return str(value)
