"""`sllm judge list`: the judge configs, built-in and from --include-path."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from sllm.cli.judge import judge_app
from sllm.cli.options import JsonOption, JudgeIncludeOption


@judge_app.command("list", epilog="[bold]Examples[/bold]\n\n  sllm judge list\n  sllm judge list --json")
def judge_list(include_path: list[str] | None = JudgeIncludeOption, as_json: bool = JsonOption) -> None:
    """List the judge configs (built-in and from --include-path)."""
    from sllm.judging import list_judges

    judges = list_judges(tuple(include_path or ()))
    if as_json:
        shown = {"mode": "mode", "parser": "parser", "turns": "turns", "reference": "needs_reference"}
        print(json.dumps({name: {k: getattr(j, a) for k, a in shown.items()} for name, j in judges.items()}))
        return
    table = Table(title=f"{len(judges)} judge configs")
    for column in ("name", "mode", "verdict", "turns", "reference"):
        table.add_column(column, no_wrap=True)
    for name, j in judges.items():
        table.add_row(name, j.mode, j.parser, str(j.turns), "yes" if j.needs_reference else "")
    Console().print(table)
