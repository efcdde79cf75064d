"""Judging jobs as the `sllm judge` commands run them, from a file of items to a recorded run.

A job checks everything it can before the judge loads (judge configs, the judge's spec, output
paths, the price table), picks the judge config of each item (`auto`: MT-Bench's choice per item),
judges every item through the call cache, writes one JSON line per judgment, and records the run
with its token usage. `single`, `pairwise`, `compare` and `mtbench` share the options and steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sllm.judging.items import Item
from sllm.judging.spec import JudgeSpec
from sllm.models.base import LM


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge: the judge model and config, retries, caching, tracking and pricing."""

    judge: str = "default"
    config: str = "auto"  # a judge config name, or auto (MT-Bench's choice per item)
    include: tuple[str, ...] = ()  # folders of extra judge YAML configs
    swap: bool = True  # pairwise: judge both orders (position bias checked)
    retries: int = 2
    max_new_tokens: int | None = None
    use_cache: bool = True
    track: bool = True
    price_table: Path | None = None
    judge_family: str | None = None  # overrides the family guessed from the judge's name
    progress: bool = True


def config_for(mode: str, item: Item, include: tuple[str, ...]) -> JudgeSpec:
    """MT-Bench's judge config for one item: reference-guided for math / reasoning / coding with a
    reference, multi-turn for turn 2, the Korean prompts for Korean questions."""
    from sllm.judging.spec import get_judge
    from sllm.language import hangul_ratio

    base = "single" if mode == "single" else "pair"
    version = "math_v1" if item.needs_reference and item.references else ("v1" if mode == "single" else "v2")
    suffix = "_multi_turn" if item.turn == 2 else ""
    korean = "ko_" if hangul_ratio(item.turns) > 0.5 else ""
    return get_judge(f"mt_bench_{korean}{base}_{version}{suffix}", include)


def plan_judging(
    items: list[Item], mode: str, config: str, folders: tuple[str, ...]
) -> dict[str, list[Item]]:
    """The judge config of each item (auto: MT-Bench's choice per item), grouped by config and
    checked against the mode: run before the judge model loads, so a wrong --config fails at once."""
    from sllm.errors import UsageError
    from sllm.judging.spec import get_judge

    if config != "auto":
        try:
            get_judge(config, folders)
        except UsageError as exc:
            raise UsageError(f"--config: {exc}") from None
    groups: dict[str, list[Item]] = {}
    for item in items:
        spec = get_judge(config, folders) if config != "auto" else config_for(mode, item, folders)
        groups.setdefault(spec.name, []).append(item)
    wanted = "single" if mode == "single" else "pairwise"
    for name in groups:
        found = get_judge(name, folders).mode
        if found != wanted:
            raise UsageError(f"--config: judge config {name} is for {found} judging, not {mode}")
    return groups


def judge_items(
    lm: LM, plan: dict[str, list[Item]], mode: str, options: JudgeOptions
) -> tuple[list[dict[str, Any]], list[str]]:
    """Judge the items of a `plan_judging` plan, each group with its config; rows and configs used."""
    from sllm.judging.run import Judge
    from sllm.judging.spec import get_judge

    rows = []
    for name, members in plan.items():
        spec = get_judge(name, options.include)
        runner = Judge(lm, spec, retries=options.retries, max_new_tokens=options.max_new_tokens)
        if mode == "single":
            rows.extend(runner.single(members, progress=options.progress))
        else:
            rows.extend(runner.pairwise(members, options.swap, progress=options.progress))
    return rows, sorted(plan)


def check_judge(options: JudgeOptions, output: Path, output_is_folder: bool = False) -> None:
    """What would fail only after the judge loads: its spec, the output path, the price table."""
    from sllm import preflight

    preflight.model_spec(options.judge, "--judge")
    if output_is_folder:
        preflight.writable_dir(output, "--output")
    else:
        preflight.writable_file(output, "--output")
    preflight.price_table(options.price_table)


def open_judge(options: JudgeOptions) -> LM:
    """The judge model, through the call cache unless the options turn it off."""
    from sllm.models.spec import open_model

    return open_model(options.judge, use_cache=options.use_cache)


def judge_file(mode: str, input_path: Path, output: Path, options: JudgeOptions) -> dict[str, Any]:
    """`sllm judge single | pairwise`: judge a JSONL of items, write the judgments; the summary."""
    from sllm.judging.bias import warn_self_preference
    from sllm.judging.items import load_items
    from sllm.judging.run import summarize_pairwise, summarize_single
    from sllm.judging.tracking import track_judging
    from sllm.textio import write_jsonl
    from sllm.usage import usage_report

    items = load_items(input_path, mode)
    plan = plan_judging(items, mode, options.config, options.include)
    check_judge(options, output)
    lm = open_judge(options)
    rows, configs = judge_items(lm, plan, mode, options)
    write_jsonl(output, rows)
    summary = summarize_single(rows) if mode == "single" else summarize_pairwise(rows)
    summary |= {"output": str(output), "judge_model": lm.spec, "configs": configs}
    summary |= usage_report(lm, options.price_table)
    candidates = [m for item in items for m in item.models]
    summary["self_preference_risk"] = warn_self_preference(options.judge, candidates, options.judge_family)
    summary["run_id"] = track_judging(mode, summary, [input_path], [output], options.track)
    return summary
