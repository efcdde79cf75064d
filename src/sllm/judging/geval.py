"""G-Eval (Liu et al., 2023): a judge writes evaluation steps for a criterion once (auto
chain-of-thought), then fills a form with a score for each output.

Two ways to turn the form into a score, both as in the paper:
- probability: the probability of every score token (" 1" ... " 5") after the form, by
  log-likelihood, renormalised over the scale; score = sum of score x probability. Needs a backend
  that scores continuations (hf, gguf, vLLM, an OpenAI-compatible server with echo+logprobs).
- sampling: n replies (the released code: n=20, temperature 2, 5 new tokens), each read with the
  code's pattern (a number at the start); the score is their mean. Unlike the released code, a
  reply without a number is left out and counted (`n_unparsed`) instead of counting as 0.
The generated steps are cached like every call and written into each record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from sllm.errors import NotSupportedError, SllmError, unknown_name
from sllm.generation.config import make_config
from sllm.judging.fence import Neutraliser
from sllm.models.base import LM, GenerationRequest, LoglikelihoodRequest
from sllm.tasks.spec import read_yaml

if TYPE_CHECKING:
    from sllm.judging.jobs import JudgeOptions

CRITERIA = Path(__file__).parent / "criteria"
SCORE_AT_START = re.compile(r"^ ?([\d\.]+)")  # the released code's parse_output pattern
Mode = Literal["probability", "sampling"]


class Criterion(BaseModel):
    """One G-Eval dimension: what is rated, on which scale, and the released prompt if any."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str
    scale: list[int]
    task: str
    definition: str
    uses_source: bool = True
    prompt: str | None = None
    language: Literal["en", "ko"] = "en"


# The form's fixed wording per language: the released English layout, and ours in Korean so a
# Korean judge reads one language throughout.
LAYOUT = {
    "en": {
        "rate": "Your task is to rate the output on one metric.",
        "careful": "Please make sure you read and understand these instructions carefully.",
        "criteria": "Evaluation Criteria:",
        "write": "Write the evaluation steps a careful rater follows for this criterion, as a numbered list.",
        "steps": "Evaluation Steps:",
        "example": "Example:",
        "source": "Source Text:",
        "output": "Output:",
        "form": "Evaluation Form (scores ONLY):",
    },
    "ko": {
        "rate": "당신의 과제는 출력물을 하나의 지표로 평가하는 것입니다.",
        "careful": "아래 지침을 주의 깊게 읽고 이해했는지 확인하세요.",
        "criteria": "평가 기준:",
        "write": "이 기준으로 신중한 평가자가 따를 평가 단계를 번호 목록으로 작성하세요.",
        "steps": "평가 단계:",
        "example": "예시:",
        "source": "원문:",
        "output": "출력물:",
        "form": "평가 양식 (점수만):",
    },
}


def load_criteria(extra: list[str | Path] = ()) -> dict[str, Criterion]:  # type: ignore[assignment]
    """Built-in criteria (SummEval's four) plus YAML files given by the user."""
    files = sorted(CRITERIA.glob("*.yaml")) + [Path(p) for p in extra]
    out = {}
    for path in files:
        if not path.is_file():
            raise SllmError(f"criteria file not found: {path}")
        for data in read_yaml(path):
            try:
                criterion = Criterion(**data)
            except Exception as exc:  # pydantic's message names the field
                raise SllmError(f"{path}: {exc}".splitlines()[0]) from None
            out[criterion.name] = criterion
    return out


def get_criterion(name: str, extra: list[str | Path] = ()) -> Criterion:  # type: ignore[assignment]
    """A criterion by name."""
    known = load_criteria(extra)
    if name not in known:
        raise unknown_name("criterion", name, known)
    return known[name]


def steps_prompt(criterion: Criterion) -> str:
    """The auto-CoT request: task, criterion, then "Evaluation Steps:" for the judge to complete."""
    lo, hi = criterion.scale
    t = LAYOUT[criterion.language]
    return (
        f"{criterion.task}\n\n{t['rate']}\n\n"
        f"{t['criteria']}\n\n{criterion.label} ({lo}-{hi}) - {criterion.definition}\n\n"
        f"{t['write']}\n\n{t['steps']}\n"
    )


