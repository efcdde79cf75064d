"""Reading judgment files for leaderboards: JSON lists or JSONL (optionally gzipped), ids that
compare equal however they were written, and an account of every row used or dropped.

Every reader of grades, battles and annotations fills a `ReadReport`: rows read, rows used and
rows dropped by reason. `ReadReport.check` fails when more than `MAX_DROP_SHARE` of the rows
were dropped, unless the user allows a partial read: a leaderboard silently built on a third of
its data is worse than no leaderboard.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sllm.errors import SllmError

_WHOLE = re.compile(r"(-?(?:0|[1-9][0-9]*))(?:\.0+)?")
MAX_DROP_SHARE = 0.05  # above this share of dropped rows a reader fails unless --allow-partial


def normalize_id(value: Any) -> str:
    """A question id as text that compares equal however it was written: 1, 1.0 and "1" -> "1"."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        whole = _WHOLE.fullmatch(text)  # "12" or "12.0"; "012" and "1e3" stay as written
        return whole.group(1) if whole else text
    return str(value)


def normalize_turn(value: Any, where: str) -> int:
    """A turn number: missing or null is turn 1 (single-turn files omit it); 2, 2.0 and "2" are 2."""
    if value is None or value == "":
        return 1
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SllmError(f"{where}: field 'turn' is not a number: {value!r}") from None
    if not number.is_integer() or number < 1:
        raise SllmError(f"{where}: field 'turn' must be a positive whole number, got {value!r}")
    return int(number)


@dataclass
class ReadReport:
    """What a reader used and what it dropped, by reason."""

    what: str  # "grades", "battles", "annotations", "judgments"
    files: list[str] = field(default_factory=list)
    read: int = 0
    used: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    used_by: Counter[str] = field(default_factory=Counter)  # rows used per model, where known

    def drop(self, reason: str, count: int = 1) -> None:
        """Count `count` rows left out for `reason`."""
        self.dropped[reason] += count

    @property
    def n_dropped(self) -> int:
        """Rows left out, all reasons together."""
        return sum(self.dropped.values())

    def summary(self) -> str:
        """One line: used / read, then each reason with its count."""
        reasons = "; ".join(f"{n} {reason}" for reason, n in self.dropped.most_common())
        line = f"{', '.join(self.files)}: used {self.used} of {self.read} {self.what}"
        return f"{line}; dropped {reasons}" if reasons else line

    def check(self, allow_partial: bool, max_share: float = MAX_DROP_SHARE) -> None:
        """Fail when more than `max_share` of the rows were dropped, unless `allow_partial`."""
        if allow_partial or self.read == 0 or self.n_dropped <= max_share * self.read:
            return
        share = self.n_dropped / self.read
        raise SllmError(
            f"{self.summary()} ({share:.0%} dropped, more than {max_share:.0%}); "
            "fix the files or pass --allow-partial to use what could be read"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: files, read, used, dropped by reason."""
        out = {"files": self.files, "read": self.read, "used": self.used, "dropped": dict(self.dropped)}
        return out | ({"used_by_model": dict(sorted(self.used_by.items()))} if self.used_by else {})
