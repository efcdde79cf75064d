"""--batch-size auto: the largest batch that fits, same numbers, and out-of-memory back-off."""

from __future__ import annotations

import pytest
import torch
from helpers import run_cli

from sllm.generation.config import make_config
from sllm.models import batching
from sllm.models.base import GenerationRequest, LoglikelihoodRequest
from sllm.models.spec import load_model

REQUESTS = [
    LoglikelihoodRequest("The capital of France is", " Paris"),
    LoglikelihoodRequest("The capital of France is", " Berlin"),
    LoglikelihoodRequest("Water boils at a temperature of one hundred degrees", " Celsius"),
    LoglikelihoodRequest("One, two, three,", " four"),
    LoglikelihoodRequest("A cat says", " meow"),
    LoglikelihoodRequest("Roses are red, violets are", " blue"),
]


@pytest.fixture(scope="module")
def lm():
    return load_model("default", batch_size="auto")


def test_auto_batch_gives_the_same_scores_as_a_fixed_batch(lm, default_lm) -> None:
    auto = [r.logprob for r in lm.loglikelihood(REQUESTS)]
    fixed = [r.logprob for r in default_lm.loglikelihood(REQUESTS)]
    assert auto == pytest.approx(fixed, abs=1e-4)
    assert lm.sizer.last in {1, 2, 4, 8, 16, 32, 64}
    assert lm.sizer.last >= 8  # a 135M model and short prompts fit many rows in RAM


def test_auto_batch_follows_free_memory(lm, monkeypatch: pytest.MonkeyPatch) -> None:
    per_row = batching.row_bytes(lm.model.config, 512, 0, 4)
    assert batching.row_bytes(lm.model.config, 1024, 0, 4) > 2 * per_row  # attention grows quadratically
    monkeypatch.setattr(batching, "free_memory", lambda device: int(per_row * 5 / 0.6))
    assert lm.sizer.size(512) == 4  # the largest power of two that fits
    monkeypatch.setattr(batching, "free_memory", lambda device: 1)
    assert lm.sizer.size(512) == 1  # never zero


def test_out_of_memory_splits_the_batch_and_the_run_finishes(default_lm, monkeypatch) -> None:
    expected = [r.logprob for r in default_lm.loglikelihood(REQUESTS)]
    lm = load_model("default", batch_size="8", share_context="false")
    real = lm._score_batch
    seen: list[int] = []

    def tight(pairs):  # noqa: ANN001, ANN202 - pretend only two rows fit
        seen.append(len(pairs))
        if len(pairs) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(pairs)

    monkeypatch.setattr(lm, "_score_batch", tight)
    got = [r.logprob for r in lm.loglikelihood(REQUESTS)]
    assert got == pytest.approx(expected, abs=1e-4)
    # 6 fails -> halves of 3; each 3 fails -> 1 + 2, which fit; the ceiling is half the last failure.
    assert seen == [6, 3, 1, 2, 3, 1, 2] and lm.sizer.ceiling == 1
    # Later calls start from the smaller size instead of failing again.
    seen.clear()
    lm.loglikelihood(REQUESTS)
    assert seen == [1, 1, 1, 1, 1, 1]

    def broken(pairs):  # noqa: ANN001, ANN202 - other errors are not swallowed
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(lm, "_score_batch", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        lm.loglikelihood(REQUESTS)


def test_generation_out_of_memory_halves_the_batch_and_keeps_every_text(default_lm, monkeypatch) -> None:
    config = make_config(max_new_tokens=4)
    prompts = ("1, 2, 3,", "a, b, c,", "Hello", "Monday, Tuesday,")
    requests = [GenerationRequest(prompt=p, config=config) for p in prompts]
    alone = [default_lm.generate([r])[0].text for r in requests]  # each prompt in a batch of its own
    lm = load_model("default", batch_size="4")
    real = lm.model.generate
    rows: list[int] = []

    def one_row_fits(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        rows.append(kwargs["input_ids"].shape[0])
        if rows[-1] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(lm.model, "generate", one_row_fits)
    got = [r.text for r in lm.generate(requests)]
    assert got == alone and len(set(alone)) == 4  # every text back at its own request
    assert rows == [4, 2, 1, 1, 2, 1, 1]  # 4 -> halves of 2 -> rows of 1
    assert lm.sizer.size(8, 4) == 1  # later calls start from the size that fitted


def test_batch_size_flag_rejects_nonsense() -> None:
    result = run_cli("eval", "--tasks", "hellaswag", "--batch-size", "lots", "--no-track")
    assert result.returncode == 2 and "--batch-size: expected a positive number or auto" in result.stderr
