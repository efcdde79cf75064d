"""Drift and the request log (issue #17, items 5 and 6): PSI, profiles, the drift monitor, the PII-masked
request log, the eval set drawn from it, `sllm monitor`, and all of it behind a real `sllm serve`.

Prompts: 100 English Self-Instruct user-oriented instructions (60 make the reference, 40 are live
traffic) and 40 Korean prompts written for these tests (tests/fixtures/monitor/SOURCE.md).
"""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers import metric, metric_samples, run_cli

from sllm.serve.drift import (
    MEASURES,
    NGRAM,
    SENTENCE,
    DriftMonitor,
    build_profile,
    load_profile,
    psi,
    save_profile,
    shares,
    total_variation,
)
from sllm.serve.prompt_files import read_prompts
from sllm.serve.request_log import RequestLog, log_line, sample_eval_set

FIXTURES = Path(__file__).parent / "fixtures" / "monitor"
ENGLISH_FILE = FIXTURES / "english_prompts.jsonl"
KOREAN_FILE = FIXTURES / "korean_prompts.jsonl"
PII = "제 이메일은 hong.gildong@example.com 이고 전화번호는 010-1234-5678 입니다. 회신 부탁드립니다."


@pytest.fixture(scope="module")
def english() -> list[str]:
    return [row.text for row in read_prompts(ENGLISH_FILE)]


@pytest.fixture(scope="module")
def korean() -> list[str]:
    return [row.text for row in read_prompts(KOREAN_FILE)]


@pytest.fixture(scope="module")
def profile(english: list[str]) -> dict:
    """The reference: 60 English prompts, in the bundled MiniLM's space."""
    return build_profile(english[:60])


def _measured(profile: dict, prompts: list[str]) -> dict[str, float]:
    monitor = DriftMonitor(profile, background=False)
    monitor.add(prompts)  # one batch: what observe does prompt by prompt
    return monitor.measures()


def test_psi_on_known_distributions() -> None:
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0
    assert psi([20, 30, 50], [2, 3, 5]) == 0  # counts are normalised
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(psi([0.25, 0.75], [0.5, 0.5]))  # symmetric
    empty = psi([0.5, 0.5, 0.0], [0.4, 0.4, 0.2])  # an empty reference bin: finite, and large
    assert math.isfinite(empty) and empty > 1
    assert psi([1, 0], [0, 1]) == pytest.approx(2 * (1 - 1e-4) / (1 + 1e-4) * math.log(1e4), rel=1e-3)
    with pytest.raises(ValueError):
        psi([1, 2], [1, 2, 3])
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1
    assert total_variation({"a": 0.6, "b": 0.4}, {"a": 0.4, "b": 0.6}) == pytest.approx(0.2)
    # bins: (-inf, 0], (0, 0.5], (0.5, inf)
    assert shares([0, 0, 0.2, 0.5, 0.9], [0.0, 0.5]) == [0.4, 0.4, 0.2]


def test_profile_is_json_with_its_schema_and_encoder(profile: dict, tmp_path: Path) -> None:
    assert json.loads(json.dumps(profile)) == profile
    assert profile["schema"] == "sllm.drift-profile/1" and profile["prompts"] == 60
    assert profile["embedding"]["space"] == SENTENCE
    assert profile["embedding"]["encoder"] == "all-MiniLM-L6-v2"
    assert set(profile["embedding"]["spaces"]) == {SENTENCE, NGRAM}  # n-grams always, for Korean traffic
    assert profile["language"] == {"hangul": 0.0, "latin": 1.0, "other": 0.0}
    chars = profile["lengths"]["chars"]
    assert len(chars["shares"]) == len(chars["edges"]) + 1 and sum(chars["shares"]) == pytest.approx(1)
    save_profile(profile, tmp_path / "p.json")
    assert load_profile(tmp_path / "p.json") == profile
    (tmp_path / "bad.json").write_text('{"schema": "other"}', encoding="utf-8")
    with pytest.raises(Exception, match="bad.json: not a drift profile"):
        load_profile(tmp_path / "bad.json")


def test_english_traffic_stays_korean_traffic_moves(
    profile: dict, english: list[str], korean: list[str]
) -> None:
    same = _measured(profile, english[60:])
    moved = _measured(profile, korean)
    assert set(same) == set(MEASURES) and same["prompts"] == moved["prompts"] == 40
    assert same["psi_length"] < 0.25 and same["psi_words"] < 0.25
    assert same["psi_hangul"] == same["language_shift"] == 0
    assert same["embedding_distance"] < 0.3 and same["ngram_distance"] < 0.1
    assert moved["language_shift"] == 1
    assert moved["psi_hangul"] > 5
    assert moved["embedding_distance"] > 0.5 and moved["embedding_distance"] > 3 * same["embedding_distance"]
    assert moved["ngram_distance"] > 0.5
    assert moved["psi_length"] > 1  # Korean prompts are shorter in characters


