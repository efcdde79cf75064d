"""`sllm data filter alpagasus | diversity | dedup | safety`: quality selection, every removal
written with its reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from sllm import smoke
from sllm.cli.data_cmd import NoTrackOption, data_app
from sllm.cli.options import JsonOption, NoCacheOption
from sllm.tables import cell

filter_app = typer.Typer(
    help="Quality selection: AlpaGasus, LIMA-style diversity, near-duplicates, safety.",
    no_args_is_help=True,
)
data_app.add_typer(filter_app, name="filter")

InputArg = typer.Argument(..., help="Instruction file (any format sllm reads).")
OutputOption = typer.Option(..., "--output", "-o", help="Write the kept rows here.")
RemovedOption = typer.Option(
    None, "--removed", help="Removed rows with reasons (default: OUTPUT.removed.jsonl)."
)
MaxTokensOption = typer.Option(None, "--max-new-tokens", help="Cap on each judge reply (config's default).")
EncoderOption = typer.Option(None, "--encoder", help="Local sentence-transformers folder (default MiniLM).")

ALPAGASUS_EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter alpagasus train.jsonl -o kept.jsonl
  sllm data filter alpagasus train.jsonl -o kept.jsonl --judge openai:gpt-4o-mini@https://api.openai.com/v1
  sllm data filter alpagasus train.jsonl -o kept.jsonl --dimensions accuracy,helpfulness --threshold 4

The judge scores each instruction / input / response from 0 to 5 with AlpaGasus's prompt (a
Korean prompt for Korean data) and writes the score on its first line; rows scoring >= the
threshold on every dimension are kept. Unreadable replies are retried, then removed as
"unparsed". --scores writes every row with its `alpagasus_score` (the lowest dimension), for
`sllm data filter diversity --score-field alpagasus_score`.
"""


