"""`sllm train distill`: distil a teacher into the student, by logits or by teacher-written answers."""

from __future__ import annotations

from typing import Any

import typer

from sllm.cli.options import keyword
from sllm.cli.train import add_training_command

EXAMPLES = """
[bold]Examples[/bold]

  sllm train distill --data train.jsonl --teacher hf:./big-model temperature=2 alpha=0.5
  sllm train distill --data train.jsonl --teacher openai:qwen2.5:7b@http://127.0.0.1:11434/v1 mode=sequence

mode=logits (default): loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy
on the assistant tokens; the teacher and student must share a tokenizer (the command says how
they differ when they do not). mode=sequence: the teacher (any model spec, through the call
cache) writes the answers to the data's prompts, then the student is fine-tuned on them. Other
settings as `sllm train sft --help`.
"""


def _run(settings: Any) -> Any:
    from sllm.train.distill import run_distill

    return run_distill(settings)


TeacherOption = typer.Option(None, "--teacher", "-t", help="Model spec of the teacher.")

train_distill = add_training_command(
    "distill",
    "sllm.train.distill:DistillRunConfig",
    _run,
    "Distil a teacher into the student: by logits (KL + CE) or by teacher-written answers.",
    EXAMPLES,
    extra=[keyword("teacher", str | None, TeacherOption)],
)
