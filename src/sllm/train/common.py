"""What every trainer run needs: the model folder behind a spec, model and tokenizer on the right
device and dtype, the PEFT config, data as a `datasets.Dataset`, and TrainingArguments fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sllm import smoke
from sllm.data.examples import Example
from sllm.errors import SllmError
from sllm.train.config import TrainConfig


def cuda() -> bool:
    """Whether a CUDA device is usable."""
    import torch

    return torch.cuda.is_available()


def check_method(config: TrainConfig) -> None:
    """QLoRA needs CUDA and bitsandbytes: say so before loading anything."""
    if config.method != "qlora":
        return
    if not cuda():
        raise SllmError("method qlora needs a CUDA GPU (4-bit NF4 through bitsandbytes); use lora on CPU")
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise SllmError("method qlora needs bitsandbytes: pip install -e '.[qlora]'")


def load_model_and_tokenizer(config: TrainConfig, folder: Path, sequence_classification: bool = False) -> Any:
    """fp32 on CPU, bf16 on CUDA; QLoRA loads 4-bit NF4 with double quantisation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    check_method(config)
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda() else torch.float32}
    if config.method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if sequence_classification:
        model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, **kwargs)
        model.config.pad_token_id = tokenizer.pad_token_id
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    return model, tokenizer


def peft_config(
    config: TrainConfig, task_type: str = "CAUSAL_LM", new_tokens: list[int] | None = None
) -> Any:
    """PEFT LoRA settings, or None for full fine-tuning; new special tokens get trainable rows."""
    if config.method == "full":
        return None
    from peft import LoraConfig

    extra: dict[str, Any] = {"trainable_token_indices": {"embed_tokens": new_tokens}} if new_tokens else {}
    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type=task_type,
        **extra,
    )


def training_arguments(config: TrainConfig, has_eval: bool) -> dict[str, Any]:
    """TrainingArguments fields common to TRL's configs (fp32 on CPU: TRL defaults to bf16)."""
    on_gpu = cuda()
    return {
        "output_dir": config.output_dir,
        "num_train_epochs": config.epochs,
        "max_steps": smoke.cap(config.max_steps, smoke.STEPS),  # SLLM_SMOKE: 2 steps
        "learning_rate": config.lr(),
        "per_device_train_batch_size": smoke.cap(config.batch_size, smoke.BATCH),  # SLLM_SMOKE: 1 row
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "activation_checkpointing": config.gradient_checkpointing,
        "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": config.warmup_ratio,  # transformers 5: a float < 1 is a ratio
        "weight_decay": config.weight_decay,
        "seed": config.seed,
        "data_seed": config.seed,
        "logging_steps": config.logging_steps,
        "eval_strategy": ("steps" if config.eval_steps else "no") if has_eval else "no",
        "eval_steps": config.eval_steps,
        "save_strategy": "steps" if config.save_steps else "no",
        "save_steps": config.save_steps or 500,
        "save_total_limit": config.save_total_limit,
        "bf16": on_gpu,
        "fp16": False,
        "use_cpu": not on_gpu,
        "optim": "paged_adamw_8bit" if config.method == "qlora" else "adamw_torch",
        "report_to": "none",
        "disable_tqdm": False,
        "dataloader_num_workers": 0,
    }


@dataclass
class DataSplit:
    """Training and held-out examples, where they came from."""

    train: list[Example]
    eval: list[Example]
    train_path: Path
    eval_path: Path | None


def load_split(config: TrainConfig, reader: Callable[[str], list[Example]] | None = None) -> DataSplit:
    """The training file, and the eval file or a seeded held-out share of the training file."""
    from sllm.data.formats import load_examples

    read = reader or (lambda path: load_examples(path)[0])
    train = read(config.data)
    if config.eval_data:
        held = read(config.eval_data)
        return DataSplit(train, held, Path(config.data), Path(config.eval_data))
    if config.eval_fraction <= 0 or len(train) < 10:
        return DataSplit(train, [], Path(config.data), None)
    from sllm.data.split import split_examples

    fractions = {"train": 1 - config.eval_fraction, "test": config.eval_fraction}
    parts, _ = split_examples(train, fractions, config.seed)
    return DataSplit(parts["train"], parts["test"], Path(config.data), None)


def conversations(examples: list[Example]) -> Any:
    """A conversational `datasets.Dataset` (one `messages` list per row)."""
    from datasets import Dataset

    return Dataset.from_list([{"messages": e.messages} for e in examples])


def has_checkpoint(folder: str | Path) -> bool:
    """Whether a run's output folder holds a checkpoint to resume from."""
    path = Path(folder)
    return path.is_dir() and any(p.name.startswith("checkpoint-") for p in path.iterdir())
