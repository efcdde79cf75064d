"""`sllm data convert`: an instruction file from one layout to another (Alpaca, ShareGPT, chat
messages; JSONL, JSON, CSV, Parquet), recorded as a data run."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def convert_file(
    source: Path, target: Path, from_fmt: str = "auto", to_fmt: str = "auto", skip_invalid: bool = False,
    track: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Convert `source` into `target`; nothing is written if a row is invalid, unless
    `skip_invalid` drops such rows. The report: input, output, layouts, rows, skipped, digest."""
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import load_examples, read_examples, write_examples

    if skip_invalid:
        examples, problems, layout = read_examples(source, from_fmt)
    else:
        (examples, layout), problems = load_examples(source, from_fmt), []
    written = write_examples(examples, target, to_fmt)
    files = [
        DataFile(source.stem, source, examples, layout),
        DataFile(target.stem, target, examples, written, "output"),
    ]
    run_id = track_data("convert", files, {"from": layout, "to": written}, None, track)
    return {
        "input": str(source), "output": str(target), "from": layout, "to": written, "rows": len(examples),
        "skipped": len({p.where for p in problems if p.severity == "error"}),
        "digest": dataset_digest(examples), "run_id": run_id,
    }  # fmt: skip
