"""Credentials in model specs (URL userinfo, `,api_key=`) and environment keys are used to call and
never written anywhere: records, folder names, cache, judgments, MLflow, printed output."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from helpers import run_cli
from openai_test_server import ScriptedOpenAIServer

from sllm.errors import UsageError
from sllm.models.spec import load_model, open_model, parse_spec
from sllm.redact import is_secret_name, redact_options, redact_spec, redact_text, redact_tree

# Distinct canaries, so a leak names its source.
URL_KEY = "CANARY-url-7f3a9c41"
OPTION_KEY = "CANARY2-opt-9d2c5e17"
SLLM_ENV_KEY = "CANARY-sllm-env-4b1e88"
OPENAI_ENV_KEY = "CANARY-openai-env-c0ffee"
CANARIES = (URL_KEY, OPTION_KEY, SLLM_ENV_KEY, OPENAI_ENV_KEY)


@pytest.fixture
def server():
    srv = ScriptedOpenAIServer()
    yield srv
    srv.stop()


# -- the redaction rules -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("openai:m@http://user:s3cret@127.0.0.1:8000/v1", "openai:m@http://***@127.0.0.1:8000/v1"),
        (
            "openai:m@http://s3cret@h/v1,api_key=k1,timeout=5",
            "openai:m@http://***@h/v1,api_key=***,timeout=5",
        ),
        (
            "openai:m@https://h/v1?api_key=k1&x=1#access_token=t",
            "openai:m@https://h/v1?api_key=***&x=1#access_token=***",
        ),
        ("hf:./out,max_length=2048,hf_token=t", "hf:./out,max_length=2048,hf_token=***"),
        ("postgresql://u:p@ss@db:5432/mlflow", "postgresql://***@db:5432/mlflow"),
        ("openai:qwen2.5:7b@http://127.0.0.1:11434/v1", "openai:qwen2.5:7b@http://127.0.0.1:11434/v1"),
        ("registry:ko-chat@champion", "registry:ko-chat@champion"),
        ("default", "default"),
    ],
)
def test_redact_spec(spec: str, shown: str) -> None:
    assert redact_spec(spec) == shown


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True), ("apiKey", True), ("X-Api-Key", True), ("OPENAI_API_KEY", True), ("key", True),
        ("hf_token", True), ("access_token", True), ("password", True), ("client_secret", True),
        ("Authorization", True), ("max_tokens", False), ("tokenizer", False), ("key_field", False),
        ("token_perplexity", False), ("eos_token", False), ("num_key_value_heads", False), ("PWD", False),
    ],
)  # fmt: skip
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_option_dicts_trees_and_text(monkeypatch: pytest.MonkeyPatch) -> None:
    assert redact_options({"api_key": "k", "timeout": "5", "max_tokens": 7}) == {
        "api_key": "***",
        "timeout": "5",
        "max_tokens": 7,
    }
    tree = {"judge_model": "openai:m@http://u:k@h/v1", "usage": {"token": "t", "tokens": 12}, "l": ["a=b"]}
    assert redact_tree(tree) == {
        "judge_model": "openai:m@http://***@h/v1",
        "usage": {"token": "***", "tokens": 12},
        "l": ["a=b"],
    }
    monkeypatch.setenv("SLLM_API_KEY", SLLM_ENV_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "EMPTY")  # short placeholders are no secret, left alone
    text = f"server said: bad key {SLLM_ENV_KEY}; header Authorization: Bearer sk-abcdefgh12; EMPTY"
    assert redact_text(text) == "server said: bad key ***; header Authorization: Bearer ***; EMPTY"


def test_parsed_spec_shows_only_the_redacted_text() -> None:
    spec = parse_spec(f"openai:m@http://user:{URL_KEY}@127.0.0.1:1/v1,api_key={OPTION_KEY},timeout=5")
    assert spec.text == "openai:m@http://***@127.0.0.1:1/v1,api_key=***,timeout=5"
    assert spec.options["api_key"] == OPTION_KEY  # the backend still gets the key
    assert URL_KEY not in repr(spec) and OPTION_KEY not in repr(spec)
    with pytest.raises(UsageError) as caught:
        parse_spec(f"nope:x,api_key={OPTION_KEY}")
    assert str(caught.value).startswith("unknown model spec 'nope:x,api_key=***'")


# -- the openai backend ------------------------------------------------------------------------
def test_url_userinfo_is_the_bearer_token_and_never_called_or_shown(server, monkeypatch) -> None:
    monkeypatch.setenv("SLLM_API_KEY", SLLM_ENV_KEY)
    host = server.url.removeprefix("http://")
    with_password = load_model(f"openai:m@http://user:{URL_KEY}@{host}")
    only_key = load_model(f"openai:m@http://{URL_KEY}@{host}")
    plain = load_model(f"openai:m@{server.url}")
    for lm in (with_password, only_key, plain):
        lm.generate_text("hi")
    assert [r["headers"]["authorization"] for r in server.requests] == [
        f"Bearer {URL_KEY}",
        f"Bearer {URL_KEY}",
        f"Bearer {SLLM_ENV_KEY}",
    ]
    assert with_password.base_url == only_key.base_url == server.url
    assert with_password.spec == f"openai:m@http://***@{host}"
    # The fingerprint (cache key and `model` column) is the key-free one: a rotated key keeps the cache.
    assert with_password.fingerprint() == only_key.fingerprint() == plain.fingerprint()
    assert plain.fingerprint() == f"openai|m@{server.url}|revision=unknown"


def test_api_key_option_is_sent_never_recorded_and_not_given_twice(server) -> None:
    lm = load_model(f"openai:m@{server.url},api_key={OPTION_KEY}")
    lm.generate_text("hi")
    assert server.requests[-1]["headers"]["authorization"] == f"Bearer {OPTION_KEY}"
    assert lm.spec == f"openai:m@{server.url},api_key=***"
    assert OPTION_KEY not in repr(lm.options) and OPTION_KEY not in lm.fingerprint()
    host = server.url.removeprefix("http://")
    with pytest.raises(UsageError) as caught:
        load_model(f"openai:m@http://u:{URL_KEY}@{host},api_key={OPTION_KEY}")
    assert str(caught.value) == (
        f"openai spec 'm@http://***@{host}' gives an API key twice (in the URL and as api_key=); keep one"
    )


def test_a_rotated_key_is_served_from_the_same_cache(server) -> None:
    host = server.url.removeprefix("http://")
    first = open_model(f"openai:m@http://u:{URL_KEY}@{host}").generate_text("hello")
    again = open_model(f"openai:m@{server.url},api_key={OPTION_KEY}").generate_text("hello")
    assert again == first and len(server.requests) == 1


# -- tracking safety net -------------------------------------------------------------------------
def test_tracking_masks_credentials_that_reach_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sllm.tracking import get_run, track_run

    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_ENV_KEY)
    params = {"model": f"openai:m@http://u:{URL_KEY}@h/v1", "options": {"api_key": OPTION_KEY}, "n": 3}
    with track_run("eval", params=params, tags={"note": f"key {OPENAI_ENV_KEY}"}) as run:
        run.log_dict({"judge_model": f"openai:m@http://h/v1,api_key={OPTION_KEY}"}, "summary.json")
    record = get_run(run.run_id)
    assert record["params"]["model"] == "openai:m@http://***@h/v1"
    assert record["params"]["options.api_key"] == "***" and record["params"]["n"] == "3"
    assert record["tags"]["note"] == "key ***"
    summary = next((tmp_path / "sllm-runs" / "artifacts").rglob("summary.json"))
    assert json.loads(summary.read_text()) == {"judge_model": "openai:m@http://h/v1,api_key=***"}


# -- end to end: eval, judge pairwise, generate, and errors, through the real CLI ----------------
@pytest.mark.slow  # seven CLI runs, about 95 s on 2 cores
def test_no_command_writes_or_prints_a_key(server, tmp_path: Path) -> None:
    host = server.url.removeprefix("http://")
    url_spec = f"openai:m@http://user:{URL_KEY}@{host}"
    option_spec = f"openai:m@{server.url},api_key={OPTION_KEY}"
    env = {"SLLM_API_KEY": SLLM_ENV_KEY, "OPENAI_API_KEY": OPENAI_ENV_KEY}
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"question_id": "q1", "question": "2+2?", "model_a": "a", "model_b": "b",
                    "answer_a": "4", "answer_b": "5"}) + "\n"
    )  # fmt: skip
    results, judgments = tmp_path / "results", tmp_path / "judgments.jsonl"
    commands = [  # (argv, expected exit code, the bearer token the server must have seen)
        (["eval", "--model", url_spec, "--tasks", "gsm8k", "--limit", "2", "--num-fewshot", "0",
          "--output", str(results)], 0, URL_KEY),
        (["judge", "pairwise", "--judge", option_spec, "-i", str(pairs), "-o", str(judgments),
          "--config", "mt_bench_pair_v2", "--retries", "0"], 0, OPTION_KEY),
        (["generate", "--model", url_spec, "--json", "hi"], 0, URL_KEY),
        (["generate", "--model", option_spec, "--json", "--no-cache", "hi"], 0, OPTION_KEY),
        (["generate", "--model", f"openai:m@{server.url}", "--json", "--no-cache", "hi"], 0, SLLM_ENV_KEY),
        (["generate", "--model", f"openai:missing@http://u:{URL_KEY}@{host}", "hi"], 1, URL_KEY),
        (["generate", "--model", f"{url_spec},api_key={OPTION_KEY}", "hi"], 2, None),
    ]  # fmt: skip
    printed = []
    for argv, code, bearer in commands:
        before = len(server.requests)
        done = run_cli(*argv, env=env, timeout=300)
        assert done.returncode == code, (argv[0], done.stderr)
        printed += [done.stdout, done.stderr]
        sent = {r["headers"]["authorization"] for r in server.requests[before:]}
        assert sent == ({f"Bearer {bearer}"} if bearer else set()), argv[0]
    shown_url_spec, shown_option_spec = f"openai:m@http://***@{host}", f"openai:m@{server.url},api_key=***"
    # What was recorded and printed names the model, redacted.
    (results_json,) = results.rglob("results.json")
    record = json.loads(results_json.read_text())
    assert record["model"] == record["config"]["model"] == shown_url_spec
    assert record["model_fingerprint"] == f"openai|m@{server.url}|revision=unknown"
    slug = "openai_m_http" + "_" * 7 + f"127.0.0.1_{server.port}_v1"  # ://***@ each became _
    assert slug in results_json.relative_to(results).parts
    assert json.loads(judgments.read_text().splitlines()[0])["judge_model"] == shown_option_spec
    assert json.loads(printed[4])["model"] == shown_url_spec
    assert f"model 'missing' not found at {server.url}" in printed[11]
    assert "gives an API key twice" in printed[13]
    with closing(sqlite3.connect(tmp_path / "sllm-runs" / "mlflow.db")) as db:
        tracked = {k: v for k, v in db.execute("SELECT key, value FROM params WHERE key LIKE '%model'")}
    assert tracked == {"model": shown_url_spec, "judge_model": shown_option_spec}
    with closing(sqlite3.connect(tmp_path / "cache.sqlite")) as db:
        cached = {row[0] for row in db.execute("SELECT DISTINCT model FROM calls")}
    assert cached == {record["model_fingerprint"]}  # URL key, api_key= and env key: one model
    # And no canary anywhere: results, tracking store, cache (SQLite, WAL), judgments, output.
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "cache.sqlite" for p in files) and any(p.name == "mlflow.db" for p in files)
    for canary in CANARIES:
        assert not [p for p in files if canary.encode() in p.read_bytes() or canary in str(p)], canary
        assert not [text for text in printed if canary in text], canary
