"""`sllm serve`: an OpenAI-compatible server for a model, with Prometheus metrics."""

from __future__ import annotations

import os

import typer

from sllm.cli.app import app, err
from sllm.cli.options import ModelOption

KEY_ENV = "SLLM_SERVE_API_KEY"
EXAMPLES = f"""
[bold]Examples[/bold]

  {KEY_ENV}=secret sllm serve                        # the default model on http://127.0.0.1:8000/v1
  sllm serve --model hf:./out --port 8080 --api-key secret --max-batch 16
  sllm serve --model registry:ko-chat@champion --watch 30 --api-key secret  # follows the alias
  sllm serve --no-auth --port 8001                    # no key: only on a machine you trust
  sllm serve --api-key secret --drift-profile profile.json --request-log requests.jsonl --log-sample-rate 0.1
  sllm serve --engine vllm --model hf:./out --api-key secret --engine-arg=--max-model-len=4096  # GPU

  # then, from any OpenAI client:
  curl -H "Authorization: Bearer secret" http://127.0.0.1:8000/v1/models
  sllm eval --model "openai:default@http://:secret@127.0.0.1:8000/v1" --tasks hellaswag --limit 20
  curl http://127.0.0.1:8000/metrics                  # Prometheus (no key needed)
"""


@app.command(epilog=EXAMPLES)
def serve(  # noqa: PLR0913 - the server's settings
    model: str = ModelOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    api_key: str | None = typer.Option(
        None, "--api-key", help=f"Key clients must send as 'Authorization: Bearer KEY' (or set {KEY_ENV})."
    ),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve without an API key (explicitly)."),
    served_name: str | None = typer.Option(
        None, "--served-name", help="Model name clients use (default: 'default' or the spec's target)."
    ),
    max_batch: int = typer.Option(8, "--max-batch", min=1, help="Requests decoded together in one batch."),
    window_ms: float = typer.Option(20.0, "--batch-window-ms", min=0, help="How long a batch waits to fill."),
    max_waiting: int = typer.Option(64, "--max-waiting", min=0, help="Queued requests beyond which: 429."),
    timeout: float = typer.Option(
        300.0, "--timeout", min=1, help="Seconds a request may take, queue included."
    ),
    watch: float = typer.Option(
        0.0, "--watch", min=0, help="For registry:NAME@ALIAS: re-check the alias every N seconds (0 = never)."
    ),
    engine: str = typer.Option(
        "builtin",
        "--engine",
        help="builtin (transformers in this process) | vllm (starts `vllm serve` behind this gateway, GPU) | "
        "command (any OpenAI-compatible server, --engine-command).",
    ),
    engine_command: str | None = typer.Option(
        None,
        "--engine-command",
        help="For --engine command: its command line, with {port} (and optionally {api_key}) to fill in.",
    ),
    engine_args: list[str] = typer.Option(
        [],
        "--engine-arg",
        help="Appended to the engine's command line (repeatable): --engine-arg=--dtype=half",
    ),
    engine_timeout: float = typer.Option(
        900.0, "--engine-timeout", min=1, help="Seconds the engine may take to become healthy."
    ),
    drift_profile: str | None = typer.Option(
        None,
        "--drift-profile",
        help="Profile JSON (sllm monitor profile): live prompts -> sllm_drift gauges.",
    ),
    drift_window: int = typer.Option(200, "--drift-window", min=1, help="Live prompts the drift is over."),
    request_log: str | None = typer.Option(
        None, "--request-log", help="Append each answered request, PII masked, to this JSONL (default: off)."
    ),
    log_sample_rate: float = typer.Option(
        1.0, "--log-sample-rate", min=0.0, max=1.0, help="Share of requests written to --request-log."
    ),
) -> None:
    """Serve MODEL over OpenAI's /v1/chat/completions, /v1/completions and /v1/models, plus /metrics."""
    from sllm.errors import UsageError

    key = api_key or os.environ.get(KEY_ENV) or None
    if key and no_auth:
        raise UsageError("--no-auth and an API key contradict each other; pick one")
    if watch and not model.startswith("registry:"):
        raise UsageError("--watch follows a registry alias: the model must be registry:NAME@ALIAS")
    if not key and not no_auth:
        raise UsageError(
            f"sllm serve needs an API key: --api-key KEY or {KEY_ENV}; or --no-auth to serve without"
        )
    if engine != "builtin" or engine_command or engine_args:
        if drift_profile or request_log:
            raise UsageError("--drift-profile and --request-log work with --engine builtin only, for now")
        _serve_engine(engine, model, served_name, engine_command, engine_args, engine_timeout, watch,
                      host, port, key, timeout)  # fmt: skip
        return
    import uvicorn

    from sllm.serve.app import ServeSettings, create_app
    from sllm.serve.holder import ModelHolder, QueueSettings
    from sllm.serve.metrics import ServerMetrics

    name = served_name or _served_name(model)
    metrics = ServerMetrics(name)
    observers = _observers(drift_profile, drift_window, request_log, log_sample_rate, metrics, name)
    queue = QueueSettings(max_batch, window_ms / 1000, max_waiting)
    holder = ModelHolder(model, metrics, queue, watch)
    served = holder.current
    settings = ServeSettings(model_name=name, api_key=key, timeout=timeout, observers=observers)
    if host not in ("127.0.0.1", "localhost", "::1") and not key:
        err.print(
            f"[yellow]warning:[/yellow] serving on {host} without an API key: "
            "anyone who can reach it may use it"
        )
    err.print(
        f"serving [bold]{name}[/bold] ({served.spec}, version {served.version}) on http://{host}:{port}/v1 "
        f"({'API key required' if key else 'no API key'}); metrics on /metrics",
        highlight=False,
    )
    import signal

    from sllm.serve.gateway import exit_on_sigterm

    # uvicorn re-raises SIGTERM after its graceful shutdown; as an exit, `finally` still runs
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        uvicorn.run(create_app(holder, settings), host=host, port=port, log_level="warning")
    finally:
        holder.close()


