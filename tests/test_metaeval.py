"""`sllm agreement` (MT-Bench's way, Cohen's kappa) and `sllm correlate` (sample, group, system)."""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from scipy import stats

from sllm.errors import SllmError
from sllm.metaeval import correlate

META = Path(__file__).resolve().parents[2] / "shared" / "data" / "geval_meta_eval"


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _vote(q: str, a: str, b: str, winner: str, judge: object = "j", turn: int = 1) -> dict:
    return {"question_id": q, "model_a": a, "model_b": b, "winner": winner, "judge": judge, "turn": turn}


def test_agreement_matches_pairs_flips_order_and_counts_every_human_vote(tmp_path: Path) -> None:
    judge = _write(
        tmp_path / "judge.jsonl",
        [
            _vote("1", "x", "y", "model_a", ["gpt-4", "pair-v2"]),
            _vote("2", "y", "x", "model_a", ["gpt-4", "pair-v2"]),  # y wins, written in the other order
            _vote("3", "x", "y", "tie", ["gpt-4", "pair-v2"]),
            _vote("4", "x", "y", "model_b", ["gpt-4", "pair-v2"]),
            _vote("1", "x", "y", "model_a", ["gpt-4", "pair-v2"], turn=2),
        ],
    )
    human = _write(
        tmp_path / "human.jsonl",
        [
            _vote("1", "y", "x", "model_b", "expert_1"),  # agrees (x wins)
            _vote("1", "x", "y", "model_b", "expert_2"),  # disagrees
            _vote("2", "x", "y", "model_b", "expert_1"),  # agrees (y wins)
            _vote("3", "x", "y", "tie (bothbad)", "expert_3"),  # tie = tie
            _vote("4", "x", "y", "tie", "expert_1"),  # disagrees, and a tie
            _vote("9", "x", "y", "model_a", "expert_1"),  # the judge never saw question 9
        ],
    )
    result = run_cli("agreement", str(judge), "--reference", str(human), "--turn", "1", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["n"] == 5 and payload["agreement"] == pytest.approx(3 / 5)
    assert payload["n_without_ties"] == 3 and payload["agreement_without_ties"] == pytest.approx(2 / 3)
    # Cohen's kappa by hand: judge a,a,b,tie,b vs human a,b,b,tie,tie over {a, b, tie}.
    p_observed = 3 / 5
    p_chance = (2 / 5) * (1 / 5) + (2 / 5) * (2 / 5) + (1 / 5) * (2 / 5)
    assert payload["cohen_kappa"] == pytest.approx((p_observed - p_chance) / (1 - p_chance))
    only = run_cli(
        "agreement", str(judge), "-r", str(human), "--turn", "1", "--reference-judge", "expert_1", "--json"
    )
    assert json.loads(only.stdout)["n"] == 3
    ignored = json.loads(
        run_cli("agreement", str(judge), "-r", str(human), "--turn", "1", "--ignore-ties", "--json").stdout
    )
    assert ignored["agreement"] == pytest.approx(2 / 3) and ignored["n"] == 3


def test_agreement_errors(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.jsonl", [{"question_id": "1", "model_a": "x", "model_b": "y"}])
    result = run_cli("agreement", str(bad), "--reference", str(bad))
    assert result.returncode == 1 and "bad.jsonl:1: missing field 'winner'" in result.stderr


def test_correlation_levels_by_hand() -> None:
    judge = [1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 5.0, 3.0]
    human = [1.0, 3.0, 2.0, 4.0, 2.0, 3.0, 4.0, 5.0]
    groups = ["a", "a", "a", "a", "b", "b", "c", "c"]
    sample = correlate(judge, human)
    assert sample["pearson"] == pytest.approx(stats.pearsonr(judge, human).statistic) and sample["n"] == 8
    grouped = correlate(judge, human, "group", groups)
    # group b has constant judge scores and is skipped; the rest are averaged.
    expected = np.mean(
        [stats.kendalltau(judge[:4], human[:4]).statistic, stats.kendalltau(judge[6:], human[6:]).statistic]
    )
    assert (
        grouped["kendall"] == pytest.approx(expected) and grouped["n"] == 2 and grouped["skipped_groups"] == 1
    )
    system = correlate(judge, human, "system", groups)
    means = ([2.5, 1.0, 4.0], [2.5, 2.5, 4.5])
    assert system["spearman"] == pytest.approx(stats.spearmanr(*means).statistic) and system["n"] == 3
    with pytest.raises(SllmError):
        correlate([1.0, 2.0], [1.0, 2.0, 3.0])


def _uni_eval_pairs(
    name: str, dimension: str, group_field: str
) -> tuple[list[float], list[float], list[str]]:
    rows = json.loads((META / name).read_text())

    def as_dict(value: object) -> dict:
        return value if isinstance(value, dict) else ast.literal_eval(str(value))

    judge = [float(as_dict(r["predict_scores"])[dimension]) for r in rows]
    human = [float(as_dict(r["scores"])[dimension]) for r in rows]
    return judge, human, [str(r[group_field]) for r in rows]


@pytest.mark.skipif(not META.is_dir(), reason="../shared/data/geval_meta_eval not present")
@pytest.mark.parametrize(
    "name, dimensions, group_field",
    [
        (
            "topical_chat_result_first6groups.json",
            ["naturalness", "coherence", "engagingness", "groundedness"],
            "source",
        ),
        ("qags_cnndm_result_first24groups.json", ["consistency"], "doc_id"),
        ("qags_xsum_result_first24groups.json", ["consistency"], "doc_id"),
    ],
)
def test_unieval_correlations_equal_scipy(name: str, dimensions: list[str], group_field: str) -> None:
    for dimension in dimensions:
        judge, human, groups = _uni_eval_pairs(name, dimension, group_field)
        args = [
            str(META / name),
            "--field",
            f"predict_scores.{dimension}",
            "--reference-field",
            f"scores.{dimension}",
        ]
        sample = json.loads(run_cli("correlate", *args, "--json").stdout)
        assert sample["n"] == len(judge)
        assert sample["pearson"] == pytest.approx(stats.pearsonr(judge, human).statistic, abs=1e-12)
        assert sample["spearman"] == pytest.approx(stats.spearmanr(judge, human).statistic, abs=1e-12)
        assert sample["kendall"] == pytest.approx(stats.kendalltau(judge, human).statistic, abs=1e-12)
        if len(set(groups)) == len(groups):
            continue  # QAGS slices: one summary per document, so no per-document correlation
        grouped = json.loads(
            run_cli("correlate", *args, "--level", "group", "--group-by", group_field, "--json").stdout
        )
        by_group: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            by_group[g].append(i)
        values = [
            stats.spearmanr([judge[i] for i in idx], [human[i] for i in idx]).statistic
            for idx in by_group.values()
            if len({judge[i] for i in idx}) > 1 and len({human[i] for i in idx}) > 1
        ]
        assert grouped["spearman"] == pytest.approx(float(np.mean(values)), abs=1e-12)
        assert grouped["n"] == len(values)
