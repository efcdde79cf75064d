"""`sllm data filter`: the group of quality filters, and what they share (one module per filter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from sllm.cli.data import data_app
from sllm.tables import counts_table

filter_app = typer.Typer(
    help="Quality selection: AlpaGasus, LIMA-style diversity, near-duplicates, safety.",
    no_args_is_help=True,
)
data_app.add_typer(filter_app, name="filter")

InputArg = typer.Argument(..., help="Instruction file (any format sllm reads).")
OutputOption = typer.Option(..., "--output", "-o", help="Write the kept rows here.")
RemovedOption = typer.Option(
    None, "--removed", help="Removed rows with reasons (default: OUTPUT.removed.jsonl)."
)


def print_report(report: dict[str, Any], path: Path, as_json: bool) -> None:
    """A filter's report: one JSON object, or removals by reason, the files and the judge's cost."""
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    title = f"{report['filter']}: kept {report['kept']} of {report['rows']} rows of {path}"
    console = Console()
    console.print(counts_table(title, "removed because", "rows", report["removed_by_reason"]))
    console.print(f"kept rows -> {report['output']}; removed rows with reasons -> {report['removed_file']}")
    if "calls" in report:
        from sllm.usage import cost_line

        console.print(cost_line(report))
