"""`sllm train sft`: fine-tuning from a YAML config with KEY=VALUE overrides."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

train_app = typer.Typer(help="Fine-tune on TRL and PEFT: sft, dpo, reward, distill.", no_args_is_help=True)
app.add_typer(train_app, name="train")

SFT_EXAMPLES = """
[bold]Examples[/bold]

  sllm train sft --config sft.yaml
  sllm train sft --data train.jsonl max_steps=50 lora.r=16 learning_rate=1e-4
  sllm train sft --data train.jsonl --model hf:./base-model template=chatml method=full
  sllm train sft --config sft.yaml --register ko-chat            # then: --model registry:ko-chat@latest
  sllm train sft --data train.jsonl --eval-suite quick          # hellaswag + arc_easy, base vs trained

Any config value can follow as KEY=VALUE (dotted for nested: lora.alpha=32). Defaults: LoRA r=8,
alpha 16, dropout 0.05 on all linear layers; the loss on assistant tokens only (loss_on=all for
every token); 10% of the data held out (eval_data=FILE to pass your own), evaluated before and
after training (loss and perplexity); fp32 on CPU, bf16 on CUDA; method=qlora (4-bit NF4, double
quantisation, paged AdamW) needs CUDA and bitsandbytes. resume=true continues from the last
checkpoint in output_dir (save_steps=N writes them). Every run is an MLflow run with the config,
the data digests, the loss per step and the adapter.
"""


ConfigOption = typer.Option(None, "--config", "-c", help="YAML config (see docs/training.md).")
DataOption = typer.Option(None, "--data", "-d", help="Training file (overrides the config).")
ModelOpt = typer.Option(None, "--model", "-m", help="Model to train (default, hf:PATH, registry:NAME@REF).")
OutputDirOption = typer.Option(None, "--output-dir", "-o", help="Checkpoints and the result.")
RegisterOption = typer.Option(None, "--register", help="Register the result under this name.")
EvalSuiteOption = typer.Option(None, "--eval-suite", help="quick | quick-ko | TASK,TASK: base vs trained.")
NoTrackOpt = typer.Option(False, "--no-track", help="Do not record an MLflow run.")
OverridesArg = typer.Argument(None, help="KEY=VALUE settings over the config file.")


@train_app.command("sft", epilog=SFT_EXAMPLES)
def train_sft(  # noqa: PLR0913 - the shared training options
    overrides: list[str] = OverridesArg,
    config: Path | None = ConfigOption,
    data: str | None = DataOption,
    model: str | None = ModelOpt,
    output_dir: str | None = OutputDirOption,
    register: str | None = RegisterOption,
    eval_suite: str | None = EvalSuiteOption,
    no_track: bool = NoTrackOpt,
    as_json: bool = JsonOption,
) -> None:
    """Supervised fine-tuning with LoRA, QLoRA or all weights."""
    from sllm.train.config import SFTRunConfig
    from sllm.train.sft import run_sft

    settings = _settings(
        SFTRunConfig, overrides, config, data, model, output_dir, register, eval_suite, no_track
    )
    with _progress_to_stderr():
        result = run_sft(settings)
    _report("sft", settings, result, as_json)


_PAIRS = (
    "Pairs: JSONL / JSON / CSV / Parquet rows with `prompt` (or `instruction` + `input`), "
    "`chosen` and `rejected` (strings, or message lists)."
)

_DPO_NOTE = (
    "DPO uses the sigmoid loss with beta (0.1); under LoRA the reference model is the base with "
    "the adapter switched off. Other settings as `sllm train sft --help`."
)
_REWARD_NOTE = (
    "The reward model is a one-logit classifier trained on the pairwise (Bradley-Terry) loss; its "
    "held-out accuracy is the share of pairs where chosen scores above rejected. Other settings "
    "as `sllm train sft --help`."
)

DPO_EXAMPLES = f"""
[bold]Examples[/bold]

  sllm train dpo --data pairs.jsonl beta=0.1 max_steps=200
  sllm train dpo --data pairs.jsonl --model registry:ko-chat@latest precompute_ref_log_probs=true

{_PAIRS} {_DPO_NOTE}
"""

REWARD_EXAMPLES = f"""
[bold]Examples[/bold]

  sllm train reward --data pairs.jsonl max_steps=200 --register ko-rm
  sllm train reward --data pairs.jsonl --model hf:./my-sft-model learning_rate=1e-5