def write_steps(lm: LM, criterion: Criterion, max_new_tokens: int = 256) -> str:
    """The judge's own evaluation steps (greedy, cached)."""
    config = make_config(
        max_new_tokens=max_new_tokens, stop=["\n\n\n", LAYOUT[criterion.language]["example"]]
    )
    return lm.generate([GenerationRequest(prompt=steps_prompt(criterion), config=config)])[0].text.strip()


def released_steps(criterion: Criterion) -> str:
    """The evaluation steps inside a criterion's released prompt (what `--steps given` uses)."""
    if criterion.prompt is None:
        raise SllmError(f"criterion {criterion.name} has no released prompt; use auto steps")
    t = LAYOUT[criterion.language]
    _, found, rest = criterion.prompt.partition(t["steps"])
    if not found:  # a user's prompt without the released layout: its steps are the whole prompt
        return criterion.prompt
    return rest.partition(t["example"])[0].strip()


def form_prompt(criterion: Criterion, steps: str | None, source: str, output: str) -> str:
    """The form to fill: the released prompt (steps given), or the same layout with our steps."""
    if steps is None:
        if criterion.prompt is None:
            raise SllmError(f"criterion {criterion.name} has no released prompt; use auto steps")
        return criterion.prompt.replace("{{Document}}", source).replace("{{Summary}}", output)
    lo, hi = criterion.scale
    t = LAYOUT[criterion.language]
    parts = [
        f"{criterion.task}\n\n{t['rate']}\n\n{t['careful']}\n\n"
        f"{t['criteria']}\n\n{criterion.label} ({lo}-{hi}) - {criterion.definition}\n\n"
        f"{t['steps']}\n\n{steps}\n\n\n{t['example']}\n\n"
    ]
    if criterion.uses_source:
        parts.append(f"{t['source']}\n\n{source}\n\n")
    parts.append(f"{t['output']}\n\n{output}\n\n\n{t['form']}\n\n- {criterion.label}:")
    return "".join(parts)


def probability_scores(lm: LM, prompts: list[str], scale: list[int]) -> list[dict[str, Any]]:
    """Score = sum of s * P(s), P renormalised over the scale's tokens (" 1" ... " 5")."""
    import math

    values = list(range(scale[0], scale[1] + 1))
    requests = [LoglikelihoodRequest(p, f" {v}") for p in prompts for v in values]
    results = iter(lm.loglikelihood(requests))
    out = []
    for _ in prompts:
        logprobs = [next(results).logprob for _ in values]
        top = max(logprobs)
        weights = [math.exp(lp - top) for lp in logprobs]
        total = sum(weights)
        probs = [w / total for w in weights]
        out.append(
            {
                "score": sum(v * p for v, p in zip(values, probs)),
                "probabilities": dict(zip(map(str, values), probs)),
            }
        )
    return out


def sampling_scores(
    lm: LM, prompts: list[str], scale: list[int], n: int, temperature: float, seed: int
) -> list[dict[str, Any]]:
    """Mean of the numbers that n sampled replies start with (seeded, so cached and repeatable)."""
    requests = [
        GenerationRequest(
            prompt=p,
            config=make_config(
                strategy="sample", temperature=temperature, top_p=1.0, max_new_tokens=5, seed=seed + i
            ),
        )  # fmt: skip
        for p in prompts
        for i in range(n)
    ]
    replies = iter(lm.generate(requests))
    out = []
    for _ in prompts:
        texts = [next(replies).text for _ in range(n)]
        numbers = []
        for text in texts:
            match = SCORE_AT_START.match(text)
            try:
                value = float(match.group(1)) if match else None
            except ValueError:
                value = None
            if value is not None and scale[0] <= value <= scale[1]:
                numbers.append(value)
        out.append({
            "score": sum(numbers) / len(numbers) if numbers else None,
            "samples": texts,
            "n_unparsed": n - len(numbers),
        })  # fmt: skip
    return out


