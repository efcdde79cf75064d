"""`sllm generate`: one prompt in, one completion out, with every decoding strategy."""

from __future__ import annotations

import json
import sys

import typer

from sllm.cli.app import app
from sllm.cli.options import JsonOption, ModelOption, NoCacheOption, decoding_values
from sllm.errors import warn

EXAMPLES = """
[bold]Examples[/bold]

  sllm generate "What is the capital of France?"
  sllm generate --model hf:./out --strategy beam --num-beams 4 "Summarise: ..."
  sllm generate --temperature 0.7 --top-p 0.9 --seed 1 "Write a haiku about rain"
  sllm generate --preset nucleus --stop "\\n\\n" --max-new-tokens 64 "List three fruits:"
  sllm generate --model openai:llama3@http://127.0.0.1:11434/v1 --json "Hello"
  sllm generate --truncate left - < long_document.txt      # keep the prompt's end if it is too long
"""

Strategy = typer.Option(None, "--strategy", help="greedy | beam | sample (default greedy).")
TruncateOption = typer.Option(
    None,
    "--truncate",
    help="left | right: cut a prompt longer than the context window (minus --max-new-tokens) from "
    "this side. Default: such a prompt is an error.",
)


@app.command(epilog=EXAMPLES)
def generate(
    prompt: str = typer.Argument(..., help="The prompt (use - to read it from stdin)."),
    model: str = ModelOption,
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt (chat models)."),
    raw: bool = typer.Option(False, "--raw", help="Send the prompt as is, without the chat template."),
    preset: str | None = typer.Option(None, "--preset", help="greedy | beam | sample | nucleus | topk"),
    strategy: str | None = Strategy,
    temperature: float | None = typer.Option(None, "--temperature", "-t", help="Sampling temperature > 0."),
    top_k: int | None = typer.Option(None, "--top-k", help="Keep the k most likely tokens (0 = off)."),
    top_p: float | None = typer.Option(None, "--top-p", help="Nucleus mass in (0, 1]."),
    num_beams: int | None = typer.Option(None, "--num-beams", help="Beams for beam search."),
    repetition_penalty: float | None = typer.Option(None, "--repetition-penalty", help="1.0 = off."),
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", "-n", help="Default 256."),
    stop: list[str] | None = typer.Option(None, "--stop", help="Stop sequence (repeatable)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed: makes sampling repeatable."),
    truncate: str | None = TruncateOption,
    no_cache: bool = NoCacheOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate a completion for PROMPT with the chosen model and decoding settings."""
    from sllm.models.base import GenerationRequest
    from sllm.models.context import check_request, parse_side
    from sllm.models.spec import open_model

    config = decoding_values(
        preset,
        strategy,
        temperature,
        top_k,
        top_p,
        num_beams,
        repetition_penalty,
        max_new_tokens,
        stop,
        seed,
    ).model_copy(update={"truncate": parse_side(truncate)})
    text = sys.stdin.read() if prompt == "-" else prompt
    lm = open_model(model, use_cache=not no_cache)
    try:
        if raw or not _has_chat_template(lm):
            request = GenerationRequest(
                prompt=text if system is None else f"{system}\n\n{text}", config=config
            )
        else:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": text}
            ]
            request = GenerationRequest.chat(messages, config)
        cut = check_request(lm, request)  # an over-long prompt fails here, before any generation
        result = lm.generate([request])[0]
    finally:
        lm.close()
    if cut is not None:
        warn(f"the prompt was cut from the {cut.side}: {cut.from_tokens:,} -> {cut.to_tokens:,} tokens")
    if as_json:
        payload = {
            "model": lm.spec,  # redacted: never the spec's key
            "text": result.text,
            "tokens": result.n_tokens,
            "finish_reason": result.finish_reason,
        }
        if cut is not None:
            payload["truncated"] = cut.record()
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(result.text)


def _has_chat_template(lm: object) -> bool:
    """Servers apply their own template; local models need one in their tokenizer."""
    tokenizer = getattr(lm, "tokenizer", None)
    if tokenizer is None:
        return True
    return bool(getattr(tokenizer, "chat_template", None))
