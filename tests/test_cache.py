"""The call cache: repeated runs cost nothing, killed runs resume, keys cover everything."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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
