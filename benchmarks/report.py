"""The results as Markdown: ratio tables per group, compile times, spread, environment, method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import second_order
from .check import ATOL_SCALE, RTOL
from .harness import FAILED, MISSING, NOISY, NOT_APPLICABLE, OK, Row, Settings
from .suite import BY_NAME, GROUPS, REFERENCE, SHORT


@dataclass(frozen=True)
class RunInfo:
    command: str
    settings: Settings
    seconds: float
    frameworks: list[str]  # column order, the reference first
    environment: dict[str, str]
    framework_facts: dict[str, dict[str, str]]
    missing: dict[str, str]
    date: str = ""  # when the run ended, UTC


def _label(framework: str) -> str:
    return BY_NAME[framework].label


def _short(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


def duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def _row_name(row: Row) -> str:
    return f"{SHORT[row.spec.group]}: {row.spec.name}"


def _cell(row: Row, framework: str, footnotes: dict[str, int]) -> str:
    """The cell's text; a note or a failure becomes a numbered footnote (the same note, one number)."""
    cell = row.cells.get(framework)
    if cell is None:
        return ""

    def footnote(text: str) -> str:
        key = " ".join(text.split())
        number = footnotes.setdefault(key, len(footnotes) + 1)
        return f" [{number}]"

    if cell.status == OK and cell.samples:
        ratio = row.ratio(framework)
        text = (
            duration(cell.median())
            if framework == REFERENCE or ratio is None
            else (f"**{ratio:.2f}×** · {duration(cell.median())}")
        )
        return text + (footnote(f"{_label(framework)}: {cell.note}") if cell.note else "")
    if cell.status == FAILED:
        return "**FAILED**" + footnote(f"{_label(framework)}, {row.spec.name}: FAILED: {cell.why}")
    if cell.status == NOT_APPLICABLE:
        return "n/a" + (footnote(f"{_label(framework)}: n/a: {cell.why}") if cell.why else "")
    if cell.status == MISSING:
        return "missing"
    return cell.status


