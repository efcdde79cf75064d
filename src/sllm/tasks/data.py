"""Find a task's documents: --data-dir, SLLM_DATA_DIR, the HF hub (online), or the bundled sample.

Local folders use the same layout and file names as ../shared/data/<dataset>/, so another slice
of the same source can be swapped in by copying it under those names. A data folder that lacks a
task's files is not an error: the task goes on down the list, with a warning naming the path.
Tasks without a bundled sample (ARC, KMMLU, HAE-RAE: no public copy could be shipped) are
"network only": offline they need --data-dir. A user's task whose YAML names its own folder
(absolute, or ./ relative to the YAML) reads exactly that folder.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sllm.errors import SllmError, warn
from sllm.plugins import Registry
from sllm.tasks.loaders import Doc, load_file
from sllm.tasks.spec import TaskSpec

SAMPLES = Path(__file__).parent / "samples"
# Where a task's documents come from offline (`data_availability`, the data column of `sllm tasks list`).
BUNDLED = "bundled sample"
NETWORK_ONLY = "network only"
USER_PATH = "user path"
DATA_DIR = "data dir"
NO_DATA = "no data"
#: per-document processors a task YAML names in `process_docs` (plugins: group "sllm.processors")
PROCESSORS: Registry[Callable[[Doc], Doc | None]] = Registry("document processor", group="sllm.processors")


@dataclass
class TaskData:
    """The evaluated documents, the few-shot pool and where both came from."""

    docs: list[Doc]
    fewshot_docs: list[Doc]
    source: str


def register_processor(name: str) -> Callable[[Callable[[Doc], Doc | None]], Callable[[Doc], Doc | None]]:
    """Register a per-document processor that YAML names in `process_docs`."""

    return PROCESSORS.register(name)


def load_task_data(spec: TaskSpec, data_dir: str | Path | None = None) -> TaskData:
    """Load the documents of a task from the first place that has them (see the module docstring)."""
    own = own_folder(spec)
    if own is not None:  # a user's task names its data itself: no fallback, a missing file is an error
        return _process(spec, _from_folder(spec, own), str(own))
    found, missing = _local_folder(spec, data_dir)
    if found is not None:
        return _process(spec, _from_folder(spec, found), str(found))
    sample = sample_folder(spec)
    if spec.dataset.hub_path and not _offline() and hub_reachable():
        try:
            data = _process(spec, _from_hub(spec), f"hub:{spec.dataset.hub_path}")
        except SllmError:
            if sample is None:
                raise
        else:
            _warn_missing(spec, missing, data.source)
            return data
    if sample is not None:
        data = _process(spec, _from_folder(spec, sample), f"{BUNDLED} ({sample})")
        _warn_missing(spec, missing, f"the {BUNDLED}")
        return data
    where = f"{missing[0]} not found" if missing else "no data found"
    raise SllmError(
        f"task {spec.task}: {where}; it has no bundled sample: pass --data-dir DIR with "
        f"{spec.dataset.folder}/{spec.dataset.test} inside (the layout of ../shared/data)"
        + (f", or go online for {spec.dataset.hub_path}" if spec.dataset.hub_path else "")
    )


def data_availability(spec: TaskSpec, data_dir: str | Path | None = None) -> str:
    """Where the task reads its documents offline: USER_PATH, DATA_DIR, BUNDLED, NETWORK_ONLY or NO_DATA."""
    if own_folder(spec) is not None:
        return USER_PATH
    if _local_folder(spec, data_dir)[0] is not None:
        return DATA_DIR
    if sample_folder(spec) is not None:
        return BUNDLED
    return NETWORK_ONLY if spec.dataset.hub_path else NO_DATA


def own_folder(spec: TaskSpec) -> Path | None:
    """The folder a task's YAML names itself (absolute, or ./ relative to the YAML), else None."""
    own = Path(spec.dataset.folder)
    if own.is_absolute():
        return own
    if spec.dataset.folder.startswith("."):
        return Path(spec.source).parent / own
    return None


def sample_folder(spec: TaskSpec) -> Path | None:
    """The bundled sample folder of a task, when it holds the task's evaluated file."""
    sample = SAMPLES / spec.dataset.folder
    return sample if (sample / spec.dataset.test).is_file() else None


def _local_folder(spec: TaskSpec, data_dir: str | Path | None) -> tuple[Path | None, list[Path]]:
    """The first of --data-dir and SLLM_DATA_DIR holding the task's file, and the paths tried in vain."""
    missing: list[Path] = []
    for folder in (data_dir, os.environ.get("SLLM_DATA_DIR")):
        if folder:
            base = Path(folder).expanduser() / spec.dataset.folder
            if (base / spec.dataset.test).is_file():
                return base, missing
            missing.append(base / spec.dataset.test)
    return None, missing


