"""DPO and reward-model training on TRL's DPOTrainer and RewardTrainer, over preference pairs."""

from __future__ import annotations

from typing import Any

from sllm.models.folders import model_folder
from sllm.train.common import (
    load_model_and_tokenizer,
    load_split,
    peft_config,
    training_arguments,
)
from sllm.train.config import DPORunConfig, RewardRunConfig
from sllm.train.preferences import load_pairs, pairs_dataset
from sllm.train.recording import TrainResult, train_and_record


def dpo_trainer(config: DPORunConfig, callbacks: list | None = None) -> tuple[Any, Any]:
    """The configured DPOTrainer (reference: the base with adapters disabled under LoRA)."""
    from trl import DPOConfig, DPOTrainer

    split = load_split(config, load_pairs)
    model, tokenizer = load_model_and_tokenizer(config, model_folder(config.model))
    args = DPOConfig(
        **training_arguments(config, bool(split.eval)),
        beta=config.beta,
        loss_type=[config.loss_type],
        max_length=config.max_length,
        precompute_ref_log_probs=config.precompute_ref_log_probs,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=None,
        args=args,
        train_dataset=pairs_dataset(split.train),
        eval_dataset=pairs_dataset(split.eval) if split.eval else None,
        processing_class=tokenizer,
        peft_config=peft_config(config),
        callbacks=callbacks,
    )
    return trainer, split


def reward_trainer(config: RewardRunConfig, callbacks: list | None = None) -> tuple[Any, Any]:
    """The configured RewardTrainer on a one-logit sequence classifier."""
    from trl import RewardConfig, RewardTrainer

    split = load_split(config, load_pairs)
    model, tokenizer = load_model_and_tokenizer(
        config, model_folder(config.model), sequence_classification=True
    )
    args = RewardConfig(**training_arguments(config, bool(split.eval)), max_length=config.max_length)
    lora = peft_config(config, task_type="SEQ_CLS")
    if lora is not None:
        lora.modules_to_save = ["score"]  # the new head is trained in full
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=pairs_dataset(split.train),
        eval_dataset=pairs_dataset(split.eval) if split.eval else None,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=callbacks,
    )
    return trainer, split


def run_preference(
    kind: str, config: DPORunConfig | RewardRunConfig, callbacks: list | None = None
) -> TrainResult:
    """Train DPO or a reward model; held-out metrics before and after; save, track, register."""
    if kind == "reward" and config.eval_suite:
        from sllm.errors import UsageError

        raise UsageError("eval_suite is for generative models; a reward model reports its held-out accuracy")
    build = dpo_trainer if kind == "dpo" else reward_trainer
    trainer, split = build(config, callbacks)  # type: ignore[arg-type]
    return train_and_record(kind, trainer, split, config, _held_out)


def _held_out(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in {**before, **after}.items() if _held_out_metric(k)}


def _held_out_metric(key: str) -> bool:
    return key.endswith(("_loss", "accuracy", "rewards/margins", "rewards/accuracies"))
