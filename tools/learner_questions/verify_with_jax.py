"""Verify tests/learner_questions.json with JAX, independently of matgrad.

For every question, draw random inputs (respecting its constraints), evaluate its formula in
jax.numpy, take ``jax.grad`` with respect to ``wrt`` in float64 and compare it with the claim.
The recorded ``right`` must agree with JAX for every question; the script prints a table and
exits with status 1 if any does not.

A dev tool, not shipped code: the formula syntax (NumPy-like, ``@``, ``.T``) is evaluated with
Python's ``eval`` in a namespace that maps matgrad's function names to jax.numpy ones.

    pip install jax        # CPU
    python tools/learner_questions/verify_with_jax.py [--draws 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "tests" / "learner_questions.json"
TOLERANCE = 1e-8


def _norm(x):
    return jnp.sqrt(jnp.sum(x**2))  # matgrad's norm: Frobenius for a matrix


NAMESPACE = {
    "sum": jnp.sum, "mean": jnp.mean, "log": jnp.log, "exp": jnp.exp, "sqrt": jnp.sqrt, "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "softplus": jax.nn.softplus,
    "softmax": jax.nn.softmax, "log_softmax": jax.nn.log_softmax,
    "inv": jnp.linalg.inv, "det": jnp.linalg.det, "logdet": lambda a: jnp.linalg.slogdet(a)[1],
    "trace": jnp.trace, "norm": _norm, "eye": jnp.eye, "diag": jnp.diag, "abs": jnp.abs,
    "maximum": jnp.maximum, "minimum": jnp.minimum,
}


def parse_shape(text: str) -> tuple[int, ...]:
    return () if text == "scalar" else tuple(int(n) for n in text.split("x"))


def onehot_axis(question: dict, shape: tuple[int, ...]) -> int:
    """The class axis of a one-hot input: the columns when the softmax is taken over axis 0 or
    the input is a column vector, else the rows (the last axis)."""
    if len(shape) == 2 and (shape[1] == 1 or "axis=0" in question["formula"]):
        return 0
    return len(shape) - 1


def well_conditioned(rng: np.random.Generator, n: int) -> np.ndarray:
    """U diag(s) Vᵀ, s in [1, 2], with a positive determinant (log det is defined)."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    if np.linalg.det(u) * np.linalg.det(v) < 0:
        u[:, 0] *= -1
    return (u * rng.uniform(1.0, 2.0, n)) @ v.T


def only_inverted(formula: str, name: str) -> bool:
    """Whether ``name`` appears in the formula only as the direct argument of inv/det/logdet."""
    uses = re.findall(rf"(\w*)\(?\b{re.escape(name)}\b(?!\w)", formula)
    direct = re.findall(rf"\b(inv|det|logdet)\({re.escape(name)}\)", formula)
    return bool(direct) and len(direct) == len(uses)


