"""`sllm runs show` takes the id prefixes `runs list` prints, and shows datasets as a table."""

from __future__ import annotations

import pytest
from helpers import run_cli

from sllm.errors import SllmError
from sllm.tracking import get_run, track_run
from sllm.tracking.query import resolve_run_id


def _runs(n: int) -> list[str]:
    ids = []
    for index in range(n):
        with track_run("eval", params={"index": index}) as run:
            run.log_dataset(
                "train", digest=f"d{index}", source="/data/train.jsonl", n_rows=3, context="training"
            )
        ids.append(run.run_id)
    return ids


def test_a_unique_prefix_resolves_and_an_ambiguous_one_is_refused() -> None:
    ids = _runs(3)
    for run_id in ids:
        assert resolve_run_id(run_id[:12]) == run_id
        assert get_run(run_id[:12])["run_id"] == run_id
    with pytest.raises(SllmError, match="no run id starts with 'zzzz'"):
        resolve_run_id("zzzz")
    # Ids are hex: within 17 runs two share their first character (pigeonhole).
    while len({i[0] for i in ids}) == len(ids):
        ids += _runs(1)
    first = [i[0] for i in ids]
    clash = next(c for c in first if first.count(c) > 1)
    with pytest.raises(SllmError, match=f"'{clash}' matches {first.count(clash)} runs"):
        resolve_run_id(clash)


@pytest.mark.slow
def test_runs_show_cli_takes_the_listed_prefix_and_prints_datasets_as_a_table() -> None:
    (run_id,) = _runs(1)
    listed = run_cli("runs", "list", env={"COLUMNS": "200"})
    assert run_id[:12] in listed.stdout
    shown = run_cli("runs", "show", run_id[:12], env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert "datasets" in shown.stdout and "/data/train.jsonl" in shown.stdout and "training" in shown.stdout
    assert '\\"' not in shown.stdout and '{"' not in shown.stdout  # no escaped JSON blob
