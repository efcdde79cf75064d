"""Leaderboards from files, as `sllm rate` and `sllm winrate` build them: ratings from battles
with bootstrap intervals (optionally Arena-Hard's score against a baseline, style control and the
observed win rates), and win rates against a baseline from annotations, plain and length-controlled."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sllm.ratings.records import ReadReport


def rate_battle_files(  # noqa: PLR0913 - the rating choices
    paths: list[Path],
    method: str = "bt",
    bootstrap: int = 1000,
    seed: int = 42,
    anchor: tuple[str, float] | None = None,
    baseline: str | None = None,
    style_features: str | None = None,
    drop_ties: bool = False,
    matrix: bool = False,
    allow_partial: bool = False,
) -> tuple[dict[str, Any], ReadReport]:
    """Rate the models of `paths` by Bradley-Terry (`bt`) or online Elo (`elo`); the leaderboard
    and what was read and dropped. `style_features` (e.g. "length,markdown") turns style control
    on; `baseline` adds Arena-Hard's score and pins that model at 1000 unless `anchor` pins one."""
    import numpy as np

    from sllm.errors import UsageError
    from sllm.ratings.battles import load_battle_files
    from sllm.ratings.bradley_terry import (
        baseline_scores,
        bootstrap_ratings,
        fit_bradley_terry,
        style_coefficients,
        win_rate_matrix,
    )
    from sllm.ratings.elo import bootstrap_online_elo, online_elo
    from sllm.ratings.style import parse_features

    if method not in ("bt", "elo"):
        raise UsageError(f"--method must be bt or elo, got '{method}'")
    if method == "elo" and (style_features is not None or baseline):
        raise UsageError("--style-control and --baseline need --method bt")
    features = parse_features(style_features) if style_features is not None else ()
    pinned = anchor or ((baseline, 1000.0) if baseline else None)
    battles, report = load_battle_files(paths, drop_ties, allow_partial, baseline)
    if method == "bt":
        ratings = fit_bradley_terry(battles, anchor=pinned, features=features)
        samples = bootstrap_ratings(battles, bootstrap, seed, anchor=pinned, features=features)
    else:
        ratings = online_elo(battles)
        samples = bootstrap_online_elo(battles, bootstrap, seed)
    games = Counter(m for b in battles for m in (b.model_a, b.model_b))
    table = {
        model: {
            "rating": rating,
            "ci_low": float(np.percentile(samples[model], 2.5)) if samples.get(model) else None,
            "ci_high": float(np.percentile(samples[model], 97.5)) if samples.get(model) else None,
            "n": games[model],
        }
        for model, rating in ratings.items()
    }
    payload: dict[str, Any] = {
        "ratings": table,
        "method": method,
        "bootstrap": bootstrap,
        "seed": seed,
        "n_battles": len(battles),
        "read": report.as_dict(),
        "missing_grades": sum(n for reason, n in report.dropped.items() if reason.startswith("unparsed")),
    }
    if baseline:
        payload["baseline"] = baseline
        payload["scores"] = baseline_scores(ratings, samples, baseline)
    if features:
        payload["style_features"] = list(features)
        payload["style_coefficients"] = style_coefficients(battles, features)
    if matrix:
        payload["win_rate_matrix"] = win_rate_matrix(battles)
    return payload, report


def win_rate_files(  # noqa: PLR0913 - the length-control choices
    paths: list[Path],
    length_controlled: bool = False,
    difficulty: str = "auto",
    by_instruction: bool = False,
    gamed_baseline: list[Path] | None = None,
    regularization: float = 0.2,
    allow_partial: bool = False,
) -> tuple[dict[str, dict[str, Any]], str, str, ReadReport]:
    """Each model's win rate against the one baseline of the annotation files (and its LC win rate
    when `length_controlled`); the results by model, the baseline, a note on the difficulty used,
    and what was read and dropped. `difficulty`: auto | alpaca_eval | joint | a CSV path."""
    from sllm.errors import SllmError, warn
    from sllm.ratings.length_control import lc_of_model, resolve_difficulty
    from sllm.ratings.winrate import head_to_head, load_annotations

    report = ReadReport("annotations", files=[str(p) for p in paths])
    by_model: dict[str, list] = defaultdict(list)
    files: dict[str, list[str]] = defaultdict(list)  # model -> the files its rows came from
    for path in paths:
        for row in load_annotations(path, report):
            by_model[row.generator_2].append(row)
            if str(path) not in files[row.generator_2]:
                files[row.generator_2].append(str(path))
    report.check(allow_partial)
    baselines = {r.generator_1 for rows in by_model.values() for r in rows}
    if len(baselines) > 1:
        raise SllmError(f"the annotations compare against several baselines ({', '.join(sorted(baselines))})")
    baseline = next(iter(baselines))
    results = {model: head_to_head([r.preference for r in rows]) for model, rows in by_model.items()}
    if not length_controlled:
        return results, baseline, "", report
    source = Path(difficulty) if difficulty not in ("auto", "alpaca_eval", "joint") else difficulty
    gamed: dict[str, list] = defaultdict(list)
    for path in gamed_baseline or []:
        for row in load_annotations(path):
            gamed[f"{path}:{row.generator_2}"].append(row)
    table = resolve_difficulty(by_model, source, by_instruction, baseline, gamed)
    for model, missing in table.missing_by_position.items():
        warn(
            f"{', '.join(files[model])}: {missing} of AlpacaEval's 805 instructions missing; "
            "difficulties looked up by row position as alpaca_eval does (its published LC); "
            "--difficulty-by-instruction for the corrected LC"
        )
    note = table.source
    if table.source.startswith("instruction difficulty fitted jointly") and len(by_model) + len(gamed) < 3:
        note += " -- few models: pass more annotation files or --difficulty for a steadier estimate"
    for model, rows in by_model.items():
        results[model].update(lc_of_model(table, model, rows, regularization))
    return results, baseline, note, report
