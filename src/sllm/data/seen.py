"""A compact memory of items already seen, for finding exact duplicates in a stream of rows.

A dict of digest -> location costs about 200 bytes a row in Python objects, as much as a short
row itself. Here each distinct item costs about 45 bytes: its 64-bit digest and ordinal live in
sorted numpy runs (merged like a binary counter, so there are at most log2(n) runs and each item
is re-sorted log2(n) times), and its location ("file:line", the file's path stored once) in one
UTF-8 buffer.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np


class SeenIndex:
    """Which items repeat an earlier one, asked a chunk at a time, in stream order."""

    def __init__(self, prefix: str = "") -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted digests, ordinals)
        self.prefix = prefix  # shared by the locations (the file's path): stored once
        self.text = bytearray()
        self.offsets = array("Q", [0])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def first_of(self, digests: Sequence[int], wheres: Sequence[str]) -> list[str | None]:
        """For each item, the location of its first occurrence if it was seen before, else None
        (and it is remembered, at `where`)."""
        wanted = np.array(digests, dtype=np.uint64)
        found = np.full(len(wanted), -1, dtype=np.int64)
        for keys, ordinals in self.runs:
            at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = (keys[at] == wanted) & (found < 0)
            found[hit] = ordinals[at[hit]]
        firsts: list[str | None] = []
        new: dict[int, int] = {}  # items first seen in this chunk: digest -> ordinal
        for digest, where, ordinal in zip(digests, wheres, found.tolist(), strict=True):
            if ordinal < 0:
                ordinal = new.get(digest, -1)
            if ordinal >= 0:
                firsts.append(self.where(ordinal))
                continue
            new[digest] = self._remember(where)
            firsts.append(None)
        if new:
            self._add_run(np.array(list(new), dtype=np.uint64), np.array(list(new.values()), dtype=np.uint32))
        return firsts

    def where(self, ordinal: int) -> str:
        """The location remembered for the ordinal-th distinct item."""
        return self.prefix + self.text[self.offsets[ordinal] : self.offsets[ordinal + 1]].decode("utf-8")

    def _remember(self, where: str) -> int:
        self.text += where.removeprefix(self.prefix).encode("utf-8")
        self.offsets.append(len(self.text))
        return len(self.offsets) - 2

    def _add_run(self, keys: np.ndarray, ordinals: np.ndarray) -> None:
        # Merge with the last run while it is no larger: log2(n) runs, each item re-sorted log2(n) times.
        while self.runs and len(self.runs[-1][0]) <= len(keys):
            last_keys, last_ordinals = self.runs.pop()
            keys, ordinals = np.concatenate([last_keys, keys]), np.concatenate([last_ordinals, ordinals])
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], ordinals[order]))
