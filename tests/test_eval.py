"""`sllm eval` end to end on the real default model: prompts, metrics, groups, records, errors."""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from sllm.errors import SllmError, UsageError
from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.models.base import LoglikelihoodRequest as LLR
from sllm.tasks.registry import TaskRegistry, get_registry

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"


def argmax(values: list[float]) -> int:
    """Index of the largest value (the first on a tie, as numpy's)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def test_mmlu_prompt_is_lm_eval_default():
    from sllm.evaluation.instances import build_instances
    from sllm.tasks.data import load_task_data

    spec = get_registry().tasks["mmlu_high_school_us_history"]
    data = load_task_data(spec)
    instance = build_instances(spec, data.docs[:1], data.fewshot_docs, 1)[0]
    doc, shot = data.docs[0], data.fewshot_docs[0]
    expected = (
        "The following are multiple choice questions (with answers) about high school us history.\n\n"
        f"{shot['question'].strip()}\nA. {shot['choices'][0]}\nB. {shot['choices'][1]}\n"
        f"C. {shot['choices'][2]}\nD. {shot['choices'][3]}\nAnswer: {'ABCD'[shot['answer']]}\n\n"
        f"{doc['question'].strip()}\nA. {doc['choices'][0]}\nB. {doc['choices'][1]}\n"
        f"C. {doc['choices'][2]}\nD. {doc['choices'][3]}\nAnswer:"
    )
    assert instance.prompt == expected
    assert [r.continuation for r in instance.requests] == [" A", " B", " C", " D"]


def test_hellaswag_query_and_endings_from_the_text_format():
    from sllm.evaluation.instances import build_instances
    from sllm.tasks.data import load_task_data

    spec = get_registry().tasks["hellaswag"]
    instance = build_instances(spec, load_task_data(spec).docs[:1], [], 0)[0]
    assert instance.prompt == "Roof shingle removal: A man is sitting on a roof. he"
    assert instance.requests[3].continuation == " starts pulling up roofing on a roof."
    assert instance.gold == 3


def test_user_task_with_all_mc_metrics(default_lm):
    config = EvalConfig(tasks=["capitals"], include_paths=[str(FIXTURES)], track=False)
    record = evaluate(config, lm=default_lm)
    result = record["results"]["capitals"]
    assert result["n"] == 4 and result["acc"] == 1.0
    # Every metric by hand from the model called directly: conditional and unconditional
    # log-likelihoods of " " + choice, divided by characters / bytes, or minus the unconditional.
    per_doc: dict[str, list[float]] = {"acc_norm": [], "acc_bytes": [], "acc_mutual_info": []}
    for row in record["samples_records"]["capitals"]:
        gold, choices = row["gold"], row["choices"]
        cond = [r.logprob for r in default_lm.loglikelihood([LLR(row["prompt"], " " + c) for c in choices])]
        uncond = [r.logprob for r in default_lm.loglikelihood([LLR("", " " + c) for c in choices])]
        assert row["loglikelihoods"] == pytest.approx(cond, abs=1e-4)
        per_doc["acc_norm"].append(float(argmax([ll / len(c) for ll, c in zip(cond, choices)]) == gold))
        per_doc["acc_bytes"].append(
            float(argmax([ll / len(c.encode()) for ll, c in zip(cond, choices)]) == gold)
        )
        per_doc["acc_mutual_info"].append(float(argmax([c - u for c, u in zip(cond, uncond)]) == gold))
    for name, values in per_doc.items():
        assert [row[name] for row in record["samples_records"]["capitals"]] == values, name
        assert result[name] == statistics.mean(values), name
        assert result[f"{name}_stderr"] == pytest.approx(statistics.stdev(values) / 2), name  # sqrt(n=4)
    row = record["samples_records"]["capitals"][3]
    assert row["target"] == "Rome" and row["prediction"] == "Rome" and len(row["loglikelihoods"]) == 3
    assert record["results"]["capitals"]["data_source"].endswith("capitals_data")


@pytest.mark.slow
def test_group_aggregates_per_document(default_lm):
    config = EvalConfig(tasks=["mmlu"], limit=2, track=False)
    record = evaluate(config, lm=default_lm)
    members = record["groups"]["mmlu"]
    assert len(members) == 57
    per_doc = [row["acc"] for t in members for row in record["samples_records"][t]]
    assert record["results"]["mmlu"]["acc"] == pytest.approx(sum(per_doc) / len(per_doc))
    assert record["results"]["mmlu"]["n"] == len(per_doc) == 114


def test_truthfulqa_mc2_is_probability_mass(default_lm):
    from sllm.tasks.data import load_task_data

    record = evaluate(EvalConfig(tasks=["truthfulqa_mc2"], limit=3, track=False), lm=default_lm)
    docs = load_task_data(get_registry().tasks["truthfulqa_mc2"]).docs[:3]
    rows = record["samples_records"]["truthfulqa_mc2"]
    assert len(rows) == 3
    for row, doc in zip(rows, docs):
        # lm-eval's definition by hand: P(true answers) / P(all answers), from the model called directly.
        targets = doc["mc2_targets"]
        requests = [LLR(row["prompt"], " " + choice) for choice in targets["choices"]]
        probs = [math.exp(r.logprob) for r in default_lm.loglikelihood(requests)]
        true_mass = sum(p for p, label in zip(probs, targets["labels"]) if label == 1)
        assert row["mc2"] == pytest.approx(true_mass / sum(probs), rel=1e-4)


def test_unknown_task_lists_close_names():
    with pytest.raises(UsageError, match="did you mean hellaswag"):
        get_registry().resolve(["hellaswagg"])


def test_yaml_missing_field_names_file_and_field(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "task: broken\ndataset: {folder: x, test: y.jsonl}\ndoc_to_target: a\n"
    )
    with pytest.raises(SllmError, match=r"bad.yaml: field 'doc_to_text': missing required field"):
        TaskRegistry([tmp_path])


def test_broken_data_line_names_file_and_line(tmp_path, default_lm):
    (tmp_path / "data").mkdir()
    (tmp_path / "task.yaml").write_text(
        (FIXTURES / "capitals.yaml").read_text().replace("capitals_data", "data")
    )
    lines = (FIXTURES / "capitals_data" / "test.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-5]
    (tmp_path / "data" / "test.jsonl").write_text("\n".join(lines) + "\n")
    config = EvalConfig(tasks=["capitals"], include_paths=[str(tmp_path)], track=False)
    with pytest.raises(SllmError, match=r"test.jsonl:3: invalid JSON"):
        evaluate(config, lm=default_lm)


@pytest.mark.slow
def test_cli_json_records_and_tracking(tmp_path):
    out = tmp_path / "results"
    result = run_cli("eval", "--tasks", "capitals", "--include-path", str(FIXTURES), "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["results"]["capitals"]["acc"] == 1.0 and payload["run_id"]
    samples = [json.loads(line) for line in Path(payload["samples"]).read_text().splitlines()]
    assert {"task", "doc_id", "prompt", "target", "prediction", "acc"} <= set(samples[0])
    shown = json.loads(run_cli("runs", "show", payload["run_id"], "--json").stdout)
    assert shown["metrics"]["capitals/acc"] == 1.0
    assert shown["datasets"][0]["name"] == "capitals"


def test_cli_errors_are_one_line():
    result = run_cli("eval", "--tasks", "hellaswagg", "--no-track")
    assert result.returncode == 2 and "did you mean hellaswag" in result.stderr
    assert "Traceback" not in result.stderr


def test_tasks_list_and_show():
    listed = json.loads(run_cli("tasks", "list", "--json").stdout)
    assert {"hellaswag", "mmlu_anatomy", "arc_easy", "truthfulqa_mc1"} <= set(listed["tasks"])
    assert len(listed["groups"]["mmlu"]) == 57
    shown = run_cli("tasks", "show", "mmlu_anatomy", "--num-fewshot", "1")
    assert shown.returncode == 0 and "Answer:" in shown.stdout and "<- gold" in shown.stdout


# `sllm eval` that SIGKILLs itself the moment the Nth result is committed to the cache: a kill at a
# known point, with no race against a poll.
SELF_KILLING_SLLM = """
import os, signal, sys
from sllm.cli import main
from sllm.models.cache import CallCache

