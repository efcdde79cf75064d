"""Tokens and money: what a command's model calls read and wrote, priced from a table.

Counts come from the backends (`GenerationResult.prompt_tokens` / `n_tokens`): computed calls
are what this run spent; cache hits are reported apart as what the cache saved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sllm.errors import SllmError
from sllm.models.base import LM

LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0", "[::1]")


@dataclass(frozen=True)
class Price:
    """US dollars per million prompt (input) and completion (output) tokens."""

    input: float
    output: float
    source: str

    def cost(self, tokens: Counter[str] | dict[str, int]) -> float:
        """Dollars for these prompt / completion token counts."""
        return (tokens.get("prompt", 0) * self.input + tokens.get("completion", 0) * self.output) / 1e6


def load_prices(table: str | Path | None = None) -> dict[str, dict[str, float]]:
    """The built-in price table, overridden by a user's YAML file with the same layout."""
    text = resources.files("sllm").joinpath("prices.yaml").read_text(encoding="utf-8")
    prices = dict(yaml.safe_load(text)["per_million_tokens"])
    if table is not None:
        path = Path(table)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SllmError(f"{path}: cannot read the price table: {exc}") from None
        entries = loaded.get("per_million_tokens", loaded) if isinstance(loaded, dict) else None
        if not isinstance(entries, dict):
            raise SllmError(f"{path}: expected a mapping of model name -> {{input: .., output: ..}}")
        for name, entry in entries.items():
            if not isinstance(entry, dict) or not {"input", "output"} <= set(entry):
                raise SllmError(f"{path}: model '{name}' needs 'input' and 'output' prices")
        prices.update(entries)
    return prices


def price_for(spec: str, table: str | Path | None = None) -> Price | None:
    """The price of a model spec: 0 for local backends, the table's entry, or None if unknown."""
    backend, _, target = spec.partition(":")
    if backend != "openai":
        return Price(0.0, 0.0, "local")
    name, _, url = target.partition("@")
    name = name.split(",")[0]
    if any(host in url for host in LOCAL_HOSTS):
        return Price(0.0, 0.0, "local server")
    prices = load_prices(table)
    matches = [key for key in prices if name.lower().startswith(key.lower())]
    if not matches:
        return None
    key = max(matches, key=len)
    entry = prices[key]
    return Price(float(entry["input"]), float(entry["output"]), f"price table: {key}")


def usage_report(lm: LM, table: str | Path | None = None) -> dict[str, Any]:
    """Calls, tokens and dollars of what `lm` computed, and what its cache served."""
    inner = getattr(lm, "inner", lm)
    spent = Counter(inner.tokens)
    saved = Counter(getattr(lm, "cached_tokens", Counter()))
    price = price_for(lm.spec, table)
    return {
        "calls": {"computed": int(sum(inner.calls.values())), "cached": int(getattr(lm, "hits", 0))},
        "tokens": {"prompt": spent["prompt"], "completion": spent["completion"]},
        "cached_tokens": {"prompt": saved["prompt"], "completion": saved["completion"]},
        "cost_usd": price.cost(spent) if price else None,
        "saved_usd": price.cost(saved) if price else None,
        "price": {"input": price.input, "output": price.output, "source": price.source} if price else None,
    }


def cost_line(usage: dict[str, Any]) -> str:
    """One line on calls, tokens and dollars of a usage report."""
    tokens = usage["tokens"]
    cost = "unknown price (pass --price-table)" if usage["cost_usd"] is None else f"${usage['cost_usd']:.4f}"
    return (
        f"calls {usage['calls']['computed']} computed, {usage['calls']['cached']} cached; "
        f"tokens {tokens['prompt']} in / {tokens['completion']} out; cost {cost}"
    )
