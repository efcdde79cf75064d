"""The openai backend against a real HTTP server on 127.0.0.1 (scripted replies)."""

from __future__ import annotations

import socket

import pytest
from openai_test_server import ScriptedOpenAIServer

from sllm.errors import NotSupportedError, SllmError, UsageError
from sllm.generation.config import make_config, preset
from sllm.models.base import GenerationRequest, LoglikelihoodRequest, RollingRequest
from sllm.models.spec import load_model


@pytest.fixture
def server():
    srv = ScriptedOpenAIServer()
    yield srv
    srv.stop()


def _model(server: ScriptedOpenAIServer, extra: str = ""):
    return load_model(f"openai:test-model@{server.url},max_retries=1,timeout=10{extra}")


def test_prompt_and_chat_round_trip(server):
    lm = _model(server)
    assert lm.generate_text("hello there").text == "echo: hello there"
    reply = lm.chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    assert reply.text == "chat: hi" and reply.finish_reason == "stop"
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"][0] == {"role": "system", "content": "be brief"}
    assert sent["body"]["temperature"] == 0.0  # greedy


def test_decoding_settings_reach_the_server(server):
    lm = _model(server)
    lm.generate_text(
        "a b c", preset("sample", temperature=0.7, top_k=20, top_p=0.9, seed=4, max_new_tokens=3)
    )
    body = server.requests[-1]["body"]
    assert (body["temperature"], body["top_p"], body["top_k"], body["seed"], body["max_tokens"]) == (
        0.7,
        0.9,
        20,
        4,
        3,
    )
    result = lm.generate_text("one two three four five", make_config(max_new_tokens=3))
    assert result.text == "echo: one two" and result.finish_reason == "length"


def test_stop_sequences_cut_the_text(server):
    result = _model(server).generate_text("alpha beta STOP gamma", make_config(stop=["STOP"]))
    assert result.text == "echo: alpha beta "


def test_retry_after_503_succeeds(server):
    server.fail_first = 1
    assert _model(server).generate_text("retry me").text == "echo: retry me"
    assert len(server.requests) == 2


def test_too_many_failures_is_one_clear_error(server):
    server.fail_first = 10
    with pytest.raises(SllmError, match="answered 503: overloaded"):
        _model(server).generate_text("x")
    assert len(server.requests) == 2  # one try plus max_retries=1


def test_unreachable_server_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lm = load_model(f"openai:m@http://127.0.0.1:{port}/v1,max_retries=0,timeout=3")
    with pytest.raises(
        SllmError, match=f"cannot reach OpenAI-compatible server at http://127.0.0.1:{port}/v1"
    ):
        lm.generate_text("x")


def test_loglikelihood_sums_the_continuation_logprobs(server):
    lm = _model(server)
    # tokens: "The"(None) " cat"(-1.0) " sat"(-1.5) " down"(-2.0); context ends after " cat".
    result = lm.loglikelihood([LoglikelihoodRequest("The cat", " sat down")])[0]
    assert result.logprob == pytest.approx(-3.5) and result.n_tokens == 2
    assert result.is_greedy is False  # " down" is at an odd position: its top token is "X"
    rolling = lm.loglikelihood_rolling([RollingRequest("The cat sat down")])[0]
    assert rolling.logprob == pytest.approx(-4.5) and rolling.n_tokens == 3
    body = server.requests[0]["body"]
    assert body["echo"] is True and body["max_tokens"] == 0 and body["logprobs"] == 1


def test_no_prompt_logprobs_means_not_supported(server):
    server.prompt_logprobs = False
    with pytest.raises(NotSupportedError, match="not supported by this server"):
        _model(server).loglikelihood([LoglikelihoodRequest("a", " b")])


def test_beam_search_is_not_supported(server):
    with pytest.raises(NotSupportedError, match="beam search"):
        _model(server).generate_text("x", preset("beam"))


def test_requests_run_concurrently_up_to_the_limit(server):
    server.delay_s = 0.2
    lm = _model(server, ",concurrency=3")
    results = lm.generate([GenerationRequest(prompt=f"p{i}") for i in range(8)])
    assert [r.text for r in results] == [f"echo: p{i}" for i in range(8)]
    assert 1 < server.max_in_flight <= 3


def test_spec_errors():
    with pytest.raises(UsageError, match="openai:MODEL@http://HOST:PORT/v1"):
        load_model("openai:no-url-here")
    assert (
        load_model("openai:m@http://127.0.0.1:1/v1").fingerprint()
        == "openai|m@http://127.0.0.1:1/v1|revision=unknown"
    )
