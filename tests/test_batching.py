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
    assert seen[0] == 6 and max(seen[1:]) <= 3 and lm.sizer.ceiling <= 3
    # Later calls start from the smaller size instead of failing again.
    seen.clear()
    lm.loglikelihood(REQUESTS)
    assert max(seen) <= 2

    def broken(pairs):  # noqa: ANN001, ANN202 - other errors are not swallowed
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(lm, "_score_batch", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        lm.loglikelihood(REQUESTS)


def test_generation_backs_off_too(monkeypatch) -> None:
    lm = load_model("default", batch_size="auto")
    config = make_config(max_new_tokens=4)
    requests = [GenerationRequest(prompt=p, config=config) for p in ("1, 2, 3,", "a, b, c,", "Hello")]
    real = batching.BatchSizer.run
    calls: list[int] = []

    def count(self, fn, items):  # noqa: ANN001, ANN202
        calls.append(len(items))
        return real(self, fn, items)

    monkeypatch.setattr(batching.BatchSizer, "run", count)
    results = lm.generate(requests)
    assert len(results) == 3 and all(r.text is not None for r in results) and calls == [3]


def test_batch_size_flag_rejects_nonsense() -> None:
    result = run_cli("eval", "--tasks", "hellaswag", "--batch-size", "lots", "--no-track")
    assert result.returncode == 2 and "--batch-size: expected a positive number or auto" in result.stderr
