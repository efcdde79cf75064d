"""`sllm tasks metrics`: every metric usable in task YAML and in `sllm score`."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from sllm.cli.options import JsonOption
from sllm.cli.tasks import tasks_app


@tasks_app.command(
    "metrics", epilog="[bold]Examples[/bold]\n\n  sllm tasks metrics\n  sllm tasks metrics --json"
)
def list_metrics_command(as_json: bool = JsonOption) -> None:
    """List every metric usable in task YAML and in `sllm score`."""
    from sllm.metrics import list_metrics

    metrics = list_metrics()
    if as_json:
        rows = [
            {
                "name": m.name,
                "family": m.family,
                "tokenizer": m.needs_tokenizer,
                "references": m.needs_references,
            }
            for m in metrics
        ]
        print(json.dumps({"metrics": rows}))
        return
    table = Table(title=f"{len(metrics)} metrics")
    table.add_column("metric", no_wrap=True)
    table.add_column("level")
    table.add_column("tokenizer")
    table.add_column("what it measures", overflow="fold")
    for m in metrics:
        summary = (m.description or "").strip().splitlines()[0] if m.description else ""
        table.add_row(m.name, m.family, "yes" if m.needs_tokenizer else "", summary)
    Console().print(table)
