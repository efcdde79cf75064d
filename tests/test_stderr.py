"""Every metric has a standard error: corpus metrics get a seeded bootstrap (issue #14)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sllm.evaluation.scoring import macro_f1, mean_stderr
from sllm.evaluation.stderr import bootstrap_stderr, rounds_for


def _mean(rows: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(rows))}


def test_bootstrap_of_a_mean_agrees_with_the_analytic_standard_error():
    values = [float(v) for v in np.random.default_rng(7).integers(0, 2, 400)]
    _, analytic = mean_stderr(values)
    boot = bootstrap_stderr(_mean, values, rounds=1000)["mean_stderr"]
    # The bootstrap's own error at 1,000 rounds is about 1/sqrt(2 * 1000) ≈ 2.2% of the value.
    assert boot == pytest.approx(analytic, rel=0.07)


def test_bootstrap_is_seeded_and_recomputable_by_hand():
    rows = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    first = bootstrap_stderr(_mean, rows, rounds=50)
    assert first == bootstrap_stderr(_mean, rows, rounds=50)
    rng = np.random.default_rng(0)
    by_hand = [np.mean([rows[i] for i in rng.integers(0, 7, 7)]) for _ in range(50)]
    assert first["mean_stderr"] == pytest.approx(float(np.std(by_hand, ddof=1)))


def test_one_row_has_no_standard_error():
    assert math.isnan(bootstrap_stderr(_mean, [1.0])["mean_stderr"])


def test_sacrebleu_metrics_use_lm_evals_100_rounds():
    assert rounds_for(["bleu"]) == 100 and rounds_for(["chrf", "x"]) == 100
    assert rounds_for(["f1_macro"]) == 1000 and rounds_for(["token_perplexity"]) == 1000


def test_macro_f1_is_sklearns():
    from sklearn.metrics import f1_score

    golds, predictions = [0, 1, 2, 2, 1, 0, 3], [0, 2, 2, 2, 1, 1, 1]
    assert macro_f1(golds, predictions) == pytest.approx(f1_score(golds, predictions, average="macro"))
