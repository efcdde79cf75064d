"""Tracking over real MLflow stores: SQLite by default, a real `mlflow server` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sllm.errors import SllmError
from sllm.tracking import get_run, list_runs, track_run, tracking_uri
from sllm.tracking.runs import flatten


def test_run_records_params_metrics_artifacts_and_datasets(tmp_path):
    with track_run(
        "eval", params={"model": "default", "decoding": {"top_p": 0.9}}, tags={"team": "ko"}
    ) as run:
        run.log_metrics({"acc": 0.5}, step=0)
        run.log_metrics({"acc": 0.75}, step=1)
        run.log_dict({"hello": "세계"}, "results.json")
        run.log_dataset(
            "gsm8k", digest="abc123", source="/data/gsm8k.jsonl", n_rows=300, context="evaluation"
        )
    record = get_run(run.run_id)
    assert record["status"] == "FINISHED"
    assert (
        record["params"]["decoding.top_p"] == "0.9" and record["params"]["dataset.gsm8k.digest"] == "abc123"
    )
    assert record["metrics"]["acc"] == 0.75
    assert record["tags"]["team"] == "ko" and record["tags"]["sllm.command"] == "eval"
    assert record["datasets"][0]["digest"] == "abc123" and record["datasets"][0]["tags"]["n_rows"] == "300"
    artifact = Path(tmp_path / "sllm-runs" / "artifacts").rglob("results.json")
    assert json.loads(next(artifact).read_text()) == {"hello": "세계"}


def test_exception_marks_the_run_failed_and_propagates():
    with pytest.raises(ValueError), track_run("train") as run:
        raise ValueError("boom")
    assert get_run(run.run_id)["status"] == "FAILED"


def test_disabled_tracking_touches_nothing(tmp_path):
    with track_run("eval", enabled=False) as run:
        run.log_metrics({"acc": 1.0})
    assert run.run_id is None and not (tmp_path / "sllm-runs").exists()


def test_list_is_newest_first_and_unknown_id_is_clear():
    ids = []
    for name in ("first", "second"):
        with track_run(name) as run:
            ids.append(run.run_id)
        time.sleep(0.01)
    assert [r["run_id"] for r in list_runs()][:2] == ids[::-1]
    with pytest.raises(SllmError, match="no run deadbeef"):
        get_run("deadbeef")


def test_uri_precedence(monkeypatch, tmp_path):
    assert tracking_uri().startswith("sqlite:///") and tracking_uri().endswith("sllm-runs/mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("SLLM_TRACKING_URI", f"sqlite:///{tmp_path}/x.db")
    assert tracking_uri() == f"sqlite:///{tmp_path}/x.db"


def test_flatten_truncates_long_values():
    assert flatten({"a": {"b": [1, 2]}, "c": "x" * 7000}) == {"a.b": "[1, 2]", "c": "x" * 6000}


def test_a_real_mlflow_server(tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/srv.db",
            "--default-artifact-root",
            str(tmp_path / "art"),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start in 90 s")
        monkeypatch.setenv("SLLM_TRACKING_URI", f"http://127.0.0.1:{port}")
        with track_run("eval", params={"model": "default"}) as run:
            run.log_metrics({"acc": 0.25})
        assert get_run(run.run_id)["metrics"] == {"acc": 0.25}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
