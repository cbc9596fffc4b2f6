"""The playground's web app (Starlette) and a way to serve it on 127.0.0.1 (uvicorn).

Routes: ``/`` the Derive page, ``/train`` the Train page (its API in train_api.py), ``/surface`` the
Surface page (``POST /api/surface``, in surface_api.py: computed in the worker pool), ``/static/…``
their files (KaTeX vendored: nothing is fetched at run time), ``POST /api/derive`` and
``POST /api/check`` (JSON in, JSON out; bad input is a 400 whose ``error`` is one line),
``GET /api/health``.  The Derive and Surface engines run in a :class:`WorkerPool`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .pool import BusyError, TimeLimitError, WorkerPool
from .surface_api import surface_routes
from .train_api import Sessions, train_routes

STATIC = Path(__file__).parent / "static"
#: The largest request body read: a question is a few formulas, far below this.
MAX_BODY_BYTES = 16_384
#: Requests uvicorn serves at once before it answers 503 itself (a bound below the worker pool's).
MAX_CONNECTIONS = 512


def create_app(workers: int = 2, time_limit: float = 10.0, max_waiting: int = 256) -> Starlette:
    """The playground app; its worker processes start with the app (lifespan) and stop with it."""
    pool = WorkerPool(workers, time_limit, max_waiting)
    sessions = Sessions()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await sessions.close()
            await pool.close()

    def page(name: str) -> Any:
        async def serve(request: Request) -> Response:
            return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

        return serve

    async def health(request: Request) -> Response:
        counts = {"workers": pool.size, "running": pool.running, "waiting": pool.waiting, "replaced": pool.replaced}
        return JSONResponse({"ok": True, **counts})

    def endpoint(task: str) -> Any:
        async def handle(request: Request) -> Response:
            return await _answer(pool, task, request)

        return handle

    routes = [
        Route("/", page("derive.html")),
        Route("/derive", page("derive.html")),
        Route("/train", page("train.html")),
        Route("/surface", page("surface.html")),
        Route("/api/health", health),
        Route("/api/derive", endpoint("derive"), methods=["POST"]),
        Route("/api/check", endpoint("check"), methods=["POST"]),
        *train_routes(sessions, _body),
        *surface_routes(sessions, lambda task, job: _ask(pool, task, job), _body),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.pool = pool
    app.state.sessions = sessions
    return app


async def _answer(pool: WorkerPool, task: str, request: Request) -> Response:
    """The worker's answer as JSON: 200 with ``result``, else an ``error`` line and a status that says why."""
    body = await _body(request)
    if isinstance(body, Response):
        return body
    answer = await _ask(pool, task, body)
    return answer if isinstance(answer, Response) else JSONResponse(answer)


HINTS = {"surface": "use a smaller grid, fewer descent steps or a smaller network"}


async def _ask(pool: WorkerPool, task: str, question: Any) -> dict[str, Any] | Response:
    """The worker's answer (``{"result": …}``), or the error response that says why there is none."""
    try:
        answer = await pool.run(task, question)
    except BusyError:
        return _error(503, f"{task}: the playground is busy ({pool.max_waiting} questions waiting); try again")
    except TimeLimitError:
        hint = HINTS.get(task, "use smaller shapes or a shorter formula")
        return _error(504, f"{task}: stopped after the time limit of {pool.time_limit:g} s; {hint}")
    if "error" in answer:
        return _error(400, answer["error"])
    return answer


async def _body(request: Request) -> Any:
    """The request's JSON, or a 400/413 response saying what is wrong with it."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return _error(413, f"the request is larger than the cap of {MAX_BODY_BYTES:,} bytes; send a shorter formula")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"the request is larger than the cap of {MAX_BODY_BYTES:,} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _error(400, "the request is not JSON; send {\"formula\": …, \"shapes\": …}")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def free_socket(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1 (never another interface) on ``port``, 0 for a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        raise OSError(f"playground: cannot listen on 127.0.0.1:{port} ({error.strerror}); choose another --port "
                      "or 0 for a free one") from None
    return sock


def make_server(app: Starlette, sock: socket.socket) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    server.playground_socket = sock  # type: ignore[attr-defined]
    return server


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"


@contextlib.contextmanager
def running(app: Starlette, port: int = 0, start_timeout: float = 60.0) -> Iterator[str]:
    """Serve ``app`` in a background thread while the block runs; yields its URL (tests, notebooks)."""
    sock = free_socket(port)
    server = make_server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        if not server.started:
            raise RuntimeError(f"playground: the server did not start within {start_timeout:g} s")
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
