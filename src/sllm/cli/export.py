"""`sllm export`: a training result (or a registry version) as a servable model with its card."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from sllm.cli.app import app
from sllm.cli.options import JsonOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm export runs/train/final -o exported/
  sllm export registry:ko-chat@latest -o exported/ --gguf

Merges a LoRA adapter into its base model (a full fine-tune is copied), saves safetensors, the
tokenizer and its chat template, and writes README.md: base model, data and their digests,
licences (a warning when one forbids commercial use or is unknown), training config and
metrics. --gguf also converts with llama.cpp's convert_hf_to_gguf.py (on PATH or in
$LLAMA_CPP_DIR).
"""


@app.command("export", epilog=EXAMPLES)
def export_model(
    source: str = typer.Argument(..., help="A training run's final folder, or registry:NAME@REF."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the merged model to."),
    gguf: bool = typer.Option(False, "--gguf", help="Also write a GGUF file (needs llama.cpp)."),
    as_json: bool = JsonOption,
) -> None:
    """Merge an adapter and save a servable model with its model card."""
    from sllm.train.export import export

    result = export(source, output, gguf)
    if as_json:
        print(json.dumps(result.report()))
        return
    for warning in result.warnings:
        Console(stderr=True).print(f"[yellow]warning:[/yellow] {warning}")
    Console().print(f"exported -> {result.folder}" + (f" and {result.gguf}" if result.gguf else ""))
