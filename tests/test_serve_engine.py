"""`sllm serve --engine vllm|command`: the gateway in front of a real engine server it starts and stops.

vLLM itself needs a CUDA GPU and cannot be installed here, so the engine behind the gateway is
another real OpenAI-compatible server: `sllm serve --no-auth` with the default model, started by
`--engine command`. The gateway must add nothing but its key check, headers and metrics, and must
never leave the engine running when it stops or dies.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sllm.serve.process import ServeProcess

KEY = "gateway-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SLLM = f"{shlex.quote(sys.executable)} -m sllm serve"


def engine_of(log: Path) -> tuple[int, str]:
    """The engine's PID and base URL, as the gateway reports them on stderr."""
    found = re.search(r"engine ready: pid (\d+) on (http://127\.0\.0\.1:\d+)", log.read_text())
    assert found, log.read_text()
    return int(found.group(1)), found.group(2)


def gone(pid: int, within: float = 30) -> bool:
    """Whether process `pid` ends within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def samples(base: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(base + "/metrics", timeout=10).text
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), "a metric family appears twice in the gateway's /metrics"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def metric(found: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and labels.items() <= dict(ls).items())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    command = f"{SLLM} --no-auth --port {{port}} --max-batch 4"
    process = ServeProcess(
        ["--api-key", KEY, "--engine", "command", "--engine-command", command],
        env={"TMPDIR": str(log.parent)},  # the engine's log goes there
        log=log,
    ).start()
    process.engine_pid, process.engine = engine_of(log)
    yield process
    process.stop()


def test_chat_through_the_gateway_is_the_engines_reply(gateway: ServeProcess) -> None:
    body = {"model": "default", "messages": QUESTION, "temperature": 0, "max_tokens": 12}
    through = httpx.post(gateway.url + "/chat/completions", json=body, headers=AUTH, timeout=120)
    direct = httpx.post(gateway.engine + "/v1/chat/completions", json=body, timeout=120)  # no key needed
    assert through.status_code == direct.status_code == 200
    assert through.json()["choices"] == direct.json()["choices"]
    assert through.json()["usage"] == direct.json()["usage"]
    card = httpx.get(gateway.engine + "/v1/models", timeout=10).json()["data"][0]
    assert through.headers["x-sllm-model"] == "default"
    assert through.headers["x-sllm-model-version"] == card["version"]
    listed = openai.OpenAI(base_url=gateway.url, api_key=KEY, max_retries=0).models.list()
    assert [m.id for m in listed.data] == ["default"]


def test_streamed_chat_passes_through_chunk_by_chunk(gateway: ServeProcess) -> None:
    client = openai.OpenAI(base_url=gateway.url, api_key=KEY, max_retries=0, timeout=120)
    whole = client.chat.completions.create(model="default", messages=QUESTION, temperature=0, max_tokens=16)
    chunks = list(client.chat.completions.create(
        model="default", messages=QUESTION, temperature=0, max_tokens=16, stream=True
    ))  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content

    # not buffered: the first chunks reach the client while the engine is still decoding the request
    before = samples(gateway.base)
    body = {"model": "default", "messages": QUESTION, "max_tokens": 400, "ignore_eos": True, "stream": True}
    with httpx.stream(
        "POST", gateway.url + "/chat/completions", json=body, headers=AUTH, timeout=60
    ) as stream:
        lines = stream.iter_lines()
        got = [line for line in (next(lines) for _ in range(8)) if line.startswith("data: {")]
        assert len(got) >= 3
        assert metric(samples(gateway.base), "vllm:num_requests_running", model_name="default") == 1
    # the client left: the gateway closes its request to the engine, which stops decoding
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = samples(gateway.base)
        if metric(after, "vllm:request_success_total", finished_reason="abort") > metric(
            before, "vllm:request_success_total", finished_reason="abort"
        ):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the engine never heard that the client left")
    assert metric(after, "vllm:num_requests_running") == 0


def test_completions_with_echo_and_logprobs_pass_through(gateway: ServeProcess) -> None:
    body = {"model": "default", "prompt": "The capital of France is Paris", "max_tokens": 1,
            "temperature": 0, "echo": True, "logprobs": 1}  # fmt: skip
    through = httpx.post(gateway.url + "/completions", json=body, headers=AUTH, timeout=120).json()
    direct = httpx.post(gateway.engine + "/v1/completions", json=body, timeout=120).json()
    assert through["choices"] == direct["choices"]
    logprobs = through["choices"][0]["logprobs"]
    assert logprobs["token_logprobs"][0] is None and len(logprobs["token_logprobs"]) > 5


def test_the_gateway_enforces_its_own_key_and_passes_the_engines_errors(gateway: ServeProcess) -> None:
    body = {"messages": QUESTION, "max_tokens": 2}
    missing = httpx.post(gateway.url + "/chat/completions", json=body, timeout=30)
    wrong = httpx.post(gateway.url + "/chat/completions", json=body, headers={"Authorization": "Bearer x"},
                       timeout=30)  # fmt: skip
    assert missing.status_code == wrong.status_code == 401
    assert "missing API key" in missing.json()["error"]["message"]
    assert wrong.json()["error"]["message"] == "invalid API key"
    asked = {**body, "model": "gpt-4"}
    through = httpx.post(gateway.url + "/chat/completions", json=asked, headers=AUTH, timeout=30)
    direct = httpx.post(gateway.engine + "/v1/chat/completions", json=asked, timeout=30)
    assert through.status_code == direct.status_code == 404
    assert through.json() == direct.json()
    as_json = {"Content-Type": "application/json"}
    broken = httpx.post(gateway.url + "/chat/completions", content=b"{not json", headers={**AUTH, **as_json},
                        timeout=30)  # fmt: skip
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    for probe in ("/health", "/ready", "/metrics"):
        assert httpx.get(gateway.base + probe, timeout=10).status_code == 200


def test_the_gateways_metrics_count_proxied_calls_and_carry_the_engines(gateway: ServeProcess) -> None:
    httpx.post(gateway.url + "/completions", json={"prompt": "Hi", "max_tokens": 2}, headers=AUTH, timeout=60)
    found = samples(gateway.base)
    assert metric(found, "sllm_http_requests_total", path="/v1/completions", status="200") >= 1
    assert metric(found, "sllm_http_requests_total", status="401") >= 2
    card = httpx.get(gateway.engine + "/v1/models", timeout=10).json()["data"][0]
    assert metric(found, "sllm_model_info", model_name="default", version=card["version"]) == 1
    assert metric(found, "vllm:e2e_request_latency_seconds_count", model_name="default") >= 1  # the engine's
    assert metric(found, "process_resident_memory_bytes") > 0


def test_sigterm_stops_the_gateway_and_its_engine(gateway: ServeProcess) -> None:
    gateway.stop(signal.SIGTERM)
    assert gateway.proc is not None and gateway.proc.returncode == 128 + signal.SIGTERM  # it cleaned up
    assert gone(gateway.engine_pid), f"engine pid {gateway.engine_pid} outlived its gateway"


# Stands in for the `vllm` command, which needs a GPU: records the command line it was given, then
# runs a real OpenAI-compatible server (sllm serve) with the same model, address, name and key.
STAND_IN_VLLM = """#!{python}
import json, os, sys
args = sys.argv[1:]
json.dump(args, open({record!r}, "w"))
assert args[0] == "serve"
value = {{flag: args[i + 1] for i, flag in enumerate(args) if flag.startswith("--") and "=" not in flag}}
os.execv(sys.executable, [sys.executable, "-m", "sllm", "serve", "--model", "hf:" + args[1],
         "--host", value["--host"], "--port", value["--port"], "--served-name", value["--served-model-name"],
         "--api-key", value["--api-key"]])
