"""Tokens and money: price lookup from the built-in and a user's table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sllm.errors import SllmError
from sllm.usage import Price, load_prices, price_for


def test_price_lookup_uses_the_longest_matching_name() -> None:
    dated = price_for("openai:gpt-4o-2024-08-06@https://api.openai.com/v1")
    mini = price_for("openai:gpt-4o-mini@https://api.openai.com/v1")
    old = price_for("openai:gpt-4-0613@https://api.openai.com/v1")
    assert dated is not None and (dated.input, dated.output) == (2.5, 10.0)
    assert mini is not None and mini.source == "price table: gpt-4o-mini"
    assert old is not None and old.source == "price table: gpt-4"


def test_local_models_cost_nothing_and_unknown_api_models_are_unknown() -> None:
    assert price_for("default") == Price(0.0, 0.0, "local")
    assert price_for("hf:./judge,dtype=float32").source == "local"  # type: ignore[union-attr]
    assert price_for("openai:qwen2.5-7b@http://127.0.0.1:8000/v1").source == "local server"  # type: ignore[union-attr]
    assert price_for("openai:my-hosted-model@https://example.invalid/v1") is None


def test_cost_from_token_counts() -> None:
    price = Price(2.5, 10.0, "t")
    assert price.cost(Counter(prompt=1_000_000, completion=100_000)) == pytest.approx(3.5)


def test_user_price_table_overrides_and_bad_tables_are_named(tmp_path: Path) -> None:
    table = tmp_path / "prices.yaml"
    table.write_text("my-hosted-model: {input: 1.0, output: 2.0}\ngpt-4o: {input: 5, output: 15}\n")
    assert load_prices(table)["gpt-4o"] == {"input": 5, "output": 15}
    found = price_for("openai:my-hosted-model@https://example.invalid/v1", table)
    assert found is not None and (found.input, found.output) == (1.0, 2.0)
    broken = tmp_path / "broken.yaml"
    broken.write_text("my-model: {input: 1.0}\n")
    with pytest.raises(SllmError, match=r"broken.yaml: model 'my-model' needs 'input' and 'output'"):
        load_prices(broken)
