"""The call cache: repeated runs cost nothing, killed runs resume, keys cover everything."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from helpers import run_cli

from sllm.generation.config import make_config, preset
from sllm.models.base import GenerationRequest, LoglikelihoodRequest
from sllm.models.cache import CachingLM, CallCache

REQUESTS = [LoglikelihoodRequest(f"Count to {i}:", f" {i}") for i in range(12)]


def test_second_identical_run_makes_zero_model_calls(default_lm, tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    before = default_lm.calls["loglikelihood"]
    first = CachingLM(default_lm, cache).loglikelihood(REQUESTS)
    assert default_lm.calls["loglikelihood"] - before == len(REQUESTS)
    again = CachingLM(default_lm, CallCache(tmp_path / "c.sqlite"))
    second = again.loglikelihood(REQUESTS)
    assert default_lm.calls["loglikelihood"] - before == len(REQUESTS)
    assert again.hits == len(REQUESTS)
    assert first == second


def test_generation_cache_rules(default_lm, tmp_path):
    lm = CachingLM(default_lm, tmp_path / "c.sqlite")
    greedy = GenerationRequest(prompt="Hi", config=make_config(max_new_tokens=4))
    seeded = GenerationRequest(prompt="Hi", config=preset("sample", seed=3, max_new_tokens=4))
    unseeded = GenerationRequest(prompt="Hi", config=preset("sample", max_new_tokens=4))
    other_setting = GenerationRequest(prompt="Hi", config=make_config(max_new_tokens=5))
    lm.generate([greedy, seeded, unseeded])
    calls = default_lm.calls["generate"]
    lm.generate([greedy, seeded])
    assert default_lm.calls["generate"] == calls  # greedy and seeded sampling are cached
    lm.generate([unseeded])
    assert default_lm.calls["generate"] == calls + 1  # unseeded sampling never is
    lm.generate([other_setting])
    assert default_lm.calls["generate"] == calls + 2  # decoding settings are part of the key


def test_duplicates_inside_one_run_are_computed_once(default_lm, tmp_path):
    lm = CachingLM(default_lm, tmp_path / "c.sqlite")
    before = default_lm.calls["loglikelihood"]
    results = lm.loglikelihood([REQUESTS[0], REQUESTS[1], REQUESTS[0]])
    assert default_lm.calls["loglikelihood"] - before == 2
    assert results[0] == results[2]


def test_fingerprint_is_part_of_the_key(tmp_path):
    from sllm.models.cache import request_key

    a = request_key("hf|abc|float32", "loglikelihood", REQUESTS[0])
    b = request_key("hf|abc|bfloat16", "loglikelihood", REQUESTS[0])
    assert a != b and len(a) == 64


@pytest.mark.parametrize(
    "edited",
    ["tokenizer_config.json", "chat_template.jinja", "generation_config.json", "adapter_config.json"],
)
def test_editing_a_template_or_config_in_place_changes_the_fingerprint(tmp_path, edited):
    """A chat template edited in place must not reuse generations cached under the old one."""
    from sllm.models.fingerprint import folder_digest

    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / edited).write_text('{"chat_template": "{{ messages }}"}')
    before = folder_digest(tmp_path)
    (tmp_path / edited).write_text('{"chat_template": "<|user|>{{ messages }}"}')
    assert folder_digest(tmp_path) != before
    (tmp_path / "README.md").write_text("notes")  # files that change nothing computed do not count
    after = folder_digest(tmp_path)
    (tmp_path / "README.md").write_text("other notes")
    assert folder_digest(tmp_path) == after


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from sllm.models.base import LoglikelihoodRequest
    from sllm.models.cache import CachingLM
    from sllm.models.spec import load_model

    inner = load_model("default,batch_size=4")
    lm = CachingLM(inner, sys.argv[1])
    kill_after = int(sys.argv[2])
    requests = [LoglikelihoodRequest(f"Item {i}: the number after {i} is", f" {i + 1}")
                for i in range(50)]
    for done, _ in enumerate(lm.stream("loglikelihood", requests), start=1):
        if done == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    print(inner.calls["loglikelihood"])
    """
)


