"""`sllm runs show`: one run's params, metrics, tags, dataset inputs and artifacts."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.options import JsonOption
from sllm.cli.runs import runs_app
from sllm.tables import cell

EXAMPLES = """[bold]Examples[/bold]

  sllm runs show 3f2a9c1b7d0e          # any unique prefix of the id, as `runs list` shows it
  sllm runs show 3f2a9c1b7d0e --json
"""


@runs_app.command("show", epilog=EXAMPLES)
def show_command(
    run_id: str = typer.Argument(..., help="Run id, or a unique prefix of it (as `runs list` shows)."),
    as_json: bool = JsonOption,
) -> None:
    """Show one run: params, metrics, tags, dataset inputs and artifacts."""
    from sllm.tracking import get_run
    from sllm.tracking.query import dataset_source

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
            table.add_row(d["name"], role, d["digest"], dataset_source(d["source"]))
        console.print(table)
    if run.get("artifacts"):
        console.print("[bold]artifacts[/bold]: " + ", ".join(run["artifacts"]), highlight=False)
