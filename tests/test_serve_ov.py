"""`sllm serve --model ov:default`: OpenVINO GenAI's continuous batching behind the same gateway."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from helpers import metric, metric_samples

from sllm.generation.config import GenerationConfig
from sllm.models.base import LoglikelihoodRequest
from sllm.serve.process import ServeProcess

pytest.importorskip("openvino_genai")
pytestmark = pytest.mark.slow  # the first use exports the model (and may build the exporter's env)

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from sllm.models.spec import load_model

    load_model("ov:default")  # export before the server starts, so its start is quick
    log = tmp_path_factory.mktemp("serve-ov") / "serve.log"
    process = ServeProcess(["--model", "ov:default", "--no-auth", "--max-batch", "4"], log=log).start()
    yield process
    process.stop()


def test_chat_is_what_hf_generates(server: ServeProcess, default_lm) -> None:
    body = {"messages": QUESTION, "temperature": 0, "max_tokens": 24}
    reply = httpx.post(server.url + "/chat/completions", json=body, timeout=120).json()
    expected = default_lm.chat(QUESTION, GenerationConfig(max_new_tokens=24))
    assert reply["choices"][0]["message"]["content"] == expected.text
    assert reply["usage"]["completion_tokens"] == expected.n_tokens


def test_requests_join_the_running_batch_and_keep_their_limits(server: ServeProcess) -> None:
    limits = [6, 12, 18, 24]
    replies: dict[int, dict] = {}

    def ask(limit: int) -> None:
        body = {"prompt": "Once upon a time", "max_tokens": limit, "temperature": 0, "ignore_eos": True}
        replies[limit] = httpx.post(server.url + "/completions", json=body, timeout=300).json()

    threads = []
    for n in limits:  # staggered: later requests arrive while earlier ones decode
        threads.append(threading.Thread(target=ask, args=(n,)))
        threads[-1].start()
        time.sleep(0.15)
    for t in threads:
        t.join()
    texts = [replies[n]["choices"][0]["text"] for n in limits]
    assert [replies[n]["usage"]["completion_tokens"] for n in limits] == limits
    assert all(texts[i + 1].startswith(texts[i]) for i in range(len(texts) - 1))


def test_echo_scoring_equals_the_in_process_ov_backend(server: ServeProcess) -> None:
    from sllm.models.spec import load_model

    requests = [LoglikelihoodRequest("The capital of France is", " Paris"),
                LoglikelihoodRequest("대한민국의 수도는", " 서울입니다")]  # fmt: skip
    served = load_model(f"openai:default@{server.url}").loglikelihood(requests)
    local = load_model("ov:default").loglikelihood(requests)
    for got, want in zip(served, local):
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4) and got.is_greedy == want.is_greedy


def test_a_client_leaving_mid_stream_frees_its_slot(server: ServeProcess) -> None:
    before = metric(metric_samples(server.base), "vllm:request_success_total", finished_reason="abort")
    body = {
        "prompt": "Count: 1, 2, 3,",
        "max_tokens": 2000,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
    }
    with httpx.stream("POST", server.url + "/completions", json=body, timeout=60) as response:
        lines = response.iter_lines()
        assert any(next(lines).startswith("data: {") for _ in range(6))
    deadline = time.monotonic() + 30
    while (
        metric(metric_samples(server.base), "vllm:request_success_total", finished_reason="abort") <= before
    ):
        assert time.monotonic() < deadline, "the abandoned stream never ended"
        time.sleep(0.2)
    assert metric(metric_samples(server.base), "vllm:num_requests_running") == 0
