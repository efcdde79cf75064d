"""Self-preference: judges rate their own outputs (and their family's) higher (Zheng et al.,
2023; Panickssery et al., 2024). We warn when the judge and a candidate are the same model or
the same family, guessed from the names; with judgments from a neutral and a same-family judge
on the same pairs we measure the gap. Position and length bias are measured per judge."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sllm.judging.families import family, same_family
from sllm.ratings.records import normalize_id, normalize_turn

if TYPE_CHECKING:
    from sllm.ratings.records import ReadReport

__all__ = [
    "bias_report",
    "family",
    "judge_biases",
    "judge_families",
    "self_preference_gaps",
    "self_preference_risk",
    "warn_self_preference",
]


def self_preference_risk(judge: str, candidates: list[str], judge_family: str | None = None) -> list[str]:
    """Candidates that are the judge itself or of the judge's family (`judge_family` overrides)."""
    return [c for c in candidates if same_family(judge, c, judge_family)]


def warn_self_preference(judge: str, candidates: list[str], judge_family: str | None = None) -> list[str]:
    """Warn when the judge may favour a candidate of its own family (`judge_family` overrides the
    family guessed from the judge's name); return those candidates, sorted."""
    from sllm.errors import warn
    from sllm.redact import redact_spec

    risky = sorted(set(self_preference_risk(judge, sorted(set(candidates)), judge_family)))
    if risky:
        named = ", ".join(redact_spec(r) for r in risky)  # candidates may be specs with keys
        warn(
            f"the judge {redact_spec(judge)} is, or shares a family with, {named}: judges tend to "
            "prefer their own family's answers; compare with a judge of another family"
        )
    return risky


def _key(row: dict[str, Any]) -> tuple[str, int, str, str]:
    where = f"question {row.get('question_id')}"
    return (normalize_id(row["question_id"]), normalize_turn(row.get("turn"), where), str(row["model_a"]),
            str(row["model_b"]))  # fmt: skip


def _points(row: dict[str, Any], model: str) -> float:
    """1 if `model` won the judged pair, 0 if it lost, 1/2 for a tie."""
    if row["winner"] == "tie":
        return 0.5
    return 1.0 if row[row["winner"]] == model else 0.0


def _lengths(row: dict[str, Any]) -> tuple[int, int] | None:
    """Lengths (characters) of model_a's and model_b's answers, if the row carries them."""
    if row.get("len_a") is not None and row.get("len_b") is not None:
        return int(row["len_a"]), int(row["len_b"])
    if isinstance(row.get("output_1"), str) and isinstance(row.get("output_2"), str):
        return len(row["output_1"]), len(row["output_2"])  # sllm's rows: output_1 is model_a's
    return None


def _longer_won(row: dict[str, Any]) -> bool | None:
    """True when the longer answer won a decisive verdict, None when it cannot tell."""
    lengths = _lengths(row)
    if row["winner"] not in ("model_a", "model_b") or lengths is None or lengths[0] == lengths[1]:
        return None
    return (lengths[0] > lengths[1]) == (row["winner"] == "model_a")


