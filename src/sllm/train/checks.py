"""What a training config can get wrong, checked before the model loads (not after training).

Each check raises one line naming the config field: a model takes seconds to a minute to load,
and an eval suite or a registration fails only after training has run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sllm.errors import SllmError, UsageError
from sllm.preflight import model_spec, trainable_model, writable_dir


def checked_config(cls: type, path: Path | None, values: dict[str, Any]) -> Any:
    """A training config of `cls` from a YAML file (optional) with `values` over it (dotted keys
    set nested fields), checked as `training` checks it: before any model loads."""
    from sllm.train.config import load_config

    settings = load_config(cls, path, values)
    training(settings)
    return settings


def training(settings: Any) -> None:
    """What a training config can get wrong that would otherwise surface only after the model
    loads (template, teacher) or after training itself (eval suite, registration)."""
    trainable_model(settings.model, "field 'model'")
    writable_dir(settings.output_dir, "field 'output_dir'")
    if settings.register_as and not settings.track:
        raise UsageError("--register needs tracking (the registry records the run): drop --no-track")
    template = getattr(settings, "template", None)
    if template:
        from sllm.errors import unknown_name
        from sllm.train.templates import NAMED

        if template not in NAMED:
            raise UsageError(f"field 'template': {unknown_name('chat template', template, NAMED)}")
    teacher = getattr(settings, "teacher", None)
    if teacher:
        check = trainable_model if settings.mode == "logits" else model_spec
        check(teacher, "field 'teacher'")
    from sllm.train.config import RewardRunConfig

    # a reward model has no eval suite: run_preference says so, before any model
    if settings.eval_suite and not isinstance(settings, RewardRunConfig):
        eval_suite(settings.eval_suite, settings.eval_limit)


def eval_suite(suite: str, limit: int | None) -> None:
    """The eval suite's tasks, metrics and data, checked as `sllm eval` checks them."""
    from sllm.evaluation.pipeline import EvalConfig, prepare
    from sllm.train.quick_eval import SUITES

    tasks = [t.strip() for t in SUITES.get(suite, suite).split(",") if t.strip()]
    if not tasks:
        raise UsageError(f"field 'eval_suite': expected quick, quick-ko or TASK,TASK, got '{suite}'")
    try:
        prepare(EvalConfig(tasks=tasks, limit=limit, track=False))
    except SllmError as exc:
        kind = UsageError if isinstance(exc, UsageError) else SllmError
        raise kind(f"field 'eval_suite': {exc}") from None
