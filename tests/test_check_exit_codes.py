"""``matgrad check`` exits 0 (right), 1 (wrong, with a diagnosis) or 2 (could not check, one line
``matgrad check: error: …``), and never prints a traceback: malformed and odd formulas and claims
fed through the command's entry point in-process."""

import random
import re
import sys

import pytest

import matgrad.claim.command as command
from matgrad.cli import main

FORMULAS = [
    "sum(x)", "x", "x.T@A@x", "sum(x", "sum(x))", "", " ", "@", "x@", "sum(x*y)", "log(x)", "sum(log(x))", "1/0",
    "sum(x/0)", "sum(x)**1e308", "exp(exp(exp(sum(x))))", "sum(inv(A))", "det(A)", "logdet(A)", "sum(A@x)",
    "sum(x[5])", "sum(x[0])", "x[0,0]", "sum(x, axis=3)", "max(x)", "sum(relu(x))", "2", "sum(x)*'a'",
    "sum(__import__)", "x.foo", "sum(,x)", "sum(x; y)", "(" * 40 + "sum(x)" + ")" * 40, "sum(x)" + "+sum(x)" * 40,
    "trace(A)", "sum(x)>0", "sum(x>0)", "where(x>0, x, 0)", "sum(softmax(x))", "sum(cholesky(A))",
    "sum(solve(A, x))", "x.T@x", "x@x.T", "sum(I@A)", "sum(I)", "nan", "inf", "lambda: 1", "sum(x)\n+1", "σ(x)",
    "[x]", "sum(x, axis=(0,1))", "sum(x[::-1])", "sum(x[1:0])", "norm(x)", "sum(sqrt(x))", "sum(A**-1)",
    "sum(matrix_power(A, n=-1))", "logsumexp(x)", "x.T@A@x+1", "A@x", "sum(y*log_softmax(x, axis=0))",
    "(" * 3000 + "x" + ")" * 3000, "sum(x) if 1 else 2", "import os", "x.__class__", "sum(x)\x00",
]
CLAIMS = [
    "x", "2*x", "A", "A@x", "x.T", "(x", "x)", "", "0", "nan", "q", "A.T@x", "x@x", "inv(A)", "x[9]", "eye(3)", "I",
    "sum(x)", "x/0", "log(-x)", "'x'", "A+A.T", "2*A@x", "(A+A.T)@x", "diag(x)", "exp(1000*x)", "x > 0", "x, x",
    "x.T@A@x", "outer(x, x)", "ones((3, 1))", "(" * 3000 + "x" + ")" * 3000, "softmax(x, axis=0) - y",
]
SHAPES = [  # of x, A, y: given for the names the formula uses (and, now and then, for one it does not)
    ("3x1", "3x3", "3x1"), ("3x1", "3x3", "3x1"), ("3", "3x3", "3"), ("0x1", "3x3", "3x1"), ("100000x1000", "3x3", "3"),
    ("abc", "3x3", "3x1"), ("1x1", "1x1", "1x1"), ("scalar", "3x3", "scalar"), ("2x3", "3x3", "2x3"),
    ("3x1", "2x2", "3x1"), ("3x1", "3x3", "4x1"),
]
EXTRAS = [[], [], ["--positive", "x"], ["--spd", "A"], ["--onehot", "y"], ["--simplex", "x:5"], ["--draws", "1"],
          ["--tolerance", "nan"], ["--tolerance", "-1"], ["--draws", "0"], ["--symmetric", "x"], ["--seed", "x"],
          ["--onehot", "y:0"], ["--positive", "q"], ["--bogus"], ["--hessian"], ["--jacobian-layout", "denominator"],
          ["--jacobian-layout", "sideways"]]


PAIRS = [  # right answers, each then mutated a character at a time (or left alone)
    ("x.T@A@x", "(A + A.T)@x", dict(x="3x1", A="3x3"), "x"),
    ("sum((A@x - y)**2)", "2*A.T@(A@x - y)", dict(A="3x3", x="3x1", y="3x1"), "x"),
    ("sum(x*x)", "2*x", dict(x="3"), "x"),
    ("logdet(A)", "inv(A)", dict(A="3x3"), "A"),
    ("-sum(y*log_softmax(x, axis=0))", "softmax(x, axis=0) - y", dict(x="4x1", y="4x1"), "x"),
    ("sum(relu(A@x))", "A.T@(A@x > 0)", dict(A="3x3", x="3x1"), "x"),
]
ALPHABET = "xAy()@.T*+-/0123 ,=_[]:'"


def mutated(text, rng):
    at = rng.randrange(len(text) + 1)
    change = rng.choice(["keep", "keep", "delete", "insert", "replace", "swap"])
    if change == "delete":
        return text[:at] + text[at + 1:]
    if change == "insert":
        return text[:at] + rng.choice(ALPHABET) + text[at:]
    if change == "replace":
        return text[:at] + rng.choice(ALPHABET) + text[at + 1:]
    if change == "swap" and at + 1 < len(text):
        return text[:at] + text[at + 1] + text[at] + text[at + 2:]
    return text