"""


@pytest.mark.slow  # a gateway and an engine of its own (~10 s)
def test_engine_vllm_runs_vllm_serve_and_a_killed_gateway_takes_it_along(tmp_path: Path) -> None:
    from sllm.models.default_model import default_model_path

    bin_dir, record, log = tmp_path / "bin", tmp_path / "vllm-argv.json", tmp_path / "gateway.log"
    bin_dir.mkdir()
    (bin_dir / "vllm").write_text(STAND_IN_VLLM.format(python=sys.executable, record=str(record)))
    (bin_dir / "vllm").chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    process = ServeProcess(
        ["--no-auth", "--engine", "vllm", "--engine-arg=--max-model-len=2048"], env=env, log=log
    ).start()
    try:
        pid, engine = engine_of(log)
        argv = json.loads(record.read_text())
        port = engine.rsplit(":", 1)[1]
        assert argv[:9] == ["serve", str(default_model_path()), "--host", "127.0.0.1", "--port", port,
                            "--served-model-name", "default", "--api-key"]  # fmt: skip
        key = argv[9]
        assert len(key) >= 24 and argv[10:] == ["--max-model-len=2048"]
        assert key not in log.read_text() and "--api-key ***" in log.read_text()  # never printed
        assert httpx.get(engine + "/v1/models", timeout=10).status_code == 401  # the engine wants its key
        listed = httpx.get(process.url + "/models", timeout=10)  # which the gateway sends
        assert listed.status_code == 200
        version = listed.json()["data"][0]["version"]
        assert metric(samples(process.base), "sllm_model_info", version=version) == 1  # same digest
        process.stop(signal.SIGKILL)  # no chance to clean up: Linux tells the engine (PR_SET_PDEATHSIG)
        assert gone(pid), f"engine pid {pid} outlived its killed gateway"
    finally:
        process.stop()


def test_engine_command_lines_fill_their_placeholders() -> None:
    from sllm.serve.child import template_command

    argv = template_command("srv --port {port} --key {api_key} --cfg '{\"a\": 1}'", 8123, "k", ["--x"])
    assert argv == ["srv", "--port", "8123", "--key", "k", "--cfg", '{"a": 1}', "--x"]


@pytest.mark.slow  # a gateway and an engine of its own (~10 s)
def test_an_engine_that_dies_while_serving_stops_the_gateway(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    command = f"{SLLM} --no-auth --port {{port}}"
    process = ServeProcess(
        ["--no-auth", "--engine", "command", "--engine-command", command],
        env={"TMPDIR": str(tmp_path)},
        log=log,
    ).start()
    try:
        pid, _ = engine_of(log)
        os.kill(pid, signal.SIGKILL)
        assert process.proc is not None and process.proc.wait(timeout=30) == 1  # a supervisor restarts it
        assert "error: the engine was killed by signal 9 while serving" in log.read_text()
    finally:
        process.stop()


@pytest.mark.skipif(
    shutil.which("vllm") is not None or Path(sys.executable).with_name("vllm").exists(),
    reason="vllm is installed here",
)
def test_engine_vllm_without_vllm_says_how_to_install_it() -> None:
    from helpers import run_cli

    result = run_cli("serve", "--no-auth", "--engine", "vllm", "--model", "hf:/nowhere")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "pip install 'sllm[vllm]'" in errors[0] and "GPU" in errors[0]


def test_an_engine_that_dies_or_never_gets_healthy_is_reported_with_its_log(tmp_path: Path) -> None:
    from helpers import run_cli

    env = {"TMPDIR": str(tmp_path)}  # the engine's log goes there
    dies = f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(\"engine on {{port}}: out of memory\")'"
    result = run_cli("serve", "--no-auth", "--engine", "command", "--engine-command", dies, env=env)
    assert result.returncode == 1
    assert "exited with code 1 before it was healthy" in result.stderr and "out of memory" in result.stderr

    deaf = f"{shlex.quote(sys.executable)} -m http.server {{port}} --bind 127.0.0.1"  # no /health
    result = run_cli(
        "serve",
        "--no-auth",
        "--engine",
        "command",
        "--engine-timeout",
        "2",
        "--engine-command",
        deaf,
        env=env,
    )
    assert result.returncode == 1
    assert "not healthy after 2 s" in result.stderr and "GET /health" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--engine", "vlm"], "did you mean vllm"),
        (["--engine", "command"], "--engine-command"),
        (["--engine", "command", "--engine-command", "server --port 8001"], "{port}"),
        (["--engine-arg=--dtype=half"], "--engine vllm or --engine command"),
        (["--engine", "vllm", "--engine-command", "x {port}"], "--engine command"),
    ],
)
def test_engine_options_that_do_not_fit_are_usage_errors(args: list[str], words: str) -> None:
    from helpers import run_cli

    result = run_cli("serve", "--no-auth", *args)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr


def test_a_taken_port_is_refused_before_the_engine_starts(tmp_path: Path) -> None:
    import socket

    from helpers import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        never = f'{shlex.quote(sys.executable)} -c \'open("{tmp_path}/started", "w")\' {{port}}'
        result = run_cli(
            "serve", "--no-auth", "--port", port, "--engine", "command", "--engine-command", never
        )
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "started").exists()
