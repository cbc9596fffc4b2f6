"""What the numbers were measured on: versions, BLAS, threads, CPU.  Read only, never set."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import matgrad

WATCHED_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _source_version() -> str:
    """The git commit of the matgrad being measured, and whether its sources were edited."""
    source = Path(matgrad.__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=source, capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD")
        edited = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git unavailable)"
    if not commit:
        return "unknown (not a git checkout)"
    return f"{commit}{' + uncommitted changes' if edited else ''}"


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _usable_cpus() -> str:
    total = os.cpu_count()
    affinity = getattr(os, "sched_getaffinity", None)
    usable = len(affinity(0)) if affinity else total
    return f"{usable} usable of {total}"


def _blas_runtime() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return "no BLAS found by threadpoolctl"
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
        f"{p.get('threading_layer')}), {p.get('num_threads')} threads"
        for p in pools
    )


def _blas_build() -> str:
    try:
        config: Any = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # the layout of show_config is not a stable API
        return "unknown"


def describe() -> dict[str, str]:
    """Ordered facts, for the report's environment table."""
    facts = {
        "Python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
        "NumPy": np.__version__,
        "matgrad": f"{matgrad.__version__}, commit {_source_version()}",
        "BLAS (build)": _blas_build(),
        "BLAS (runtime)": _blas_runtime(),
        "CPU": _cpu_model(),
        "CPUs": _usable_cpus(),
        "load average (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in os.getloadavg())
        if hasattr(os, "getloadavg")
        else "unknown",
    }
    for name in WATCHED_VARIABLES:
        facts[name] = os.environ.get(name, "not set")
    return facts
