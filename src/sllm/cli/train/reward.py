"""`sllm train reward`: a pairwise (Bradley-Terry) reward model on chosen / rejected pairs."""

from __future__ import annotations

from typing import Any

from sllm.cli.train import PAIRS, add_training_command

NOTE = (
    "The reward model is a one-logit classifier trained on the pairwise (Bradley-Terry) loss; its "
    "held-out accuracy is the share of pairs where chosen scores above rejected. Other settings "
    "as `sllm train sft --help`."
)

EXAMPLES = f"""
[bold]Examples[/bold]

  sllm train reward --data pairs.jsonl max_steps=200 --register ko-rm
  sllm train reward --data pairs.jsonl --model hf:./my-sft-model learning_rate=1e-5

{PAIRS} {NOTE}
"""


def _run(settings: Any) -> Any:
    from sllm.train.preference_training import run_preference

    return run_preference("reward", settings)


train_reward = add_training_command(
    "reward",
    "sllm.train.config:RewardRunConfig",
    _run,
    "A pairwise reward model on chosen / rejected pairs.",
    EXAMPLES,
)
