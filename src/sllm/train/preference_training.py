"""DPO and reward-model training on TRL's DPOTrainer and RewardTrainer, over preference pairs."""

from __future__ import annotations

from typing import Any

from sllm.train.common import (
    has_checkpoint,
    load_model_and_tokenizer,
    load_split,
    model_folder,
    peft_config,
    training_arguments,
)
from sllm.train.config import DPORunConfig, RewardRunConfig
from sllm.train.outputs import TrainResult, finish_run, tracked_training
from sllm.train.preferences import load_pairs, pairs_dataset


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
    with tracked_training(kind, config, split) as tracker:
        trainer.add_callback(tracker.callback())
        before = _evaluate(trainer, tracker, "base") if split.eval else {}
        trainer.train(
            resume_from_checkpoint=True if config.resume and has_checkpoint(config.output_dir) else None
        )
        after = _evaluate(trainer, tracker, "eval") if split.eval else {}
        metrics = {k: float(v) for k, v in {**before, **after}.items() if _held_out_metric(k)}
        return finish_run(trainer, config, split, metrics, tracker)


def _evaluate(trainer: Any, tracker: Any, prefix: str) -> dict[str, float]:
    """Held-out metrics: TRL logs DPO's rewards and the reward model's accuracy as `eval_*`
    whatever the prefix, so they are read from what was logged during this evaluation."""
    start = len(tracker.history)
    found = dict(trainer.evaluate(metric_key_prefix=prefix))
    for entry in tracker.history[start:]:
        found |= {prefix + k.removeprefix("eval"): v for k, v in entry.items() if k.startswith("eval_")}
    return found


def _held_out_metric(key: str) -> bool:
    return key.endswith(("_loss", "accuracy", "rewards/margins", "rewards/accuracies"))
