"""`sllm train`: the group, and the options its sub-commands share (one module per algorithm).

sft, dpo and reward take the same options (declared once here); distill adds --teacher. Each
builds its config from YAML plus KEY=VALUE overrides, checks it before any model loads, trains
and prints the result.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption, NoTrackOption, command_function, keyword, parse_key_values
from sllm.tables import cell

train_app = typer.Typer(help="Fine-tune on TRL and PEFT: sft, dpo, reward, distill.", no_args_is_help=True)
app.add_typer(train_app, name="train")

OverridesArg = typer.Argument(None, help="KEY=VALUE settings over the config file.")
ConfigOption = typer.Option(None, "--config", "-c", help="YAML config (see docs/training.md).")
DataOption = typer.Option(None, "--data", "-d", help="Training file (overrides the config).")
ModelOption = typer.Option(
    None, "--model", "-m", help="Model to train (default, hf:PATH, registry:NAME@REF)."
)
OutputDirOption = typer.Option(None, "--output-dir", "-o", help="Checkpoints and the result.")
RegisterOption = typer.Option(None, "--register", help="Register the result under this name.")
EvalSuiteOption = typer.Option(None, "--eval-suite", help="quick | quick-ko | TASK,TASK: base vs trained.")

PARAMETERS = [
    keyword("overrides", list[str], OverridesArg),
    keyword("config", Path | None, ConfigOption),
    keyword("data", str | None, DataOption),
    keyword("model", str | None, ModelOption),
    keyword("output_dir", str | None, OutputDirOption),
    keyword("register", str | None, RegisterOption),
    keyword("eval_suite", str | None, EvalSuiteOption),
    keyword("no_track", bool, NoTrackOption),
    keyword("as_json", bool, JsonOption),
]


def add_training_command(  # noqa: PLR0913 - what distinguishes the algorithms
    name: str,
    config_class: str,
    run: Callable[[Any], Any],
    doc: str,
    epilog: str,
    extra: list[inspect.Parameter] = (),  # type: ignore[assignment]
) -> Callable[..., None]:
    """Add `sllm train NAME`: PARAMETERS (and `extra`, after the overrides), a config of
    `config_class` ("module:Class", imported when the command runs), trained by `run(settings)`."""

    def train(  # noqa: PLR0913 - PARAMETERS
        overrides: list[str] | None,
        config: Path | None,
        data: str | None,
        model: str | None,
        output_dir: str | None,
        register: str | None,
        eval_suite: str | None,
        no_track: bool,
        as_json: bool,
        teacher: str | None = None,
    ) -> None:
        from importlib import import_module

        from sllm.train.checks import checked_config

        values = parse_key_values(
            [*(overrides or []), *([f"teacher={teacher}"] if teacher else [])], "overrides"
        )
        flags = {"data": data, "model": model, "output_dir": output_dir, "register_as": register,
                 "eval_suite": eval_suite}  # fmt: skip
        values |= {k: v for k, v in flags.items() if v is not None}
        if no_track:
            values["track"] = False
        module, _, cls = config_class.partition(":")
        settings = checked_config(getattr(import_module(module), cls), config, values)
        with _progress_to_stderr():
            result = run(settings)
        _report(name, settings, result, as_json)

    parameters = [PARAMETERS[0], *extra, *PARAMETERS[1:]]
    return train_app.command(name, epilog=epilog)(command_function(train, parameters, doc))


def _progress_to_stderr():  # noqa: ANN202
    """transformers prints each step's log dict on stdout: keep stdout for the result."""
    import contextlib
    import sys

    return contextlib.redirect_stdout(sys.stderr)


def _report(kind: str, settings: Any, result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.report()))
        return
    table = Table(title=f"{kind}: {settings.method} on {settings.data}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.metrics.items():
        if not key.startswith("suite/"):
            table.add_row(key, cell(value, ".4f"))
    console = Console()
    console.print(table)
    console.print(
        f"saved -> {result.folder}" + (f"; registered {result.registered}" if result.registered else "")
    )


PAIRS = (
    "Pairs: JSONL / JSON / CSV / Parquet rows with `prompt` (or `instruction` + `input`), "
    "`chosen` and `rejected` (strings, or message lists)."
)
