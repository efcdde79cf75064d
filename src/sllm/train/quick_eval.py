"""`eval_suite`: the same quick evaluation of the base model and of the trained one, with the
deltas -- so every training run says what it changed on benchmarks, not only on its own loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SUITES = {"quick": "hellaswag,arc_easy", "quick-ko": "kobest_boolq,kobest_copa"}


def trained_spec(folder: Path, kind: str, base: str) -> str:
    """The model spec of a training result (an adapter rides on its base model's folder)."""
    if kind == "adapter":
        from sllm.models.folders import model_folder

        return f"hf:{model_folder(base)},adapter={folder}"
    return f"hf:{folder}"


def compare(base: str, trained: str, suite: str, limit: int | None) -> dict[str, dict[str, float]]:
    """Per task and metric: base, trained and delta (trained - base)."""
    from sllm.evaluation.pipeline import EvalConfig, evaluate

    tasks = [t.strip() for t in SUITES.get(suite, suite).split(",") if t.strip()]
    out: dict[str, dict[str, float]] = {}
    runs: dict[str, Any] = {}
    for name, spec in (("base", base), ("trained", trained)):
        runs[name] = evaluate(EvalConfig(model=spec, tasks=tasks, limit=limit, track=False))["results"]
    for task, metrics in runs["base"].items():
        for metric, value in metrics.items():
            if metric.endswith("_stderr") or not isinstance(value, (int, float)):
                continue
            after = runs["trained"][task][metric]
            out[f"{task}/{metric}"] = {
                "base": float(value),
                "trained": float(after),
                "delta": float(after - value),
            }
    return out
