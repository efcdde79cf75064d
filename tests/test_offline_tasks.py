"""Every built-in task runs offline on its bundled sample, except an explicit network-only list;
a data folder that lacks a task falls back with a warning; `sllm tasks list` fits 80 columns."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from helpers import run_cli

from sllm.errors import SllmError, SllmWarning
from sllm.evaluation.pipeline import BUILDERS
from sllm.tasks.data import BUNDLED, NETWORK_ONLY, USER_PATH, data_availability, load_task_data
from sllm.tasks.registry import TaskRegistry, get_registry

REGISTRY = get_registry()
# No public copy of these could be shipped (hub-only datasets): offline they need --data-dir.
NETWORK_ONLY_TASKS = {
    "arc_easy",
    "arc_challenge",
    *REGISTRY.groups["haerae"],
    *REGISTRY.groups["kmmlu"],
}


def test_the_network_only_tasks_are_exactly_arc_haerae_and_kmmlu() -> None:
    network = {n for n in REGISTRY.names() if data_availability(REGISTRY.tasks[n]) == NETWORK_ONLY}
    assert network == NETWORK_ONLY_TASKS
    assert len(network) == 2 + 5 + 45


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_builtin_task_loads_offline_and_builds_its_requests(name: str) -> None:
    spec = REGISTRY.tasks[name]
    if name in NETWORK_ONLY_TASKS:
        with pytest.raises(SllmError, match=f"task {name}: no data found; it has no bundled sample"):
            load_task_data(spec)
        return
    assert data_availability(spec) == BUNDLED
    data = load_task_data(spec)
    assert data.source.startswith(f"{BUNDLED} (")
    docs = data.docs[:2]
    assert len(docs) == 2
    # As `sllm eval --limit 2` builds them: the task's own k, exemplars from its own pool.
    pool = spec.fewshot.samples or data.fewshot_docs
    instances = BUILDERS[spec.output_type](spec, docs, pool, spec.fewshot.num_fewshot, None)
    assert len(instances) == 2
    assert all(inst.requests for inst in instances)


@pytest.mark.slow
def test_eval_runs_offline_on_bundled_samples_one_task_per_output_type(tmp_path: Path) -> None:
    # kobest_copa: Korean TSV, multiple choice; squad_v1: SQuAD JSON, generation; perplexity: rolling.
    tasks = ["kobest_copa", "squad_v1", "perplexity"]
    assert sorted(REGISTRY.tasks[t].output_type for t in tasks) == sorted(BUILDERS)
    result = run_cli(
        "eval", "--model", "default", "--tasks", ",".join(tasks), "--limit", "2", "--no-track", "--json",
        "--gen-kwargs", "max_new_tokens=8", "--output", str(tmp_path / "out"),
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    for task in tasks:
        assert results[task]["n"] == 2
        assert results[task]["data_source"].startswith(f"{BUNDLED} (")
    said = " ".join(result.stderr.split())  # rich wraps the warning at the terminal's width
    assert "warning: kobest_copa, squad_v1, perplexity ran on the small samples bundled with sllm" in said


@pytest.mark.slow
def test_eval_runs_every_offline_builtin_task_in_one_command(tmp_path: Path) -> None:
    """`sllm eval --tasks <every built-in task but the network-only ones> --limit 2`, offline and
    without --data-dir, as a new user would first try it (SLLM_SMOKE caps generation at 16 new
    tokens and 2 samples per prompt, so humaneval_64's pass@10/64 are left out)."""
    tasks = [name for name in REGISTRY.names() if name not in NETWORK_ONLY_TASKS]
    assert len(tasks) == len(REGISTRY.names()) - len(NETWORK_ONLY_TASKS) > 40
    result = run_cli(
        "eval", "--model", "default", "--tasks", ",".join(tasks), "--limit", "2", "--no-track", "--json",
        "--output", str(tmp_path / "out"),
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "SLLM_SMOKE": "1"}, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout)["results"]
    assert sorted(t for t in results if t in REGISTRY.tasks) == sorted(tasks)
    for task in tasks:
        assert results[task]["n"] == 2, task
        assert results[task]["data_source"].startswith(f"{BUNDLED} ("), task


