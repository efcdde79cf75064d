"""Task specs: one typed object per task, filled from YAML (errors name the file and field)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sllm.config_errors import validation_message
from sllm.errors import SllmError

OutputType = Literal["multiple_choice", "generate_until", "loglikelihood_rolling"]


class DatasetSpec(BaseModel):
    """Where a task's documents come from: local files (always) or the HF hub (online)."""

    model_config = ConfigDict(extra="forbid")

    folder: str = Field(..., description="folder under --data-dir, as in ../shared/data")
    test: str = Field(..., description="file (relative to folder) of the evaluated split")
    fewshot: str | None = Field(None, description="file of the few-shot split")
    format: str = Field("jsonl", description="loader name: jsonl, json, csv, tsv, parquet, ...")
    format_options: dict[str, Any] = Field(default_factory=dict)
    rename: dict[str, str] = Field(default_factory=dict, description="column renames, e.g. {'1': alt_1}")
    hub_path: str | None = Field(None, description="datasets.load_dataset path when online")
    hub_name: str | None = None
    hub_test_split: str | None = None
    hub_fewshot_split: str | None = None


class FewshotSpec(BaseModel):
    """How exemplars are chosen and joined."""

    model_config = ConfigDict(extra="forbid")

    num_fewshot: int = 0
    sampler: Literal["first_n", "fixed", "random", "retrieved"] = "first_n"
    seed: int = 1234
    delimiter: str = "\n\n"
    samples: list[dict[str, Any]] | None = Field(None, description="fixed exemplars (e.g. CoT)")


class FilterSpec(BaseModel):
    """A named answer-extraction chain, e.g. GSM8K's strict-match and flexible-extract."""

    model_config = ConfigDict(extra="forbid")

    name: str
    steps: list[dict[str, Any]]


class AnswerStageSpec(BaseModel):
    """Second stage of two-stage zero-shot CoT (Kojima et al., 2022): ask for the answer."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(
        "{{prompt}}{{reasoning}}\nTherefore, the answer is",
        description="Jinja; sees the document, `prompt` (stage 1) and `reasoning` (its output)",
    )
    generation: dict[str, Any] = Field(
        default_factory=lambda: {"max_new_tokens": 32, "until": ["\n\n", "Q:"]},
        description="decoding of the answer stage",
    )


class TaskSpec(BaseModel):
    """Everything that defines a task: data, prompt templates, output type, metrics, version."""

    model_config = ConfigDict(extra="forbid")

    task: str
    version: str = "1.0"
    group: list[str] = Field(default_factory=list)
    dataset: DatasetSpec
    process_docs: str | None = Field(None, description="registered document processor")
    output_type: OutputType = "multiple_choice"
    description: str = Field("", description="Jinja preamble before the exemplars")
    doc_to_text: str = Field(..., description="Jinja template of the question")
    doc_to_target: str = Field(..., description="Jinja expression: gold index (MC) or text")
    doc_to_choice: str | None = Field(None, description="Jinja expression giving the choices")
    target_delimiter: str = " "
    fewshot: FewshotSpec = Field(default_factory=FewshotSpec)
    metrics: list[str | dict[str, Any]] = Field(
        default_factory=lambda: ["acc"], description="names, or {metric: NAME, ...options}"
    )
    generation: dict[str, Any] = Field(
        default_factory=dict, description="until, max_new_tokens, strategy, temperature, repeats, ..."
    )
    filters: list[FilterSpec] = Field(default_factory=list, description="answer-extraction chains")
    answer_stage: AnswerStageSpec | None = Field(None, description="two-stage zero-shot CoT")
    variants: dict[str, str] = Field(
        default_factory=dict, description="--prompt-style -> task, e.g. {cot: gsm8k_cot}"
    )
    variables: dict[str, Any] = Field(default_factory=dict, description="values visible in templates")
    source: str = Field("", description="YAML file the task came from")

    def metric_names(self) -> list[str]:
        """Metric names, whether given as strings or as {metric: NAME, ...} mappings."""
        return [m if isinstance(m, str) else m["metric"] for m in self.metrics]

    def metric_options(self, name: str) -> dict[str, Any]:
        """Options given for a metric in the YAML (empty for plain names)."""
        for m in self.metrics:
            if isinstance(m, dict) and m.get("metric") == name:
                return {k: v for k, v in m.items() if k != "metric"}
        return {}


def read_yaml(path: Path) -> list[dict[str, Any]]:
    """Read the YAML mappings of a file (several when separated by `---`), naming the file on errors."""
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SllmError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise SllmError(f"{path}: a task file must be a YAML mapping (or several, separated by ---)")
    return documents


def build_spec(data: dict[str, Any], path: Path) -> TaskSpec:
    """Validate one task mapping, turning the first problem into 'file: field: message'."""
    try:
        return TaskSpec(**data, source=str(path))
    except ValidationError as exc:
        raise SllmError(validation_message(exc, source=path)) from None
