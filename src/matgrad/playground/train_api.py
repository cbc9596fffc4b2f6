"""The Train page's routes: sessions kept in the server, each trained by its own background task.

``POST /api/train/new`` (settings) starts a session and answers its id, data and first state;
``POST /api/train/control`` (``{"session", "action": "play" | "pause" | "step", "steps"}``);
``GET /api/train/state?session=…`` the current state (with ``&data=1`` also the session's data and
settings, for a page that takes over a running session: the Surface page links the Train page to
it).  At most MAX_SESSIONS live at once (the least recently used one is dropped); a bad request
answers 400 and changes no session.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .training import SettingsError, TrainSession, settings_of

MAX_SESSIONS = 16
STEPS_PER_TICK = 4  # the background task trains this many minibatches, then yields to the page
TICK_SECONDS = 0.02


class Sessions:
    """Live training sessions by id, least recently used first."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, TrainSession] = OrderedDict()
        self._tasks: dict[str, asyncio.Task] = {}

    def add(self, session: TrainSession) -> str:
        key = secrets.token_urlsafe(12)
        self._sessions[key] = session
        while len(self._sessions) > MAX_SESSIONS:
            old, dropped = self._sessions.popitem(last=False)
            dropped.playing = False
            self._tasks.pop(old, None)
        return key

    def get(self, key: Any) -> TrainSession:
        if not isinstance(key, str) or key not in self._sessions:
            raise SettingsError("train: no such session (the server restarted, or it was dropped for newer ones); "
                                "press Reset to start one")
        self._sessions.move_to_end(key)
        return self._sessions[key]

    def play(self, key: str, session: TrainSession) -> None:
        session.playing = True
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.create_task(_play(session))

    async def close(self) -> None:
        for session in self._sessions.values():
            session.playing = False
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


async def _play(session: TrainSession) -> None:
    """The session's background task: train while it is playing."""
    while session.playing:
        await asyncio.to_thread(session.steps, STEPS_PER_TICK)
        await asyncio.sleep(TICK_SECONDS)


def train_routes(sessions: Sessions, read_body: Any) -> list[Route]:
    async def new(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            settings = settings_of(body if isinstance(body, dict) else {})
            session = await asyncio.to_thread(TrainSession, settings)
        except ValueError as error:
            return _error(error)
        key = sessions.add(session)
        state = await asyncio.to_thread(session.snapshot)
        return JSONResponse({"session": key, "settings": settings, "data": session.points(), "state": state})

    async def control(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            body = body if isinstance(body, dict) else {}
            key, action = body.get("session"), body.get("action")
            session = sessions.get(key)
            if action == "play":
                sessions.play(key, session)
            elif action == "pause":
                session.playing = False
            elif action == "step":
                session.playing = False
                await asyncio.to_thread(session.steps, body.get("steps", 1))
            else:
                raise SettingsError(f"train: action must be play, pause or step, got {str(action)[:20]!r}")
        except ValueError as error:
            return _error(error)
        return JSONResponse({"state": await asyncio.to_thread(session.snapshot)})

    async def state(request: Request) -> Response:
        try:
            session = sessions.get(request.query_params.get("session"))
        except ValueError as error:
            return _error(error, 404)
        answer = {"state": await asyncio.to_thread(session.snapshot)}
        if request.query_params.get("data") == "1":
            answer.update(data=session.points(), settings=session.settings)
        return JSONResponse(answer)

    return [
        Route("/api/train/new", new, methods=["POST"]),
        Route("/api/train/control", control, methods=["POST"]),
        Route("/api/train/state", state),
    ]


def _error(error: Exception, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(error).split())}, status_code=status)