def test_a_data_dir_without_the_task_falls_back_to_the_bundled_sample(tmp_path: Path) -> None:
    spec = REGISTRY.tasks["korsts"]
    missing = tmp_path / "korean" / "korsts" / "sts-test_first300.tsv"
    with pytest.warns(SllmWarning) as caught:
        data = load_task_data(spec, tmp_path)
    assert [str(w.message) for w in caught] == [
        f"task korsts: {missing} not found; using the {BUNDLED} instead"
    ]
    assert data.source.startswith(f"{BUNDLED} (") and len(data.docs) == 20


def test_a_data_dir_that_has_the_task_is_used_without_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "xsum"
    folder.mkdir()
    row = {"id": "1", "document": "An article.", "summary": "A summary."}
    (folder / "XSum-test_first300.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_task_data(REGISTRY.tasks["xsum"], tmp_path)
    assert data.docs == [row] and data.source == str(folder)


def test_the_fallback_warning_is_one_line_on_the_cli(tmp_path: Path) -> None:
    result = run_cli("tasks", "show", "korsts", "--data-dir", str(tmp_path), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    missing = tmp_path / "korean" / "korsts" / "sts-test_first300.tsv"
    expected = f"warning: task korsts: {missing} not found; using the bundled sample instead"
    assert expected in result.stderr.splitlines()


def test_network_only_task_with_an_empty_data_dir_names_the_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "arc" / "ARC-Easy-Test.jsonl"
    expected = f"task arc_easy: {re.escape(str(missing))} not found; it has no bundled sample"
    with pytest.raises(SllmError, match=expected):
        load_task_data(REGISTRY.tasks["arc_easy"], tmp_path)


def test_a_user_task_that_names_its_own_folder_gets_no_fallback(tmp_path: Path) -> None:
    # Same folder name as a bundled task, but named relative to the YAML: that folder or nothing.
    (tmp_path / "own.yaml").write_text(
        "task: own_xsum\ndataset: {folder: ./xsum, test: XSum-test_first300.jsonl}\n"
        "output_type: generate_until\ndoc_to_text: '{{document}}'\ndoc_to_target: summary\n",
        encoding="utf-8",
    )
    spec = TaskRegistry([tmp_path]).tasks["own_xsum"]
    assert data_availability(spec) == USER_PATH
    with pytest.raises(SllmError, match=f"data file not found: {re.escape(str(tmp_path / 'xsum'))}"):
        load_task_data(spec, tmp_path)


def test_tasks_list_json_gives_each_task_its_data_availability() -> None:
    listed = json.loads(run_cli("tasks", "list", "--json").stdout)
    assert listed["tasks"] == REGISTRY.names()
    assert listed["details"]["arc_easy"] == {
        "output_type": "multiple_choice",
        "metrics": ["acc", "acc_norm"],
        "groups": ["ai2_arc"],
        "data": NETWORK_ONLY,
    }
    assert listed["details"]["xsum"]["data"] == BUNDLED
    assert {n for n, d in listed["details"].items() if d["data"] == NETWORK_ONLY} == NETWORK_ONLY_TASKS


def test_tasks_list_fits_80_columns_without_breaking_a_word() -> None:
    from sllm.cli.tasks.list import _DATA_LABELS, _LEGEND, _TYPE_LABELS

    result = run_cli("tasks", "list", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].strip() == "156 tasks (104 bundled sample, 52 network only), 22 groups"
    assert lines[1].split() == ["task", "type", "data", "metrics"]  # groups left out at 80 columns
    caption_at = next(i for i, line in enumerate(lines) if line.startswith("type: mc ="))
    body = [line.rstrip() for line in lines[3:caption_at]]
    metrics = {m for n in REGISTRY.names() for m in REGISTRY.tasks[n].metric_names()}
    whole_words = set(REGISTRY.names()) | set(_TYPE_LABELS.values()) | set(_DATA_LABELS.values()) | metrics
    # A word split over two lines, or cut with '…', would leave a fragment that is none of these.
    assert {word.rstrip(",") for line in body for word in line.split()} <= whole_words
    starts = [line.split()[0] for line in body if not line.startswith(" ")]
    assert starts == REGISTRY.names()
    assert "arc_easy                                          mc    online  acc, acc_norm" in body
    caption = " ".join(lines[caption_at:]).split()
    assert caption == (_LEGEND + " Groups: a wider terminal, or --json.").split()
