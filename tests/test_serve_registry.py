"""`sllm serve --model registry:NAME@champion --watch N` follows the alias without dropping requests."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
from helpers import metric, metric_samples, tiny_base_model

from sllm.serve.process import ServeProcess

NAME = "tiny-served"


def register_version(folder: Path) -> str:
    """Log a model folder to a run of the embedded store and register it; returns the version."""
    from sllm.tracking import track_run
    from sllm.tracking.registry import log_model, register

    description = {"kind": "model", "base_model": "tiny", "data_digests": {}}
    (folder / "sllm_model.json").write_text(json.dumps(description), encoding="utf-8")
    with track_run("train") as run:  # sllm's own run: the per-test store, its own experiment
        log_model(folder)
    return register(NAME, run.run_id, description).split("@")[1]


def test_the_server_switches_to_a_newly_promoted_version(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    first = register_version(tiny_base_model(tmp_path / "v1", ["the cat sat on the mat"] * 20))
    second = register_version(tiny_base_model(tmp_path / "v2", ["a dog ran in the park today"] * 20))
    client = MlflowClient()
    client.set_registered_model_alias(NAME, "champion", first)
    server = ServeProcess(
        ["--model", f"registry:{NAME}@champion", "--watch", "0.5", "--no-auth"], log=tmp_path / "log"
    ).start()
    try:
        card = httpx.get(server.url + "/models", timeout=10).json()["data"][0]
        assert (card["id"], card["version"]) == (NAME, first)
        finished: dict[str, object] = {}

        def long_request() -> None:  # starts on the first version, ends after the switch
            body = {"prompt": "the cat", "max_tokens": 400, "ignore_eos": True, "temperature": 0}
            response = httpx.post(server.url + "/completions", json=body, timeout=120)
            finished.update(status=response.status_code, version=response.headers["x-sllm-model-version"],
                            tokens=response.json()["usage"]["completion_tokens"])  # fmt: skip

        worker = threading.Thread(target=long_request)
        worker.start()
        deadline = time.monotonic() + 30
        while metric(metric_samples(server.base), "vllm:num_requests_running") < 1:  # it is decoding
            assert time.monotonic() < deadline, "the long request never started"
            time.sleep(0.05)
        client.set_registered_model_alias(NAME, "champion", second)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = httpx.get(server.url + "/models", timeout=10)
            if response.json()["data"][0]["version"] == second:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the server never switched to the promoted version")
        assert response.headers["x-sllm-model-version"] == second
        worker.join()
        assert finished == {"status": 200, "version": first, "tokens": 400}  # not dropped by the switch
        reply = httpx.post(server.url + "/completions", json={"prompt": "a dog", "max_tokens": 3}, timeout=60)
        assert reply.status_code == 200 and reply.headers["x-sllm-model-version"] == second
        info = httpx.get(server.base + "/metrics", timeout=10).text
        assert f'version="{second}"' in info and f'version="{first}"' not in info
    finally:
        server.stop()


def test_watch_needs_a_registry_alias(tmp_path: Path) -> None:
    from helpers import run_cli

    result = run_cli("serve", "--no-auth", "--watch", "5", "--port", "1")
    assert result.returncode == 2
    assert "registry:NAME@ALIAS" in result.stderr