{_PAIRS} {_REWARD_NOTE}
"""


@train_app.command("dpo", epilog=DPO_EXAMPLES)
def train_dpo(  # noqa: PLR0913 - the shared training options
    overrides: list[str] = OverridesArg,
    config: Path | None = ConfigOption,
    data: str | None = DataOption,
    model: str | None = ModelOpt,
    output_dir: str | None = OutputDirOption,
    register: str | None = RegisterOption,
    eval_suite: str | None = EvalSuiteOption,
    no_track: bool = NoTrackOpt,
    as_json: bool = JsonOption,
) -> None:
    """Direct preference optimisation on chosen / rejected pairs."""
    from sllm.train.config import DPORunConfig
    from sllm.train.preference_training import run_preference

    settings = _settings(
        DPORunConfig, overrides, config, data, model, output_dir, register, eval_suite, no_track
    )
    with _progress_to_stderr():
        result = run_preference("dpo", settings)
    _report("dpo", settings, result, as_json)


@train_app.command("reward", epilog=REWARD_EXAMPLES)
def train_reward(  # noqa: PLR0913 - the shared training options
    overrides: list[str] = OverridesArg,
    config: Path | None = ConfigOption,
    data: str | None = DataOption,
    model: str | None = ModelOpt,
    output_dir: str | None = OutputDirOption,
    register: str | None = RegisterOption,
    eval_suite: str | None = EvalSuiteOption,
    no_track: bool = NoTrackOpt,
    as_json: bool = JsonOption,
) -> None:
    """A pairwise reward model on chosen / rejected pairs."""
    from sllm.train.config import RewardRunConfig
    from sllm.train.preference_training import run_preference

    settings = _settings(
        RewardRunConfig, overrides, config, data, model, output_dir, register, eval_suite, no_track
    )
    with _progress_to_stderr():
        result = run_preference("reward", settings)
    _report("reward", settings, result, as_json)


DISTILL_EXAMPLES = """
[bold]Examples[/bold]

  sllm train distill --data train.jsonl --teacher hf:./big-model temperature=2 alpha=0.5
  sllm train distill --data train.jsonl --teacher openai:qwen2.5:7b@http://127.0.0.1:11434/v1 mode=sequence

mode=logits (default): loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy
on the assistant tokens; the teacher and student must share a tokenizer (the command says how
they differ when they do not). mode=sequence: the teacher (any model spec, through the call
cache) writes the answers to the data's prompts, then the student is fine-tuned on them. Other
settings as `sllm train sft --help`.
"""


@train_app.command("distill", epilog=DISTILL_EXAMPLES)
def train_distill(  # noqa: PLR0913 - the shared training options
    overrides: list[str] = OverridesArg,
    teacher: str | None = typer.Option(None, "--teacher", "-t", help="Model spec of the teacher."),
    config: Path | None = ConfigOption,
    data: str | None = DataOption,
    model: str | None = ModelOpt,
    output_dir: str | None = OutputDirOption,
    register: str | None = RegisterOption,
    eval_suite: str | None = EvalSuiteOption,
    no_track: bool = NoTrackOpt,
    as_json: bool = JsonOption,
) -> None:
    """Distil a teacher into the student: by logits (KL + CE) or by teacher-written answers."""
    from sllm.train.distill import DistillRunConfig, run_distill

    extra = [f"teacher={teacher}"] if teacher else []
    settings = _settings(
        DistillRunConfig,
        [*(overrides or []), *extra],
        config,
        data,
        model,
        output_dir,
        register,
        eval_suite,
        no_track,
    )
    with _progress_to_stderr():
        result = run_distill(settings)
    _report("distill", settings, result, as_json)


def _progress_to_stderr():  # noqa: ANN202
    """transformers prints each step's log dict on stdout: keep stdout for the result."""
    import contextlib
    import sys

    return contextlib.redirect_stdout(sys.stderr)


def _settings(  # noqa: PLR0913 - the shared training options
    cls: type,
    overrides: list[str] | None,
    config: Path | None,
    data: str | None,
    model: str | None,
    output_dir: str | None,
    register: str | None,
    eval_suite: str | None,
    no_track: bool,
):  # noqa: ANN202
    from sllm.cli import preflight
    from sllm.cli.options import parse_key_values
    from sllm.train.config import load_config

    values = parse_key_values(overrides or [], "overrides")
    flags = {"data": data, "model": model, "output_dir": output_dir, "register_as": register,
             "eval_suite": eval_suite}  # fmt: skip
    values |= {k: v for k, v in flags.items() if v is not None}
    if no_track:
        values["track"] = False
    settings = load_config(cls, config, values)
    preflight.training(settings)  # before the model loads, not after training
    return settings


def _report(kind: str, settings, result, as_json: bool) -> None:  # noqa: ANN001
    report = {
        "folder": str(result.folder),
        "kind": result.kind,
        "metrics": result.metrics,
        "run_id": result.run_id,
        "registered": result.registered,
        "history": result.history,  # every logged step: the loss curve for scripts
    }
    if as_json:
        print(json.dumps(report))
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


EXPORT_EXAMPLES = """
[bold]Examples[/bold]

  sllm export runs/train/final -o exported/
  sllm export registry:ko-chat@latest -o exported/ --gguf

Merges a LoRA adapter into its base model (a full fine-tune is copied), saves safetensors, the
tokenizer and its chat template, and writes README.md: base model, data and their digests,
licences (a warning when one forbids commercial use or is unknown), training config and
metrics. --gguf also converts with llama.cpp's convert_hf_to_gguf.py (on PATH or in
$LLAMA_CPP_DIR).
"""


@app.command("export", epilog=EXPORT_EXAMPLES)
def export_model(
    source: str = typer.Argument(..., help="A training run's final folder, or registry:NAME@REF."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the merged model to."),
    gguf: bool = typer.Option(False, "--gguf", help="Also write a GGUF file (needs llama.cpp)."),
    as_json: bool = JsonOption,
) -> None:
    """Merge an adapter and save a servable model with its model card."""
    from sllm.train.export import export

    result = export(source, output, gguf)
    report = {"folder": str(result.folder), "gguf": str(result.gguf) if result.gguf else None,
              "warnings": result.warnings}  # fmt: skip
    if as_json:
        print(json.dumps(report))
        return
    for warning in result.warnings:
        Console(stderr=True).print(f"[yellow]warning:[/yellow] {warning}")
    Console().print(f"exported -> {result.folder}" + (f" and {result.gguf}" if result.gguf else ""))
