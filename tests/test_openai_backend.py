"""The openai backend against a real HTTP server on 127.0.0.1 (scripted replies)."""

from __future__ import annotations

import socket

import pytest
from openai_test_server import ScriptedOpenAIServer

from sllm.errors import NotSupportedError, SllmError, UsageError
from sllm.generation.config import make_config, preset
from sllm.models.base import GenerationRequest, LoglikelihoodRequest, RollingRequest
from sllm.models.openai_api import OpenAILM
from sllm.models.spec import load_model


@pytest.fixture
def server():
    srv = ScriptedOpenAIServer()
    yield srv
    srv.stop()


def _model(server: ScriptedOpenAIServer, extra: str = "", model: str = "test-model") -> OpenAILM:
    lm = load_model(f"openai:{model}@{server.url},max_retries=1,timeout=10{extra}")
    assert isinstance(lm, OpenAILM)
    return lm


def _free_port() -> int:
    """A port nothing listens on: bound once by us, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- spec and options --------------------------------------------------------------------------
def test_spec_builds_an_openai_lm_with_typed_options(server):
    lm = load_model(f"openai:test-model@{server.url},max_retries=1,concurrency=2,revision=abc123")
    assert isinstance(lm, OpenAILM)
    assert (lm.model_name, lm.base_url) == ("test-model", server.url)
    assert (lm.options.max_retries, lm.options.concurrency, lm.options.timeout) == (1, 2, 60.0)
    assert lm.client.max_retries == 1
    assert lm.fingerprint() == f"openai|test-model@{server.url}|revision=abc123"
    assert _model(server).fingerprint().endswith("|revision=unknown")


def test_spec_errors():
    with pytest.raises(UsageError, match="openai:MODEL@http://HOST:PORT/v1"):
        load_model("openai:no-url-here")
    with pytest.raises(UsageError, match="max_retries"):
        load_model("openai:m@http://127.0.0.1:1/v1,max_retries=lots")
    with pytest.raises(UsageError, match="unknown option"):
        load_model("openai:m@http://127.0.0.1:1/v1,temprature=1")
    with pytest.raises(UsageError, match="api"):
        load_model("openai:m@http://127.0.0.1:1/v1,api=grpc")


def test_api_key_from_option_then_environment(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("SLLM_API_KEY", raising=False)
    _model(server).generate_text("a")
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai")
    _model(server).generate_text("a")
    monkeypatch.setenv("SLLM_API_KEY", "from-sllm")
    _model(server).generate_text("a")
    _model(server, ",api_key=from-option").generate_text("a")
    sent = [r["headers"]["authorization"] for r in server.requests]
    assert sent == ["Bearer EMPTY", "Bearer from-openai", "Bearer from-sllm", "Bearer from-option"]


# -- generation ----------------------------------------------------------------------------------
def test_prompt_and_chat_round_trip(server):
    lm = _model(server)
    result = lm.generate_text("hello there")
    assert (result.text, result.n_tokens, result.finish_reason) == ("echo: hello there", 3, "stop")
    assert server.requests[-1]["path"] == "/v1/completions"
    reply = lm.chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    assert (reply.text, reply.n_tokens, reply.finish_reason) == ("chat: hi", 2, "stop")
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert sent["body"]["temperature"] == 0.0  # greedy
    assert "top_p" not in sent["body"] and "top_k" not in sent["body"]


def test_api_option_picks_the_endpoint(server):
    assert _model(server, ",api=chat").generate_text("hello").text == "chat: hello"
    assert server.requests[-1]["body"]["messages"] == [{"role": "user", "content": "hello"}]
    lm = _model(server, ",api=completions")
    reply = lm.chat([{"role": "user", "content": "hi"}])
    assert server.requests[-1]["path"] == "/v1/completions"
    assert reply.text == "echo: user: hi\nassistant:"


def test_decoding_settings_reach_the_server(server):
    lm = _model(server)
    config = preset("sample", temperature=0.7, top_k=20, top_p=0.9, seed=4, max_new_tokens=3)
    lm.generate_text("a b c", config.model_copy(update={"repetition_penalty": 1.2}))
    body = server.requests[-1]["body"]
    picked = {
        k: body[k] for k in ("temperature", "top_p", "top_k", "seed", "max_tokens", "repetition_penalty")
    }
    assert picked == {
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 20,
        "seed": 4,
        "max_tokens": 3,
        "repetition_penalty": 1.2,
    }
    lm.generate_text("a b c", preset("sample", top_k=0))
    body = server.requests[-1]["body"]
    assert "top_k" not in body and "repetition_penalty" not in body and "seed" not in body


def test_length_limit_and_token_counts(server):
    lm = _model(server)
    result = lm.generate_text("one two three four five", make_config(max_new_tokens=3))
    assert (result.text, result.finish_reason, result.n_tokens) == ("echo: one two", "length", 3)
    server.usage = False  # no usage block: count the returned token logprobs instead
    assert lm.generate_text("one two", make_config(max_new_tokens=2)).n_tokens == 2
    assert lm.chat([{"role": "user", "content": "x y z"}], make_config(max_new_tokens=3)).n_tokens == 3


def test_stop_sequences_are_sent_and_cut_from_the_text(server):
    server.include_stop = True  # like servers that return the matched stop string
    result = _model(server).generate_text("alpha beta STOP gamma", make_config(stop=["STOP", "##"]))
    assert server.requests[-1]["body"]["stop"] == ["STOP", "##"]
    assert (result.text, result.finish_reason) == ("echo: alpha beta ", "stop")


def test_beam_search_is_not_supported(server):
    with pytest.raises(NotSupportedError, match="beam search is not supported by the openai backend"):
        _model(server).generate_text("x", preset("beam"))
    assert server.requests == []


# -- retries and errors ------------------------------------------------------------------------
def test_retry_after_503_succeeds(server):
    server.fail_first = 2
    lm = _model(server, ",max_retries=3")
    assert lm.generate_text("retry me").text == "echo: retry me"
    assert len(server.requests) == 3  # two 503s, then the answer
    # the retries are the openai client's own (it numbers them in a header)
    assert [r["headers"]["x-stainless-retry-count"] for r in server.requests] == ["0", "1", "2"]


def test_too_many_failures_is_one_clear_error(server):
    server.fail_first = 10
    with pytest.raises(SllmError, match="answered 503: overloaded, try again$") as caught:
        _model(server).generate_text("x")
    assert "\n" not in str(caught.value)
    assert len(server.requests) == 2  # one try plus max_retries=1


def test_unknown_model_names_the_model_and_url(server):
    with pytest.raises(SllmError, match=f"model 'missing' not found at {server.url}") as caught:
        _model(server, model="missing").generate_text("x")
    assert "does not exist" in str(caught.value)
    assert len(server.requests) == 1  # a 404 is not retried


def test_unreachable_server_is_a_clear_error():
    port = _free_port()
    lm = load_model(f"openai:m@http://127.0.0.1:{port}/v1,max_retries=1,timeout=2")
    with pytest.raises(
        SllmError, match=f"cannot reach OpenAI-compatible server at http://127.0.0.1:{port}/v1: "
    ) as caught:
        lm.generate_text("x")
    assert "\n" not in str(caught.value)


def test_timeout_is_a_clear_error(server):
    server.delay_s = 1.0
    lm = _model(server, ",timeout=0.2,max_retries=0")
    with pytest.raises(SllmError, match=f"cannot reach OpenAI-compatible server at {server.url}: "):
        lm.generate_text("x")


# -- scoring -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["plain", "bos", "max_tokens_1"])
def test_loglikelihood_sums_the_continuation_logprobs(server, mode):
    server.bos = "<s>" if mode == "bos" else None
    server.reject_zero_max = mode == "max_tokens_1"
    lm = _model(server)
    # tokens: "The" " cat" " sat" " down" with -0.5, -1.0, -1.5, -2.0 (the first is None
    # without a BOS token); the context ends after " cat".
    result = lm.loglikelihood([LoglikelihoodRequest("The cat", " sat down")])[0]
    assert result.logprob == pytest.approx(-1.5 + -2.0) and result.n_tokens == 2
    assert result.is_greedy is False  # " down" is at an odd position: its top token is "X"
    greedy = lm.loglikelihood([LoglikelihoodRequest("The cat", " sat")])[0]
    assert greedy.is_greedy is True and greedy.logprob == pytest.approx(-1.5)
    rolling = lm.loglikelihood_rolling([RollingRequest("The cat sat down")])[0]
    first = -0.5 if mode == "bos" else 0.0
    assert rolling.logprob == pytest.approx(first - 1.0 - 1.5 - 2.0) and rolling.n_tokens == 4
    body = server.requests[-1]["body"]
    assert body["echo"] is True and body["logprobs"] == 1 and body["prompt"] == "The cat sat down"
    assert body["max_tokens"] == (1 if mode == "max_tokens_1" else 0)


def test_straddling_token_counts_as_continuation(server):
    # "The ca" + "t sat": the token " cat" starts in the context but ends in the continuation.
    result = _model(server).loglikelihood([LoglikelihoodRequest("The ca", "t sat")])[0]
    assert result.logprob == pytest.approx(-1.0 + -1.5) and result.n_tokens == 2


@pytest.mark.parametrize("mode", ["none", "generated_only"])
def test_no_prompt_logprobs_means_not_supported(server, mode):
    server.prompt_logprobs = mode
    lm = _model(server)
    with pytest.raises(
        NotSupportedError, match="not supported by this server: it returned no prompt logprobs"
    ):
        lm.loglikelihood([LoglikelihoodRequest("a", " b")])
    with pytest.raises(NotSupportedError, match="no prompt logprobs"):
        lm.loglikelihood_rolling([RollingRequest("a b")])


# -- concurrency ---------------------------------------------------------------------------------
def test_requests_run_concurrently_up_to_the_limit(server):
    server.delay_s = 0.2
    lm = _model(server)  # default concurrency: 4
    requests = [GenerationRequest(prompt=f"p{i}") for i in range(8)]
    streamed = dict(lm.stream("generate", requests))
    assert sorted(streamed) == list(range(8))
    assert all(streamed[i].text == f"echo: p{i}" for i in range(8))
    assert 1 < server.max_in_flight <= 4
    assert len(server.requests) == 8 and lm.calls["generate"] == 8


def test_concurrency_option_bounds_requests_in_flight(server):
    server.delay_s = 0.2
    lm = _model(server, ",concurrency=2")
    results = lm.loglikelihood([LoglikelihoodRequest("The cat", f" sat{i}") for i in range(6)])
    assert [r.n_tokens for r in results] == [1] * 6
    assert server.max_in_flight == 2