@pytest.mark.slow
def test_killed_run_resumes_without_repeating_finished_calls(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    cache = tmp_path / "kill.sqlite"
    killed = subprocess.run([sys.executable, str(script), str(cache), "20"], capture_output=True, text=True)
    assert killed.returncode == -9
    resumed = subprocess.run([sys.executable, str(script), str(cache), "0"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert int(resumed.stdout.strip()) == 30
    rerun = subprocess.run([sys.executable, str(script), str(cache), "0"], capture_output=True, text=True)
    assert int(rerun.stdout.strip()) == 0


def test_cache_cli_stats_and_clear(tmp_path):
    generated = run_cli("generate", "--max-new-tokens", "3", "--raw", "Hello")
    assert generated.returncode == 0, generated.stderr
    stats = json.loads(run_cli("cache", "stats", "--json").stdout)
    assert [e["entries"] for e in stats["entries"]] == [1]
    assert stats["entries"][0]["kind"] == "generate"
    cleared = run_cli("cache", "clear", "--yes")
    assert "removed 1" in cleared.stdout
    assert json.loads(run_cli("cache", "stats", "--json").stdout)["entries"] == []


# -- runs sharing one cache: in-flight claims ---------------------------------------------------


def _counting_lm():
    """A deterministic log-likelihood model that counts what it computes (the claims are under test)."""
    from sllm.models.base import LM, LoglikelihoodResult

    class Counting(LM):
        spec = "counting"

        def _iter_loglikelihood(self, requests):  # noqa: ANN001, ANN202
            for index, request in enumerate(requests):
                yield index, LoglikelihoodResult(-float(len(request.continuation)), True, 1)

    return Counting()


def _claim(cache: CallCache, keys: list[str], pid: int, expires_in: float) -> None:
    """Write claims as another run would have left them."""
    from sllm.models.claims import HOST

    rows = [(k, f"{HOST}:{pid}:other", HOST, pid, time.time() + expires_in) for k in keys]
    cache.db.executemany("INSERT INTO claims VALUES (?, ?, ?, ?, ?)", rows)
    cache.db.commit()


def _keys(lm, requests) -> list[str]:  # noqa: ANN001
    from sllm.models.cache import request_key

    return [request_key(lm.fingerprint(), "loglikelihood", r) for r in requests]


def _claims_left(cache: CallCache) -> int:
    return cache.db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]


def test_claims_of_a_dead_owner_are_taken_over(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    inner = _counting_lm()
    _claim(cache, _keys(inner, REQUESTS), pid=2**31 - 1, expires_in=3600)  # no such process
    results = CachingLM(inner, cache).loglikelihood(REQUESTS)
    assert inner.calls["loglikelihood"] == len(REQUESTS)
    assert [r.logprob for r in results] == [-float(len(r.continuation)) for r in REQUESTS]
    assert _claims_left(cache) == 0


def test_claims_whose_lease_ran_out_are_taken_over(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    inner = _counting_lm()
    with subprocess.Popen(["sleep", "60"]) as alive:
        _claim(cache, _keys(inner, REQUESTS), pid=alive.pid, expires_in=-1)
        CachingLM(inner, cache).loglikelihood(REQUESTS)
        alive.kill()
    assert inner.calls["loglikelihood"] == len(REQUESTS)


def test_keys_a_live_run_computes_are_waited_for_not_computed(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    inner = _counting_lm()
    keys = _keys(inner, REQUESTS)
    with subprocess.Popen(["sleep", "60"]) as owner:
        _claim(cache, keys[4:], pid=owner.pid, expires_in=3600)

        def other_run_finishes() -> None:  # what the owner stores once it has computed them
            other = CallCache(tmp_path / "c.sqlite")
            for key, request in zip(keys[4:], REQUESTS[4:]):
                response = json.dumps({"logprob": -100.0, "is_greedy": False, "n_tokens": 7})
                other.put(key, "loglikelihood", "counting", json.dumps(request.cache_key()), response)
            other.close()

        lm = CachingLM(inner, cache)
        lm.poll_interval = 0.05
        stream = lm.stream("loglikelihood", REQUESTS)
        first = [next(stream) for _ in range(4)]  # its own keys come first, computed
        finisher = threading.Thread(target=other_run_finishes)
        finisher.start()
        rest = dict(stream)
        finisher.join()
        owner.kill()
    assert sorted(i for i, _ in first) == [0, 1, 2, 3]
    assert inner.calls["loglikelihood"] == 4
    assert (lm.waited, lm.hits) == (8, 8)
    assert sorted(rest) == list(range(4, 12)) and {r.logprob for r in rest.values()} == {-100.0}
    assert _claims_left(cache) == 0


def test_claims_are_released_when_the_model_fails(tmp_path):
    from sllm.models.base import LoglikelihoodResult

    cache = CallCache(tmp_path / "c.sqlite")
    inner = _counting_lm()

    def fail_after_two(requests):  # noqa: ANN001, ANN202
        for index, request in enumerate(requests[:2]):
            yield index, LoglikelihoodResult(-1.0, True, len(request.continuation))
        raise KeyboardInterrupt

    inner._iter_loglikelihood = fail_after_two
    with pytest.raises(KeyboardInterrupt):
        CachingLM(inner, cache).loglikelihood(REQUESTS)
    assert _claims_left(cache) == 0
    assert cache.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 2


def test_claims_are_released_when_the_caller_stops_reading(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    stream = CachingLM(_counting_lm(), cache).stream("loglikelihood", REQUESTS)
    next(stream)
    assert _claims_left(cache) == len(REQUESTS) - 1
    stream.close()
    assert _claims_left(cache) == 0


def test_a_live_owner_keeps_renewing_its_lease(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")
    claims = cache.new_claims(lease=0.3)
    assert claims.take(["k1", "k2"]) == {"k1", "k2"}

    def expiries() -> set[float]:
        return {e for (e,) in cache.db.execute("SELECT expires FROM claims")}

    first = expiries()
    deadline = time.time() + 30
    while expiries() == first and time.time() < deadline:
        time.sleep(0.05)
    assert min(expiries()) > max(first)  # renewed in the background, while the owner computes
    claims.release()
    assert _claims_left(cache) == 0