def _warn_missing(spec: TaskSpec, missing: list[Path], used: str) -> None:
    # The user pointed at a data folder that lacks this task: say so, but keep going.
    if missing:
        warn(f"task {spec.task}: {missing[0]} not found; using {used} instead")


def _from_folder(spec: TaskSpec, base: Path) -> tuple[list[Doc], list[Doc]]:
    options = spec.dataset.format_options
    docs = load_file(base / spec.dataset.test, spec.dataset.format, options)
    fewshot: list[Doc] = []
    if spec.dataset.fewshot and (base / spec.dataset.fewshot).is_file():
        fewshot = load_file(base / spec.dataset.fewshot, spec.dataset.format, options)
    return docs, fewshot


def _from_hub(spec: TaskSpec) -> tuple[list[Doc], list[Doc]]:
    import datasets

    ds = spec.dataset
    try:
        docs = list(datasets.load_dataset(ds.hub_path, ds.hub_name, split=ds.hub_test_split or "test"))
        fewshot = (
            list(datasets.load_dataset(ds.hub_path, ds.hub_name, split=ds.hub_fewshot_split))
            if ds.hub_fewshot_split
            else []
        )
    except Exception as exc:  # datasets raises many types (connection, missing config, ...)
        raise SllmError(f"task {spec.task}: cannot load {ds.hub_path} from the hub: {exc}") from None
    return docs, fewshot


def _process(spec: TaskSpec, loaded: tuple[list[Doc], list[Doc]], source: str) -> TaskData:
    docs, fewshot = loaded
    if spec.dataset.rename:
        mapping = spec.dataset.rename
        docs, fewshot = (
            [{mapping.get(k, k): v for k, v in d.items()} for d in part] for part in (docs, fewshot)
        )
    if spec.process_docs:
        fn = PROCESSORS.get(spec.process_docs)
        # A processor returns None to drop a document (e.g. unanswerable questions for SQuAD v1).
        docs = [d for d in map(fn, docs) if d is not None]
        fewshot = [d for d in map(fn, fewshot) if d is not None]
    return TaskData(docs, fewshot, source)


@lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """One quick TCP probe of the hub (HF_ENDPOINT aware), so an offline machine does not wait
    for datasets' retries (~25 s per task) before falling back to local data."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=3):
            return True
    except OSError:
        return False


def _offline() -> bool:
    flags = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "SLLM_OFFLINE")
    return any(os.environ.get(f, "").lower() in ("1", "true", "yes") for f in flags)


def _hellaswag_preprocess(text: str) -> str:
    import re

    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


@register_processor("hellaswag_hub")
def hellaswag_hub(doc: Doc) -> Doc:
    """Hub rows (ctx_a, ctx_b, endings) become query/choices/label as lm-eval builds them."""
    if "query" in doc:  # the local text conversion is already in this form
        return doc
    ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
    query = _hellaswag_preprocess(doc["activity_label"] + ": " + ctx)
    choices: list[Any] = [_hellaswag_preprocess(e) for e in doc["endings"]]
    return {"query": query, "choices": choices, "label": int(doc["label"])}


@register_processor("squad_hub")
def squad_hub(doc: Doc) -> Doc:
    """Hub rows keep answers under answers.text; local rows already hold a list of texts."""
    answers = doc["answers"]
    return {**doc, "answers": answers["text"] if isinstance(answers, dict) else answers}


@register_processor("squad_answerable")
def squad_answerable(doc: Doc) -> Doc | None:
    """SQuAD v1: answerable questions only."""
    doc = squad_hub(doc)
    return doc if doc["answers"] else None


def _answers(value: Any) -> list[str]:
    """A list of answers, or one CSV cell of answers separated by '; '."""
    return [str(a) for a in value] if isinstance(value, list) else [a for a in str(value).split(";")]


@register_processor("truthfulqa_gen")
def truthfulqa_gen(doc: Doc) -> Doc:
    """CSV or hub rows -> question, correct/incorrect answers, formatted as lm-eval does
    (stripped, a final period added, "I have no comment." always among the correct answers)."""

    def formatted(answers: list[str]) -> list[str]:
        out = [a.strip() for a in answers if a.strip()]
        return [a if a.endswith(".") else a + "." for a in out]

    correct = formatted(_answers(doc.get("correct_answers", doc.get("Correct Answers", ""))))
    incorrect = formatted(_answers(doc.get("incorrect_answers", doc.get("Incorrect Answers", ""))))
    if "I have no comment." not in correct:
        correct.append("I have no comment.")
    question = str(doc.get("question", doc.get("Question", ""))).strip()
    return {"question": question, "correct_answers": correct, "incorrect_answers": incorrect}
