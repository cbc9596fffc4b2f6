"""The Surface page's route: ``POST /api/surface``.

``{"session": id}`` draws the current network of that Train session; without a session (or with
``"settings"`` and no session) a fresh one is started from the Train settings, kept among the
sessions so that the page can train it, and its id is answered.  The options (``params``,
``resolution``, ``arrows``, ``span``, ``path``, ``steps``) are checked here, in the server, and the
job is read from the session under its lock; the computation itself runs in the worker pool,
under its time limit (surface.py).  A bad request answers 400 with one line and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .surface import parameter_names, surface_job, surface_options
from .train_api import Sessions
from .training import SettingsError, TrainSession, settings_of

Ask = Callable[[str, Any], Awaitable["dict[str, Any] | Response"]]


def surface_routes(sessions: Sessions, ask: Ask, read_body: Any) -> list[Route]:
    async def draw(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            if not isinstance(body, dict):
                raise SettingsError("surface: expected a JSON object such as {\"session\": …, \"params\": …}")
            options = surface_options(body)
            key, session = await _session(sessions, body)
            job = await asyncio.to_thread(surface_job, session, options)
            key = key or sessions.add(session)  # a fresh session is kept only once its job is good
        except ValueError as error:
            return JSONResponse({"error": " ".join(str(error).split())}, status_code=400)
        answer = await ask("surface", job)
        if isinstance(answer, Response):
            return answer
        return JSONResponse({**answer, "session": key, "settings": session.settings,
                             "parameters": parameter_names(session)})

    return [Route("/api/surface", draw, methods=["POST"])]


async def _session(sessions: Sessions, body: dict[str, Any]) -> tuple[str | None, TrainSession]:
    """The session the body names and its id, or a fresh one (id None, not kept yet) from its
    settings (the Train defaults if none)."""
    key = body.get("session")
    if key:
        return key, sessions.get(key)
    settings = body.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise SettingsError("surface: settings must be a JSON object of Train settings, e.g. {\"data\": \"moons\"}")
    session = await asyncio.to_thread(TrainSession, settings_of(settings or {}))
    return None, session
