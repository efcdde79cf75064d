"""`sllm tasks`: the group of list | show | metrics (one module per sub-command)."""

import typer

from sllm.cli.app import app

tasks_app = typer.Typer(help="List tasks and groups, or show one task.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
