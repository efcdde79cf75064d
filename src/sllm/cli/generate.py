"""`sllm generate`: one prompt in, one completion out, with every decoding strategy."""

from __future__ import annotations

import json
import sys

import typer

from sllm.cli.app import app
from sllm.cli.options import (
    JsonOption,
    ModelOption,
    NoCacheOption,
    PresetOption,
    RepetitionPenaltyOption,
    SeedOption,
    SystemOption,
    TemperatureOption,
    TopKOption,
    TopPOption,
)

EXAMPLES = """
[bold]Examples[/bold]

  sllm generate "What is the capital of France?"
  sllm generate --model hf:./out --strategy beam --num-beams 4 "Summarise: ..."
  sllm generate --temperature 0.7 --top-p 0.9 --seed 1 "Write a haiku about rain"
  sllm generate --preset nucleus --stop "\\n\\n" --max-new-tokens 64 "List three fruits:"
  sllm generate --model openai:llama3@http://127.0.0.1:11434/v1 --json "Hello"
  sllm generate --truncate left - < long_document.txt      # keep the prompt's end if it is too long
"""


@app.command(epilog=EXAMPLES)
def generate(  # noqa: PLR0913 - the decoding options
    prompt: str = typer.Argument(..., help="The prompt (use - to read it from stdin)."),
    model: str = ModelOption,
    system: str | None = SystemOption,
    raw: bool = typer.Option(False, "--raw", help="Send the prompt as is, without the chat template."),
    preset: str | None = PresetOption,
    strategy: str | None = typer.Option(None, "--strategy", help="greedy | beam | sample (default greedy)."),
    temperature: float | None = TemperatureOption,
    top_k: int | None = TopKOption,
    top_p: float | None = TopPOption,
    num_beams: int | None = typer.Option(None, "--num-beams", help="Beams for beam search."),
    repetition_penalty: float | None = RepetitionPenaltyOption,
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", "-n", help="Default 256."),
    stop: list[str] | None = typer.Option(None, "--stop", help="Stop sequence (repeatable)."),
    seed: int | None = SeedOption,
    truncate: str | None = typer.Option(
        None,
        "--truncate",
        help="left | right: cut a prompt longer than the context window (minus --max-new-tokens) from "
        "this side. Default: such a prompt is an error.",
    ),
    no_cache: bool = NoCacheOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate a completion for PROMPT with the chosen model and decoding settings."""
    from sllm.generation.config import config_from_flags
    from sllm.models.chat import complete
    from sllm.models.context import parse_side

    config = config_from_flags(
        preset, strategy, temperature=temperature, top_k=top_k, top_p=top_p, num_beams=num_beams,
        repetition_penalty=repetition_penalty, max_new_tokens=max_new_tokens, stop=stop, seed=seed,
    ).model_copy(update={"truncate": parse_side(truncate)})  # fmt: skip
    text = sys.stdin.read() if prompt == "-" else prompt
    result = complete(model, text, config, system, raw, use_cache=not no_cache)
    print(json.dumps(result, ensure_ascii=False) if as_json else result["text"])
