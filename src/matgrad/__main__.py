"""``matgrad demo``: a small sigmoid network's gradient, by the engine and by the δ equations.

The network in column layout, ``z¹ = W¹x + b¹, a¹ = σ(z¹), z² = W²a¹ + b²,
a² = σ(z²), C = ½‖a² − y‖²``, differentiated by matgrad's reverse mode, compared with the
hand-derived ``δ² = (a² − y) ⊙ σ'(z²)``, ``∂C/∂W² = δ² (a¹)ᵀ``, ``δ¹ = ((W²)ᵀδ²) ⊙ σ'(z¹)``,
``∂C/∂W¹ = δ¹ xᵀ``, and checked against central differences.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

import matgrad as mg


def seed_network_cost(W1, b1, W2, b2, x, y):
    a1 = mg.sigmoid(W1 @ x + b1)
    a2 = mg.sigmoid(W2 @ a1 + b2)
    return 0.5 * ((a2 - y) ** 2).sum()


def delta_equations(W1, b1, W2, b2, x, y):
    """Backpropagation by the δ equations (column layout), written by hand with NumPy."""
    z1 = W1 @ x + b1
    a1 = 1 / (1 + np.exp(-z1))
    z2 = W2 @ a1 + b2
    a2 = 1 / (1 + np.exp(-z2))
    delta2 = (a2 - y) * a2 * (1 - a2)
    delta1 = (W2.T @ delta2) * a1 * (1 - a1)
    return delta1 @ x.T, delta1, delta2 @ a1.T, delta2


def demo(sizes: Sequence[int] = (4, 3, 2), seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    params = [
        rng.standard_normal((n_hidden, n_in)),
        rng.standard_normal((n_hidden, 1)),
        rng.standard_normal((n_out, n_hidden)),
        rng.standard_normal((n_out, 1)),
    ]
    x, y = rng.standard_normal((n_in, 1)), rng.uniform(size=(n_out, 1))
    names = ["W¹", "b¹", "W²", "b²"]
    grads = mg.grad(seed_network_cost, argnums=(0, 1, 2, 3))(*params, x, y)
    by_hand = delta_equations(*params, x, y)
    np.set_printoptions(precision=5, suppress=True)
    print(f"Sigmoid network {n_in}-{n_hidden}-{n_out}, column layout: z = Wx + b, a = σ(z), C = ½‖a² − y‖²")
    print(f"C = {float(seed_network_cost(*params, x, y)):.6f}\n")
    worst = 0.0
    for name, g, h in zip(names, grads, by_hand):
        error = float(np.abs(g - h).max())
        worst = max(worst, error)
        print(f"∂C/∂{name} {g.shape} by matgrad (max |difference| to the δ equations: {error:.1e})")
        print(g, "\n")
    report = mg.gradcheck(lambda *p: seed_network_cost(*p, x, y), params, names=names, raise_exception=False)
    print(report)
    return 0 if report.ok and worst < 1e-12 else 1


def demo_command(args: argparse.Namespace) -> int:
    """``matgrad demo``: a small sigmoid network's gradient by matgrad and by the δ equations
    (exit status 0 when they agree and the gradcheck passes, 1 otherwise)."""
    sizes = args.sizes
    if isinstance(sizes, str):  # a Namespace built by hand; the parser gives a checked list
        try:
            sizes = [int(s) for s in sizes.split(",")]
        except ValueError:
            sizes = []
    if len(sizes) != 3 or min(sizes) < 1:
        print(f"matgrad demo: error: --sizes needs three positive sizes like 4,3,2, got {args.sizes!r}",
              file=sys.stderr)
        return 2
    return demo(sizes, args.seed)


if __name__ == "__main__":
    from .cli import main

    raise SystemExit(main())
