"""`sllm serve --engine vllm|command`: the gateway in front of a real engine server.

The engine (child.py) listens on a loopback port with a key of its own; the gateway listens where
the user asked and checks the gateway's key (as app.py does), then forwards every other request to
the engine as is: the body untouched, the client's Authorization replaced by the engine's key, the
engine's status, headers and body passed back (server-sent events chunk by chunk, never buffered),
plus `x-sllm-model` and `x-sllm-model-version`. /health and /ready ask the engine. /metrics is the
gateway's HTTP counts, model info and process metrics followed by the engine's own metrics (vLLM
names its serving metrics as the built-in engine does), so Prometheus scrapes one target either way.
"""

from __future__ import annotations

import secrets
import shlex
import signal
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sllm.errors import SllmError, UsageError, unknown_name
from sllm.serve.app import OPEN_PATHS, ServeSettings, auth_refusal, error_response
from sllm.serve.child import ChildServer, template_command, vllm_command, vllm_executable
from sllm.serve.metrics import ServerMetrics
from sllm.serve.protocol import RequestError

#: the routes counted by name in sllm_http_requests_total; any other path counts as "other"
KNOWN_PATHS = frozenset({
    "/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings", "/v1/responses",
    "/v1/audio/transcriptions", "/v1/audio/translations", "/v1/score", "/v1/rerank", "/rerank",
    "/score", "/pooling", "/classify", "/tokenize", "/detokenize", "/version", "/invocations",
})  # fmt: skip
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "proxy-connection"}  # fmt: skip
NOT_FORWARDED = HOP_BY_HOP | {"host", "authorization", "content-length", "accept-encoding"}
NOT_RETURNED = HOP_BY_HOP | {"content-length", "date", "server"}
#: the gateway's own families in its /metrics; the engine's families of these names are left out
GATEWAY_FAMILIES = ("sllm_http_requests", "sllm_model_info", "process_", "python_")


@dataclass(frozen=True)
class EngineSettings:
    """Which engine runs behind the gateway, and how it is started."""

    engine: str  # vllm | command
    model: str  # the model spec (vllm), or the name the engine's /v1/models shows (command)
    name: str  # the served model name
    command: str | None = None  # for `command`: a command line with {port} (and optionally {api_key})
    args: tuple[str, ...] = ()  # appended to the engine's command line
    start_timeout: float = 900.0  # seconds the engine may take to become healthy
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Launch:
    """An engine's command line and the model facts the gateway reports."""

    argv: list[str]
    api_key: str | None
    spec: str
    version: str | None = None  # None: read from the engine's /v1/models card once it is up
    fingerprint: str = ""


def check_engine_options(engine: str, command: str | None, args: Iterable[str], watch: float) -> None:
    """Usage errors for engine options that do not fit together."""
    if engine == "builtin":
        if command or list(args):
            raise UsageError("--engine-command and --engine-arg need --engine vllm or --engine command")
        return
    if engine not in ENGINES:
        raise unknown_name("engine", engine, ["builtin", *ENGINES])
    if watch:
        raise UsageError("--watch follows a registry alias with the built-in engine only (--engine builtin)")
    if engine == "command" and not command:
        raise UsageError('--engine command needs --engine-command "CMD ... {port} ..."')
    if engine != "command" and command:
        raise UsageError("--engine-command goes with --engine command")


def _vllm_launch(settings: EngineSettings, port: int) -> Launch:
    vllm_executable()  # fail before resolving (and perhaps converting) the model
    target, version, fingerprint = vllm_target(settings.model)
    key = secrets.token_urlsafe(24)
    argv = vllm_command(target, port, settings.name, key, list(settings.args))
    return Launch(argv, key, settings.model, version, fingerprint)


def _command_launch(settings: EngineSettings, port: int) -> Launch:
    assert settings.command is not None
    key = secrets.token_urlsafe(24) if "{api_key}" in settings.command else None
    argv = template_command(settings.command, port, key or "", list(settings.args))
    return Launch(argv, key, settings.model)


#: engine name -> how to build its command line on a port
ENGINES: dict[str, Callable[[EngineSettings, int], Launch]] = {
    "vllm": _vllm_launch,
    "command": _command_launch,
}


