"""What the numbers were measured on: CPU, threads, BLAS, the OpenBLAS variables.  Read only.

The parent's own facts; each worker adds its framework's (version, BLAS, threads) when it
starts (``describe()`` of its peer module).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import matgrad

from .pool import OPENBLAS_TUNING, THREAD_VARIABLES


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


def usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


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


def describe(threads: int, unset_openblas: bool, worker_env: dict[str, str]) -> dict[str, str]:
    """Ordered facts, for the report's environment table."""
    facts = {
        "Python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
        "matgrad": f"{matgrad.__version__}, commit {_source_version()}",
        "CPU": _cpu_model(),
        "CPUs": f"{usable_cpus()} usable of {os.cpu_count()}",
        "threads": f"{threads} in every worker: "
        + ", ".join(f"{name}={worker_env.get(name)}" for name in THREAD_VARIABLES)
        + f", XLA_FLAGS=`{worker_env.get('XLA_FLAGS')}` (XLA's pool: one thread per usable CPU), "
        f"torch.set_num_threads({threads})"
        + (f", CPU affinity narrowed to {threads} CPUs" if threads < usable_cpus() else ""),
        "NumPy's BLAS (build)": _blas_build(),
        "NumPy's BLAS (runtime, parent)": _blas_runtime(),
        "load average (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in os.getloadavg())
        if hasattr(os, "getloadavg")
        else "unknown",
    }
    for name in OPENBLAS_TUNING:
        value = os.environ.get(name)
        here = "not set" if value is None else f"set to `{value}`"
        if unset_openblas and value is not None:
            facts[name] = f"{here} here, **unset in every worker** (`--unset-openblas-vars`)"
        elif unset_openblas:
            facts[name] = f"{here} (`--unset-openblas-vars`: unset in every worker)"
        else:
            facts[name] = f"{here}; workers inherit it unchanged"
    malloc = [f"{name}={worker_env[name]}" for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
              if name in worker_env]
    facts["memory"] = (f"reused in every worker ({', '.join(malloc)}: no fresh pages per call)" if malloc
                       else "glibc's defaults: a block of 128 KiB or more gets fresh pages on every allocation")
    return facts