def cases(count=200, seed=13):
    rng = random.Random(seed)
    for _ in range(count // 2):
        formula, claim, shapes, wrt = rng.choice(PAIRS)
        shape_args = [part for name, shape in shapes.items() for part in ("--shape", f"{name}={shape}")]
        extra = rng.choice(EXTRAS) if rng.random() < 0.3 else []
        yield ["check", mutated(formula, rng), "--claim", mutated(claim, rng), *shape_args, "--wrt", wrt, *extra]
    for _ in range(count - count // 2):
        formula = rng.choice(FORMULAS)
        used = [name for name in "xAy" if re.search(rf"\b{name}\b", formula) or rng.random() < 0.05]
        shapes = [part for name, shape in zip("xAy", rng.choice(SHAPES)) if name in used
                  for part in ("--shape", f"{name}={shape}")]
        if rng.random() < 0.05:
            shapes += shapes[:2]  # a shape given twice
        yield ["check", formula, "--claim", rng.choice(CLAIMS), *shapes, "--wrt", rng.choice(used or "x"),
               *rng.choice(EXTRAS)]


def run(args, capsys):
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's own refusals
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(code, out, err, args):
    assert code in (0, 1, 2), args
    assert "Traceback" not in out + err, args
    if code == 0:
        assert out.startswith("✓ correct"), args
    elif code == 1:
        assert out.startswith("✗ "), args
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("matgrad"), (args, err)
        assert ": error: " in lines[0] and out == "", (args, err)


def test_fuzzed_formulas_and_claims_exit_0_1_or_2_without_a_traceback(capsys):
    codes = []
    for args in cases():
        code, out, err = run(args, capsys)
        assert_clean(code, out, err, args)
        codes.append(code)
    assert {0, 1, 2} <= set(codes)  # every outcome is reached, not only refusals
    assert codes.count(2) < len(codes)


@pytest.mark.parametrize(
    "formula, claim, shapes, message",
    [
        ("sum(X@w", "X.T", ["X=6x3", "w=3x1"], "syntax error"),
        ("sum(X@w)", "X.T@(1", ["X=6x3", "w=3x1"], "syntax error"),
        ("sum(X@w)", "X.T", ["X=6x3", "w=4x1"], "cannot compute 'X@w'"),
        ("sum(X@w)", "X[9]@w", ["X=6x3", "w=3x1"], "the claim"),  # a claim that cannot be evaluated
    ],
)
def test_could_not_check_is_exit_2(capsys, formula, claim, shapes, message):
    args = ["check", formula, "--claim", claim, *[p for s in shapes for p in ("--shape", s)], "--wrt", "w"]
    code, out, err = run(args, capsys)
    assert_clean(code, out, err, args)
    if code == 2:
        assert message in err


def test_anything_unexpected_is_exit_2_in_one_line(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(command, "run_check", broken)
    code, out, err = run(["check", "sum(x)", "--claim", "1 + 0*x", "--shape", "x=3", "--wrt", "x"], capsys)
    assert code == 2 and out == "" and err == "matgrad check: error: could not check: KeyError: 'a bug'\n"
    monkeypatch.setattr(command, "run_check", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    code, out, err = run(["check", "sum(x)", "--claim", "1 + 0*x", "--shape", "x=3", "--wrt", "x"], capsys)
    assert code == 2 and "out of memory" in err and len(err.splitlines()) == 1


def test_a_derivation_that_fails_leaves_the_verdict_and_exit_1(capsys, monkeypatch):
    from matgrad.claim.api import ClaimReport

    def broken(self):
        raise TypeError("no notation")

    monkeypatch.setattr(ClaimReport, "derivation", property(broken))
    code, out, err = run(["check", "sum(x*x)", "--claim", "x", "--shape", "x=3", "--wrt", "x"], capsys)
    assert code == 1 and out.startswith("✗ the claim is right up to a constant factor")
    assert "(matgrad's derivation is not shown: TypeError: no notation)" in out and err == ""


def test_a_value_error_from_the_check_is_exit_2_not_1(capsys, monkeypatch):
    monkeypatch.setattr(command, "run_check", lambda *a, **k: (_ for _ in ()).throw(ValueError("bad value")))
    code, _, err = run(["check", "sum(x)", "--claim", "1 + 0*x", "--shape", "x=3", "--wrt", "x"], capsys)
    assert code == 2 and err == "matgrad check: error: could not check: bad value\n"


@pytest.mark.parametrize(
    "args",
    [["logdet(A)", "--claim", "2inv(A)", "--shape", "A=3x3", "--wrt", "A"],  # Python warns of '2inv'
     ["sum(x/0)", "--claim", "x", "--shape", "x=3x1", "--wrt", "x", "--positive", "x"]],  # NumPy warns of x/0
)
def test_warnings_do_not_add_lines(capsys, args):
    import warnings

    def shown(message, category, filename, lineno, file=None, line=None):  # as a fresh process shows them
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = shown
        code, _, err = run(["check", *args], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("matgrad check: error: "), err
