"""`sllm train dpo`: direct preference optimisation on chosen / rejected pairs."""

from __future__ import annotations

from typing import Any

from sllm.cli.train import PAIRS, add_training_command

NOTE = (
    "DPO uses the sigmoid loss with beta (0.1); under LoRA the reference model is the base with "
    "the adapter switched off. Other settings as `sllm train sft --help`."
)

EXAMPLES = f"""
[bold]Examples[/bold]

  sllm train dpo --data pairs.jsonl beta=0.1 max_steps=200
  sllm train dpo --data pairs.jsonl --model registry:ko-chat@latest precompute_ref_log_probs=true

{PAIRS} {NOTE}
"""


def _run(settings: Any) -> Any:
    from sllm.train.preference_training import run_preference

    return run_preference("dpo", settings)


train_dpo = add_training_command(
    "dpo",
    "sllm.train.config:DPORunConfig",
    _run,
    "Direct preference optimisation on chosen / rejected pairs.",
    EXAMPLES,
)
