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
from conftest import FIXTURES
from helpers import run_cli

from sllm.errors import SllmError, SllmWarning
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
    with pytest.raises(SllmError, match="no run id starts with 'deadbeef'"):
        get_run("deadbeef")


def test_uri_precedence(monkeypatch, tmp_path):
    assert tracking_uri().startswith("sqlite:///") and tracking_uri().endswith("sllm-runs/mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("SLLM_TRACKING_URI", f"sqlite:///{tmp_path}/x.db")
    assert tracking_uri() == f"sqlite:///{tmp_path}/x.db"


def test_flatten_truncates_long_values():
    assert flatten({"a": {"b": [1, 2]}, "c": "x" * 7000}) == {"a.b": "[1, 2]", "c": "x" * 6000}


@pytest.mark.slow
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
            run.log_metrics({"acc": 0.25, "acc_stderr": 0.01})
        assert get_run(run.run_id)["metrics"] == {"acc": 0.25, "acc_stderr": 0.01}
        with track_run("eval", params={"model": "hf:./out"}) as other:
            other.log_metrics({"acc": 0.31, "acc_stderr": 0.02})
        from sllm.tracking.compare import compare_runs

        report = compare_runs([run.run_id, other.run_id])  # `sllm runs compare` on a real server
        assert report["params"] == [{"key": "model", "values": ["default", "hf:./out"], "differs": True}]
        assert report["metrics"][0]["vs_first"][0]["beyond_noise"] is True  # 0.06 > 1.96 * 0.0224
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# -- tracking never turns finished work into a traceback ----------------------------------------


def _sllm_warnings(warned: pytest.WarningsRecorder) -> list[str]:
    """sllm's own warnings (the first store a process opens also draws SQLAlchemy's)."""
    return [str(w.message) for w in warned if issubclass(w.category, SllmWarning)]


def test_names_mlflow_would_reject_are_recorded_with_their_original_names():
    with track_run("eval", params={"tasks": "ko=1", "fewshot=k": 3}) as run:
        run.log_metrics({"humaneval/pass@1": 0.5, "my=task/acc": 0.25, "acc": 1.0})
    record = get_run(run.run_id)
    assert record["status"] == "FINISHED"
    assert record["metrics"] == {"humaneval/pass_at_1": 0.5, "my_task/acc": 0.25, "acc": 1.0}
    assert record["params"]["fewshot_k"] == "3" and record["params"]["tasks"] == "ko=1"
    assert record["tags"]["sllm.name.humaneval/pass_at_1"] == "humaneval/pass@1"
    assert record["tags"]["sllm.name.my_task/acc"] == "my=task/acc"
    assert record["tags"]["sllm.name.fewshot_k"] == "fewshot=k"
    assert "sllm.name.acc" not in record["tags"]


def test_mlflow_keys_pass_mlflow_validation_and_stay_distinct():
    from mlflow.utils.validation import _validate_metric_name, _validate_param_name, _validate_tag_name

    from sllm.tracking.names import KeyBook, mlflow_key

    names = ["humaneval/pass@1", "t=1,2", "/lead", "a//b/", "../up", "x/./y", "", "정확도/acc", "a" * 300]
    book = KeyBook()
    keys = [book.key(name) for name in names]
    for key in keys:
        _validate_metric_name(key)
        _validate_param_name(key)
        _validate_tag_name(key)
    assert len(set(keys)) == len(names)
    assert mlflow_key("정확도/acc") == "정확도/acc" and mlflow_key("acc_norm") == "acc_norm"
    assert len(mlflow_key("a" * 300)) == 250


def test_two_datasets_with_one_name_are_both_logged():
    with track_run("data-split") as run:
        run.log_dataset("train", digest="aaa111", source="/in/train.jsonl", n_rows=10, context="input")
        run.log_dataset("train", digest="bbb222", source="/out/train.jsonl", n_rows=8, context="output")
        run.log_dataset("train", digest="aaa111", source="/in/train.jsonl", n_rows=10, context="input")
    record = get_run(run.run_id)
    assert record["status"] == "FINISHED"
    assert record["params"]["dataset.train.digest"] == "aaa111"
    assert record["params"]["dataset.train_2.digest"] == "bbb222"
    assert sorted(d["digest"] for d in record["datasets"]) == ["aaa111", "bbb222"]


def test_an_unreachable_tracking_server_costs_one_warning(monkeypatch):
    monkeypatch.setenv("SLLM_TRACKING_URI", "http://127.0.0.1:9")
    with pytest.warns(SllmWarning) as warned, track_run("eval", params={"model": "default"}) as run:
        run.log_metrics({"acc": 0.5})
        work = "done"
    assert work == "done" and run.run_id is None
    assert _sllm_warnings(warned) == [
        "tracking failed (cannot reach the tracking server http://127.0.0.1:9: Connection refused): "
        "the eval run was not recorded; the results are kept"
    ]


def test_a_store_failing_mid_run_keeps_the_work_and_names_what_is_missing(monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    store = tracking_uri()
    with pytest.warns(SllmWarning) as warned, track_run("eval") as run:
        run.log_metrics({"acc": 0.5})
        mlflow.set_tracking_uri("http://127.0.0.1:9")  # the server goes away
        try:
            run.log_metrics({"acc_norm": 0.25})
            run.log_artifact(__file__)
        finally:
            mlflow.set_tracking_uri(store)
    (message,) = _sllm_warnings(warned)
    assert message.startswith("tracking failed (MlflowException: API request to http://127.0.0.1:9")
    assert message.endswith(
        f"MLflow run {run.run_id} is missing metrics, artifact test_tracking.py, end status; "
        "the results are kept"
    )
    assert mlflow.active_run() is None  # the next command in this process starts a fresh run
    record = get_run(run.run_id)
    assert record["metrics"] == {"acc": 0.5} and record["status"] == "RUNNING"


def test_a_refused_value_ends_the_run_finished_and_names_the_value():
    with pytest.warns(SllmWarning) as warned, track_run("eval") as run:
        run.log_metrics({"acc": "n/a"})
        run.log_params({"model": "default"})
    record = get_run(run.run_id)
    assert record["status"] == "FINISHED" and record["params"]["model"] == "default"
    assert _sllm_warnings(warned) == [
        f"tracking failed (ValueError: could not convert string to float: 'n/a'): MLflow run {run.run_id} "
        "is missing metrics; the results are kept"
    ]


def test_ctrl_c_marks_the_run_killed():
    with pytest.raises(KeyboardInterrupt), track_run("eval") as run:
        raise KeyboardInterrupt
    assert get_run(run.run_id)["status"] == "KILLED"


def test_the_run_starts_when_the_command_started():
    from datetime import datetime, timezone

    from sllm.tracking.clock import mark_command_start

    mark_command_start(1_700_000_000.0)
    with track_run("judge-single") as first:
        pass
    with track_run("judge-single") as second:
        pass
    assert (
        get_run(first.run_id)["start_time"] == datetime.fromtimestamp(1_700_000_000, timezone.utc).isoformat()
    )
    assert get_run(second.run_id)["start_time"] > get_run(first.run_id)["start_time"]


@pytest.mark.slow
def test_eval_with_an_unreachable_tracking_server_keeps_its_results(tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "eval", "--model", "default", "--tasks", "hellaswag", "--limit", "2", "--output", str(out),
        env={"SLLM_TRACKING_URI": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "acc_norm" in result.stdout and "hellaswag" in result.stdout  # the table is printed
    (results,) = out.glob("default/*/results.json")
    assert json.loads(results.read_text())["results"]["hellaswag"]["n"] == 2
    warnings = [line for line in result.stderr.splitlines() if "tracking failed" in line]
    assert warnings == [
        "warning: tracking failed (cannot reach the tracking server http://127.0.0.1:9: Connection "
        "refused): the eval run was not recorded; the results are kept"
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_data_split_of_a_file_called_train_is_tracked(tmp_path):
    source = tmp_path / "in" / "train.jsonl"
    source.parent.mkdir()
    source.write_text((FIXTURES / "sft" / "seed_alpaca.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli(
        "data", "split", str(source), "--out-dir", str(tmp_path / "splits"), "--seed", "7", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    record = get_run(report["run_id"])
    assert record["status"] == "FINISHED"
    assert record["params"]["dataset.train_2.digest"] == report["splits"]["train"]["digest"][:16]
    assert record["params"]["dataset.train.digest"] != record["params"]["dataset.train_2.digest"]
    assert len(record["datasets"]) == 1 + len(report["splits"])


def test_a_failing_follow_up_action_costs_a_warning_not_the_command():
    def register_fails() -> str:
        raise ConnectionError("registry down")

    with pytest.warns(SllmWarning) as warned, track_run("train-sft") as run:
        logged = run.attempt("the model artifact", lambda: "logged")
        registered = run.attempt("registry version ko-chat", register_fails)
    assert (logged, registered) == ("logged", None)
    assert _sllm_warnings(warned) == [
        f"tracking failed (ConnectionError: registry down): MLflow run {run.run_id} is missing "
        "registry version ko-chat, end status; the results are kept"
    ]
