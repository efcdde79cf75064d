"""`sllm eval` end to end: an EvalConfig from a YAML file and flags (flags win), every check
before the model loads, then the tracked run with its records written; and `sllm tasks show`'s
preview of a task's first prompt."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from sllm.errors import SllmError, UsageError
from sllm.evaluation.instances import Instance
from sllm.evaluation.pipeline import EvalConfig, check_limit
from sllm.tasks.spec import TaskSpec

#: the generation settings --gen-kwargs (and `gen_kwargs:` in a config file) may override
GEN_KEYS = ("max_new_tokens", "temperature", "top_p", "top_k", "strategy", "seed", "repeats", "until")


def check_gen_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    """Generation overrides with known keys only; a single stop string becomes a list."""
    from sllm.errors import unknown_name

    for key in values:
        if key not in GEN_KEYS:
            raise unknown_name("generation setting", key, GEN_KEYS)
    if "until" in values and not isinstance(values["until"], list):
        values = {**values, "until": [str(values["until"])]}
    return values


def eval_config(
    flags: dict[str, Any], config_file: Path | None = None, flag_names: Mapping[str, str] | None = None
) -> EvalConfig:
    """An EvalConfig from the settings of a YAML file, with `flags` (field -> value, only those the
    user gave) over them. Errors name the flag (`flag_names`: field -> flag, else --field-name) when
    the bad value came from one, else the file and its field; an unknown key in the file is an error."""
    from pydantic import ValidationError

    from sllm.config_errors import field_label, validation_message

    values = file_settings(config_file, set(flags)) if config_file is not None else {}
    names = dict(flag_names or {})

    def label(field: str) -> str:
        top = field.split(".")[0]
        if top in flags or config_file is None:
            return names.get(top, "--" + top.replace("_", "-"))
        return f"{config_file}: {field_label(field)}"

    try:
        return EvalConfig(**(values | flags))
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        kind = UsageError if config_file is None or (loc and str(loc[0]) in flags) else SllmError
        raise kind(validation_message(exc, label=label)) from None


def file_settings(path: Path, overridden: Collection[str] = ()) -> dict[str, Any]:
    """The EvalConfig settings of a YAML file, checked as the flags are (`overridden`: fields the
    command line sets, not checked here); `tasks` may be a list or `a,b` as on the command line."""
    from sllm.config_errors import read_config_file
    from sllm.errors import unknown_name

    values = read_config_file(path)
    for key in values:
        if key not in EvalConfig.model_fields:
            raise SllmError(f"{path}: {unknown_name('setting', str(key), EvalConfig.model_fields)}")
    if isinstance(values.get("tasks"), str):
        values["tasks"] = [t.strip() for t in values["tasks"].split(",") if t.strip()]
    if isinstance(values.get("gen_kwargs"), dict) and "gen_kwargs" not in overridden:
        try:
            values["gen_kwargs"] = check_gen_kwargs(values["gen_kwargs"])
        except UsageError as exc:
            raise SllmError(f"{path}: field 'gen_kwargs': {exc}") from None
    limit = values.get("limit")
    if "limit" not in overridden and isinstance(limit, int | float) and not isinstance(limit, bool):
        try:  # EvalConfig's own check of the limit names the flag: here it names the file
            check_limit(limit)
        except UsageError as exc:
            raise SllmError(f"{path}: field 'limit': {str(exc).removeprefix('--limit: ')}") from None
    return values


def run_evaluation(config: EvalConfig, progress: bool = True) -> tuple[dict[str, Any], Path]:
    """Check everything before the model loads, evaluate, write the records and record the run;
    the summary (model, results, samples, run_id, cache, ...) and the records' folder."""
    from sllm import preflight
    from sllm.errors import warn
    from sllm.evaluation.pipeline import evaluate, output_dir, prepare
    from sllm.evaluation.records import eval_params, record_evaluation, write_records
    from sllm.tracking import track_run

    # Every check (tasks, metrics, data, prompts, paths) before the model loads and the run starts
    preflight.model_spec(config.model, "--model")
    preflight.writable_dir(config.output, "--output")
    plan = prepare(config)
    # The run spans the work (model loading included): its duration is the evaluation's.
    with track_run("eval", params=eval_params(config.model_dump()), enabled=config.track) as run:
        record = evaluate(config, progress=progress, plan=plan)
        sampled = [t for t, source in record["data_sources"].items() if source.startswith("bundled sample")]
        if sampled:
            names = ", ".join(sampled[:3]) + (f" and {len(sampled) - 3} more" if len(sampled) > 3 else "")
            warn(f"{names} ran on the small samples bundled with sllm; pass --data-dir for the full data")
        folder = output_dir(config)
        summary = write_records(record, folder)
        summary["run_id"] = record_evaluation(run, summary, folder)
    return summary, folder


def preview_task(
    spec: TaskSpec, num_fewshot: int | None = None, data_dir: str | None = None
) -> tuple[str, int, Instance]:
    """Where a task's data came from, its k, and the instance (prompt, target) of its first document."""
    from sllm.evaluation.pipeline import BUILDERS
    from sllm.tasks.data import load_task_data

    data = load_task_data(spec, data_dir)
    k = spec.fewshot.num_fewshot if num_fewshot is None else num_fewshot
    instance = BUILDERS[spec.output_type](spec, data.docs[:1], data.fewshot_docs, k, None)[0]
    return data.source, k, instance
