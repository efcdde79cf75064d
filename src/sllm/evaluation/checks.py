"""Checks of a task spec that need no model: every metric and answer filter it names must exist.

`evaluate` runs them before the model loads, so a typo in a task YAML costs a second, not the
model's load and every model call (the metrics used to be looked up only when scoring).
"""

from __future__ import annotations

from sllm.errors import SllmError, unknown_name
from sllm.evaluation.scoring import MC_CORPUS_METRICS, mc_metric_names
from sllm.metrics.registry import list_metrics
from sllm.prompting.filters import build_chain
from sllm.tasks.spec import TaskSpec

#: what a loglikelihood_rolling task reports (`sllm.metrics.perplexity.perplexities`)
ROLLING_METRICS = ("token_perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte")
_KIND = {"multiple_choice": "multiple-choice metric", "loglikelihood_rolling": "perplexity metric"}


def known_metrics(output_type: str) -> list[str]:
    """The metric names a task of this output type may list."""
    if output_type == "multiple_choice":
        return [*mc_metric_names(), *MC_CORPUS_METRICS]
    if output_type == "loglikelihood_rolling":
        return list(ROLLING_METRICS)
    return [m.name for m in list_metrics()]


def check_task(spec: TaskSpec) -> None:
    """Raise, naming the task's YAML file and field, when a metric or filter it names is unknown."""
    where = f"{spec.source or 'task ' + spec.task}: task {spec.task}"
    known = known_metrics(spec.output_type)
    for name in spec.metric_names():
        if name not in known:
            error = unknown_name(_KIND.get(spec.output_type, "metric"), name, known)
            raise SllmError(f"{where}: field 'metrics': {error}")
    for chain in spec.filters:
        try:
            build_chain(chain.steps, f"filter {chain.name}")
        except (SllmError, TypeError) as exc:  # TypeError: an option the filter does not take
            raise SllmError(f"{where}: field 'filters': filter {chain.name}: {exc}") from None
