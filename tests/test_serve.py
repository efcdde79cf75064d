"""`sllm serve` as a real process on 127.0.0.1, driven by the official openai client and httpx.

One server with the default model serves the module; a second, with a queue of one, shows the
429 and a restart after SIGKILL. Replies are checked against the in-process model: the server
must give what `sllm generate` and `sllm eval` give.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx
import openai
import pytest
from helpers import metric, metric_samples

from sllm.generation.config import GenerationConfig
from sllm.models.base import LoglikelihoodRequest
from sllm.serve.process import ServeProcess

KEY = "serve-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    process = ServeProcess(["--api-key", KEY, "--max-batch", "4"], log=log).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server: ServeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=KEY, max_retries=0, timeout=300)


def test_chat_is_what_sllm_generate_gives(client: openai.OpenAI, default_lm) -> None:
    reply = client.chat.completions.create(model="default", messages=QUESTION, temperature=0, max_tokens=24)
    expected = default_lm.chat(QUESTION, GenerationConfig(max_new_tokens=24))
    assert reply.choices[0].message.content == expected.text
    assert reply.choices[0].finish_reason == ("length" if expected.finish_reason == "length" else "stop")
    assert reply.usage.completion_tokens == expected.n_tokens
    assert reply.usage.prompt_tokens == expected.prompt_tokens > 10


def test_streamed_chat_joins_to_the_same_text_and_reports_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="default", messages=QUESTION, temperature=0, max_tokens=24)
    stream = client.chat.completions.create(
        model="default", messages=QUESTION, temperature=0, max_tokens=24, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([p for p in pieces if p]) > 3  # it streamed, not one block at the end
    assert "".join(pieces) == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_completion_and_stop_sequence(client: openai.OpenAI, default_lm) -> None:
    prompt = "List three fruits:\n1."
    reply = client.completions.create(model="default", prompt=prompt, max_tokens=20, temperature=0)
    expected = default_lm.generate_text(prompt, GenerationConfig(max_new_tokens=20))
    assert reply.choices[0].text == expected.text
    stopped = client.completions.create(
        model="default", prompt=prompt, max_tokens=20, temperature=0, stop=["\n"]
    )
    assert stopped.choices[0].text == expected.text.split("\n")[0]
    assert stopped.choices[0].finish_reason == "stop"
    streamed = client.completions.create(
        model="default", prompt=prompt, max_tokens=20, temperature=0, stop=["\n"], stream=True
    )
    assert "".join(c.choices[0].text for c in streamed) == stopped.choices[0].text  # no part of the stop


def test_echo_logprobs_score_as_sllm_eval_does(server: ServeProcess, default_lm) -> None:
    from sllm.models.spec import load_model

    requests = [
        LoglikelihoodRequest("The capital of France is", " Paris"),
        LoglikelihoodRequest("The capital of France is", " Berlin, a city in Germany"),
        LoglikelihoodRequest("Question: 2 + 2 = ?\nAnswer:", " 4"),
        LoglikelihoodRequest("대한민국의 수도는", " 서울입니다"),
    ]
    remote = load_model(f"openai:default@{server.url},api_key={KEY}")
    served, local = remote.loglikelihood(requests), default_lm.loglikelihood(requests)
    for got, want in zip(served, local):
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4)
        assert got.is_greedy == want.is_greedy
        assert got.n_tokens == want.n_tokens


def test_token_id_prompts_as_lm_eval_local_completions_sends_them(client: openai.OpenAI, default_lm) -> None:
    ids = default_lm.encode("The capital of France is Paris")
    reply = client.completions.create(
        model="default", prompt=[ids], max_tokens=1, temperature=0, echo=True, logprobs=1
    )
    logprobs = reply.choices[0].logprobs
    assert len(logprobs.token_logprobs) == len(ids) + 1  # the prompt's tokens, then the generated one
    assert logprobs.token_logprobs[0] is None
    context, continuation = default_lm.encode("The capital of France is"), default_lm.encode(" Paris")
    assert ids == context + continuation
    want = default_lm.loglikelihood([LoglikelihoodRequest("The capital of France is", " Paris")])[0]
    assert sum(logprobs.token_logprobs[len(context) : len(ids)]) == pytest.approx(want.logprob, abs=1e-4)


def test_concurrent_requests_share_a_batch_and_keep_their_own_limits(server: ServeProcess) -> None:
    before = metric(metric_samples(server.base), "sllm_batch_size_count")
    limits = [4, 8, 12, 16]
    replies: dict[int, dict] = {}

    def ask(limit: int) -> None:
        body = {"prompt": "Once upon a time", "max_tokens": limit, "temperature": 0, "ignore_eos": True}
        replies[limit] = httpx.post(server.url + "/completions", json=body, headers=AUTH, timeout=300).json()

    threads = [threading.Thread(target=ask, args=(n,)) for n in limits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = [replies[n]["choices"][0]["text"] for n in limits]
    assert [replies[n]["usage"]["completion_tokens"] for n in limits] == limits
    assert all(texts[i + 1].startswith(texts[i]) for i in range(len(texts) - 1))  # one greedy path
    batches = metric(metric_samples(server.base), "sllm_batch_size_count") - before
    assert batches < len(limits)  # at least two of the four ran in one batch


def test_models_lists_the_served_version_also_sent_as_a_header(server: ServeProcess) -> None:
    response = httpx.get(server.url + "/models", headers=AUTH, timeout=10)
    card = response.json()["data"][0]
    assert card["id"] == "default" and card["owned_by"] == "sllm"
    assert card["max_model_len"] == 8192 and len(card["version"]) == 16
    assert response.headers["x-sllm-model-version"] == card["version"]
    assert response.headers["x-sllm-model"] == "default"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, ["not valid JSON"]),
        (json.dumps({"model": "default"}).encode(), 400, ["messages"]),
        (
            json.dumps({"messages": [{"role": "user", "content": "hi"}], "temperature": 9}).encode(),
            400,
            ["temperature"],
        ),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "hello " * 9000}], "max_tokens": 16}
            ).encode(),
            400,
            ["8,192", "context"],
        ),
        (
            json.dumps({"messages": [{"role": "user", "content": "hi"}], "model": "gpt-4"}).encode(),
            404,
            ["gpt-4", "default"],
        ),
        (
            json.dumps(
                {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}
            ).encode(),
            400,
            ["tools"],
        ),
    ],  # fmt: skip
)
def test_bad_requests_get_one_clear_message(
    server: ServeProcess, body: bytes, status: int, words: list
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = httpx.post(server.url + "/chat/completions", content=body, headers=headers, timeout=60)
    assert response.status_code == status
    message = response.json()["error"]["message"]
    assert all(w in message for w in words), message


def test_api_key_is_required_on_v1_but_not_on_probes(server: ServeProcess) -> None:
    body = {"messages": QUESTION, "max_tokens": 2}
    missing = httpx.post(server.url + "/chat/completions", json=body, timeout=30)
    wrong = httpx.post(server.url + "/chat/completions", json=body, timeout=30,
                       headers={"Authorization": "Bearer nope"})  # fmt: skip
    assert missing.status_code == wrong.status_code == 401
    assert "missing API key" in missing.json()["error"]["message"]
    assert wrong.json()["error"]["message"] == "invalid API key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url, api_key="nope", max_retries=0).models.list()
    for probe in ("/health", "/ready", "/metrics"):
        assert httpx.get(server.base + probe, timeout=10).status_code == 200


def test_a_client_leaving_mid_stream_frees_its_row(server: ServeProcess) -> None:
    before = metric_samples(server.base)
    body = {
        "prompt": "Count: 1, 2, 3,",
        "max_tokens": 2000,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
    }
    with httpx.stream("POST", server.url + "/completions", json=body, headers=AUTH, timeout=60) as response:
        lines = response.iter_lines()
        got = [next(lines) for _ in range(8)]  # a few chunks, then the client goes away
    assert any(line.startswith("data: {") for line in got)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = metric_samples(server.base)
        if metric(after, "vllm:request_success_total", finished_reason="abort") > metric(
            before, "vllm:request_success_total", finished_reason="abort"
        ):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the abandoned stream never ended")
    assert metric(after, "vllm:num_requests_running") == 0
    spent = metric(after, "vllm:generation_tokens_total") - metric(before, "vllm:generation_tokens_total")
    assert spent < 500  # it stopped far short of its 2,000 tokens
    reply = httpx.post(
        server.url + "/completions", json={"prompt": "Hi", "max_tokens": 2}, headers=AUTH, timeout=60
    )
    assert reply.status_code == 200


def test_metrics_after_traffic_are_plausible(server: ServeProcess, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="default", messages=QUESTION, temperature=0, max_tokens=8)
    samples = metric_samples(server.base)
    requests = metric(samples, "vllm:e2e_request_latency_seconds_count")
    assert requests >= 5
    assert 0 < metric(samples, "vllm:e2e_request_latency_seconds_sum") < 300 * requests
    assert metric(samples, "vllm:time_to_first_token_seconds_count") >= 3
    assert metric(samples, "vllm:inter_token_latency_seconds_count") > 20
    assert (
        0
        < metric(samples, "vllm:inter_token_latency_seconds_sum")
        / metric(samples, "vllm:inter_token_latency_seconds_count")
        < 5
    )  # seconds per token on a CPU
    assert metric(samples, "vllm:prompt_tokens_total") > 50
    assert metric(samples, "vllm:generation_tokens_total") > 40
    assert metric(samples, "vllm:request_success_total", finished_reason="length") >= 1
    assert metric(samples, "sllm_http_requests_total", status="401") >= 2
    assert metric(samples, "sllm_http_requests_total", path="/v1/chat/completions", status="200") >= 3
    assert metric(samples, "process_resident_memory_bytes") > 100e6
    assert metric(samples, "sllm_model_info", model_name="default") == 1


def test_a_full_queue_answers_429_a_killed_server_restarts_and_a_slow_request_times_out(tmp_path) -> None:
    process = ServeProcess(
        ["--no-auth", "--max-batch", "1", "--max-waiting", "1", "--batch-window-ms", "0"],
        log=tmp_path / "log",
    ).start()
    try:
        statuses: list[httpx.Response] = []

        def ask() -> None:
            body = {"prompt": "Tell me a story", "max_tokens": 40, "ignore_eos": True, "temperature": 0}
            statuses.append(httpx.post(process.url + "/completions", json=body, timeout=300))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.3)  # one decodes, one waits, the rest find the queue full
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in statuses)
        assert codes.count(200) >= 2 and 429 in codes, codes
        refused = next(r for r in statuses if r.status_code == 429)
        assert refused.headers["Retry-After"] == "1"
        assert "busy" in refused.json()["error"]["message"]

        process.stop(signal.SIGKILL)
        process.args = [*process.args, "--timeout", "3"]
        process.start()  # same port, right after a kill
        reply = httpx.post(process.url + "/completions", json={"prompt": "Hi", "max_tokens": 3}, timeout=60)
        assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] >= 1
        started = time.monotonic()
        body = {"prompt": "Tell me a story", "max_tokens": 2000, "ignore_eos": True, "temperature": 0}
        late = httpx.post(process.url + "/completions", json=body, timeout=60)
        assert late.status_code == 504 and "timed out" in late.json()["error"]["message"]
        assert time.monotonic() - started < 20  # stopped at its deadline, not after 2,000 tokens
    finally:
        process.stop()


def test_serve_refuses_to_start_without_a_key_unless_told(tmp_path) -> None:
    from helpers import run_cli

    result = run_cli("serve", "--port", "1", env={"SLLM_SERVE_API_KEY": ""})
    assert result.returncode == 2
    assert "--no-auth" in result.stderr and "API key" in result.stderr
