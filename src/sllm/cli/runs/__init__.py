"""`sllm runs`: the group of list | show | compare (one module per sub-command)."""

import typer

from sllm.cli.app import app

runs_app = typer.Typer(
    help="List, inspect and compare tracked runs (SLLM_TRACKING_URI / MLFLOW_TRACKING_URI).",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")
