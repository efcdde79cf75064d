"""`sllm decode-study`: greedy and beam search loop where nucleus sampling does not (Holtzman et al.)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROMPTS = FIXTURES / "monitor" / "english_prompts.jsonl"  # Self-Instruct seed tasks (SOURCE.md there)


def test_unknown_strategy_and_too_few_prompts_fail_before_the_model_loads(tmp_path: Path) -> None:
    unknown = run_cli("decode-study", "--prompts", str(PROMPTS), "--strategies", "greedy,nucleus")
    assert unknown.returncode == 2 and "unknown decoding strategy 'nucleus'" in unknown.stderr
    assert "nucleus_0.95" in unknown.stderr  # the close match is offered
    one = tmp_path / "one.txt"
    one.write_text("Tell me a story.\n", encoding="utf-8")
    few = run_cli("decode-study", "--prompts", str(one))
    assert few.returncode == 2 and "at least 2 prompts" in few.stderr


@pytest.mark.slow
def test_maximisation_repeats_itself_and_nucleus_does_not(tmp_path: Path) -> None:
    out = tmp_path / "study.json"
    done = run_cli(
        "decode-study", "--prompts", str(PROMPTS), "--limit", "10", "--max-new-tokens", "48",
        "--strategies", "greedy,beam_4,nucleus_0.95,pure_sampling", "--out", str(out), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {r["strategy"]: r for r in json.loads(done.stdout)["strategies"]}
    greedy, beam, nucleus, pure = (rows[s] for s in ("greedy", "beam_4", "nucleus_0.95", "pure_sampling"))
    # the paper's findings on a small model: maximisation loops and is over-confident ...
    assert greedy["repetition_pct"] > 2 * nucleus["repetition_pct"]
    assert beam["repetition_pct"] > 2 * nucleus["repetition_pct"]
    assert greedy["perplexity"] < nucleus["perplexity"] < pure["perplexity"]
    # ... and sampling is more diverse
    assert nucleus["distinct_2"] > greedy["distinct_2"]
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["n_prompts"] == 10 and all(len(r["samples"]) == 10 for r in saved["strategies"])