def geval(
    lm: LM,
    criterion: Criterion,
    items: list[dict[str, str]],
    mode: Mode | Literal["auto"] = "auto",
    steps: Literal["auto", "given"] = "auto",
    n: int = 20,
    temperature: float = 2.0,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score items ({source, output}) on one criterion; records and a run summary (mode, steps)."""
    guard = Neutraliser.for_model(lm)  # an output's "<|im_end|>" must stay text, not a control token
    written = write_steps(lm, criterion) if steps == "auto" else None
    prompts = [form_prompt(criterion, written, guard(it["source"]), guard(it["output"])) for it in items]
    used: Mode = "probability" if mode == "auto" else mode
    if used == "probability":
        try:
            scored = probability_scores(lm, prompts, criterion.scale)
        except NotSupportedError:
            if mode == "probability":
                raise
            used = "sampling"
    if used == "sampling":
        scored = sampling_scores(lm, prompts, criterion.scale, n, temperature, seed)
    shown = written if written is not None else released_steps(criterion)
    origin = "judge" if written is not None else "released prompt"
    records = [
        {"criterion": criterion.name, "mode": used, "steps": shown, "steps_from": origin, **s} for s in scored
    ]
    unscored = sum(r["score"] is None for r in records)
    return records, {
        "criterion": criterion.name,
        "mode": used,
        "steps": shown,
        "steps_from": origin,
        "n": len(records),
        "n_unscored": unscored,
    }


def geval_file(  # noqa: PLR0913 - the G-Eval settings
    input_path: Path,
    output: Path,
    criteria: list[str],
    options: JudgeOptions,
    criteria_files: list[str] | None = None,
    mode: str = "auto",
    steps: str = "auto",
    n: int = 20,
    temperature: float = 2.0,
    fields: tuple[str, str] = ("source", "output"),
) -> dict[str, Any]:
    """`sllm judge geval`: score every row (its `fields`: source, output) on each criterion, write
    the records; the summary with the mean score per criterion."""
    from sllm import smoke
    from sllm.errors import UsageError
    from sllm.judging.jobs import check_judge, open_judge
    from sllm.judging.tracking import track_judging
    from sllm.metaeval.records import field_value, read_records
    from sllm.textio import write_jsonl
    from sllm.usage import usage_report

    if mode not in ("auto", "probability", "sampling"):
        raise UsageError(f"--mode: expected auto, probability or sampling, got '{mode}'")
    if steps not in ("auto", "given"):
        raise UsageError(f"--steps: expected auto or given, got '{steps}'")
    chosen = [get_criterion(name, criteria_files or []) for name in criteria]
    if not chosen:
        raise UsageError("--criteria: name at least one criterion")
    source_field, output_field = fields
    rows = list(smoke.head(read_records(input_path)))  # SLLM_SMOKE: a few items
    uses_source = any(c.uses_source for c in chosen)
    items = [{"source": str(field_value(r, source_field, w)) if uses_source else "",
              "output": str(field_value(r, output_field, w))} for w, r in rows]  # fmt: skip
    if not items:
        raise SllmError(f"{input_path}: no items")
    n = smoke.cap(n, smoke.ITEMS)  # SLLM_SMOKE: a few samples
    check_judge(options, output)
    lm = open_judge(options)
    records, runs = [], []
    for criterion in chosen:
        scored, summary = geval(lm, criterion, items, mode, steps, n, temperature)  # type: ignore[arg-type]
        runs.append(summary)
        for (_, row), record in zip(rows, scored, strict=True):
            keep = {k: v for k, v in row.items() if k not in fields}
            records.append({**keep, **record})
    write_jsonl(output, records)
    means = {
        s["criterion"]: _mean([r["score"] for r in records if r["criterion"] == s["criterion"]]) for s in runs
    }
    payload = {"output": str(output), "judge_model": lm.spec, "criteria": runs, "mean_score": means}
    payload |= usage_report(lm, options.price_table)
    payload["run_id"] = track_judging("geval", payload, [input_path], [output], options.track)
    return payload


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
