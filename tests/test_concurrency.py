"""Runs at the same time on one cache and one run store: neither crashes, neither repeats work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sllm.tracking import get_run

HELLASWAG_REQUESTS = 4 * 5  # four endings for each of five documents


@pytest.mark.slow
def test_two_identical_evals_at_once_compute_each_request_once(tmp_path):
    # The autouse fixture gives this test a fresh cache (SLLM_CACHE) and run store (SLLM_RUNS_DIR).
    command = [sys.executable, "-m", "sllm", "eval", "--model", "default", "--tasks", "hellaswag"]
    command += ["--limit", "5", "--output", str(tmp_path / "out"), "--json"]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900) for run in runs]
    for run, (_, stderr) in zip(runs, outputs):
        assert run.returncode == 0, stderr
        assert "Traceback" not in stderr
    records = [json.loads(stdout) for stdout, _ in outputs]

    folders = {Path(r["samples"]).parent for r in records}
    assert len(folders) == 2
    assert all((folder / "results.json").is_file() for folder in folders)
    # Between them the two runs computed every request once; each got all of them.
    assert sum(r["cache"]["computed"] for r in records) == HELLASWAG_REQUESTS
    assert [r["cache"]["hits"] + r["cache"]["computed"] for r in records] == [HELLASWAG_REQUESTS] * 2
    assert records[0]["results"] == records[1]["results"]

    tracked = [get_run(r["run_id"]) for r in records]
    assert [t["status"] for t in tracked] == ["FINISHED", "FINISHED"]
    for record, run in zip(records, tracked):
        evaluated = json.loads((Path(record["samples"]).parent / "results.json").read_text())
        # The run spans the evaluation (model loading included), not only the logging after it.
        assert run["duration_s"] >= evaluated["duration_s"]


OPEN_STORE = """
from sllm.tracking import track_run
with track_run("eval", params={"model": "default"}) as run:
    run.log_metrics({"acc": 0.5})
print(run.run_id)
"""


@pytest.mark.slow
def test_processes_opening_a_new_run_store_at_once_all_record_their_run():
    # MLflow creates a new SQLite store's tables on first use; unserialised, one process crashed
    # with "table registered_models already exists".
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_STORE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    assert all("warning" not in err.lower() for _, err in outputs)
    statuses = [get_run(out.strip())["status"] for out, _ in outputs]
    assert statuses == ["FINISHED"] * 3


def test_result_folders_are_never_shared(tmp_path):
    from sllm.evaluation.records import new_run_folder

    folders = [new_run_folder(tmp_path / "default") for _ in range(20)]
    assert len(set(folders)) == 20 and all(f.is_dir() for f in folders)
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", f.name) for f in folders)


def test_the_weight_digest_memo_keeps_every_writer(tmp_path, monkeypatch):
    from sllm.models.fingerprint import file_digest

    monkeypatch.setenv("SLLM_HOME", str(tmp_path / "home"))
    files = []
    for i in range(8):
        files.append(tmp_path / f"w{i}.safetensors")
        files[-1].write_bytes(bytes([i]) * 1000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        digests = list(pool.map(file_digest, files))
    memo = json.loads((tmp_path / "home" / "digests.json").read_text())
    assert sorted(memo.values()) == sorted(digests) and len(set(digests)) == 8
    assert list((tmp_path / "home").glob("*.tmp")) == []
