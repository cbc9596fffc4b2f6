"""Benchmarks: matgrad and its peers against the floor a NumPy engine can reach, hand-written backprop.

``suite`` lists the frameworks and the workloads (plain data).  Each framework runs in its own
long-lived worker process (``worker``, driven from ``pool``), which imports only that
framework's peer module (``peers/``) and turns a workload into an ``Impl``: ``setup``
(untimed), ``prepare`` (untimed, before every call), ``step`` (timed) and ``outputs`` (what the
correctness check compares with hand NumPy).  ``harness`` checks every framework's first call,
then times them in interleaved rounds; ``report`` and ``plot`` write RESULTS.md and
results.png (LINALG.md and linalg.png: the linear-algebra group alone, ``--only linalg/``).
The peers (PyTorch, JAX, HIPS autograd) are optional, ``pip install ".[bench]"``; one that is
not installed is reported as missing.  Run ``python -m benchmarks --help``.
"""