kill_after, stored, real_put = int(sys.argv.pop(1)), [], CallCache.put

def put(self, *args):
    real_put(self, *args)
    stored.append(1)
    if len(stored) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

CallCache.put = put
main()
"""


@pytest.mark.slow
def test_kill_during_eval_then_resume_repeats_no_finished_request(tmp_path):
    env = {**os.environ, "SLLM_CACHE": str(tmp_path / "cache.sqlite")}
    script = tmp_path / "self_killing_sllm.py"
    script.write_text(SELF_KILLING_SLLM)
    args = ["eval", "--tasks", "truthfulqa_mc1", "--limit", "6", "--batch-size", "4", "--no-track",
            "-o", str(tmp_path / "r"), "--json"]  # fmt: skip
    killed = subprocess.run([sys.executable, str(script), "10", *args], env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = subprocess.run([sys.executable, "-m", "sllm", *args], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    payload = json.loads(resumed.stdout)
    total = sum(
        len(r["loglikelihoods"]) for r in map(json.loads, Path(payload["samples"]).read_text().splitlines())
    )
    assert total > 10  # the kill came before the end
    assert payload["cache"]["hits"] == 10
    assert payload["cache"]["computed"] == total - 10


def test_mc_by_generation_lists_options_and_matches_letters(default_lm):
    from sllm.evaluation.instances import build_instances
    from sllm.evaluation.mc_generate import score_letters, to_generation
    from sllm.models.base import GenerationResult
    from sllm.tasks.data import load_task_data

    spec = get_registry().tasks["hellaswag"]
    instances = build_instances(spec, load_task_data(spec).docs[:2], [], 0)
    to_generation(instances)
    assert instances[0].prompt.endswith(
        "\n\nA. is using wrap to wrap a pair of skis.\nB. is ripping level tiles off.\n"
        "C. is holding a rubik's cube.\nD. starts pulling up roofing on a roof.\nAnswer:"
    )
    instances[0].outputs = [GenerationResult(" D) starts pulling", 3, "stop")]  # gold is D (3)
    instances[1].outputs = [GenerationResult(" I think (A)", 3, "stop")]
    rows = score_letters(instances)
    assert [r["prediction"] for r in rows] == ["D", "A"] and rows[0]["acc"] == 1.0


def test_mc_mode_generate_end_to_end(default_lm):
    config = EvalConfig(tasks=["mmlu_anatomy"], limit=2, mc_mode="generate", chat=True, track=False)
    record = evaluate(config, lm=default_lm)
    rows = record["samples_records"]["mmlu_anatomy"]
    assert all(r["raw_outputs"] and r["target"] in "ABCD" for r in rows)
    assert record["results"]["mmlu_anatomy"]["acc"] == sum(r["acc"] for r in rows) / 2


def test_retrieved_fewshot_in_an_eval(default_lm):
    config = EvalConfig(
        tasks=["mmlu_anatomy"], limit=1, num_fewshot=2, fewshot_sampler="retrieved", track=False
    )
    prompt = evaluate(config, lm=default_lm)["samples_records"]["mmlu_anatomy"][0]["prompt"]
    assert prompt.count("\nAnswer:") == 3  # two exemplars from the dev pool, then the question


def test_unreachable_hub_falls_back_to_the_bundled_sample_quickly(monkeypatch):
    import socket

    from sllm.tasks import data as data_module
    from sllm.tasks.data import hub_reachable, load_task_data

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    probes = []
    real_connect = socket.create_connection

    def probe(address, timeout=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        probes.append((address, timeout))
        return real_connect(address, timeout, *args, **kwargs)

    def from_hub(spec):  # noqa: ANN001, ANN202 - datasets' download retries are what must not run
        raise AssertionError(f"{spec.task}: asked the hub although the probe failed")

    monkeypatch.setattr(socket, "create_connection", probe)
    monkeypatch.setattr(data_module, "_from_hub", from_hub)
    hub_reachable.cache_clear()
    try:
        data = load_task_data(get_registry().tasks["hellaswag"])
        assert load_task_data(get_registry().tasks["mmlu_anatomy"]).source.startswith("bundled sample")
    finally:
        hub_reachable.cache_clear()
    assert data.source.startswith("bundled sample")
    assert probes == [(("127.0.0.1", port), 3)]  # one probe of 3 s at most, shared by every task
