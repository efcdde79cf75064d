"""Multiple-choice metrics from per-choice log-likelihoods (lm-evaluation-harness definitions)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sllm.evaluation.instances import Instance
from sllm.plugins import Registry

#: computed over the whole task from (gold, predicted) pairs, not averaged per document
MC_CORPUS_METRICS = ("f1_macro",)
ChoiceMetric = Callable[[Instance, np.ndarray, np.ndarray | None], float]
#: multiple-choice metrics by name; plugins add theirs under the entry-point group "sllm.mc_metrics"
MC_METRICS: Registry[ChoiceMetric] = Registry("multiple-choice metric", group="sllm.mc_metrics")


def mc_metric(name: str) -> Callable[[ChoiceMetric], ChoiceMetric]:
    """Register a multiple-choice metric fn(instance, logliks, unconditional logliks)."""
    return MC_METRICS.register(name)


def mc_metric_names() -> list[str]:
    """Return the registered multiple-choice metric names."""
    return MC_METRICS.names()


def score_instance(
    instance: Instance, metrics: list[str], unconditional: list[float] | None
) -> dict[str, float]:
    """Compute every requested metric of one multiple-choice document."""
    lls = np.array([out.logprob for out in instance.outputs], dtype=np.float64)
    uncond = None if unconditional is None else np.array(unconditional, dtype=np.float64)
    scores = {}
    for name in metrics:
        if name in MC_CORPUS_METRICS:
            continue
        scores[name] = float(MC_METRICS.get(name)(instance, lls, uncond))
    return scores


@mc_metric("acc")
def acc(instance: Instance, lls: np.ndarray, _: np.ndarray | None) -> float:
    """1 when the gold choice has the highest log-likelihood."""
    return float(int(np.argmax(lls)) == instance.gold)


@mc_metric("acc_norm")
def acc_norm(instance: Instance, lls: np.ndarray, _: np.ndarray | None) -> float:
    """Log-likelihood divided by the choice's length in characters (lm-eval's acc_norm)."""
    return float(norm_pick(instance, lls) == instance.gold)


def norm_pick(instance: Instance, lls: np.ndarray | None = None) -> int:
    """acc_norm's pick: the choice with the highest log-likelihood per character."""
    if lls is None:
        lls = np.array([out.logprob for out in instance.outputs], dtype=np.float64)
    lengths = np.array([float(len(c)) for c in instance.choices])
    return int(np.argmax(lls / lengths))


@mc_metric("acc_bytes")
def acc_bytes(instance: Instance, lls: np.ndarray, _: np.ndarray | None) -> float:
    """Log-likelihood divided by the choice's length in UTF-8 bytes (fairer across scripts)."""
    lengths = np.array([float(len(c.encode("utf-8"))) for c in instance.choices])
    return float(int(np.argmax(lls / lengths)) == instance.gold)


@mc_metric("acc_mutual_info")
def acc_mutual_info(instance: Instance, lls: np.ndarray, uncond: np.ndarray | None) -> float:
    """Pointwise mutual information: log P(choice | question) - log P(choice)."""
    assert uncond is not None, "acc_mutual_info needs unconditional log-likelihoods"
    return float(int(np.argmax(lls - uncond)) == instance.gold)


@mc_metric("mc2")
def mc2(instance: Instance, lls: np.ndarray, _: np.ndarray | None) -> float:
    """TruthfulQA MC2: normalised probability mass of the true answers."""
    labels = np.array(instance.doc["mc2_targets"]["labels"])
    probs = np.exp(lls - lls.max())
    return float(probs[labels == 1].sum() / probs.sum())


def mean_stderr(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation / sqrt(n)), as lm-eval reports."""
    n = len(values)
    mean = float(np.mean(values)) if n else float("nan")
    if n < 2:
        return mean, float("nan")
    return mean, float(np.std(values, ddof=1) / math.sqrt(n))


def macro_f1(golds: list[int], predictions: list[int]) -> float:
    """Unweighted mean of per-class F1 over the classes seen in gold or predictions (sklearn's)."""
    from sklearn.metrics import f1_score

    if not golds:
        return float("nan")
    return float(f1_score(golds, predictions, average="macro", zero_division=0))