def length_effect_within_pairs(rows: list[dict[str, Any]]) -> tuple[float | None, int]:
    """Quality-controlled length bias: within each pair of models, the share of decisive verdicts
    a model wins when its answer is the longer minus when it is the shorter, averaged over pairs
    (weighted by verdicts); the two models' quality is the same on both sides of the difference.
    0 = no length effect beyond quality. Also the number of verdicts it rests on."""
    by_pair: dict[tuple[str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for row in rows:
        longer = _longer_won(row)
        if longer is None:
            continue
        a, b = str(row["model_a"]), str(row["model_b"])
        first, second = sorted((a, b))
        first_won = (row["winner"] == "model_a") == (a == first)
        first_longer = first_won == longer
        by_pair[(first, second)].append((first_longer, first_won))
    effects, weights = [], []
    for verdicts in by_pair.values():
        when_longer = [won for longer, won in verdicts if longer]
        when_shorter = [won for longer, won in verdicts if not longer]
        if when_longer and when_shorter:
            effects.append(np.mean(when_longer) - np.mean(when_shorter))
            weights.append(len(verdicts))
    if not effects:
        return None, 0
    return float(np.average(effects, weights=weights)), int(sum(weights))


def judge_biases(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Position and length bias of one judge's pairwise verdicts.

    position_consistency: share of swapped pairs with the same winner in both orders;
    first_position_share: among inconsistent pairs, how often the answer shown first won both
    times (0.5 = no preference for a position); longer_answer_share: among decisive verdicts,
    how often the longer answer won (0.5 = no length preference, but a better model that also
    writes more raises it); length_effect: the same within each model pair, quality held fixed
    (0 = none; see length_effect_within_pairs).
    """
    parsed = [r for r in rows if r.get("winner") is not None]
    swapped = [r for r in parsed if r.get("consistent") is not None]
    flipped = [r for r in swapped if not r["consistent"]]
    letters = [(str(r["verdict"])[:1], str(r["verdict_swapped"])[:1]) for r in flipped]
    positional = [v for v in letters if v in (("A", "A"), ("B", "B"))]
    by_length = [won for won in map(_longer_won, parsed) if won is not None]
    effect, n_effect = length_effect_within_pairs(parsed)
    return {
        "n": len(rows),
        "n_unparsed": len(rows) - len(parsed),
        "position_consistency": (len(swapped) - len(flipped)) / len(swapped) if swapped else None,
        "first_position_share": (
            sum(v == ("A", "A") for v in positional) / len(positional) if positional else None
        ),
        "longer_answer_share": sum(by_length) / len(by_length) if by_length else None,
        "n_length_verdicts": len(by_length),
        "length_effect": effect,
        "n_length_effect": n_effect,
    }


def self_preference_gaps(
    rows: list[dict[str, Any]], judge_families: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """For every judge whose family matches a candidate's: the candidate's score (wins + ties/2)
    under that judge minus under the judges of other families, on the pairs all of them judged,
    with the standard error of the paired difference. `judge_families` overrides guessed families."""
    given = judge_families or {}

    def family_of(judge: str) -> str | None:
        return given.get(judge) or family(judge)

    by_judge: dict[str, dict[tuple[str, int, str, str], dict[str, Any]]] = {}
    for row in rows:
        if row.get("winner") is not None:
            by_judge.setdefault(str(row["judge_model"]), {})[_key(row)] = row
    gaps = []
    models = sorted({m for judged in by_judge.values() for k in judged for m in k[2:]})
    for judge, judged in by_judge.items():
        own = family_of(judge)
        neutral = [j for j in by_judge if family_of(j) != own or own is None]
        neutral = [j for j in neutral if j != judge]
        for model in models:
            if own is None or family(model) != own or not neutral:
                continue
            common = [k for k in judged if model in k[2:] and all(k in by_judge[j] for j in neutral)]
            if not common:
                continue
            diffs = np.array([
                _points(judged[k], model) - np.mean([_points(by_judge[j][k], model) for j in neutral])
                for k in common
            ])  # fmt: skip
            gaps.append({
                "judge": judge,
                "model": model,
                "neutral_judges": neutral,
                "n_pairs": len(common),
                "score_same_family": float(np.mean([_points(judged[k], model) for k in common])),
                "score_neutral": float(np.mean([_points(judged[k], model) for k in common]) - diffs.mean()),
                "gap": float(diffs.mean()),
                "standard_error": float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else None,
            })  # fmt: skip
    return gaps


def judge_families(values: list[str], judges: list[str]) -> dict[str, str]:
    """`--judge-family` values (NAME=FAMILY, or FAMILY when there is one judge) -> {judge: family}."""
    from sllm.errors import UsageError

    out = {}
    for value in values:
        name, sep, fam = value.rpartition("=")
        if not sep:
            if len(judges) != 1:
                raise UsageError(
                    f"--judge-family {value}: several judges ({', '.join(judges)}); use NAME=FAMILY"
                )
            name, fam = judges[0], value
        if name not in judges:
            raise UsageError(f"--judge-family: no judge named '{name}'; judges: {', '.join(judges)}")
        out[name] = fam.strip().lower()
    return out


def bias_report(
    paths: list[Path],
    judge_name: str,
    families: list[str] | None = None,
    baseline: str | None = None,
    allow_partial: bool = False,
) -> tuple[dict[str, Any], ReadReport]:
    """`sllm judge bias`: each judge's biases and the self-preference gaps from judgment files
    (`families` as --judge-family takes them); the report and what was read and dropped."""
    from sllm.judging.bias_readers import read_judgments

    rows, report = read_judgments(paths, judge_name, baseline)
    report.check(allow_partial)
    judges = sorted({str(r["judge_model"]) for r in rows})
    out = {
        "judges": {j: judge_biases([r for r in rows if r["judge_model"] == j]) for j in judges},
        "self_preference": self_preference_gaps(rows, judge_families(families or [], judges)),
        "read": report.as_dict(),
    }
    return out, report
