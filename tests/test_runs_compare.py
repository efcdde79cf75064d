"""`sllm runs compare`: runs side by side, metric deltas judged against their standard errors."""

from __future__ import annotations

import json
import math

import pytest
from helpers import run_cli

from sllm.errors import UsageError
from sllm.tracking import track_run
from sllm.tracking.compare import compare_runs


def logged(params: dict, metrics: dict, digest: str, tags: dict | None = None) -> str:
    """One finished run in the (per-test) store; returns its id."""
    with track_run("eval", params=params, tags=tags) as run:
        run.log_metrics(metrics)
        run.log_dataset(
            "hellaswag", digest=digest, source="/data/hellaswag.jsonl", n_rows=200, context="evaluation"
        )
    return run.run_id


def test_deltas_are_judged_against_the_combined_standard_error() -> None:
    base = logged({"model": "default", "num_fewshot": "0", "limit": "200"},
                  {"hellaswag/acc": 0.40, "hellaswag/acc_stderr": 0.03, "mmlu/acc": 0.30,
                   "mmlu/acc_stderr": 0.01}, "aaaa", {"sllm.prompt.task": "mmlu@1"})  # fmt: skip
    other = logged({"model": "hf:./out", "num_fewshot": "0", "limit": "200"},
                   {"hellaswag/acc": 0.45, "hellaswag/acc_stderr": 0.04, "mmlu/acc": 0.36,
                    "mmlu/acc_stderr": 0.02}, "bbbb", {"sllm.prompt.task": "mmlu@2"})  # fmt: skip
    report = compare_runs([base[:10], other])  # a unique prefix works as in `runs show`
    differing = {r["key"]: r["values"] for r in report["params"]}  # only what differs
    assert differing == {"model": ["default", "hf:./out"], "dataset.hellaswag.digest": ["aaaa", "bbbb"]}
    assert report["datasets"][0]["values"] == ["aaaa", "bbbb"] and report["datasets"][0]["differs"]
    assert report["prompts"][0]["values"] == ["mmlu@1", "mmlu@2"]
    rows = {r["metric"]: r["vs_first"][0] for r in report["metrics"]}
    hella, mmlu = rows["hellaswag/acc"], rows["mmlu/acc"]
    assert hella["delta"] == pytest.approx(0.05) and hella["combined_stderr"] == pytest.approx(0.05)
    assert hella["z"] == pytest.approx(1.0) and hella["beyond_noise"] is False  # 0.05 ± 0.05: noise
    assert mmlu["combined_stderr"] == pytest.approx(math.sqrt(0.01**2 + 0.02**2))
    assert mmlu["z"] == pytest.approx(0.06 / math.sqrt(0.0005)) and mmlu["beyond_noise"] is True
    assert not any(r["metric"].endswith("_stderr") for r in report["metrics"])
    with pytest.raises(UsageError, match="at least two"):
        compare_runs([base])


def test_compare_cli_prints_the_table_and_one_json_object() -> None:
    base = logged({"model": "default"}, {"hellaswag/acc": 0.40, "hellaswag/acc_stderr": 0.01}, "aaaa")
    other = logged({"model": "hf:./out"}, {"hellaswag/acc": 0.47, "hellaswag/acc_stderr": 0.01}, "aaaa")
    shown = run_cli("runs", "compare", base, other)
    assert shown.returncode == 0, shown.stderr
    assert "+0.0700*" in shown.stdout and "hf:./out" in shown.stdout
    as_json = run_cli("runs", "compare", base, other, "--json", "--all-params")
    report = json.loads(as_json.stdout)
    assert report["metrics"][0]["vs_first"][0]["beyond_noise"] is True
    assert report["datasets"][0]["differs"] is False
    missing = run_cli("runs", "compare", base, "ffffffffff")
    assert missing.returncode == 1 and "no run id starts with 'ffffffffff'" in missing.stderr