def test_a_korean_reference_falls_back_to_character_ngrams(korean: list[str], english: list[str]) -> None:
    profile = build_profile(korean[:25])
    assert profile["embedding"]["space"] == NGRAM and profile["embedding"]["encoder"] is None
    assert "Hangul" in profile["embedding"]["why"]
    same = _measured(profile, korean[25:])
    other = _measured(profile, english[:15])
    assert same["language_shift"] == 0 and other["language_shift"] == 1
    assert same["embedding_distance"] < 0.3 < other["embedding_distance"]


def test_the_monitor_measures_in_the_background_and_sets_the_gauges(english: list[str]) -> None:
    from sllm.serve.metrics import ServerMetrics

    profile = build_profile(english[:60], encoder="none")
    metrics = ServerMetrics("m")
    monitor = DriftMonitor(profile, window=30, metrics=metrics, model_name="m")
    assert math.isnan(monitor.measures()["embedding_distance"])  # nothing seen yet

    def send(part: list[str]) -> None:
        for prompt in part:
            monitor({"prompt": prompt, "endpoint": "chat"})

    threads = [threading.Thread(target=send, args=(english[60 + 10 * i : 70 + 10 * i],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monitor.observe({"endpoint": "completions"})  # no prompt: ignored
    assert monitor.wait(timeout=60)
    values = monitor.measures()
    assert values["prompts"] == 30  # the window holds the last 30 of 40
    exposed = metrics.exposition().decode()
    line = f'sllm_drift{{measure="embedding_distance",model_name="m"}} {values["embedding_distance"]}'
    assert line in exposed
    monitor.close()


def test_the_request_log_masks_personal_data_and_samples(tmp_path: Path) -> None:
    record = {
        "time": 1700000000.25, "endpoint": "chat", "model": "default", "version": "v1", "prompt": PII,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PII}],
        "replies": ["I will write to hong.gildong@example.com."], "prompt_tokens": 30,
        "completion_tokens": 9, "latency_s": 0.5, "api_key": "sk-secret", "headers": {"authorization": "x"},
    }  # fmt: skip
    log = RequestLog(tmp_path / "logs" / "requests.jsonl")
    log(record)
    text = (tmp_path / "logs" / "requests.jsonl").read_text(encoding="utf-8")
    line = json.loads(text)
    assert "hong.gildong" not in text and "010-1234-5678" not in text and "sk-secret" not in text
    assert "authorization" not in text and "api_key" not in line and "headers" not in line
    assert (
        line["prompt"] == "제 이메일은 [EMAIL] 이고 전화번호는 [PHONE] 입니다. 회신 부탁드립니다."
    )  # UTF-8 as is
    assert line["messages"][1]["content"] == line["prompt"] and line["replies"] == [
        "I will write to [EMAIL]."
    ]
    assert line["masked"] == {"email": 3, "phone_ko": 2}
    assert line["time"] == "2023-11-14T22:13:20.250+00:00"

    def sampled(seed: int) -> list[str]:
        path = tmp_path / f"sampled{seed}.jsonl"
        path.unlink(missing_ok=True)
        sampler = RequestLog(path, sample_rate=0.3, seed=seed)
        for i in range(200):
            sampler({**record, "prompt": f"question {i}"})
        return [json.loads(x)["prompt"] for x in path.read_text(encoding="utf-8").splitlines()]

    assert sampled(1) == sampled(1) != sampled(2) and 35 < len(sampled(1)) < 85
    with pytest.raises(Exception, match="sample rate"):
        RequestLog(tmp_path / "x.jsonl", sample_rate=1.5)


def test_the_eval_set_is_read_by_the_judge_and_by_sllm_data(tmp_path: Path) -> None:
    from sllm.data.formats import load_examples
    from sllm.judging.answers import load_answers
    from sllm.judging.items import load_items

    log = tmp_path / "requests.jsonl"
    lines = [
        log_line({"prompt": f"Question {i % 12}?", "replies": [f"Answer {i % 12}."], "model": "default",
                  "endpoint": "chat", "messages": [{"role": "user", "content": f"Question {i % 12}?"}]})
        for i in range(30)
    ]  # fmt: skip
    log.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    summary = sample_eval_set(log, 5, tmp_path / "evalset.jsonl", seed=3)
    assert summary["requests"] == 30 and summary["distinct_prompts"] == 12 and summary["written"] == 5
    items = load_items(tmp_path / "evalset.jsonl", "single")
    assert len({i.question_id for i in items}) == 5 and all(i.models == ["default"] for i in items)
    assert all(i.answers[0][0] == i.turns[0].replace("Question", "Answer").replace("?", ".") for i in items)
    examples, layout = load_examples(tmp_path / "evalset.jsonl")
    assert layout == "alpaca" and len(examples) == 5
    assert load_answers(tmp_path / "evalset.jsonl").model == "default"
    again = sample_eval_set(log, 50, tmp_path / "all.jsonl", seed=3)
    assert again["written"] == 12  # no more than the distinct prompts


def test_monitor_cli_profile_and_its_errors(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    done = run_cli("monitor", "profile", str(ENGLISH_FILE), "--out", str(out), "--encoder", "none", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["prompts"] == 100 and summary["embedding_space"] == NGRAM
    assert load_profile(out)["source"] == str(ENGLISH_FILE)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": "broken\n', encoding="utf-8")
    failed = run_cli("monitor", "profile", str(bad), "--out", str(tmp_path / "p.json"))
    assert failed.returncode == 1 and f"{bad}:2: invalid JSON" in failed.stderr
    missing = run_cli(
        "monitor", "profile", str(ENGLISH_FILE), "--out", str(tmp_path / "p.json"), "--field", "nope"
    )
    assert missing.returncode == 1 and f"{ENGLISH_FILE}:1: missing field 'nope'" in missing.stderr


def _chat(base: str, prompts: list[str]) -> None:
    """Ask each prompt, four at a time (the server batches them), with a two-token reply."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(prompt: str) -> int:
        body = {"model": "default", "messages": [{"role": "user", "content": prompt}], "max_tokens": 2}
        return httpx.post(base + "/v1/chat/completions", json=body, timeout=120).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(ask, prompts)) == [200] * len(prompts)


def _drift(base: str, prompts: float, timeout: float = 120) -> dict[str, float]:
    """The sllm_drift gauges once the monitor has measured `prompts` prompts."""
    deadline = time.monotonic() + timeout
    while True:
        samples = metric_samples(base)
        values = {m: metric(samples, "sllm_drift", measure=m) for m in MEASURES}
        if values["prompts"] >= prompts or time.monotonic() > deadline:
            return values
        time.sleep(0.2)


def test_a_served_model_reports_drift_and_logs_masked_requests(
    profile: dict, english: list[str], korean: list[str], tmp_path: Path
) -> None:
    from sllm.serve.process import ServeProcess

    save_profile(profile, tmp_path / "profile.json")
    log = tmp_path / "requests.jsonl"
    args = ["--no-auth", "--drift-profile", str(tmp_path / "profile.json"), "--request-log", str(log)]
    server = ServeProcess(args, log=tmp_path / "serve.log").start()
    try:
        _chat(server.base, english[60:72])
        first = _drift(server.base, 12)
        _chat(server.base, english[72:84])
        second = _drift(server.base, 24)
        _chat(server.base, [PII, *korean[:15]])
        after = _drift(server.base, 40)
        completion = {"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "ignore_eos": True}
        assert httpx.post(server.url + "/completions", json=completion, timeout=120).status_code == 200
    finally:
        server.stop()
    print(f"drift after 12 English: {first}\nafter 24 English: {second}\nafter 16 Korean more: {after}")
    assert first["prompts"] == 12 and second["prompts"] == 24 and after["prompts"] == 40
    assert first["language_shift"] == second["language_shift"] == 0
    assert (
        second["embedding_distance"] < 0.3
        and second["embedding_distance"] < first["embedding_distance"] + 0.05
    )
    assert after["language_shift"] == pytest.approx(0.4)  # 16 of the 40 prompts are Korean
    assert after["embedding_distance"] > second["embedding_distance"] + 0.1
    assert after["psi_hangul"] > 1 and after["ngram_distance"] > 2 * second["ngram_distance"]

    logged = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert len(logged) == 41 and all(x["endpoint"] == "chat" and x["replies"] for x in logged[:40])
    assert logged[40]["endpoint"] == "completions" and logged[40]["completion_tokens"] == 8
    assert all(x["latency_s"] > 0 for x in logged)  # each request timed from its arrival
    masked = next(x for x in logged if "[EMAIL]" in x["prompt"])
    assert masked["prompt"] == "제 이메일은 [EMAIL] 이고 전화번호는 [PHONE] 입니다. 회신 부탁드립니다."
    assert masked["messages"] == [{"role": "user", "content": masked["prompt"]}]
    assert "hong.gildong" not in log.read_text(encoding="utf-8")

    evalset, html = tmp_path / "evalset.jsonl", tmp_path / "drift.html"
    sampled = run_cli("monitor", "sample", str(log), "--n", "10", "--out", str(evalset), "--json")
    assert sampled.returncode == 0, sampled.stderr
    assert json.loads(sampled.stdout)["written"] == 10 and len(evalset.read_text().splitlines()) == 10
    reported = run_cli("monitor", "report", "--profile", str(tmp_path / "profile.json"), "--log", str(log),
                       "--window", "12", "--html", str(html), env={"COLUMNS": "200"})  # fmt: skip
    assert reported.returncode == 0, reported.stderr
    assert "language shift" in reported.stdout and "25-36" in reported.stdout  # the table, by window
    page = html.read_text(encoding="utf-8")
    assert '<script src="' not in page and len(page) > 1_000_000  # plotly.js inlined: opens offline
    data = page.split('<script type="application/json" id="drift-report">')[1].split("</script>")[0]
    report = json.loads(data)
    assert [w["last"] for w in report["windows"]] == [12, 24, 36, 41]
    windows = [w["measures"]["language_shift"] for w in report["windows"]]
    assert windows[:2] == [0, 0] and windows[3] == pytest.approx(0.8)  # 4 Korean + the English completion
    assert report["overall"]["language_shift"] == pytest.approx(16 / 41)
