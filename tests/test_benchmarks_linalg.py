"""The linear-algebra benchmark workloads compute what they say, on tiny matrices (no timing here).

Only hand NumPy's and matgrad's implementations run: the other peers import torch, jax or autograd,
which CI does not install, and are imported only inside a benchmark worker.  Hand NumPy's closed
forms are checked against central differences; matgrad (eager and compiled) against hand NumPy
with the harness's own comparison.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.check import mismatch  # noqa: E402
from benchmarks.peers import matgrad_compiled, matgrad_engine, numpy_hand  # noqa: E402
from benchmarks.problems import LINALG_FUNCTIONS, linalg_arrays  # noqa: E402
from benchmarks.suite import BY_KEY, LINALG, QUICK_KEYS, SPECS  # noqa: E402
from benchmarks.workload import Spec  # noqa: E402

FUNCTIONS = sorted(LINALG_FUNCTIONS)


def tiny(fn: str, n: int = 5) -> Spec:
    return Spec(f"linalg/{fn}/n{n}", LINALG, fn, "linalg", args={"fn": fn, "n": n})


def run(peer, spec: Spec) -> dict[str, np.ndarray]:
    impl = peer.build(spec)
    state = impl.setup()
    impl.step(state)  # a second call from the same state must give the same outputs (compiled: the replay)
    return impl.outputs(state, impl.step(state))


def test_the_suite_has_every_function_at_64_and_512_and_quick_runs_64():
    keys = {s.key for s in SPECS if s.group == LINALG}
    assert keys == {f"linalg/{fn}/n{n}" for fn in FUNCTIONS for n in (64, 512)}
    assert {k for k in QUICK_KEYS if k.startswith("linalg/")} == {f"linalg/{fn}/n64" for fn in FUNCTIONS}
    assert all(BY_KEY[k].kind == "linalg" for k in keys)


def test_arrays_are_float64_fresh_and_well_conditioned():
    for fn in FUNCTIONS:
        inputs, constants = linalg_arrays(fn, 6)
        again, _ = linalg_arrays(fn, 6)
        assert all(a.dtype == np.float64 for a in [*inputs, *constants])
        assert all(np.array_equal(a, b) and a is not b for a, b in zip(inputs, again))
    (X,), _ = linalg_arrays("logdet", 64)
    assert np.array_equal(X, X.T) and np.linalg.eigvalsh(X).min() > 0.9
    for fn in ("inv", "solve"):
        A = linalg_arrays(fn, 64)[0][0]
        assert np.linalg.cond(A) < 10


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_hand_numpy_gradients_match_central_differences(fn):
    inputs, constants = linalg_arrays(fn, 4)
    f = numpy_hand.LINALG[fn]
    _, grads = f(*inputs, *constants)
    h = 1e-6
    for k, (x, grad) in enumerate(zip(inputs, grads)):
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            moved = [a.copy() for a in inputs]
            moved[k][index] += h
            up = f(*moved, *constants)[0]
            moved[k][index] -= 2 * h
            numeric[index] = (up - f(*moved, *constants)[0]) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("peer", [matgrad_engine, matgrad_compiled], ids=["eager", "compiled"])
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_matgrad_agrees_with_hand_numpy(fn, peer):
    spec = tiny(fn)
    want, got = run(numpy_hand, spec), run(peer, spec)
    assert sorted(want) == sorted(["value", *(f"d{name}" for name in LINALG_FUNCTIONS[fn][1])])
    assert mismatch(got, want) is None
    assert all(got[k].dtype == np.float64 for k in got)


def test_the_check_catches_a_transposed_gradient():
    want = run(numpy_hand, tiny("inv"))
    wrong = {**want, "dX": want["dX"].T}
    assert mismatch(wrong, want) is not None


def test_the_harness_and_these_peers_import_no_optional_framework():
    code = (
        "import sys, benchmarks.__main__, benchmarks.worker, benchmarks.peers.numpy_hand, "
        "benchmarks.peers.matgrad_engine, benchmarks.peers.matgrad_compiled; "
        "print(sorted({'torch', 'jax', 'autograd', 'matplotlib'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
