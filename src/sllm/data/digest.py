"""Dataset versions: a content digest for every instruction file sllm reads or writes, and the
MLflow record of which files (digest, source, schema, rows) a command read and wrote.

The digest is the sha256 of the canonical JSON of each example (messages and other fields), in
file order. It does not depend on the file's format or whitespace -- the same rows as JSONL,
JSON, CSV or Parquet share one digest -- and row order matters: a shuffled file is another
dataset, because training order (and which rows a `--limit` takes) depends on it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sllm.data.examples import Example


class DatasetSummary:
    """Digest, row count and schema of examples seen one at a time (files too big to hold)."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.rows = 0
        self.multi_turn = 0
        self.system_prompts = 0
        self.fields: Counter[str] = Counter()

    def add(self, example: Example) -> None:
        """Count one example, in file order."""
        line = json.dumps(example.canonical(), sort_keys=True, ensure_ascii=False, default=str)
        self.sha.update(line.encode("utf-8") + b"\n")
        self.rows += 1
        self.multi_turn += not example.single_turn
        self.system_prompts += example.system is not None
        self.fields.update(example.meta.keys())  # keys: a mapping would add its values

    @property
    def digest(self) -> str:
        """sha256 (hex) of the examples' canonical content, in order."""
        return self.sha.hexdigest()

    def schema(self, layout: str) -> dict[str, Any]:
        """Format, conversation shape and the other fields with how many rows have them."""
        return {
            "format": layout,
            "turns": "multi" if self.multi_turn else "single",
            "system_prompts": self.system_prompts,
            "fields": dict(sorted(self.fields.items())),
        }

    @classmethod
    def of(cls, examples: list[Example]) -> DatasetSummary:
        """The summary of a list of examples."""
        summary = cls()
        for example in examples:
            summary.add(example)
        return summary


def dataset_digest(examples: list[Example]) -> str:
    """sha256 (hex) of the examples' canonical content, in order."""
    return DatasetSummary.of(examples).digest


def schema_of(examples: list[Example], layout: str) -> dict[str, Any]:
    """Format, conversation shape and the other fields with how many rows have them."""
    return DatasetSummary.of(examples).schema(layout)


@dataclass(frozen=True)
class DataFile:
    """A file read or written by a command, as MLflow records it."""

    name: str
    path: Path
    examples: list[Example]
    layout: str
    role: str = "input"  # input | output
    summary: DatasetSummary | None = None  # stands for `examples` when they were streamed

    @classmethod
    def output(cls, path: Path, examples: list[Example], layout: str) -> DataFile:
        """A file the command wrote."""
        return cls(path.stem, path, examples, layout, "output")

    def describe(self) -> dict[str, Any]:
        """Digest, source, rows and schema (what `sllm data digest` prints)."""
        summary = self.summary or DatasetSummary.of(self.examples)
        return {
            "name": self.name,
            "path": str(self.path),
            "digest": summary.digest,
            "rows": summary.rows,
            "schema": summary.schema(self.layout),
            "role": self.role,
        }


def track_data(
    command: str,
    files: list[DataFile],
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    enabled: bool = True,
    artifacts: list[Path] | None = None,
) -> str | None:
    """One MLflow run for a data command: every file as a dataset (digest, source, schema, rows)."""
    if not enabled:
        return None
    from sllm.tracking import track_run

    with track_run(f"data-{command}", params=params, tags={"sllm.command": f"data {command}"}) as run:
        for f in files:
            info = f.describe()
            run.log_dataset(
                f.name,
                digest=info["digest"][:16],
                source=str(f.path.resolve()),
                n_rows=info["rows"],
                schema={k: str(v) for k, v in info["schema"].items()},
                context=f.role,
            )
        if metrics:
            run.log_metrics(metrics)
        for path in artifacts or []:
            if path.is_file():
                run.log_artifact(path)
        return run.run_id


def describe_files(paths: list[Path]) -> list[dict[str, Any]]:
    """`sllm data digest`: digest, rows and schema of each instruction file."""
    from sllm.data.formats import load_examples

    return [DataFile(p.stem, p, *load_examples(p)).describe() for p in paths]