def _observers(drift_profile: str | None, window: int, request_log: str | None, rate: float,  # noqa: PLR0913
               metrics: object, name: str) -> tuple:  # fmt: skip
    """The request observers asked for: the drift monitor (on the server's gauges), the request log."""
    observers: list = []
    if drift_profile:
        from sllm.serve.drift import DriftMonitor, load_profile

        monitor = DriftMonitor(load_profile(drift_profile), window, metrics=metrics, model_name=name)
        observers.append(monitor)
        space = monitor.reference.space
        err.print(f"drift: measuring live prompts against {drift_profile} ({space}, window {window})")
    if request_log:
        from sllm.serve.request_log import RequestLog

        observers.append(RequestLog(request_log, rate))
        err.print(
            f"request log: {request_log} ({rate:.0%} of requests, personal data masked)", highlight=False
        )
    return tuple(observers)


def _served_name(spec: str) -> str:
    """'default', a registry model's NAME, or the model folder's name."""
    from pathlib import Path

    head = spec.split(",")[0]
    backend, _, target = head.partition(":") if ":" in head else ("", "", head)
    if backend == "registry":
        return target.partition("@")[0]
    return Path(target).name or target


def _serve_engine(engine: str, model: str, served_name: str | None, command: str | None, args: list[str],  # noqa: PLR0913
                  start_timeout: float, watch: float, host: str, port: int, key: str | None,
                  timeout: float) -> None:  # fmt: skip
    """`--engine vllm|command`: the gateway in front of an engine server it starts and stops."""
    from sllm.serve.app import ServeSettings
    from sllm.serve.gateway import EngineSettings, check_engine_options, run_gateway

    check_engine_options(engine, command, args, watch)
    # a command's engine serves what it serves: the spec only names what its /v1/models shows
    name = served_name or (model if engine == "command" else _served_name(model))
    settings = EngineSettings(engine, model, name, command, tuple(args), start_timeout)
    if host not in ("127.0.0.1", "localhost", "::1") and not key:
        err.print(f"[yellow]warning:[/yellow] serving on {host} without an API key: anyone may use it")
    run_gateway(settings, ServeSettings(model_name=name, api_key=key, timeout=timeout), host, port,
                lambda line: err.print(line, highlight=False, markup=False, soft_wrap=True))  # fmt: skip
