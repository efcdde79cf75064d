"""Cell text for every table sllm shows or writes: rich tables in the terminal, markdown files.

One formatter, so no table prints a raw `{}`, `None`, `nan` or a Python list: nothing to show
is `—`, a mapping is `k=v, …`, a list is `a, b, …`, and numbers use the table's format.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

EMPTY = "—"


def cell(value: Any, fmt: str = ".4g") -> str:
    """The text of one table cell; `fmt` formats floats, also inside mappings and lists ("": full)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if isinstance(value, bool):  # before int: True is an int
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, fmt)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell(v, fmt)}" for k, v in value.items()) or EMPTY
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(cell(v, fmt) for v in value) or EMPTY
    return str(value) or EMPTY


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool]) -> str:
    """A GitHub-flavoured markdown table; `right[i]` right-aligns column i (numbers)."""
    if not len(headers) == len(right):
        raise ValueError("one alignment per column")

    def line(cells: Sequence[str]) -> str:
        # A `|` inside a cell would end it: markdown escapes it as `\|`.
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    rule = "|" + "|".join("---:" if r else "---" for r in right) + "|"
    body = [line([c if isinstance(c, str) else cell(c) for c in row]) for row in rows]
    return "\n".join([line(list(headers)), rule, *body]) + "\n"


def counts_table(title: str, label: str, unit: str, counts: Mapping[str, int]) -> Any:
    """A rich table of counts by label, largest first (decisions, removal reasons)."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column(label)
    table.add_column(unit, justify="right")
    for name, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(name, cell(count))
    return table
