"""Training configs (one per algorithm, as TRL pairs a config with each trainer), read from YAML
with `KEY=VALUE` overrides; fields map onto TRL's configs in `arguments.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sllm.config_errors import read_config_file, validation_message
from sllm.errors import SllmError


class LoraSettings(BaseModel):
    """LoRA adapter settings (PEFT's LoraConfig)."""

    model_config = ConfigDict(extra="forbid")

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


class TrainConfig(BaseModel):
    """What every training run shares: model, data, method, optimisation, outputs, tracking."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("default", description="model spec of the model to train (default, hf:PATH)")
    data: str = Field(..., description="training file, any format sllm reads")
    eval_data: str | None = Field(None, description="held-out file; default: eval_fraction of data")
    eval_fraction: float = Field(0.1, ge=0, lt=1)
    method: Literal["lora", "qlora", "full"] = "lora"
    lora: LoraSettings = Field(default_factory=LoraSettings)
    max_length: int = 1024
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float | None = Field(None, description="default 2e-4 for LoRA, 2e-5 for full")
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = False
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    seed: int = 0
    logging_steps: int = 1
    eval_steps: int | None = Field(None, description="evaluate every N steps (default: at the end)")
    save_steps: int | None = Field(None, description="checkpoint every N steps (default: at the end)")
    save_total_limit: int | None = 2
    output_dir: str = "runs/train"
    resume: bool = Field(False, description="continue from the last checkpoint in output_dir")
    register_as: str | None = Field(None, description="register the result under this model name")
    data_license: str | None = Field(None, description="licence of the data, for the model card")
    eval_suite: str | None = Field(None, description="quick | quick-ko | task,task: base vs trained")
    eval_limit: int | None = Field(50, description="documents per task in the eval suite")
    track: bool = True

    def lr(self) -> float:
        """The learning rate, defaulted by method."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-5 if self.method == "full" else 2e-4


class SFTRunConfig(TrainConfig):
    """Supervised fine-tuning (TRL SFTTrainer)."""

    template: str | None = Field(None, description="chat template for a base model: chatml")
    loss_on: Literal["assistant", "all"] = "assistant"
    packing: bool = False


def load_config(cls: type[BaseModel], path: str | Path | None, overrides: dict[str, Any]) -> Any:
    """A config from YAML (optional) with overrides; dotted keys set nested fields (lora.r=16)."""
    values = read_config_file(path) if path is not None else {}
    for key, value in overrides.items():
        target = values
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    try:
        return cls(**values)
    except ValidationError as exc:
        raise SllmError(validation_message(exc, source=path)) from None


class DPORunConfig(TrainConfig):
    """Direct preference optimisation (TRL DPOTrainer, sigmoid loss). With LoRA the reference is
    the base model with the adapter switched off, so no second copy is loaded."""

    beta: float = 0.1
    loss_type: str = "sigmoid"
    precompute_ref_log_probs: bool = False
    learning_rate: float | None = Field(None, description="default 5e-5 for LoRA, 5e-7 for full")

    def lr(self) -> float:
        """DPO's smaller defaults."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-7 if self.method == "full" else 5e-5


class RewardRunConfig(TrainConfig):
    """A pairwise (Bradley-Terry) reward model: a one-logit sequence classifier (TRL RewardTrainer)."""

    learning_rate: float | None = Field(None, description="default 1e-4 for LoRA, 1e-5 for full")

    def lr(self) -> float:
        """Reward-model defaults."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-5 if self.method == "full" else 1e-4
