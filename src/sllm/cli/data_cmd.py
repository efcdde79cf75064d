"""`sllm data validate | convert | digest`: instruction files in, checked and converted files out."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

data_app = typer.Typer(
    help="Instruction data: validate, convert, split, generate, filter.", no_args_is_help=True
)
app.add_typer(data_app, name="data")

FormatOption = typer.Option(
    "auto", "--format", "-f", help="alpaca | sharegpt | messages | csv | parquet | auto."
)
NoTrackOption = typer.Option(False, "--no-track", help="Do not record an MLflow run.")

VALIDATE_EXAMPLES = """
[bold]Examples[/bold]

  sllm data validate train.jsonl
  sllm data validate sharegpt.json --model hf:./my-base --max-length 2048 --json
  sllm data validate raw.csv --output clean.jsonl            # written only if there are no errors
  sllm data validate raw.csv --output clean.jsonl --force    # write the valid rows anyway

Checks: the format's fields, empty or whitespace-only contents, role order, exact duplicates
(warning), token lengths through the model's chat template (and that every row renders),
the language mix (share of Hangul). Problems name the file, the line (JSONL / CSV), item (JSON
list) or row (Parquet), and the field. Exit code 1 when there are errors. The file is read as
a stream: memory does not grow with its size (except --output to .csv / .parquet, written whole),
and files of 8 MB or more show a progress bar by bytes on stderr.
"""


@data_app.command("validate", epilog=VALIDATE_EXAMPLES)
def data_validate(
    path: Path = typer.Argument(..., help="Instruction file (JSON, JSONL, CSV, Parquet)."),
    fmt: str = FormatOption,
    model: str = typer.Option("default", "--model", "-m", help="Tokenizer / chat template of this model."),
    no_template: bool = typer.Option(False, "--no-template", help="Skip token lengths and template check."),
    max_length: int | None = typer.Option(None, "--max-length", help="Warn about rows longer than this."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the valid rows here."),
    force: bool = typer.Option(False, "--force", help="Write --output even when some rows have errors."),
    show: int = typer.Option(20, "--show", help="How many problems to list."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Check an instruction file and summarise it; optionally write its valid rows."""
    from sllm.data.digest import DataFile, track_data
    from sllm.data.formats import ExampleWriter
    from sllm.data.validate import load_tokenizer, validate_file
    from sllm.progress import byte_bar

    tokenizer = None if no_template else load_tokenizer(model)
    writer = ExampleWriter(output) if output is not None else None
    size = path.stat().st_size if path.is_file() else 0
    try:
        # The file streams through once: memory holds counters and a chunk of rows, not the file.
        with byte_bar(f"validating {path.name}", size) as advance:
            result = validate_file(path, fmt, tokenizer, max_length, writer.add if writer else None, advance)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    problems = result.problems
    errors = [p for p in problems if p.severity == "error"]
    report = {
        "path": str(path),
        "format": result.layout,
        "rows": result.rows,
        "valid": result.valid,
        "errors": len(errors),
        "warnings": len(problems) - len(errors),
        "digest": result.summary.digest,
        "tokens": result.tokens,
        "language": result.language,
        "multi_turn": result.summary.multi_turn,
        "problems": [
            {"where": p.where, "field": p.field, "message": p.message, "severity": p.severity}
            for p in problems
        ],  # fmt: skip
        "written": None,
    }
    if writer is not None and (not errors or force) and result.valid:
        writer.commit()
        report["written"] = str(output)
        files = [
            DataFile(path.stem, path, [], result.layout, summary=result.summary),
            DataFile(output.stem, output, [], writer.layout, "output", summary=result.summary),
        ]
        report["run_id"] = track_data("validate", files, {"model": model}, None, not no_track)
    elif writer is not None:
        writer.discard()
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report, problems[:show])
    if errors:
        raise typer.Exit(1)