def draw(question: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    values = {}
    for name, text in question["shapes"].items():
        shape = parse_shape(text)
        kind = question["constraints"].get(name)
        if kind is None and len(shape) == 2 and shape[0] == shape[1] and only_inverted(question["formula"], name):
            kind = "invertible"
        sample = rng.standard_normal(shape)
        if kind == "positive":
            value = np.abs(sample) + 0.1
        elif kind == "binary":
            value = (rng.random(shape) < 0.5).astype(float)
        elif kind == "onehot":
            axis = onehot_axis(question, shape)
            hot = rng.integers(shape[axis], size=shape[1 - axis] if len(shape) == 2 else ())
            value = np.eye(shape[axis])[hot]
            value = value.T if axis == 0 and len(shape) == 2 else value
        elif kind == "symmetric":
            value = (sample + sample.T) / 2
        elif kind == "spd":
            value = sample @ sample.T / shape[0] + np.eye(shape[0])
        elif kind == "invertible":
            value = well_conditioned(rng, shape[0])
        elif kind is None:
            value = sample
        else:
            raise ValueError(f"{question['id']}: unknown constraint {kind!r}")
        values[name] = value
    return values


def identity_for(question: dict) -> jnp.ndarray | None:
    """The ``I`` of a formula: the identity of the (single) size of its square inputs."""
    sizes = {parse_shape(s)[0] for s in question["shapes"].values() if len(parse_shape(s)) == 2
             and parse_shape(s)[0] == parse_shape(s)[1]}
    return jnp.eye(sizes.pop()) if len(sizes) == 1 else None


def evaluate(text: str, question: dict, values: dict) -> jnp.ndarray:
    namespace = dict(NAMESPACE)
    identity = identity_for(question)
    if identity is not None:
        namespace["I"] = identity
    namespace.update(values)
    return eval(text, {"__builtins__": {}}, namespace)  # a dev tool, over our own JSON


def gradient(question: dict, values: dict) -> np.ndarray:
    wrt = question["wrt"]

    def f(x):
        out = evaluate(question["formula"], question, {**values, wrt: x})
        if out.size != 1:
            raise ValueError(f"{question['id']}: the formula gives shape {out.shape}, not a scalar")
        return out.reshape(())

    return np.asarray(jax.grad(f)(jnp.asarray(values[wrt])))


def relative_error(claim: np.ndarray, grad: np.ndarray) -> float:
    return float(np.max(np.abs(claim - grad)) / max(np.max(np.abs(grad)), 1e-300))


def how_wrong(claims: list[np.ndarray], grads: list[np.ndarray]) -> str:
    """A rough independent reading of a wrong claim (not matgrad's diagnosis)."""
    if any(c.shape != g.shape for c, g in zip(claims, grads)):
        if all(c.T.shape == g.shape and relative_error(c.T, g) <= TOLERANCE for c, g in zip(claims, grads)):
            return "layout"
        return f"shape {claims[0].shape} vs {grads[0].shape}"
    if all(c.T.shape == g.shape and relative_error(c.T, g) <= TOLERANCE for c, g in zip(claims, grads)):
        return "transpose"
    if all(relative_error(-c, g) <= TOLERANCE for c, g in zip(claims, grads)):
        return "sign"
    ratios = [float(np.sum(c * g) / np.sum(g * g)) for c, g in zip(claims, grads)]
    if np.allclose(ratios, ratios[0], rtol=1e-9) and all(
            relative_error(c, ratios[0] * g) <= TOLERANCE for c, g in zip(claims, grads)):
        return f"factor {ratios[0]:.6g}"
    return f"differs (rel. error {max(relative_error(c, g) for c, g in zip(claims, grads)):.2g})"


def _compare(question: dict, draws: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    claims, grads = [], []
    for _ in range(draws):
        values = {k: jnp.asarray(v) for k, v in draw(question, rng).items()}
        grads.append(gradient(question, values))
        claims.append(np.asarray(evaluate(question["claim"], question, values), dtype=float))
    return claims, grads


def _right(claims: list[np.ndarray], grads: list[np.ndarray]) -> bool:
    return all(c.shape == g.shape and relative_error(c, g) <= TOLERANCE for c, g in zip(claims, grads))


def symmetric_reading(question: dict, claims: list, grads: list, draws: int, seed: int) -> str | None:
    """'convention' when the claim is G + Gᵀ − diag(G) for the gradient G (the Matrix Cookbook's
    gradient with respect to a symmetric matrix); 'symmetric A, B' when the claim becomes right once
    the square inputs other than wrt (without a constraint) are drawn symmetric, or failing that all
    square inputs, wrt too; else None."""
    if all(c.shape == g.shape and g.ndim == 2 and g.shape[0] == g.shape[1]
           and relative_error(c, g + g.T - np.diag(np.diag(g))) <= TOLERANCE for c, g in zip(claims, grads)):
        return "symmetric convention G + G^T - diag(G)"
    square = [n for n, t in question["shapes"].items() if n not in question["constraints"]
              and len(parse_shape(t)) == 2 and parse_shape(t)[0] == parse_shape(t)[1]]
    others = [n for n in square if n != question["wrt"]]
    for names in (others, square) if others != square else (square,):
        if not names:
            continue
        symmetric = {**question, "constraints": {**question["constraints"], **{n: "symmetric" for n in names}}}
        if _right(*_compare(symmetric, draws, seed + 1)):
            return "right once " + ", ".join(names) + " are drawn symmetric"
    return None


def verify(question: dict, draws: int, seed: int) -> tuple[bool, str]:
    claims, grads = _compare(question, draws, seed)
    if _right(claims, grads):
        return True, f"max rel. error {max(relative_error(c, g) for c, g in zip(claims, grads)):.1e}"
    reading = how_wrong(claims, grads)
    if reading.startswith("differs"):
        reading = symmetric_reading(question, claims, grads, draws, seed) or reading
    return False, reading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    questions = json.loads(QUESTIONS.read_text())
    disagreements = []
    print(f"{'id':34} {'recorded':9} {'jax':6} {'expected kinds':22} jax reading")
    for question in questions:
        right, reading = verify(question, args.draws, args.seed)
        recorded = "right" if question["right"] else "wrong"
        agree = right == question["right"]
        if not agree:
            disagreements.append(question["id"])
        kinds = ",".join(question["expected_kinds"]) or "-"
        print(f"{question['id']:34} {recorded:9} {'right' if right else 'wrong':6} {kinds:22} {reading}"
              + ("" if agree else "   <-- DISAGREES"))
    n_right = sum(q["right"] for q in questions)
    print(f"\n{len(questions)} questions ({n_right} right, {len(questions) - n_right} wrong), "
          f"{args.draws} draws each in float64: JAX agrees with the recorded verdict on "
          f"{len(questions) - len(disagreements)}/{len(questions)}")
    if disagreements:
        print("disagreements: " + ", ".join(disagreements))
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