def _group_table(group: str, rows: Sequence[Row], frameworks: list[str]) -> list[str]:
    others = [f for f in frameworks if f != REFERENCE]
    head = ["workload", *(_label(f) for f in others), _label(REFERENCE)]
    lines = [f"### {group}", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    footnotes: dict[str, int] = {}
    noisy = False
    for row in rows:
        cells = [_cell(row, f, footnotes) for f in [*others, REFERENCE]]
        mark = " †" if row.noisy else ""
        noisy = noisy or bool(mark)
        lines.append("| " + " | ".join([row.spec.name + mark, *cells]) + " |")
    lines.append("")
    if noisy:
        lines += [
            f"† other processes took more than {NOISY:.0%} of the CPUs while this row ran, in every attempt "
            "(see Spread).",
            "",
        ]
    if footnotes:
        lines += [f"[{number}] {text}  " for text, number in footnotes.items()] + [""]
    return lines


def _compile_table(rows: Sequence[Row], frameworks: list[str]) -> list[str]:
    compiled = [f for f in frameworks if BY_NAME[f].compiled]
    if not compiled:
        return []
    head = ["workload", *(f"{_label(f)}: first call / timed median" for f in compiled)]
    lines = [
        "### First calls: compile time, excluded from the timings above",
        "",
        "The first call of each workload (setup excluded) includes tracing and compiling; it is "
        "also the call whose outputs were checked. Caches on disk (inductor's) make a second run "
        "of the harness compile faster.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    for row in rows:
        entries = []
        for f in compiled:
            cell = row.cells.get(f)
            if cell is None or cell.first_call is None:
                entries.append(cell.status if cell is not None else "")
            else:
                steady = duration(cell.median()) if cell.samples else "—"
                entries.append(f"{duration(cell.first_call)} / {steady}")
        if any(e not in ("", NOT_APPLICABLE, MISSING) for e in entries):
            lines.append("| " + " | ".join([_row_name(row), *entries]) + " |")
    return [*lines, ""] if len(lines) > 6 else []


def _spread_table(rows: Sequence[Row], frameworks: list[str]) -> list[str]:
    head = ["workload", *(_label(f) for f in frameworks), "others' CPU"]
    lines = [
        "### Spread: interquartile range / median of the samples (calls per sample; longest idle wait)",
        "",
        "After each sample a worker waits, untimed, until its other threads sleep (OpenBLAS's spin for "
        "~0.1 s after a call), so that it does not slow down the next worker; the longest such wait is shown. "
        "Others' CPU: the share of the machine's CPU time that processes other than the harness used while the "
        "row ran (from /proc/stat); a busy neighbour makes every framework slower, the ratios less so. A full "
        "run measures such a row once more at the end and keeps the run with less other load.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    for row in rows:
        entries = []
        for f in frameworks:
            cell = row.cells.get(f)
            ok = cell is not None and cell.status == OK and cell.samples
            entries.append(f"{cell.spread():.0%} ({cell.inner}; {cell.settle * 1e3:.0f} ms)" if ok else "")
        share = "?" if row.others_cpu is None else f"{row.others_cpu:.0%}"
        entries.append(share + (f" (best of {row.attempts} runs)" if row.attempts > 1 else ""))
        lines.append("| " + " | ".join([_row_name(row), *entries]) + " |")
    return [*lines, ""]


def _frameworks_table(info: RunInfo) -> list[str]:
    lines = ["### Frameworks", "", "| framework | version | BLAS and threads, in its worker |", "| --- | --- | --- |"]
    for f in info.frameworks:
        if f in info.missing:
            lines.append(f"| {_label(f)} | **missing**: {info.missing[f]} | |")
            continue
        facts = info.framework_facts.get(f, {})
        lines.append(f"| {_label(f)} | {facts.get('version', '?')} | {facts.get('threads', '?')} |")
    return [*lines, ""]


#: Issue #5's speed targets for a full step, as ratios to hand NumPy
STEP_KEYS = ("step/784-30-10/b10", "step/784-30-10/b128", "step/784-30-10/b1024", "step/784-1024-1024-10/b256")
EAGER_BOUNDS = dict(zip(STEP_KEYS, (1.5, 1.15, 1.05, 1.05)))


def _target_rows(by_key: dict[str, Row]) -> list[tuple[str, str, float | None, str]]:
    """(target, workload, measured, verdict) for every target the run has the numbers for."""
    checks: list[tuple[str, str, float | None, float | None]] = []  # target, key, measured, bound
    for key in STEP_KEYS:
        row = by_key.get(key)
        if row is None:
            continue
        eager, bound = row.ratio("matgrad"), EAGER_BOUNDS[key]
        checks.append((f"matgrad eager ≤ {bound}× hand NumPy", key, eager, bound))
        for peer in ("torch", "autograd"):
            checks.append((f"matgrad eager faster than {_label(peer)}", key, eager, row.ratio(peer)))
        if key.endswith("/b10"):
            checks.append(("matgrad compiled ≤ 1.1× hand NumPy", key, row.ratio("matgrad.compile"), 1.1))
        jax = row.ratio("jax")
        checks.append(("matgrad compiled at least as fast as JAX (jit)", key, row.ratio("matgrad.compile"), jax))
    out = []
    for target, key, measured, bound in checks:
        if measured is None or bound is None:
            verdict = "not measured (a framework is missing from this run)"
        else:
            verdict = "met" if measured <= bound else "NOT met"
            target = f"{target} ({bound:.2f}×)" if "≤" not in target else target
        out.append((target, by_key[key].spec.name, measured, verdict))
    return out


def _targets_table(rows: Sequence[Row]) -> list[str]:
    found = _target_rows({r.spec.key: r for r in rows})
    if not found:
        return []
    lines = [
        "### Targets (issue #5), full step",
        "",
        "Ratios to hand NumPy from the table above; a peer's ratio is the bound where it is named. The JAX target is "
        "set for OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (see Environment for this run).",
        "",
        "| target | workload | measured | |",
        "| --- | --- | --- | --- |",
    ]
    for target, workload, measured, verdict in found:
        lines.append(f"| {target} | {workload} | {'—' if measured is None else f'{measured:.2f}×'} | {verdict} |")
    return [*lines, ""]


def markdown(rows: Sequence[Row], info: RunInfo) -> str:
    s = info.settings
    failed = sum(c.status == FAILED for r in rows for c in r.cells.values())
    lines = [
        "# matgrad benchmarks",
        "",
        f"`{info.command}`: {len(rows)} workload{'s' * (len(rows) != 1)}, {s.rounds} interleaved rounds, "
        f"~{s.sample_seconds * 1e3:g} ms of timed calls per sample, {info.seconds:.0f} s in all"
        + (f", ended {info.date}" if info.date else "")
        + f"; {failed} FAILED cell{'s' * (failed != 1)}.",
        "Each framework ran in its own worker process. Cells: **time ratio to hand-written NumPy backprop** "
        "(1.00× is that floor; lower is better; the median over rounds of the ratio within a round) · median "
        "time per call. n/a: the framework has no such call; missing: not installed.",
        "",
    ]
    for group in GROUPS:
        group_rows = [r for r in rows if r.spec.group == group]
        if group_rows:
            lines += _group_table(group, group_rows, info.frameworks)
    lines += _targets_table(rows)
    lines += _compile_table(rows, info.frameworks)
    lines += _spread_table(rows, info.frameworks)
    lines += _frameworks_table(info)
    lines += ["### Environment", "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in info.environment.items()]
    lines += ["", "### Method", "", *METHOD.format(rtol=_short(RTOL), atol=_short(ATOL_SCALE)).splitlines(), ""]
    if any(r.spec.group == second_order.GROUP for r in rows):
        lines[-1:-1] = second_order.METHOD.splitlines()
    return "\n".join(lines)


METHOD = """\
- float32 throughout (the linear-algebra rows: float64); batch-first rows, `Z = A W + b`; weights N(0, 1/n_in), \
inputs uniform [0, 1); every \
framework starts from the same arrays (same seed).
- 784-30-10 σ/MSE (Nielsen's network): `C = ½ Σ ‖σ(Z2) − Y‖²` **summed** over the batch, SGD step 0.01 / batch; hand \
backward `δ2 = (A2 − Y) ⊙ A2(1 − A2)`, `∂W2 = A1ᵀ δ2`, `∂b2 = Σ_rows δ2`, `δ1 = (δ2 W2ᵀ) ⊙ A1(1 − A1)`, \
`∂W1 = Xᵀ δ1`. 784-1024-1024-10 ReLU: softmax cross-entropy **averaged** over the batch, step 0.01; hand \
`δ3 = (softmax(Z3) − onehot) / N`, `δ_{{l−1}} = (δ_l W_lᵀ) ⊙ 𝟙[A_{{l−1}} > 0]`.
- Full step: forward, backward and the update in place (`p -= lr * grad`; PyTorch `p.sub_(p.grad, alpha=lr)` \
under `no_grad`; JAX returns new parameters from one jitted function with the old buffers donated). \
torch.compile wraps the whole step function (Dynamo breaks the graph at `backward()`).
- Backward only: the forward pass (and resetting `.grad`) runs untimed before every timed call; each call is \
timed alone and the clock's own cost subtracted. HIPS autograd: the forward is `make_vjp`, the timed call \
`vjp(1.0)`.
- Transforms: `jacrev` of `tanh(W x)`, 100 → 100, and `hessian` of `Σ tanh(W x)`, 50 inputs, both with respect \
to `x` with `W` passed as an argument; hand NumPy writes `diag(1 − t²) W` and `Wᵀ diag(−2t(1 − t²)) W`. \
Per-example gradients of the 784-30-10 network at batch 128: hand NumPy batches the δ equations \
(`∂W_n = a_n ⊗ δ_n`); JAX `jit(vmap(grad))`, PyTorch `torch.func.vmap(grad)`; matgrad `mg.per_example_grad` (one \
recorded batch, each weight's VJP kept per row where it meets the batch); HIPS autograd has no vmap and loops over \
the examples in Python (marked). The next row times matgrad's own Python loop of `mg.grad`, for comparison.
- Per-op: one op on 2×2 float32 arrays with inputs that record a graph (matgrad and PyTorch: requires grad; \
HIPS autograd: `ArrayBox`es of a live trace); hand NumPy is the bare op (its σ is matgrad's `stable_sigmoid` \
called bare). JAX records nothing outside a transform, so its rows are eager dispatch (marked).
- Linear algebra (keys `linalg/…`): value and gradient (reverse mode) of a scalar function of float64 \
matrices, with respect to every matrix input: `log det X` (X = I + ½MMᵀ, symmetric positive definite), \
`Σ inv(X) ⊙ W`, `Σ solve(A, B) ⊙ W` (B of n × 8; gradients for A and B), `einsum("ij,jk,kl->", A, B, C)` and \
`Σ einsum("bij,bjk->bik", A, B) ⊙ W` (4 matrices), `W` a fixed random weight so that a transposed gradient \
shows; general matrices are I + 0.3M (M of N(0, 1/n) entries). matgrad `mg.value_and_grad` (compiled: \
`mg.compile`), PyTorch the function then `torch.autograd.grad`, JAX `jit(value_and_grad)` with \
`jax_enable_x64` on, HIPS autograd `value_and_grad`. Hand NumPy writes the closed forms: `slogdet`, then \
`inv(X)ᵀ`; `−Yᵀ W Yᵀ` from the forward's `Y = X⁻¹`; `∂B = solve(Aᵀ, W)`, `∂A = −∂B Yᵀ` (NumPy keeps no LU, so \
log det and solve factor twice); the einsum chain in O(n²) as `(1ᵀA) B (C1)` (the floor for any contraction \
order); the batched einsum as three batched matmuls.
- Correctness first: before any timing, each framework's first call from a fresh setup must reproduce hand \
NumPy's outputs (training steps: the weights after one SGD step; backward: the gradients; transforms: the \
Jacobian, Hessian, per-example gradients; ops: the result) within rtol {rtol}, atol {atol} × max |reference|; \
a training step's update `W − W₀` must agree too (same tolerances plus one float32 ulp of `W₀`), since a \
small step hides a wrong gradient in the weights. A mismatch marks that cell FAILED (the reason is listed \
under its table) and the others go on.
- One worker process per framework, all started with the same thread count (see Environment), long-lived: \
for each workload the parent asks each worker to load it, check it, calibrate the calls per sample and warm \
up, then asks the workers for one sample each in turn, reversing the order every round (A B C, C B A, …), \
so that only one computes at a time and drift hits all alike. After each sample a worker waits, untimed, \
until its other threads sleep: OpenBLAS's threads spin for ~0.1 s after a call, which on 2 cores would slow \
the next worker down by up to half. The first call of JIT-compiled frameworks is reported separately. The \
garbage collector stays on: its cost is part of an engine's cost."""
