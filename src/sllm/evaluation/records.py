"""Write an evaluation's records: results JSON, per-sample JSONL, a terminal table, an MLflow run."""

from __future__ import annotations

import json
import math
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from sllm import __version__
from sllm.environment import environment
from sllm.evaluation.report_md import results_markdown
from sllm.tables import cell

if TYPE_CHECKING:
    from sllm.tasks.spec import TaskSpec
    from sllm.tracking import RunRecorder


def new_run_folder(parent: Path) -> Path:
    """Create and return a folder no other run uses: PARENT/<UTC timestamp>-<6 random hex digits>.

    Two runs finishing in the same second each get their own (created with exist_ok=False).
    """
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    while True:
        folder = parent / f"{stamp}-{secrets.token_hex(3)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def write_records(record: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Write results.json, results.md and samples.jsonl under `folder`; return the summary record."""
    folder.mkdir(parents=True, exist_ok=True)
    samples_path = folder / "samples.jsonl"
    with samples_path.open("w", encoding="utf-8") as handle:
        for rows in record["samples_records"].values():
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in record.items() if k != "samples_records"}
    summary.update(samples=str(samples_path), sllm_version=__version__, environment=environment())
    (folder / "results.json").write_text(json.dumps(_clean(summary), indent=2, ensure_ascii=False))
    (folder / "results.md").write_text(results_markdown(summary), encoding="utf-8")
    return summary


def task_config(spec: TaskSpec, num_fewshot: int, sampler: str | None) -> dict[str, Any]:
    """A task's config as the run used it (lm-eval's `configs`): every field after defaults and
    includes, with the run's own number of exemplars and sampler."""
    fewshot = {"num_fewshot": num_fewshot} | ({"sampler": sampler} if sampler else {})
    used = spec.model_copy(update={"fewshot": spec.fewshot.model_copy(update=fewshot)})
    return used.model_dump(mode="json")


def results_table(summary: dict[str, Any]) -> Table:
    """A readable table: one row per task or group and metric, value ± stderr."""
    table = Table(title=f"sllm eval — {summary['model']}")
    for column, justify in (
        ("task", "left"),
        ("n", "right"),
        ("shots", "right"),
        ("metric", "left"),
        ("value", "right"),
        ("± stderr", "right"),
    ):
        table.add_column(column, justify=justify)
    for task, metrics in summary["results"].items():
        names = [k for k, v in metrics.items() if isinstance(v, float) and not k.endswith("_stderr")]
        for i, name in enumerate(names):
            table.add_row(
                task if i == 0 else "",
                cell(metrics.get("n")) if i == 0 else "",
                cell(metrics.get("num_fewshot")) if i == 0 else "",
                name,
                cell(metrics[name], ".4f"),
                cell(metrics.get(f"{name}_stderr"), ".4f"),
            )
    return table


def eval_params(config: dict[str, Any]) -> dict[str, Any]:
    """The params an eval run is recorded with, known before any work starts."""
    return {
        "model": config["model"],
        "tasks": ",".join(config["tasks"]),
        "num_fewshot": config["num_fewshot"],
        "limit": config["limit"],
        "data_dir": config["data_dir"],
    }


def record_evaluation(run: RunRecorder, summary: dict[str, Any], folder: Path) -> str | None:
    """Log a finished evaluation into its open run; return the run id (None when not tracked)."""
    run.log_params({"model_fingerprint": summary["model_fingerprint"]})
    metrics = {
        f"{task}/{name}": value
        for task, values in summary["results"].items()
        for name, value in values.items()
        if isinstance(value, float) and not math.isnan(value)
    }
    run.log_metrics(metrics)
    for task, source in summary["data_sources"].items():
        run.log_dataset(
            task,
            digest=summary["data_digests"][task],
            source=source,
            n_rows=summary["results"][task]["n"],
            context="evaluation",
        )
    run.log_artifact(str(folder / "results.json"))
    run.log_artifact(str(folder / "results.md"))
    run.log_artifact(str(folder / "samples.jsonl"))
    return run.run_id


def track_evaluation(summary: dict[str, Any], folder: Path, enabled: bool) -> str | None:
    """Record an evaluation that already ran as a new MLflow run; return its id (None when off).

    `sllm eval` opens its run before the work instead (`eval_params`, `record_evaluation`).
    """
    from sllm.tracking import track_run

    with track_run("eval", params=eval_params(summary["config"]), enabled=enabled) as run:
        return record_evaluation(run, summary, folder)


def _clean(value: Any) -> Any:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
