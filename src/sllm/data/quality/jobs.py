"""The quality filters as `sllm data filter` runs them: read an instruction file, select, write the
kept rows (in the input's layout) and every removed row with its reason, and record a data run.

Judged filters (AlpaGasus, the harm rating of `safety`) check their output paths and the judge
before it loads, and report the judge's token usage beside the counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.result import FilterResult
from sllm.judging.jobs import JudgeOptions


def alpagasus_file(  # noqa: PLR0913 - the filter's settings
    path: Path,
    output: Path,
    judge: JudgeOptions,
    threshold: float = 4.5,
    dimensions: tuple[str, ...] = ("accuracy",),
    scores: Path | None = None,
    removed: Path | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """Keep the rows the judge scores >= `threshold` (0-5) on every dimension (AlpaGasus);
    `scores` gets every row with its `alpagasus_score` (the lowest dimension)."""
    from sllm import preflight, smoke
    from sllm.data.formats import load_examples, write_examples
    from sllm.data.quality.alpagasus import alpagasus_filter, judge_names
    from sllm.data.quality.judged import rate_examples
    from sllm.errors import UsageError
    from sllm.judging.jobs import open_judge
    from sllm.usage import usage_report

    examples, layout = load_examples(path)
    examples = list(smoke.head(examples))  # SLLM_SMOKE: a few rows to judge
    names = judge_names(list(dimensions), korean(examples))
    if not names:
        raise UsageError("--dimensions: name accuracy and/or helpfulness")
    if not 0 <= threshold <= 5:
        raise UsageError(f"--threshold: the judge scores 0 to 5, got {threshold:g}")
    check_outputs(output, removed, scores)
    preflight.model_spec(judge.judge, "--judge")
    preflight.price_table(judge.price_table)
    lm = open_judge(judge)
    rated = rate_examples(examples, lm, names, judge.retries, judge.progress, judge.max_new_tokens)
    result = alpagasus_filter(examples, rated, threshold)
    extra: dict[str, Any] = {"judge_model": lm.spec, "judges": names} | usage_report(lm, judge.price_table)
    if scores is not None:
        write_examples([_with_score(e, r) for e, r in zip(examples, rated, strict=True)], scores, "alpaca")
        extra["scores"] = str(scores)
    params = {"judge": lm.spec, "threshold": threshold, "dimensions": ",".join(dimensions)}
    return finish("alpagasus", path, examples, layout, result, output, removed, params, extra, track)


def _with_score(example: Example, rated: dict[str, Any]) -> Example:
    from dataclasses import replace

    values = [r["score"] for r in rated.values()]
    score = None if any(v is None for v in values) else min(values)
    return replace(example, meta={**example.meta, "alpagasus_score": score})


def diversity_file(  # noqa: PLR0913 - the filter's settings
    path: Path,
    output: Path,
    clusters: int | None = None,
    per_cluster: int = 1,
    score_field: str | None = None,
    encoder: str | None = None,
    seed: int = 0,
    removed: Path | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """Keep the best `per_cluster` rows of each k-means cluster of prompt embeddings (LIMA-style)."""
    from sllm.data.formats import load_examples
    from sllm.data.quality.diversity import diversity_select, embed_prompts

    examples, layout = load_examples(path)
    warn_encoder(examples, encoder)
    result = diversity_select(
        examples, embed_prompts(examples, encoder), clusters, per_cluster, score_field, seed
    )
    params = {"clusters": result.info["clusters"], "per_cluster": per_cluster, "score_field": score_field,
              "encoder": encoder or "all-MiniLM-L6-v2", "seed": seed}  # fmt: skip
    return finish(
        "diversity", path, examples, layout, result, output, removed, params, dict(result.info), track
    )


def dedup_file(  # noqa: PLR0913 - the filter's settings
    path: Path,
    output: Path,
    method: str = "minhash",
    threshold: float | None = None,
    field: str = "prompt",
    encoder: str | None = None,
    removed: Path | None = None,
    track: bool = True,
) -> dict[str, Any]:
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

        warn_encoder(examples, encoder)
        result = embedding_dedup(examples, load_encoder(encoder).encode(texts, batch_size=64), limit)
    params = {"method": method, "threshold": limit, "field": field}
    return finish(
        "dedup", path, examples, layout, result, output, removed, params, {"threshold": limit}, track
    )


def safety_file(  # noqa: PLR0913 - the filter's settings
    path: Path,
    output: Path,
    mask: bool = False,
    judge: JudgeOptions | None = None,
    harm_threshold: float = 3.0,
    removed: Path | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """Remove (or `mask`) rows with personal data; with a `judge`, also rows it rates harmful
    (1-5) at or above `harm_threshold`."""
    from sllm.data.formats import load_examples
    from sllm.data.quality.safety import safety_filter

    examples, layout = load_examples(path)
    harm, extra = None, {}
    if judge is not None:
        from sllm import preflight
        from sllm.data.quality.judged import rate_examples
        from sllm.errors import UsageError
        from sllm.judging.jobs import open_judge
        from sllm.usage import usage_report

        if not 1 <= harm_threshold <= 5:
            raise UsageError(f"--harm-threshold: the judge rates harm 1 to 5, got {harm_threshold:g}")
        check_outputs(output, removed)
        preflight.model_spec(judge.judge, "--judge")
        lm = open_judge(judge)
        name = "safety_ko" if korean(examples) else "safety"
        rated = rate_examples(
            examples, lm, {"harm": name}, judge.retries, judge.progress, judge.max_new_tokens
        )
        harm = [r["harm"]["score"] for r in rated]
        extra = {"judge_model": lm.spec} | usage_report(lm)
    result = safety_filter(examples, mask, harm, harm_threshold)
    extra["masked"] = result.info["masked"]
    params = {"mask": mask, "judge": judge.judge if judge else None,
              "harm_threshold": harm_threshold if judge else None}  # fmt: skip
    return finish("safety", path, examples, layout, result, output, removed, params, extra, track)


def check_outputs(output: Path, removed: Path | None, scores: Path | None = None) -> None:
    """The files a judged filter writes, checked before the judge loads."""
    from sllm import preflight

    preflight.writable_file(output, "--output")
    preflight.writable_file(removed, "--removed")
    preflight.writable_file(scores, "--scores")


def korean(examples: list[Example]) -> bool:
    """Whether the prompts are mostly Hangul (the Korean judge prompts apply)."""
    from sllm.data.quality.text import prompt_text
    from sllm.language import hangul_ratio

    return hangul_ratio([prompt_text(e) for e in examples]) > 0.5


def warn_encoder(examples: list[Example], encoder: str | None) -> None:
    """Warn when Korean prompts meet the default English-only encoder."""
    from sllm.errors import warn

    if encoder is None and korean(examples):
        warn(
            "the default MiniLM encoder is English-only and barely separates Korean prompts; "
            "pass --encoder with a local multilingual sentence-transformers folder"
        )


def finish(  # noqa: PLR0913 - one place for every filter's output, report and run
    command: str,
    path: Path,
    examples: list[Example],
    layout: str,
    result: FilterResult,
    output: Path,
    removed: Path | None,
    params: dict[str, Any],
    extra: dict[str, Any],
    track: bool,
) -> dict[str, Any]:
    """Write the kept rows and the removed ones (default OUTPUT.removed.jsonl), record the run;
    the report: counts, removals by reason, the files, the kept rows' digest and `extra`."""
    from sllm.data.digest import DataFile, dataset_digest, track_data
    from sllm.data.formats import kept_layout, write_examples
    from sllm.data.quality.result import write_removed

    removed_path = removed or output.with_name(output.stem + ".removed.jsonl")
    written = write_examples(result.kept, output, kept_layout(layout, output))
    write_removed(result, removed_path)
    counts = result.counts()
    report = {"filter": command, **counts, "output": str(output), "removed_file": str(removed_path), **extra}
    report["output_digest"] = dataset_digest(result.kept)
    files = [DataFile(path.stem, path, examples, layout), DataFile.output(output, result.kept, written)]
    metrics = {k: float(counts[k]) for k in ("rows", "kept", "removed")}
    report["run_id"] = track_data(f"filter-{command}", files, params, metrics, track, [removed_path])
    return report
