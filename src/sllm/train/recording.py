"""A training run's record: an MLflow run (config, dataset digests, metrics per step, the saved
adapter or model), `sllm_model.json` beside the weights (what was trained from what), and an
optional model-registry version."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sllm.redact import redact_tree
from sllm.train.common import DataSplit
from sllm.train.config import TrainConfig

MODEL_FILE = "sllm_model.json"


@dataclass
class TrainResult:
    """Where the result is, what it measured, and how it was recorded."""

    folder: Path
    kind: str  # adapter | full
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    run_id: str | None = None
    registered: str | None = None

    def report(self) -> dict[str, Any]:
        """What `sllm train ... --json` prints: every logged step too (the loss curve for scripts)."""
        return {"folder": str(self.folder), "kind": self.kind, "metrics": self.metrics, "run_id": self.run_id,
                "registered": self.registered, "history": self.history}  # fmt: skip


class Tracker:
    """The MLflow run of one training (a no-op recorder when tracking is off)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.history: list[dict[str, float]] = []

    def callback(self) -> Any:
        """A TrainerCallback sending every logged value to the run, at its global step."""
        from transformers import TrainerCallback

        tracker = self

        class _Log(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
                numbers = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float))}
                if numbers:
                    tracker.history.append({"step": state.global_step, **numbers})
                    tracker.recorder.log_metrics(numbers, step=state.global_step)

        return _Log()


@contextmanager
def tracked_training(kind: str, config: TrainConfig, split: DataSplit) -> Iterator[Tracker]:
    """An MLflow run with the config as params and the data files as dataset inputs."""
    from sllm.data.digest import DataFile
    from sllm.tracking import track_run

    tags = {"sllm.command": f"train {kind}", "sllm.base_model": config.model}
    # under `accelerate launch` every process runs this: only the main one records
    main = int(os.environ.get("RANK", "0")) == 0
    with track_run(
        f"train-{kind}", params=config.model_dump(), enabled=config.track and main, tags=tags
    ) as run:
        if run.run_id:
            files = [DataFile("train", split.train_path, split.train, "messages")]
            if split.eval:
                files.append(DataFile("eval", split.eval_path or split.train_path, split.eval, "messages"))
            for f in files:
                info = f.describe()
                run.log_dataset(f.name, digest=info["digest"][:16], source=str(f.path.resolve()),
                                n_rows=info["rows"], schema={k: str(v) for k, v in info["schema"].items()},
                                context="training" if f.name == "train" else "evaluation")  # fmt: skip
        yield Tracker(run)


def data_digests(split: DataSplit) -> dict[str, str]:
    """Content digests of the rows trained and evaluated on."""
    from sllm.data.digest import dataset_digest

    out = {"train": dataset_digest(split.train)}
    if split.eval:
        out["eval"] = dataset_digest(split.eval)
    return out


def finish_run(
    trainer: Any, config: TrainConfig, split: DataSplit, metrics: dict[str, float], tracker: Tracker
) -> TrainResult:
    """Save the final adapter / model with its description, log it, register it if asked."""
    folder = Path(config.output_dir) / "final"
    trainer.save_model(str(folder))
    if not trainer.is_world_process_zero():
        return TrainResult(folder, "full" if config.method == "full" else "adapter", metrics)
    trainer.processing_class.save_pretrained(str(folder))
    kind = "full" if config.method == "full" else "adapter"
    losses = [h["loss"] for h in tracker.history if "loss" in h]
    summary = {**metrics, **({"first_loss": losses[0], "last_loss": losses[-1]} if losses else {})}
    description = {
        "kind": kind,
        "base_model": config.model,
        "data": {"train": str(split.train_path), "eval": str(split.eval_path) if split.eval_path else None},
        "data_digests": data_digests(split),
        "config": redact_tree(config.model_dump()),  # a distill teacher's spec may hold a key
        "metrics": summary,
    }
    if config.eval_suite:
        from sllm.train.quick_eval import compare, trained_spec

        trained = trained_spec(folder, kind, config.model)
        deltas = compare(config.model, trained, config.eval_suite, config.eval_limit)
        description["eval_suite"] = deltas
        summary |= {f"suite/{k}/{p}": v[p] for k, v in deltas.items() for p in ("base", "trained", "delta")}
    (folder / MODEL_FILE).write_text(json.dumps(description, indent=1), encoding="utf-8")
    result = TrainResult(folder, kind, summary, tracker.history, tracker.recorder.run_id)
    if result.run_id:
        tracker.recorder.log_metrics({k: v for k, v in summary.items() if isinstance(v, float)})
        tracker.recorder.log_params(
            {f"data_digest.{k}": v[:16] for k, v in description["data_digests"].items()}
        )
        from sllm.tracking.registry import log_model, register

        # The model is saved: a store that fails now costs a warning, not the training.
        tracker.recorder.attempt("the model artifact", lambda: log_model(folder))
        if config.register_as:
            result.registered = tracker.recorder.attempt(
                f"registry version {config.register_as}",
                lambda: register(config.register_as, result.run_id, description),
            )
    return result


def evaluate_logged(trainer: Any, tracker: Tracker, prefix: str) -> dict[str, float]:
    """Held-out metrics: TRL logs DPO's rewards and the reward model's accuracy as `eval_*`
    whatever the prefix, so they are read from what was logged during this evaluation too."""
    start = len(tracker.history)
    found = dict(trainer.evaluate(metric_key_prefix=prefix))
    for entry in tracker.history[start:]:
        found |= {prefix + k.removeprefix("eval"): v for k, v in entry.items() if k.startswith("eval_")}
    return found


def train_and_record(
    kind: str,
    trainer: Any,
    split: DataSplit,
    config: TrainConfig,
    summarize: Callable[[dict[str, float], dict[str, float]], dict[str, float]],
) -> TrainResult:
    """The shared run of every trainer: held-out metrics before, training (resumed from the last
    checkpoint when asked), held-out metrics after, then save, track and register."""
    from sllm.train.common import has_checkpoint

    with tracked_training(kind, config, split) as tracker:
        trainer.add_callback(tracker.callback())
        before = evaluate_logged(trainer, tracker, "base") if split.eval else {}
        resume = config.resume and has_checkpoint(config.output_dir)
        trainer.train(resume_from_checkpoint=True if resume else None)
        after = evaluate_logged(trainer, tracker, "eval") if split.eval else {}
        return finish_run(trainer, config, split, summarize(before, after), tracker)
