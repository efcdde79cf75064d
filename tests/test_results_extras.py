"""What an lm-evaluation-harness user expects next to the numbers: results.md, environment,
resolved task configs, acc_norm's pick in samples, G-Eval steps in records, readable table cells.

No model runs here: log-likelihoods come from a fixed table (the tests are about the records).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from helpers import ScriptedLM
from rich.console import Console

from sllm.environment import environment, git_state
from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.evaluation.records import results_table, track_evaluation, write_records
from sllm.evaluation.report_md import results_markdown
from sllm.judging.geval import get_criterion, geval
from sllm.models.base import LM, LoglikelihoodResult
from sllm.tables import cell
from sllm.tasks.registry import get_registry
from sllm.tracking import get_run

TASKS = Path(__file__).parent / "fixtures" / "tasks"  # `capitals`: 4 documents, 3 choices each
HEADER = "| Tasks | Version | Filter | n-shot | Metric | Value | ± Stderr |"
RULE = "|---|---:|---|---:|---|---:|---:|"
# " Paris" wins on the sum, " Berlin" per character: acc and acc_norm pick differently.
LOGPROBS = {" Paris": -4.0, " Berlin": -4.5, " Madrid": -9.0}


class FixedLoglikelihoods(LM):
    """Log-likelihood from a table by continuation (else -1 per character); context ignored."""

    spec = "fixed"

    def _iter_loglikelihood(self, requests):  # noqa: ANN001, ANN202
        for i, r in enumerate(requests):
            yield i, LoglikelihoodResult(LOGPROBS.get(r.continuation, -float(len(r.continuation))), False, 1)


@pytest.fixture
def capitals_record() -> dict:
    return evaluate(
        EvalConfig(tasks=["capitals"], include_paths=[str(TASKS)], track=False), FixedLoglikelihoods()
    )


def test_results_md_has_lm_eval_columns_and_one_row_per_task_metric(capitals_record, tmp_path):
    summary = write_records(capitals_record, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())["results"]["capitals"]
    lines = (tmp_path / "results.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# sllm eval: default"
    start = lines.index(HEADER)
    assert lines[start + 1] == RULE
    expected = [
        f"| {'capitals | 0.1' if i == 0 else ' | '} | none | 0 | {name} "
        f"| {saved[name]:.4f} | {saved[name + '_stderr']:.4f} |"
        for i, name in enumerate(("acc", "acc_norm", "acc_bytes", "acc_mutual_info"))
    ]
    assert lines[start + 2 :] == expected
    # 3 of 4: for Japan " Seoul" ties " Tokyo" and argmax takes the first
    assert summary["results"]["capitals"]["acc"] == saved["acc"] == 0.75


def test_results_md_splits_filters_and_writes_groups_apart():
    summary = {
        "model": "hf:./out",
        "config": {"limit": 2, "num_fewshot": None},
        "groups": {"maths": ["gsm8k"]},
        "results": {
            "gsm8k": {
                "exact_match,strict-match": 0.5, "exact_match,strict-match_stderr": 0.5,
                "exact_match,flexible-extract": 1.0, "exact_match,flexible-extract_stderr": float("nan"),
                "n": 2, "version": "3.0", "num_fewshot": 5, "data_source": "local",
            },
            "maths": {"exact_match,strict-match": 0.5, "exact_match,strict-match_stderr": 0.5, "n": 2},
        },
    }  # fmt: skip
    assert results_markdown(summary) == (
        "# sllm eval: hf:./out\n\nlimit: 2, num_fewshot: —\n\n"
        f"{HEADER}\n{RULE}\n"
        "| gsm8k | 3.0 | strict-match | 5 | exact_match | 0.5000 | 0.5000 |\n"
        "|  |  | flexible-extract | 5 | exact_match | 1.0000 | — |\n\n"
        "| Groups | Version | Filter | n-shot | Metric | Value | ± Stderr |\n"
        f"{RULE}\n"
        "| maths | — | strict-match | 5 | exact_match | 0.5000 | 0.5000 |\n"
    )


def test_results_json_records_environment_and_resolved_task_configs(capitals_record, tmp_path):
    write_records(capitals_record, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    env = saved["environment"]
    assert env["packages"]["torch"] == torch.__version__
    assert env["packages"]["transformers"] == transformers.__version__
    assert env["python"] == platform.python_version() and env["cpu_count"] == os.cpu_count()
    spec = get_registry([str(TASKS)]).tasks["capitals"]
    assert saved["configs"]["capitals"] == spec.model_dump(mode="json")
    assert saved["configs"]["capitals"]["metrics"] == ["acc", "acc_norm", "acc_bytes", "acc_mutual_info"]


def test_configs_carry_the_runs_own_fewshot_settings():
    config = EvalConfig(
        tasks=["capitals"], include_paths=[str(TASKS)], num_fewshot=1, fewshot_sampler="random", track=False
    )
    used = evaluate(config, FixedLoglikelihoods())["configs"]["capitals"]
    spec = get_registry([str(TASKS)]).tasks["capitals"].model_dump(mode="json")
    assert used["fewshot"] == {**spec["fewshot"], "num_fewshot": 1, "sampler": "random"}
    assert {k: v for k, v in used.items() if k != "fewshot"} == {
        k: v for k, v in spec.items() if k != "fewshot"
    }


def test_samples_carry_acc_norms_pick(capitals_record):
    rows = capitals_record["samples_records"]["capitals"]
    for row in rows:
        per_char = np.array(row["loglikelihoods"]) / np.array([len(c) for c in row["choices"]])
        assert row["prediction_norm"] == row["choices"][int(np.argmax(per_char))]
        assert row["acc_norm"] == float(row["prediction_norm"] == row["target"])
    france = rows[0]
    assert (france["prediction"], france["prediction_norm"]) == ("Paris", "Berlin")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_names_the_checked_out_commit(tmp_path):
    assert git_state(tmp_path) == {"git_commit": None, "git_dirty": None}  # not a repository
    repo = tmp_path / "repo"
    repo.mkdir()
    git = [
        "git",
        "-C",
        str(repo),
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "a.txt").write_text("a")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout
    assert git_state(repo) == {"git_commit": head.strip(), "git_dirty": False}


def test_tracked_run_gets_environment_tags_and_results_md(capitals_record, tmp_path):
    summary = write_records(capitals_record, tmp_path)
    run = get_run(track_evaluation(summary, tmp_path, enabled=True))
    assert run["tags"]["sllm.env.torch"] == torch.__version__
    assert run["tags"]["sllm.env.transformers"] == transformers.__version__
    assert run["tags"]["sllm.env.python"] == platform.python_version()
    assert {"environment.json", "results.json", "results.md", "samples.jsonl"} <= set(run["artifacts"])
    stored = next((tmp_path / "sllm-runs").rglob("environment.json"))
    assert json.loads(stored.read_text())["packages"] == environment()["packages"]


def test_geval_records_carry_the_evaluation_steps():
    items = [{"source": "The council approved a cycle lane.", "output": "A lane was approved."}] * 2
    lm = ScriptedLM(lambda prompt, seed: "4" if "Evaluation Form" in prompt else "1. Read it.\n2. Rate it.")
    criterion = get_criterion("summeval_coherence")
    records, _ = geval(lm, criterion, items, mode="sampling", n=2)
    assert [(r["steps"], r["steps_from"]) for r in records] == [("1. Read it.\n2. Rate it.", "judge")] * 2
    records, summary = geval(lm, criterion, items, mode="sampling", steps="given", n=2)
    released = (
        "1. Read the news article carefully and identify the main topic and key points.\n"
        "2. Read the summary and compare it to the news article. Check if the summary covers the main "
        "topic and key points of the news article, and if it presents them in a clear and logical order.\n"
        "3. Assign a score for coherence on a scale of 1 to 5, where 1 is the lowest and 5 is the "
        "highest based on the Evaluation Criteria."
    )
    assert records[0]["steps"] == summary["steps"] == released
    assert records[0]["steps_from"] == "released prompt"


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        ({"model_a": 7.25, "model_b": None}, ".3g", "model_a=7.25, model_b=—"),
        ({}, ".4g", "—"),
        ([], ".4g", "—"),
        (None, ".4g", "—"),
        (float("nan"), ".4f", "—"),
        ("", ".4g", "—"),
        (["acc", 0.123456], ".2f", "acc, 0.12"),
        (0.1234567, ".4f", "0.1235"),
        (12, ".4f", "12"),
        (True, ".4g", "yes"),
    ],
)
def test_cell_formatter(value, fmt, text):
    assert cell(value, fmt) == text


def test_eval_table_shows_a_missing_stderr_as_a_dash(capitals_record, tmp_path):
    capitals_record["results"]["capitals"]["acc_stderr"] = float("nan")
    console = Console(record=True, width=120)
    console.print(results_table(write_records(capitals_record, tmp_path)))
    acc_line = next(line for line in console.export_text().splitlines() if " acc " in line)
    assert acc_line.split("│")[-2].strip() == "—" and "nan" not in console.export_text()