def _print_report(report: dict, problems: list) -> None:
    table = Table(title=f"{report['path']} ({report['format']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("rows", "valid", "errors", "warnings", "multi_turn"):
        table.add_row(key.replace("_", " "), cell(report[key]))
    for part, values in report["tokens"].items():
        if isinstance(values, dict) and values:
            shown = ", ".join(f"{k} {v:.0f}" for k, v in values.items())
            table.add_row(f"{part} tokens", shown)
    table.add_row("language", cell(", ".join(f"{k} {v}" for k, v in report["language"].items())))
    table.add_row("digest", report["digest"][:16])
    Console().print(table)
    err = Console(stderr=True)
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        err.print(f"[{colour}]{p.severity}[/{colour}] {p}", highlight=False, soft_wrap=True)
    if report["written"]:
        err.print(f"written: {report['written']}")
    elif report["errors"]:
        err.print("nothing written: fix the errors, or pass --force to write the valid rows")


CONVERT_EXAMPLES = """
[bold]Examples[/bold]

  sllm data convert alpaca_data.json train.jsonl --to messages
  sllm data convert sharegpt.json chats.parquet
  sllm data convert raw.csv clean.jsonl --to alpaca --skip-invalid

The input layout is detected from its fields (Alpaca instruction/input/output, ShareGPT
conversations from/value, chat messages role/content); CSV and Parquet hold either Alpaca
columns or a JSON `messages` column. Output: .jsonl (JSON lines), .json (a list), .csv, .parquet.
Nothing is written if a row is invalid, unless --skip-invalid.
"""


@data_app.command("convert", epilog=CONVERT_EXAMPLES)
def data_convert(
    source: Path = typer.Argument(..., help="Input file."),
    target: Path = typer.Argument(..., help="Output file."),
    from_fmt: str = typer.Option("auto", "--from", help="Input layout (auto detects)."),
    to_fmt: str = typer.Option("auto", "--to", help="alpaca | sharegpt | messages | csv | parquet | auto."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Drop invalid rows instead of stopping."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Convert between Alpaca, ShareGPT, chat messages, CSV and Parquet."""
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
    run_id = track_data("convert", files, {"from": layout, "to": written}, None, not no_track)
    result = {
        "input": str(source), "output": str(target), "from": layout, "to": written, "rows": len(examples),
        "skipped": len({p.where for p in problems if p.severity == "error"}),
        "digest": dataset_digest(examples), "run_id": run_id,
    }  # fmt: skip
    if as_json:
        print(json.dumps(result))
        return
    Console(stderr=True).print(
        f"{result['rows']} rows {layout} -> {written}: {target} (digest {result['digest'][:16]}"
        + (f", {result['skipped']} invalid rows skipped)" if result["skipped"] else ")")
    )


DIGEST_EXAMPLES = (
    "[bold]Examples[/bold]\n\n  sllm data digest train.jsonl\n  sllm data digest a.jsonl b.csv --json"
)


@data_app.command("digest", epilog=DIGEST_EXAMPLES)
def data_digest(
    paths: list[Path] = typer.Argument(..., help="Instruction files."), as_json: bool = JsonOption
) -> None:
    """Content digest, rows and schema of instruction files (format-independent, order-sensitive)."""
    from sllm.data.digest import DataFile
    from sllm.data.formats import load_examples

    described = [DataFile(p.stem, p, *load_examples(p)).describe() for p in paths]
    if as_json:
        print(json.dumps({"files": described}))
        return
    table = Table(title="dataset digests (sha256 of the rows' content, in order)")
    for column in ("file", "format", "rows", "digest"):
        table.add_column(column)
    for d in described:
        table.add_row(d["path"], d["schema"]["format"], str(d["rows"]), d["digest"])
    Console().print(table)


SPLIT_EXAMPLES = """
[bold]Examples[/bold]

  sllm data split data.jsonl --out-dir splits/
  sllm data split data.jsonl --out-dir splits/ --fractions 0.9,0.1 --seed 7 --stratify category
  sllm data split data.jsonl --out-dir splits/ --near-dup-threshold 0    # exact duplicates only

Near-duplicates (Jaccard of character 5-gram shingles >= threshold, MinHash LSH) stay in one
split, so a paraphrase cannot sit on both sides. Files are written as DIR/train.jsonl,
DIR/validation.jsonl, DIR/test.jsonl in the input's layout.
"""


@data_app.command("split", epilog=SPLIT_EXAMPLES)
def data_split(
    path: Path = typer.Argument(..., help="Instruction file."),
    out_dir: Path = typer.Option(..., "--out-dir", "-o", help="Folder for the split files."),
    fractions: str = typer.Option(
        "0.8,0.1,0.1", "--fractions", help="train,validation,test (or train,test)."
    ),
    seed: int = typer.Option(0, "--seed"),
    stratify: str | None = typer.Option(None, "--stratify", help="Keep this field's proportions per split."),
    threshold: float = typer.Option(0.8, "--near-dup-threshold", help="Jaccard for grouping; 0: exact only."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Seeded, disjoint train / validation / test splits; near-duplicates kept together."""
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import load_examples, write_examples
    from sllm.data.split import parse_fractions, split_examples

    shares = parse_fractions(fractions)
    examples, layout = load_examples(path)
    splits, grouped = split_examples(examples, shares, seed, stratify, threshold or None)
    files = [DataFile(path.stem, path, examples, layout)]
    suffix = path.suffix if path.suffix in (".jsonl", ".json", ".csv", ".parquet") else ".jsonl"
    result: dict = {"input": str(path), "seed": seed, "grouped_rows": grouped, "splits": {}}
    for name, rows in splits.items():
        target = out_dir / f"{name}{suffix}"
        written = write_examples(rows, target, layout if suffix in (".jsonl", ".json") else "auto")
        files.append(DataFile(name, target, rows, written, "output"))
        result["splits"][name] = {"path": str(target), "rows": len(rows), "digest": dataset_digest(rows)}
    params = {"fractions": fractions, "seed": seed, "stratify": stratify, "near_dup_threshold": threshold}
    result["run_id"] = track_data("split", files, params, None, not no_track)
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"{path} -> {out_dir} (seed {seed}; {grouped} rows grouped as near-duplicates)")
    for column in ("split", "rows", "file", "digest"):
        table.add_column(column)
    for name, info in result["splits"].items():
        table.add_row(name, str(info["rows"]), info["path"], info["digest"][:16])
    Console().print(table)
