"""sllm's shipped AlpacaEval 2.0 length-control reference: a difficulty for each of the 805
instructions, the gamed-baseline rows that regularise the LC fit, and what it takes to re-fit the
difficulty with one more model's annotations (data/alpaca_eval_lc.csv and .json; how they were
built and from what: data/README.md)."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "alpaca_eval_lc.csv"
META = DATA.with_suffix(".json")
GAMED = ("gpt4_1106_preview_verbose", "gpt4_1106_preview_concise")


def instruction_key(text: str) -> str:
    """How instructions are looked up: sha256 of the stripped text, first 16 hex digits."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def _logistic(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


@dataclass(frozen=True)
class LengthReference:
    """Difficulty per instruction key (in evaluation-set order), the gamed-baseline rows, and the
    pooled models' difficulty score with its information (for `refit`)."""

    keys: tuple[str, ...]
    difficulty: np.ndarray
    gamed_length: np.ndarray  # tanh of the standardised length difference, per (baseline, instruction)
    gamed_preference: np.ndarray  # the gamed baseline's preference in [0, 1] on that row
    gamed_position: np.ndarray  # which instruction each gamed row is on
    raw: np.ndarray  # the pooled models' maximum-likelihood difficulty, before values are given to its ranks
    information: np.ndarray  # curvature of their (ridge-penalised) log-likelihood at `raw`
    in_sample: frozenset[str]  # models whose annotations alpaca_eval's own difficulty fit had

    def covers(self, instructions: list[str]) -> bool:
        """Whether every instruction is one of the AlpacaEval set."""
        known = set(self.keys)
        return all(instruction_key(t) in known for t in instructions)

    def refit(
        self, slots: np.ndarray, preference: np.ndarray, offset: np.ndarray, slope: float
    ) -> np.ndarray:
        """The difficulty with one more model's rows joining the pooled models': row j is on
        instruction slots[j], has logit offset[j] + slope * difficulty and preference[j] in [0, 1].
        The pooled log-likelihood enters as its quadratic around `raw` (exact to second order);
        the shipped values are then given to the new ranks, so their distribution stays calibrated."""
        n = len(self.raw)
        score = self.raw.copy()
        for _ in range(50):  # Newton, every instruction at once; converges in a handful of steps
            p = _logistic(offset + slope * score[slots])
            gradient = np.bincount(slots, slope * (preference - p), n) - self.information * (score - self.raw)
            step = gradient / (self.information + np.bincount(slots, slope * slope * p * (1 - p), n))
            score += step
            if np.abs(step).max() < 1e-10:
                break
        values = np.sort(self.difficulty)
        return values[np.argsort(np.argsort(score, kind="stable"), kind="stable")]


@lru_cache(maxsize=1)
def alpaca_eval_reference() -> LengthReference:
    """The shipped reference, read once."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    meta = json.loads(META.read_text(encoding="utf-8"))
    n = len(rows)
    return LengthReference(
        keys=tuple(r["instruction_sha256_16"] for r in rows),
        difficulty=np.array([float(r["instruction_difficulty"]) for r in rows]),
        gamed_length=np.array([float(r[f"{g}_tanh_length"]) for g in GAMED for r in rows]),
        gamed_preference=np.array([float(r[f"{g}_preference"]) for g in GAMED for r in rows]),
        gamed_position=np.tile(np.arange(n), len(GAMED)),
        raw=np.array([float(r["raw_difficulty"]) for r in rows]),
        information=np.array([float(r["raw_information"]) for r in rows]),
        in_sample=frozenset(meta["in_sample_models"]),
    )
