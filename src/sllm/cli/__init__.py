"""The `sllm` command line: one Typer app; a command's module is its path (`sllm judge compare` is
`sllm.cli.judge.compare`), and each command parses, makes one library call and prints."""

from sllm.cli.app import app, main

__all__ = ["app", "main"]