@filter_app.command("alpagasus", epilog=ALPAGASUS_EXAMPLES)
def filter_alpagasus(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    judge: str = typer.Option("default", "--judge", "-j", help="Model spec of the judge."),
    threshold: float = typer.Option(4.5, "--threshold", help="Keep rows scoring at least this (0-5)."),
    dimensions: str = typer.Option("accuracy", "--dimensions", help="accuracy and/or helpfulness."),
    retries: int = typer.Option(2, "--retries", min=0, help="Re-asks when a reply has no score."),
    max_new_tokens: int | None = MaxTokensOption,
    scores: Path | None = typer.Option(None, "--scores", help="Write every row with its score here."),
    removed: Path | None = RemovedOption,
    price_table: Path | None = typer.Option(None, "--price-table", help="YAML of $ per 1M tokens by model."),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Keep the rows a judge scores >= 4.5 of 5 (AlpaGasus)."""
    from sllm.cli import preflight
    from sllm.data.formats import load_examples, write_examples
    from sllm.data.quality.alpagasus import alpagasus_filter, judge_names
    from sllm.data.quality.judged import rate_examples
    from sllm.errors import UsageError
    from sllm.models.spec import open_model
    from sllm.usage import usage_report

    examples, layout = load_examples(path)
    examples = list(smoke.head(examples))  # SLLM_SMOKE: a few rows to judge
    names = judge_names([d.strip() for d in dimensions.split(",") if d.strip()], _korean(examples))
    if not names:
        raise UsageError("--dimensions: name accuracy and/or helpfulness")
    if not 0 <= threshold <= 5:
        raise UsageError(f"--threshold: the judge scores 0 to 5, got {threshold:g}")
    _check_outputs(output, removed, scores)
    preflight.model_spec(judge, "--judge")
    preflight.price_table(price_table)
    lm = open_model(judge, use_cache=not no_cache)
    rated = rate_examples(examples, lm, names, retries, not as_json, max_new_tokens)
    result = alpagasus_filter(examples, rated, threshold)
    extra: dict[str, Any] = {"judge_model": lm.spec, "judges": names} | usage_report(lm, price_table)
    if scores is not None:
        write_examples([_with_score(e, r) for e, r in zip(examples, rated, strict=True)], scores, "alpaca")
        extra["scores"] = str(scores)
    params = {"judge": lm.spec, "threshold": threshold, "dimensions": dimensions}
    _finish("alpagasus", path, examples, layout, result, output, removed, params, extra, no_track, as_json)


def _with_score(example: Any, rated: dict[str, Any]) -> Any:
    from dataclasses import replace

    values = [r["score"] for r in rated.values()]
    score = None if any(v is None for v in values) else min(values)
    return replace(example, meta={**example.meta, "alpagasus_score": score})


DIVERSITY_EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter diversity train.jsonl -o diverse.jsonl --clusters 100
  sllm data filter diversity scored.jsonl -o diverse.jsonl --clusters 50 --per-cluster 2 \\
      --score-field alpagasus_score
  sllm data filter diversity ko.jsonl -o diverse.jsonl --encoder ./paraphrase-multilingual-MiniLM-L12-v2

Embeds each prompt (instruction + input), clusters with k-means (default sqrt(rows) clusters,
seeded) and keeps the best --per-cluster rows of each: highest --score-field first, else the
rows nearest the cluster centre. The default MiniLM encoder is English-only.
"""


@filter_app.command("diversity", epilog=DIVERSITY_EXAMPLES)
def filter_diversity(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    clusters: int | None = typer.Option(
        None, "--clusters", min=1, help="k-means clusters (default sqrt(n))."
    ),
    per_cluster: int = typer.Option(1, "--per-cluster", min=1, help="Rows kept per cluster."),
    score_field: str | None = typer.Option(None, "--score-field", help="Rank rows by this numeric field."),
    encoder: str | None = EncoderOption,
    seed: int = typer.Option(0, "--seed"),
    removed: Path | None = RemovedOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Keep the best k rows of each prompt cluster (LIMA-style diversity)."""
    from sllm.data.formats import load_examples
    from sllm.data.quality.diversity import diversity_select, embed_prompts

    examples, layout = load_examples(path)
    _warn_encoder(examples, encoder)
    result = diversity_select(
        examples, embed_prompts(examples, encoder), clusters, per_cluster, score_field, seed
    )
    params = {"clusters": result.info["clusters"], "per_cluster": per_cluster, "score_field": score_field,
              "encoder": encoder or "all-MiniLM-L6-v2", "seed": seed}  # fmt: skip
    _finish(
        "diversity",
        path,
        examples,
        layout,
        result,
        output,
        removed,
        params,
        dict(result.info),
        no_track,
        as_json,
    )


DEDUP_EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter dedup train.jsonl -o dedup.jsonl
  sllm data filter dedup train.jsonl -o dedup.jsonl --threshold 0.7 --field all
  sllm data filter dedup train.jsonl -o dedup.jsonl --method embedding --threshold 0.95

minhash: Jaccard similarity of character shingles (5 characters; 2 for Korean), MinHash LSH with
128 permutations, each pair confirmed exactly; default threshold 0.8. embedding: cosine of
sentence embeddings; default 0.95. The first row of each group is kept.
"""


@filter_app.command("dedup", epilog=DEDUP_EXAMPLES)
def filter_dedup(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    method: str = typer.Option("minhash", "--method", help="minhash | embedding."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Default 0.8 (minhash), 0.95 (embedding)."
    ),
    field: str = typer.Option(
        "prompt", "--field", help="prompt (instruction + input) | all (every message)."
    ),
    encoder: str | None = EncoderOption,
    removed: Path | None = RemovedOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove near-duplicate rows (MinHash or embeddings), keeping the first of each group."""
    from sllm.data.formats import load_examples
    from sllm.data.quality.dedup import THRESHOLDS, embedding_dedup, minhash_dedup, texts_of
    from sllm.errors import UsageError

    if method not in THRESHOLDS:
        raise UsageError(f"--method: expected minhash or embedding, got '{method}'")
    if field not in ("prompt", "all"):
        raise UsageError(f"--field: expected prompt or all, got '{field}'")
    examples, layout = load_examples(path)
    texts = texts_of(examples, field)
    limit = threshold if threshold is not None else THRESHOLDS[method]
    if method == "minhash":
        result = minhash_dedup(examples, texts, limit)
    else:
        from sllm.embeddings import load_encoder

        _warn_encoder(examples, encoder)
        result = embedding_dedup(examples, load_encoder(encoder).encode(texts, batch_size=64), limit)
    params = {"method": method, "threshold": limit, "field": field}
    _finish(
        "dedup",
        path,
        examples,
        layout,
        result,
        output,
        removed,
        params,
        {"threshold": limit},
        no_track,
        as_json,
    )


SAFETY_EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter safety train.jsonl -o safe.jsonl
  sllm data filter safety train.jsonl -o safe.jsonl --mask          # keep rows, replace PII
  sllm data filter safety train.jsonl -o safe.jsonl --judge default --harm-threshold 4

Personal data: Korean resident registration numbers (YYMMDD-GNNNNNN), Korean mobile, landline
and +82 numbers, e-mail addresses, card numbers passing the Luhn check, US SSNs. Rows with any
are removed (the report stars most of each value), or with --mask kept with placeholders such as
[RRN], [PHONE]. --judge adds a harm rating (1-5); rows at or above --harm-threshold are removed.
"""


@filter_app.command("safety", epilog=SAFETY_EXAMPLES)
def filter_safety(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    mask: bool = typer.Option(False, "--mask", help="Replace personal data instead of removing rows."),
    judge: str | None = typer.Option(None, "--judge", "-j", help="Also rate harm with this model."),
    harm_threshold: float = typer.Option(3.0, "--harm-threshold", help="Remove rows rated at least this."),
    retries: int = typer.Option(2, "--retries", min=0),
    max_new_tokens: int | None = MaxTokensOption,
    removed: Path | None = RemovedOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove (or mask) rows with personal data; optionally rows a judge rates harmful."""
    from sllm.data.formats import load_examples
    from sllm.data.quality.safety import safety_filter

    examples, layout = load_examples(path)
    harm, extra = None, {}
    if judge is not None:
        from sllm.cli import preflight
        from sllm.data.quality.judged import rate_examples
        from sllm.errors import UsageError
        from sllm.models.spec import open_model
        from sllm.usage import usage_report

        if not 1 <= harm_threshold <= 5:
            raise UsageError(f"--harm-threshold: the judge rates harm 1 to 5, got {harm_threshold:g}")
        _check_outputs(output, removed)
        preflight.model_spec(judge, "--judge")
        lm = open_model(judge, use_cache=not no_cache)
        name = "safety_ko" if _korean(examples) else "safety"
        rated = rate_examples(examples, lm, {"harm": name}, retries, not as_json, max_new_tokens)
        harm = [r["harm"]["score"] for r in rated]
        extra = {"judge_model": lm.spec} | usage_report(lm)
    result = safety_filter(examples, mask, harm, harm_threshold)
    extra["masked"] = result.info["masked"]
    params = {"mask": mask, "judge": judge, "harm_threshold": harm_threshold if judge else None}
    _finish("safety", path, examples, layout, result, output, removed, params, extra, no_track, as_json)


def _check_outputs(output: Path, removed: Path | None, scores: Path | None = None) -> None:
    """The files a judged filter writes, checked before the judge loads."""
    from sllm.cli import preflight

    preflight.writable_file(output, "--output")
    preflight.writable_file(removed, "--removed")
    preflight.writable_file(scores, "--scores")


def _korean(examples: list) -> bool:
    from sllm.data.quality.text import prompt_text
    from sllm.language import hangul_ratio

    return hangul_ratio([prompt_text(e) for e in examples]) > 0.5


def _warn_encoder(examples: list, encoder: str | None) -> None:
    if encoder is None and _korean(examples):
        Console(stderr=True).print(
            "[yellow]warning:[/yellow] the default MiniLM encoder is English-only and barely separates "
            "Korean prompts; pass --encoder with a local multilingual sentence-transformers folder"
        )


def _finish(  # noqa: PLR0913 - one place for every filter's output, report and run
    command: str,
    path: Path,
    examples: list,
    layout: str,
    result: Any,
    output: Path,
    removed: Path | None,
    params: dict[str, Any],
    extra: dict[str, Any],
    no_track: bool,
    as_json: bool,
) -> None:
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import write_examples
    from sllm.data.quality.result import write_removed

    removed_path = removed or output.with_name(output.stem + ".removed.jsonl")
    written = write_examples(result.kept, output, layout if output.suffix in (".jsonl", ".json") else "auto")
    write_removed(result, removed_path)
    counts = result.counts()
    report = {"filter": command, **counts, "output": str(output), "removed_file": str(removed_path), **extra}
    report["output_digest"] = dataset_digest(result.kept)
    files = [DataFile(path.stem, path, examples, layout), DataFile.output(output, result.kept, written)]
    metrics = {k: float(counts[k]) for k in ("rows", "kept", "removed")}
    report["run_id"] = track_data(f"filter-{command}", files, params, metrics, not no_track, [removed_path])
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title=f"{command}: kept {counts['kept']} of {counts['rows']} rows of {path}")
    table.add_column("removed because")
    table.add_column("rows", justify="right")
    for reason, n in sorted(counts["removed_by_reason"].items(), key=lambda kv: -kv[1]):
        table.add_row(reason, cell(n))
    console = Console()
    console.print(table)
    console.print(f"kept rows -> {output}; removed rows with reasons -> {removed_path}")
    if "usage" in extra or "calls" in extra:
        from sllm.cli.judge import cost_line

        console.print(cost_line(extra))
