"""The playground's tests talk to a real server over HTTP: one small client for all of them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def post(url: str, path: str, body: object = None, timeout: float = 120) -> tuple[int, dict]:
    """(status, JSON answer) of a POST of ``body`` (JSON, or bytes as they are); a GET when None."""
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get(url: str, path: str, timeout: float = 60) -> tuple[int, bytes]:
    """(status, raw body) of a GET."""
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as response:
        return response.status, response.read()
