"""`sllm monitor`: the group of profile | report | sample (one module per sub-command)."""

import typer

from sllm.cli.app import app

monitor_app = typer.Typer(
    help="Watch what users ask a served model: reference profiles, drift reports, eval sets from the log.",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")
