"""Closed-form Hessians against the sweep and against JAX: ``python -m benchmarks.symbolic_hessian``.

Laue, Mitterreiter and Giesen (NeurIPS 2018) evaluate a Hessian's closed form once instead of n
Hessian-vector products.  Two problems, n variables each:

- ``xᵀAx``: A an n×n matrix (not symmetric); the Hessian is ``A + Aᵀ``;
- logistic regression, ``mean(softplus(−y ⊙ X w))`` with X m×n (m = n examples), y = ±1; the
  Hessian is ``Xᵀ diag(y² ⊙ σ'(−y ⊙ X w) / m) X``.

Timed side by side in one run: ``hessian_symbolic`` from its second call on (the derivation is
cached), ``mg.hessian`` (reverse over reverse, the sweep) and, when JAX is installed, ``jax.jit``
of ``jax.hessian`` in float64 (after its compiling call; every call ends in ``block_until_ready``).
Each time is the median of a few calls; all three Hessians are compared before timing.

What bounds the speed-up: for xᵀAx the closed form costs n² additions against the n³ of n
Hessian-vector products (each one a product with A), so the ratio grows with n.  For the logistic
loss the dense n×n Hessian itself costs m n² multiply-adds, halved to m n²/2 by the symmetric
product ``Yᵀ Y`` with ``Y = diag(√s) X``, while forward-over-reverse (JAX) or reverse-over-reverse
(mg.hessian) over all n directions costs about 2 m n² (``X V`` and ``Xᵀ (…)``): a ratio of about 4
at best, whatever the size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import matgrad as mg
from matgrad.explain.hessian import hessian_symbolic


def quadratic_form(x: Any, A: Any) -> Any:
    return x @ A @ x


def logistic_loss(w: Any, X: Any, y: Any) -> Any:
    return mg.softplus(-y * (X @ w)).mean()


def problems(n: int, rng: np.random.Generator) -> dict[str, tuple[Callable, tuple]]:
    X = rng.standard_normal((n, n)) / np.sqrt(n)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return {
        "xᵀAx": (quadratic_form, (rng.standard_normal(n), rng.standard_normal((n, n)))),
        "logistic": (logistic_loss, (rng.standard_normal(n), X, y)),
    }


def jax_functions() -> dict[str, Callable] | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def quadratic(x: Any, A: Any) -> Any:
        return x @ A @ x

    def logistic(w: Any, X: Any, y: Any) -> Any:
        return jnp.mean(jax.nn.softplus(-y * (X @ w)))

    return {"xᵀAx": jax.jit(jax.hessian(quadratic)), "logistic": jax.jit(jax.hessian(logistic))}


def median_seconds(call: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(n: int, repeats: int, rng: np.random.Generator, jax_hessians: dict | None) -> list[dict]:
    rows = []
    for name, (f, args) in problems(n, rng).items():
        symbolic = hessian_symbolic(f)
        reference = symbolic(*args)  # derives, checks and caches the closed form
        sweep = mg.hessian(f)
        error = float(np.max(np.abs(np.asarray(sweep(*args)) - reference)))
        row = {"problem": name, "n": n, "sweep_error": error,
               "symbolic": median_seconds(lambda: symbolic(*args), repeats),  # noqa: B023
               "sweep": median_seconds(lambda: sweep(*args), max(1, repeats // 3))}  # noqa: B023
        if jax_hessians is not None:
            jitted = jax_hessians[name]
            jax_args = tuple(np.asarray(a) for a in args)
            compiled = np.asarray(jitted(*jax_args).block_until_ready())  # compiles
            row["jax_error"] = float(np.max(np.abs(compiled - reference)))
            row["jax"] = median_seconds(lambda: jitted(*jax_args).block_until_ready(), repeats)  # noqa: B023
        rows.append(row)
    return rows


def report(rows: list[dict]) -> str:
    jax = all("jax" in row for row in rows)
    head = f"{'problem':10} {'n':>6} {'symbolic':>11} {'mg.hessian':>11} {'speed-up':>9}"
    head += f" {'jax.jit':>11} {'vs jax':>8}" if jax else "   (jax not installed)"
    lines = [head, "-" * len(head)]
    for row in rows:
        text = (f"{row['problem']:10} {row['n']:>6} {row['symbolic'] * 1e3:>9.3f}ms {row['sweep'] * 1e3:>9.2f}ms "
                f"{row['sweep'] / row['symbolic']:>8.1f}×")
        if jax:
            text += f" {row['jax'] * 1e3:>9.3f}ms {row['jax'] / row['symbolic']:>7.1f}×"
        lines.append(text)
    worst = max(max(row["sweep_error"], row.get("jax_error", 0.0)) for row in rows)
    lines.append(f"largest difference between the Hessians compared: {worst:.1e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="numbers of variables n")
    parser.add_argument("--repeats", type=int, default=9, help="timed calls per entry (the median is reported)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    jax_hessians = jax_functions()
    rows = [row for n in args.sizes for row in measure(n, args.repeats, rng, jax_hessians)]
    print(report(rows))


if __name__ == "__main__":
    main()
