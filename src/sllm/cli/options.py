"""CLI options shared by several commands (model spec, decoding flags, cache, output)."""

from __future__ import annotations

from typing import Any

import typer

ModelOption = typer.Option(
    "default",
    "--model",
    "-m",
    help="Model spec: default | hf:PATH | gguf:FILE | openai:MODEL@URL | vllm:PATH",
)
NoCacheOption = typer.Option(False, "--no-cache", help="Bypass the model-call cache for this run.")
JsonOption = typer.Option(False, "--json", help="Print one JSON object on stdout.")


def decoding_values(
    preset: str | None,
    strategy: str | None,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    num_beams: int | None,
    repetition_penalty: float | None,
    max_new_tokens: int | None,
    stop: list[str] | None,
    seed: int | None,
) -> Any:
    """Build a GenerationConfig from CLI flags: preset first, explicit flags win."""
    from sllm.generation.config import PRESETS, make_config
    from sllm.generation.config import preset as named_preset

    flags = {
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "num_beams": num_beams,
        "repetition_penalty": repetition_penalty,
        "max_new_tokens": max_new_tokens,
        "stop": stop or None,
        "seed": seed,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    if strategy is None and preset is None:
        # Sampling knobs without a strategy mean sampling; beams mean beam search.
        if num_beams and num_beams > 1:
            strategy = "beam"
        elif any(k in given for k in ("temperature", "top_k", "top_p")):
            strategy = "sample"
    if preset is not None:
        return named_preset(preset, strategy=strategy, **given)
    # The strategies share their names with presets, so `--strategy beam` means 4 beams.
    base = PRESETS[strategy or "greedy"]
    return make_config(**{**base, **given})


def parse_key_values(items: list[str], flag: str) -> dict[str, Any]:
    """`KEY=VALUE` pairs, values read as YAML scalars (numbers, booleans, lists)."""
    import yaml

    from sllm.errors import UsageError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag}: expected KEY=VALUE, got '{item}'")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out
