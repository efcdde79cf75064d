"""Supervised fine-tuning on TRL's SFTTrainer: LoRA / QLoRA / full, the loss on assistant tokens
by default (TRL's `assistant_only_loss` with a template marked for it), packing on or off, the
held-out loss and perplexity of the base model before training and of the result after."""

from __future__ import annotations

import math
from typing import Any

from sllm.models.folders import model_folder
from sllm.train.common import (
    conversations,
    load_model_and_tokenizer,
    load_split,
    peft_config,
    training_arguments,
)
from sllm.train.config import SFTRunConfig
from sllm.train.recording import TrainResult


def prepare(config: SFTRunConfig) -> tuple[Any, Any, list[int]]:
    """Model and tokenizer, with a named template applied and the loss-mask template in place."""
    from sllm.train.templates import apply_named_template, training_template

    model, tokenizer = load_model_and_tokenizer(config, model_folder(config.model))
    new_tokens: list[int] = []
    if config.template:
        new_tokens = apply_named_template(config.template, tokenizer, model)
    if config.loss_on == "assistant":
        tokenizer.chat_template = training_template(tokenizer)
    return model, tokenizer, new_tokens


def sft_trainer(config: SFTRunConfig, callbacks: list | None = None) -> tuple[Any, Any]:
    """The configured SFTTrainer and the data split it trains on."""
    from trl import SFTConfig, SFTTrainer

    split = load_split(config)
    model, tokenizer, new_tokens = prepare(config)
    args = SFTConfig(
        **training_arguments(config, bool(split.eval)),
        max_length=config.max_length,
        packing=config.packing,
        assistant_only_loss=config.loss_on == "assistant",
        eos_token=tokenizer.eos_token,
        dataset_num_proc=None,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=conversations(split.train),
        eval_dataset=conversations(split.eval) if split.eval else None,
        processing_class=tokenizer,
        peft_config=peft_config(config, new_tokens=new_tokens),
        callbacks=callbacks,
    )
    head = trainer.model.get_output_embeddings()
    if new_tokens and not hasattr(head, "bias"):
        # TRL's fused LM head reads `lm_head.bias`, which PEFT's TrainableTokensWrapper (new tokens on
        # tied embeddings) does not forward; a plain Embedding-backed head has no bias.
        head.bias = None
    lost = answerless_rows(trainer.train_dataset, len(split.train))
    if lost:
        import warnings

        warnings.warn(
            f"{lost} of {len(split.train)} training rows have no answer tokens within max_length="
            f"{config.max_length} and train on nothing; raise max_length or shorten those prompts",
            stacklevel=2,
        )
    return trainer, split


def answerless_rows(dataset: Any, n_rows: int) -> int:
    """Rows whose answer starts past max_length: TRL drops them unpacked, keeps them masked packed."""
    if "seq_lengths" not in dataset.column_names:
        return n_rows - len(dataset)
    lost = 0
    for row in dataset:
        start = 0
        for length in row["seq_lengths"]:
            lost += all(label == -100 for label in row["labels"][start : start + length])
            start += length
    return lost


def run_sft(config: SFTRunConfig, callbacks: list | None = None) -> TrainResult:
    """Train, evaluate before and after on the held-out split, save, track and register."""
    from sllm.train.recording import train_and_record

    trainer, split = sft_trainer(config, callbacks)
    return train_and_record("sft", trainer, split, config, held_out)


def held_out(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Held-out loss and perplexity of the base model and of the trained one."""
    if not before:
        return {}
    base, trained = before["base_loss"], after["eval_loss"]
    return {
        "base_eval_loss": base,
        "eval_loss": trained,
        "base_perplexity": math.exp(min(base, 50)),
        "perplexity": math.exp(min(trained, 50)),
    }
