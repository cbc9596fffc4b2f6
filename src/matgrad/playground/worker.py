"""A playground worker process: ``python -m matgrad.playground.worker``.

It reads one question per line on standard input (JSON: ``{"task": …, "request": …}``) and writes
one answer per line (JSON) on its standard output; it ends when its input closes.  The server
starts a few of these (see pool.py) and kills one that overruns its time limit.  JSON both
ways, never pickle: a worker trusts nothing it reads.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # anything the engine prints stays off the answers' channel
    from .engine import answer

    answers.write('"ready"\n')
    answers.flush()
    for line in sys.stdin:
        try:
            message = json.loads(line)
            reply = answer(str(message["task"]), message["request"])
        except (ValueError, KeyError, TypeError) as error:
            reply = {"error": f"playground worker: a malformed message ({type(error).__name__})"}
        try:
            text = json.dumps(reply, allow_nan=False, default=str)
        except ValueError:  # a NaN the engine let through: say so rather than write what JSON cannot read
            text = json.dumps({"error": "playground worker: the answer held a number JSON cannot carry (NaN)"})
        answers.write(text + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
