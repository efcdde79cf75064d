"""Knowledge distillation into a student.

logits: the student is trained on the data's assistant tokens with
    loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy,
where both distributions are softened by temperature T (Hinton et al., 2015). Teacher and student
must share a tokenizer: the KL compares distributions over the same vocabulary positions.
TRL's own DistillationTrainer distils on the student's generated completions (on-policy, a JSD
without the cross-entropy term); this offline, mixed loss is a small `compute_loss` on SFTTrainer,
so everything else (masking, packing, checkpoints) stays TRL's.

sequence: the teacher writes the answers to the data's prompts through sllm generation (cached,
any model spec, greedy by default), then the student is fine-tuned on them with SFT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from sllm.errors import SllmError
from sllm.train.config import SFTRunConfig


class DistillRunConfig(SFTRunConfig):
    """Distillation: the SFT settings plus the teacher and how to learn from it."""

    teacher: str = Field(..., description="model spec of the teacher")
    mode: Literal["logits", "sequence"] = "logits"
    temperature: float = Field(2.0, gt=0)
    alpha: float = Field(0.5, ge=0, le=1, description="weight of the KL term (1 - alpha: cross-entropy)")
    teacher_max_new_tokens: int = Field(256, description="sequence mode: length cap of teacher answers")


def same_tokenizer(student: Any, teacher: Any) -> None:
    """Raise, saying why, unless the two tokenizers map the same tokens to the same ids."""
    a, b = student.get_vocab(), teacher.get_vocab()
    if a == b:
        return
    only_a, only_b = len(a.keys() - b.keys()), len(b.keys() - a.keys())
    moved = sum(1 for t in a.keys() & b.keys() if a[t] != b[t])
    raise SllmError(
        f"logit distillation needs one tokenizer: student {len(a)} tokens, teacher {len(b)} "
        f"({only_a} only in the student, {only_b} only in the teacher, {moved} with other ids); "
        "use mode=sequence (the teacher writes answers, the student learns them as text)"
    )


def kd_loss(student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float) -> Any:
    """alpha * T^2 * KL(teacher || student) at temperature T + (1 - alpha) * CE, on labelled tokens."""
    import torch.nn.functional as F

    logits, target = student_logits[:, :-1], labels[:, 1:]
    teach = teacher_logits[:, :-1]
    mask = target != -100
    ce = F.cross_entropy(logits[mask], target[mask])
    log_s = F.log_softmax(logits[mask] / temperature, dim=-1)
    log_t = F.log_softmax(teach[mask] / temperature, dim=-1)
    kl = F.kl_div(log_s, log_t, log_target=True, reduction="batchmean") * temperature**2
    return alpha * kl + (1 - alpha) * ce, kl, ce


def distill_trainer(config: DistillRunConfig, callbacks: list | None = None) -> tuple[Any, Any]:
    """An SFTTrainer whose loss mixes the teacher's softened distribution with cross-entropy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sllm.models.folders import model_folder
    from sllm.train.sft import sft_trainer

    trainer, split = sft_trainer(config, callbacks)
    folder = model_folder(config.teacher)
    same_tokenizer(trainer.processing_class, AutoTokenizer.from_pretrained(folder))
    dtype = next(trainer.model.parameters()).dtype
    teacher = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(trainer.args.device).eval()
    base_compute = trainer.compute_loss

    def compute_loss(model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001, ANN202
        if not model.training:  # held-out loss stays the plain cross-entropy, comparable to SFT's
            return base_compute(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs["labels"]
        forward = {k: v for k, v in inputs.items() if k not in ("labels", "num_items_in_batch")}
        outputs = model(**forward, use_cache=False)
        with torch.no_grad():
            teacher_logits = teacher(**forward, use_cache=False).logits
        loss, kl, ce = kd_loss(outputs.logits, teacher_logits, labels, config.temperature, config.alpha)
        # SFTTrainer averages what is in `_metrics` into each logged step
        trainer._metrics["train"]["kd_kl"].append(kl.item())
        trainer._metrics["train"]["kd_ce"].append(ce.item())
        return (loss, outputs) if return_outputs else loss

    trainer.compute_loss = compute_loss
    return trainer, split


def teacher_answers(config: DistillRunConfig, out: Path) -> Path:
    """Sequence mode: the data with every last assistant turn rewritten by the teacher."""
    from dataclasses import replace

    from sllm.data.formats import load_examples, write_examples
    from sllm.generation.config import make_config
    from sllm.models.base import GenerationRequest
    from sllm.models.spec import open_model

    examples, _ = load_examples(config.data)
    lm = open_model(config.teacher)
    settings = make_config(max_new_tokens=config.teacher_max_new_tokens)
    requests = [GenerationRequest.chat(e.messages[:-1], settings) for e in examples]
    replies = lm.generate(requests, progress=True)
    rewritten = [
        replace(e, messages=[*e.messages[:-1], {"role": "assistant", "content": r.text.strip()}],
                meta={**e.meta, "teacher": lm.spec})  # redacted: the data never holds a key
        for e, r in zip(examples, replies, strict=True)
    ]  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    write_examples(rewritten, out, "messages")
    return out


def run_distill(config: DistillRunConfig, callbacks: list | None = None) -> Any:
    """Distil by logits, or by sequences (teacher answers, then SFT)."""
    from sllm.train.recording import train_and_record
    from sllm.train.sft import held_out, run_sft

    if config.mode == "sequence":
        data = teacher_answers(config, Path(config.output_dir) / "teacher_answers.jsonl")
        settings = config.model_dump(include=set(SFTRunConfig.model_fields)) | {"data": str(data)}
        return run_sft(SFTRunConfig(**settings), callbacks)
    trainer, split = distill_trainer(config, callbacks)
    return train_and_record("distill", trainer, split, config, held_out)
