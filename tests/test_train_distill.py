"""Distillation: the mixed KD loss by hand, a clear error for different tokenizers, and both
modes end to end on the default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

DATA = FIXTURES / "sft" / "seed_alpaca.jsonl"


def test_kd_loss_matches_the_formula() -> None:
    import torch

    from sllm.train.distill import kd_loss

    torch.manual_seed(0)
    student, teacher = torch.randn(1, 4, 5), torch.randn(1, 4, 5)
    labels = torch.tensor([[-100, -100, 2, 4]])  # positions 1 and 2 predict tokens 2 and 4
    loss, kl, ce = kd_loss(student, teacher, labels, temperature=2.0, alpha=0.3)
    s, t = student[0, 1:3], teacher[0, 1:3]
    p_t = torch.softmax(t / 2, -1)
    manual_kl = (p_t * (torch.log_softmax(t / 2, -1) - torch.log_softmax(s / 2, -1))).sum(-1).mean() * 4
    manual_ce = -(torch.log_softmax(s, -1)[0, 2] + torch.log_softmax(s, -1)[1, 4]) / 2
    assert torch.allclose(kl, manual_kl) and torch.allclose(ce, manual_ce)
    assert torch.allclose(loss, 0.3 * manual_kl + 0.7 * manual_ce)


def test_different_tokenizers_are_refused_with_the_reason() -> None:
    from transformers import AutoTokenizer

    from sllm.embeddings import default_model_folder
    from sllm.errors import SllmError
    from sllm.models.default_model import default_model_path
    from sllm.train.distill import same_tokenizer

    student = AutoTokenizer.from_pretrained(default_model_path())
    other = AutoTokenizer.from_pretrained(default_model_folder())  # MiniLM's WordPiece vocabulary
    with pytest.raises(
        SllmError, match=r"one tokenizer: student 49152 tokens, teacher 30522 .* mode=sequence"
    ):
        same_tokenizer(student, other)
    same_tokenizer(student, student)


@pytest.mark.slow
def test_logit_distillation_runs_and_starts_at_zero_kl_from_itself(tmp_path: Path) -> None:
    from sllm.train.distill import DistillRunConfig, run_distill

    config = DistillRunConfig(data=str(DATA), teacher="default", output_dir=str(tmp_path / "kd"), max_steps=3,
                              batch_size=2, max_length=128, eval_fraction=0, track=False,
                              lora={"r": 4, "alpha": 8, "dropout": 0.0})  # fmt: skip
    result = run_distill(config)
    kl = [h["kd_kl"] for h in result.history if "kd_kl" in h]
    assert len(kl) == 3 and kl[0] < 1e-5 < kl[-1]  # identical at the start, apart once the student moved
    assert (result.folder / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_sequence_distillation_trains_on_teacher_answers(tmp_path: Path) -> None:
    from sllm.train.distill import DistillRunConfig, run_distill

    data = tmp_path / "four.jsonl"
    data.write_text("".join(DATA.read_text().splitlines(keepends=True)[:4]))
    settings = {"mode": "sequence", "output_dir": str(tmp_path / "seq"), "max_steps": 1, "batch_size": 2,
                "max_length": 128, "eval_fraction": 0, "track": False,
                "teacher_max_new_tokens": 24}  # fmt: skip
    config = DistillRunConfig(data=str(data), teacher="default", **settings)
    result = run_distill(config)
    rows = [
        json.loads(line) for line in (tmp_path / "seq" / "teacher_answers.jsonl").read_text().splitlines()
    ]
    original = [json.loads(line)["output"] for line in data.read_text().splitlines()]
    assert len(rows) == 4 and all(r["teacher"] == "default" for r in rows)
    answers = [r["messages"][-1]["content"] for r in rows]
    assert answers != original and all(a.strip() for a in answers)
    assert json.loads((result.folder / "sllm_model.json").read_text())["data"]["train"].endswith(
        "teacher_answers.jsonl"
    )
