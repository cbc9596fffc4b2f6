"""``matgrad playground``: a local web app (127.0.0.1) over the engines of ``explain`` and ``check``
(the Derive page), a small training loop (the Train page) and ``plot surface`` (the Surface page).

Needs the ``playground`` extra (``pip install "matgrad[playground]"``: Starlette and uvicorn).
:func:`create_app` builds the app; :func:`running` serves it in a thread while a ``with`` block
runs.  The pages' libraries (KaTeX) are vendored in ``static/``: nothing is fetched at run time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "running"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    from .server import create_app as create

    return create(*args, **kwargs)


def running(*args: Any, **kwargs: Any) -> Any:
    from .server import running as run

    return run(*args, **kwargs)