def vllm_target(spec: str) -> tuple[str, str, str]:
    """What `vllm serve` loads for a model spec, with its version and fingerprint."""
    from sllm.models.fingerprint import folder_digest
    from sllm.models.folders import model_folder
    from sllm.models.spec import parse_spec

    parsed = parse_spec(spec)
    if parsed.options:
        raise UsageError(
            f"--engine vllm takes vLLM's settings as --engine-arg (e.g. --engine-arg=--dtype=bfloat16), "
            f"not as options of the spec '{parsed.text}'"
        )
    if parsed.backend == "registry":
        from sllm.tracking.registry import resolve

        found = resolve(parsed.target)
        if found.description.get("kind") == "adapter":
            raise SllmError(
                f"{parsed.text} is a LoRA adapter: merge it into its base first "
                f"(sllm export {parsed.text} -o DIR), then serve --model hf:DIR"
            )
        return str(found.folder), found.version, f"registry|{found.name}@{found.version}"
    if parsed.backend in ("hf", "vllm"):
        folder = Path(parsed.target).expanduser()
        if not folder.is_dir():  # a hub id: vLLM downloads it
            return parsed.target, f"hub:{parsed.target}", f"hub:{parsed.target}"
    elif parsed.backend in ("default", "gguf"):
        folder = model_folder(spec)
    else:
        raise UsageError(
            f"--engine vllm serves default, hf:, vllm:, gguf: and registry: models, not '{parsed.text}'"
        )
    digest = folder_digest(folder)
    return str(folder), digest, f"weights|{digest}"


def start_engine(settings: EngineSettings, say: Callable[[str], None]) -> tuple[ChildServer, Launch]:
    """Launch the engine on a free loopback port and wait until it is healthy."""
    from sllm.serve.process import free_port

    port = free_port()
    launch = ENGINES[settings.engine](settings, port)
    log = Path(tempfile.mkstemp(prefix=f"sllm-engine-{port}-", suffix=".log")[1])
    child = ChildServer(launch.argv, port, settings.name, launch.api_key, log, settings.env)
    shown = (
        shlex.join(launch.argv).replace(launch.api_key, "***") if launch.api_key else shlex.join(launch.argv)
    )
    say(f"starting the engine: {shown}\n  its output goes to {log}")
    child.start(settings.start_timeout)
    say(f"engine ready: pid {child.pid} on {child.base}")
    card = child.card()
    if launch.version is None:
        launch.version = str(card.get("version") or "unknown")
        launch.fingerprint = str(card.get("fingerprint") or card.get("root") or "")
    return child, launch


def run_gateway(settings: EngineSettings, serve: ServeSettings, host: str, port: int,
                say: Callable[[str], None]) -> None:  # fmt: skip
    """Start the engine, serve the gateway until stopped (SIGTERM, Ctrl-C), then stop the engine."""
    import uvicorn

    # SIGTERM raises SystemExit, so the engine is stopped below: while it starts, and after uvicorn's
    # graceful shutdown, which re-raises the signal it caught (the default action would kill us first)
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    child: ChildServer | None = None
    try:
        _check_free(host, port)  # before an engine that may take minutes to load
        child, launch = start_engine(settings, say)
        version = launch.version or "unknown"
        metrics = ServerMetrics(settings.name)
        metrics.serving(launch.spec, version, launch.fingerprint)
        app = create_gateway_app(child, serve, metrics, version)
        say(
            f"serving {settings.name} ({launch.spec}, version {version}) on http://{host}:{port}/v1 "
            f"through the {settings.engine} engine "
            f"({'API key required' if serve.api_key else 'no API key'}); metrics on /metrics"
        )
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        threading.Thread(
            target=_watch_engine, args=(child, server), name="sllm-engine-watch", daemon=True
        ).start()
        server.run()
        if not child.running():  # the engine died under us: say so, and exit 1 (a supervisor restarts us)
            raise SllmError(f"the engine {child.ended()} while serving{child.tail()}")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child is not None:
            child.stop()


def _check_free(host: str, port: int) -> None:
    """A usage error now if the gateway's address cannot be bound."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _watch_engine(child: ChildServer, server: Any) -> None:
    """Stop serving when the engine process ends: a gateway in front of nothing must not look alive."""
    while not server.should_exit:
        if not child.running():
            server.should_exit = True
            return
        time.sleep(0.5)


def exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM as an exit (status 128 + 15), so `finally` blocks close engines, queues and logs."""
    raise SystemExit(128 + signum)


