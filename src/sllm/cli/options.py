"""Options shared by several commands, declared once, and the parsing of `KEY=VALUE` flags.

An option used by more than one command lives here so that its name, default and help read the
same everywhere; an option of one command stays beside that command.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

# -- every stage ---------------------------------------------------------------------------------
ModelOption = typer.Option(
    "default",
    "--model",
    "-m",
    help="Model spec: default | hf:PATH | gguf:FILE | openai:MODEL@URL | vllm:PATH",
)
NoCacheOption = typer.Option(False, "--no-cache", help="Bypass the model-call cache for this run.")
NoTrackOption = typer.Option(False, "--no-track", help="Do not record an MLflow run.")
JsonOption = typer.Option(False, "--json", help="Print one JSON object on stdout.")
DataDirOption = typer.Option(None, "--data-dir", help="Folder laid out like ../shared/data.")
TaskIncludeOption = typer.Option(None, "--include-path", help="Extra folder of task YAML files.")
PriceTableOption = typer.Option(
    None, "--price-table", help="YAML of $ per 1M input/output tokens per model (overrides built-in)."
)
EncoderOption = typer.Option(None, "--encoder", help="Local sentence-transformers folder (default MiniLM).")

# -- decoding (generate, chat) -------------------------------------------------------------------
PresetOption = typer.Option(None, "--preset", help="greedy | beam | sample | nucleus | topk")
TemperatureOption = typer.Option(None, "--temperature", "-t", help="Sampling temperature > 0.")
TopKOption = typer.Option(None, "--top-k", help="Keep the k most likely tokens (0 = off).")
TopPOption = typer.Option(None, "--top-p", help="Nucleus mass in (0, 1].")
RepetitionPenaltyOption = typer.Option(None, "--repetition-penalty", help="1.0 = off.")
SeedOption = typer.Option(None, "--seed", help="Seed: makes sampling repeatable.")
SystemOption = typer.Option(None, "--system", "-s", help="System prompt (chat models).")

# -- judging (judge ..., data filter alpagasus | safety) -----------------------------------------
JudgeOption = typer.Option("default", "--judge", "-j", help="Model spec of the judge.")
JudgeConfigOption = typer.Option("auto", "--config", help="Judge config name (sllm judge list), or auto.")
JudgeIncludeOption = typer.Option(None, "--include-path", help="Folder of extra judge YAML configs.")
JudgeFamilyOption = typer.Option(
    None, "--judge-family", help="The judge's model family (e.g. qwen) for self-preference warnings."
)
RetriesOption = typer.Option(2, "--retries", min=0, help="Re-asks when a reply has no verdict.")
JudgeTokensOption = typer.Option(None, "--max-new-tokens", help="Cap on each judge reply (config's default).")
NoSwapOption = typer.Option(False, "--no-swap", help="Judge one order only (position bias unchecked).")


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


def split_names(text: str | None) -> list[str]:
    """`a, b,c` -> ["a", "b", "c"]: a comma-separated flag value, blanks dropped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """One parameter of a command built by `command_function`."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def command_function(
    run: Callable[..., None], parameters: list[inspect.Parameter], doc: str
) -> Callable[..., None]:
    """A command function that Typer reads as taking `parameters` and that calls `run(**values)`:
    sibling commands with the same options (train sft | dpo | reward) declare them once."""

    def command(**values: Any) -> None:
        run(**values)

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = doc
    return command
