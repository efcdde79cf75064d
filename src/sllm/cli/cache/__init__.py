"""`sllm cache`: the group of stats | clear (one module per sub-command)."""

import typer

from sllm.cli.app import app

cache_app = typer.Typer(
    help="Inspect or clear the model-call cache (SLLM_CACHE, default SLLM_HOME/cache.sqlite).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")
