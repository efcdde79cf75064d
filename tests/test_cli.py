"""The `sllm` command line as a user runs it: answers, JSON, chat, errors and exit codes."""

from __future__ import annotations

import json
import socket

import pytest
from helpers import run_cli


def test_generate_answers_paris():
    result = run_cli("generate", "--model", "default", "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


def test_generate_json_is_one_object_with_the_contract_fields():
    result = run_cli("generate", "--json", "--raw", "--max-new-tokens", "6", "1, 2, 3,")
    payload = json.loads(result.stdout)
    assert set(payload) == {"model", "text", "tokens", "finish_reason"}
    assert payload["tokens"] == 6 and payload["finish_reason"] == "length"
    assert "4" in payload["text"]


@pytest.mark.slow
def test_seeded_sampling_from_the_cli_is_repeatable():
    args = ("generate", "--no-cache", "--temperature", "1.0", "--seed", "7", "-n", "8", "--raw", "Once upon")
    assert run_cli(*args).stdout == run_cli(*args).stdout


@pytest.mark.slow
def test_chat_keeps_history_and_resets():
    script = "My name is Ada.\nWhat is my name?\n/history\n/reset\n/history\n/exit\n"
    result = run_cli("chat", "--max-new-tokens", "30", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "user: My name is Ada." in out and "user: What is my name?" in out
    assert "[history cleared]" in out
    assert out.rstrip().endswith("[empty]")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--model", "foo:bar"], 2, "valid forms: default, hf:"),
        (["--model", "hf:./no/such/model"], 1, "model folder not found: ./no/such/model"),
        (["--max-new-tokens", "-5"], 2, "max_new_tokens"),
        (["--top-p", "1.5"], 2, "top_p"),
        (["--top-p", "0"], 2, "top_p"),
        (["--model", "default,dtyp=float32"], 2, "did you mean dtype"),
        (["--preset", "nucleos"], 2, "did you mean nucleus"),
    ],
)
def test_bad_input_gives_one_clear_line_and_exit_code(args, code, message):
    result = run_cli("generate", *args, "hello")
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_server_is_one_line_exit_1():
    port = _free_port()
    spec = f"openai:some-model@http://127.0.0.1:{port}/v1,max_retries=0,timeout=5"
    result = run_cli("generate", "--model", spec, "hello")
    assert result.returncode == 1
    assert f"cannot reach OpenAI-compatible server at http://127.0.0.1:{port}/v1" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback():
    result = run_cli("--debug", "generate", "--model", "hf:./no/such/model", "hello")
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["generate"],
        ["chat"],
        ["eval"],
        ["score"],
        ["tasks", "list"],
        ["tasks", "show"],
        ["cache", "stats"],
        ["cache", "clear"],
        ["runs", "list"],
        ["runs", "show"],
    ],
)
def test_every_command_has_help_with_examples(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("sllm ")