def create_gateway_app(child: ChildServer, settings: ServeSettings, metrics: ServerMetrics,
                       version: str) -> FastAPI:  # fmt: skip
    """The gateway's routes: its own probes and /metrics, everything else forwarded to the engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.timeout, connect=10)
        limits = httpx.Limits(max_connections=1024, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=child.base, timeout=timeout, limits=limits) as client:
            app.state.client = client
            yield

    app = FastAPI(title="sllm serve (gateway)", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)  # fmt: skip

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        path = request.url.path
        label = path if path in KNOWN_PATHS or path in OPEN_PATHS else "other"
        if settings.api_key is not None and path not in OPEN_PATHS:
            refusal = auth_refusal(request.headers.get("authorization"), settings.api_key)
            if refusal:
                metrics.http.labels(label, "401").inc()
                return error_response(RequestError(401, refusal))
        response = await call_next(request)
        # an engine that names its version per request (another sllm serve) is right; else ours
        response.headers.setdefault("x-sllm-model", settings.model_name)
        response.headers.setdefault("x-sllm-model-version", version)
        metrics.http.labels(label, str(response.status_code)).inc()
        return response

    @app.get("/health")
    async def health(request: Request) -> Response:
        return await _probe(request, child)

    @app.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        ok = (await _probe(request, child)).status_code == 200
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def scrape(request: Request) -> Response:
        engine_text = ""
        try:
            answer = await request.app.state.client.get("/metrics", headers=child.headers, timeout=10)
            if answer.status_code == 200:
                engine_text = answer.text
        except httpx.HTTPError:
            pass  # the engine is down: the gateway's own metrics still answer
        body = merged_exposition(metrics, engine_text)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def forward(request: Request, path: str) -> Response:
        return await _forward(request, child)

    return app


async def _probe(request: Request, child: ChildServer) -> Response:
    """The engine's /health, or 503 when it does not answer."""
    try:
        answer = await request.app.state.client.get("/health", timeout=5)
    except httpx.HTTPError:
        return error_response(RequestError(503, "the engine is not answering"))
    if answer.status_code != 200:
        return error_response(RequestError(503, f"the engine's /health answered {answer.status_code}"))
    return JSONResponse({"status": "ok"})


async def _forward(request: Request, child: ChildServer) -> Response:
    """Send the request to the engine as is (but for its key) and pass its answer back."""
    client: httpx.AsyncClient = request.app.state.client
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED]
    headers += [*child.headers.items(), ("accept-encoding", "identity")]
    target = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    if request.url.query:
        target += "?" + request.url.query
    upstream = client.build_request(request.method, target, headers=headers, content=await request.body())
    try:
        answer = await client.send(upstream, stream=True)
    except httpx.TimeoutException:
        return error_response(RequestError(504, "the engine did not answer in time (--timeout)"))
    except httpx.HTTPError as exc:
        return error_response(RequestError(502, f"the engine is not answering: {type(exc).__name__}"))
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        response: Response = StreamingResponse(_relay(answer), status_code=answer.status_code)
    else:
        try:
            body = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        response = Response(body, status_code=answer.status_code)
    for key, value in answer.headers.multi_items():
        if key.lower() not in NOT_RETURNED:
            response.headers.append(key, value)
    return response


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    """The engine's stream, chunk by chunk as it arrives; a client that leaves closes it upstream."""
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    finally:
        await answer.aclose()


def merged_exposition(metrics: ServerMetrics, engine_text: str) -> bytes:
    """The gateway's HTTP, model-info and process metrics, then every other family of the engine's."""
    own = [f for f in metrics.registry.collect() if f.name.startswith(GATEWAY_FAMILIES)]
    try:
        engine = [
            f for f in text_string_to_metric_families(engine_text) if not f.name.startswith(GATEWAY_FAMILIES)
        ]
    except ValueError:  # not the text format: the gateway's own metrics still answer
        engine = []

    class Both:
        def collect(self) -> list[Any]:
            return own + engine

    return generate_latest(Both())  # type: ignore[arg-type]
