"""The `ov:` backend: OpenVINO export once, then generation and scoring that agree with `hf:`.

The export runs optimum-intel in its own environment (created once under SLLM_HOME/envs, or
SLLM_OV_EXPORT_PYTHON), so the first test pays minutes once per machine; hence `slow`.
"""

from __future__ import annotations

import pytest

from sllm.errors import SllmError, UsageError
from sllm.generation.config import GenerationConfig
from sllm.models.base import GenerationRequest, LoglikelihoodRequest

pytest.importorskip("openvino_genai")

PROMPTS = ["Once upon a time", "The capital of France is", "List three fruits:\n1.", "서울은 한국의"]
SCORED = [
    LoglikelihoodRequest("The capital of France is", " Paris"),
    LoglikelihoodRequest("The capital of France is", " Berlin, a city in Germany"),
    LoglikelihoodRequest("대한민국의 수도는", " 서울입니다"),
    LoglikelihoodRequest("Question: 2 + 2 = ?\nAnswer:", " 4"),
]


@pytest.fixture(scope="module")
def ov_lm():
    from sllm.models.spec import load_model

    return load_model("ov:default")


def test_bad_ov_specs_fail_before_any_export(tmp_path) -> None:
    from sllm.models.spec import load_model

    with pytest.raises(UsageError, match="dtype"):
        load_model("ov:default,dtype=int4")
    with pytest.raises(SllmError, match="config.json"):
        load_model(f"ov:{tmp_path}")


@pytest.mark.slow
def test_greedy_text_and_finish_reasons_equal_hf(ov_lm, default_lm) -> None:
    config = GenerationConfig(max_new_tokens=24)
    requests = [GenerationRequest(prompt=p, config=config) for p in PROMPTS]
    requests.append(GenerationRequest.chat([{"role": "user", "content": "What is 2+2?"}], config))
    ours, theirs = ov_lm.generate(requests), default_lm.generate(requests)  # batched: 5 rows
    assert [r.text for r in ours] == [r.text for r in theirs]
    assert [(r.finish_reason, r.n_tokens) for r in ours] == [(r.finish_reason, r.n_tokens) for r in theirs]
    alone = ov_lm.generate(requests[:1])[0]  # batch of one: the same text as in the batch
    assert alone.text == ours[0].text
    stopped = ov_lm.generate(
        [GenerationRequest(prompt=PROMPTS[2], config=config.model_copy(update={"stop": ("\n",)}))]
    )
    assert stopped[0].text == theirs[2].text.split("\n")[0] and stopped[0].finish_reason == "stop"


@pytest.mark.slow
def test_log_likelihoods_within_1e_4_of_hf(ov_lm, default_lm) -> None:
    for ours, theirs in zip(ov_lm.loglikelihood(SCORED), default_lm.loglikelihood(SCORED)):
        assert ours.logprob == pytest.approx(theirs.logprob, abs=1e-4)
        assert (ours.is_greedy, ours.n_tokens) == (theirs.is_greedy, theirs.n_tokens)


@pytest.mark.slow
def test_seeded_sampling_repeats_and_fingerprint_names_the_engine(ov_lm) -> None:
    config = GenerationConfig(strategy="sample", temperature=0.9, top_p=0.9, seed=7, max_new_tokens=16)
    first = ov_lm.generate([GenerationRequest(prompt=PROMPTS[0], config=config)])[0].text
    assert first == ov_lm.generate([GenerationRequest(prompt=PROMPTS[0], config=config)])[0].text
    assert ov_lm.fingerprint().startswith("ov|") and "|float32|openvino=" in ov_lm.fingerprint()
