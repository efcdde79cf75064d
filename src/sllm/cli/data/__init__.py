"""`sllm data`: the group (one module per sub-command; `data filter` is a group of its own)."""

import typer

from sllm.cli.app import app

data_app = typer.Typer(
    help="Instruction data: validate, convert, split, generate, filter.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
