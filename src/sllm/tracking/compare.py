"""Runs side by side (`sllm runs compare`): what differs in their settings and data, and which
metric differences are larger than their noise.

The first run is the baseline. For a metric that has a standard error on both sides (evaluation
runs log `task/metric` and `task/metric_stderr`), the difference is compared with the combined
standard error sqrt(se_a^2 + se_b^2) of two independent estimates: `z` is their ratio, and a
difference counts as beyond noise when |z| > 1.96 (a 95% two-sided test). Two runs on the same
documents are not independent, so this is conservative: a paired test per document would find
more differences significant (the per-sample files hold what it needs).
"""

from __future__ import annotations

import math
from typing import Any

from sllm.errors import UsageError
from sllm.tracking.query import get_run

Z_95 = 1.96
PROMPT_TAG_PREFIX = "sllm.prompt"


def compare_runs(run_ids: list[str], all_params: bool = False) -> dict[str, Any]:
    """Params, dataset digests, prompt tags and metrics of runs, with deltas to the first one."""
    if len(run_ids) < 2:
        raise UsageError("give at least two run ids to compare")
    runs = [get_run(r) for r in run_ids]
    ids = [r["run_id"] for r in runs]
    params = _side_by_side([r["params"] for r in runs], all_params)
    prompts = _side_by_side(
        [{k: v for k, v in r["tags"].items() if k.startswith(PROMPT_TAG_PREFIX)} for r in runs], True
    )
    datasets = _side_by_side(
        [{f"{d['name']} ({d['tags'].get('mlflow.data.context', '')})": d["digest"] for d in r["datasets"]}
         for r in runs],
        True,
    )  # fmt: skip
    return {
        "runs": [{"run_id": r["run_id"], "name": r["name"], "command": r["command"]} for r in runs],
        "params": params,
        "datasets": datasets,
        "prompts": prompts,
        "metrics": _metrics(runs, ids),
    }


def _side_by_side(values: list[dict[str, Any]], keep_equal: bool) -> list[dict[str, Any]]:
    """One row per key: each run's value and whether they differ (equal rows only if asked)."""
    rows = []
    for key in sorted(set().union(*values)):
        cells = [v.get(key) for v in values]
        differs = len({str(c) for c in cells}) > 1
        if differs or keep_equal:
            rows.append({"key": key, "values": cells, "differs": differs})
    return rows


def _metrics(runs: list[dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
    """One row per metric (standard errors folded in): values, deltas, z and the verdict."""
    names = sorted({k for r in runs for k in r["metrics"] if not k.endswith("_stderr")})
    rows = []
    for name in names:
        values = [r["metrics"].get(name) for r in runs]
        errors = [r["metrics"].get(f"{name}_stderr") for r in runs]
        base, base_se = values[0], errors[0]
        comparisons = []
        for value, se in zip(values[1:], errors[1:]):
            delta = None if value is None or base is None else value - base
            combined = _combined(base_se, se)
            z = delta / combined if delta is not None and combined else None
            comparisons.append({
                "delta": delta, "combined_stderr": combined, "z": z,
                "beyond_noise": None if z is None else abs(z) > Z_95,
            })  # fmt: skip
        rows.append({"metric": name, "values": values, "stderr": errors, "vs_first": comparisons})
    return rows


def _combined(a: float | None, b: float | None) -> float | None:
    """sqrt(a^2 + b^2), or None when a side has no standard error (or both are 0)."""
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return None
    combined = math.hypot(a, b)
    return combined or None
