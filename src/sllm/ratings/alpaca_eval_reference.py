"""sllm's shipped AlpacaEval 2.0 length-control reference: a difficulty for each of the 805
instructions and the gamed-baseline rows that regularise the LC fit (data/alpaca_eval_lc.csv;
how it was built and from what: data/README.md)."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "alpaca_eval_lc.csv"
GAMED = ("gpt4_1106_preview_verbose", "gpt4_1106_preview_concise")


def instruction_key(text: str) -> str:
    """How instructions are looked up: sha256 of the stripped text, first 16 hex digits."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class LengthReference:
    """Difficulty per instruction key (in evaluation-set order) and the gamed-baseline rows."""

    keys: tuple[str, ...]
    difficulty: np.ndarray
    gamed_length: (
        np.ndarray
    )  # tanh of the standardised length difference, one row per (baseline, instruction)
    gamed_preference: np.ndarray  # the gamed baseline's preference in [0, 1] on that row
    gamed_position: np.ndarray  # which instruction each gamed row is on

    def covers(self, instructions: list[str]) -> bool:
        """Whether every instruction is one of the AlpacaEval set."""
        known = set(self.keys)
        return all(instruction_key(t) in known for t in instructions)


@lru_cache(maxsize=1)
def alpaca_eval_reference() -> LengthReference:
    """The shipped reference, read once."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    n = len(rows)
    return LengthReference(
        keys=tuple(r["instruction_sha256_16"] for r in rows),
        difficulty=np.array([float(r["instruction_difficulty"]) for r in rows]),
        gamed_length=np.array([float(r[f"{g}_tanh_length"]) for g in GAMED for r in rows]),
        gamed_preference=np.array([float(r[f"{g}_preference"]) for g in GAMED for r in rows]),
        gamed_position=np.tile(np.arange(n), len(GAMED)),
    )
