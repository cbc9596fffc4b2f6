"""A pytest plugin (ours) for the port: one JSON record per test and per collection error.

Loaded with ``-p _port_report``; writes ``$AUTOGRAD_PORT_RESULTS`` (a JSON list) at the end of
the session.  Each record keeps what ``port.py`` needs to classify a failure: the exception's
class and its bases, its message (with notes) and the files of the innermost traceback frames.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

_RECORDS: list[dict[str, Any]] = []


def _exception(excinfo: Any) -> dict[str, Any]:
    error = excinfo.value
    notes = getattr(error, "__notes__", None) or []
    frames = []
    for entry in excinfo.traceback:
        frames.append(f"{entry.path}:{entry.lineno + 1}:{entry.name}")
    chain = []
    cause = error.__cause__ or error.__context__
    while cause is not None and len(chain) < 3:
        chain.append(f"{type(cause).__name__}: {str(cause)[:500]}")
        cause = cause.__cause__ or cause.__context__
    return {
        "type": type(error).__name__,
        "mro": [cls.__name__ for cls in type(error).__mro__],
        "message": "\n".join([str(error)[:4000], *notes]),
        "frames": frames[-12:],
        "chain": chain,
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        record = {"nodeid": item.nodeid, "file": item.nodeid.split("::")[0], "outcome": report.outcome,
                  "when": report.when}
        if report.failed and call.excinfo is not None:
            record.update(_exception(call.excinfo))
        _RECORDS.append(record)


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        record = {"nodeid": report.nodeid, "file": report.nodeid.split("::")[0], "outcome": "failed",
                  "when": "collect", "type": "CollectionError", "mro": ["CollectionError"],
                  "message": str(report.longrepr)[-4000:], "frames": [], "chain": []}
        _RECORDS.append(record)


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    path = os.environ.get("AUTOGRAD_PORT_RESULTS")
    if path:
        with open(path, "w") as handle:
            json.dump(_RECORDS, handle, indent=1)
