"""The `sllm` command line: one Typer app; each sub-command lives in its own module."""

from sllm.cli.app import app, main

__all__ = ["app", "main"]
