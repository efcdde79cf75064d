"""One MLflow run per judging command: judge model, configs, summary metrics, the input file as a
dataset (content digest) and the judgments file as an artifact."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sllm.models.fingerprint import file_digest


def _numbers(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{key}".replace("@", "_at_")
        if isinstance(value, dict):
            out.update(_numbers(value, f"{name}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = float(value)
    return out


def track_judging(
    command: str, summary: dict[str, Any], inputs: list[Path], outputs: list[Path], enabled: bool
) -> str | None:
    """Record the run; return its id (None when tracking is off)."""
    if not enabled:
        return None
    from sllm.tracking import track_run

    params = {
        "judge_model": summary.get("judge_model"),
        "configs": summary.get("configs") or summary.get("criteria"),
    }
    with track_run(f"judge-{command}", params=params, tags={"sllm.command": f"judge {command}"}) as run:
        run.log_metrics(_numbers({k: v for k, v in summary.items() if k not in ("criteria",)}))
        for path in inputs:
            if path.is_file():
                rows = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
                run.log_dataset(
                    path.stem,
                    digest=file_digest(path)[:16],
                    source=str(path.resolve()),
                    n_rows=rows,
                    context="judging",
                )
        for path in outputs:
            if path.is_file():
                run.log_artifact(path)
        run.log_dict(summary, "summary.json")
        return run.run_id
