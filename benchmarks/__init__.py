"""Benchmarks: matgrad against the floor a NumPy engine can reach, hand-written backprop.

A workload is one measurement (``workload.Workload``): a name and, per framework, an
``Impl`` of three callables, ``setup`` (untimed), ``prepare`` (untimed, before every call)
and ``step`` (timed).  ``harness`` warms each framework up, then times them in interleaved
rounds and keeps medians; ``check`` first asserts that their gradients agree.  Run
``python -m benchmarks --help``.
"""
