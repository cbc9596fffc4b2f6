"""The results as Markdown: ratio tables per group, then the environment and the method."""

from __future__ import annotations

from collections.abc import Sequence

from .check import ATOL_SCALE, RTOL
from .harness import Settings, Timing

NAMES = {"numpy": "hand NumPy"}


def _name(framework: str) -> str:
    return NAMES.get(framework, framework)


def _short(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.3g} ms"


def _row(timing: Timing) -> str:
    reference = timing.workload.reference
    others = [f for f in timing.samples if f != reference]
    ratios = [f"**{timing.ratio(f):.2f}×**" for f in others]
    times = [_duration(timing.median(f)) for f in [*others, reference]]
    spread = ", ".join(f"{timing.spread(f):.0%}" for f in [*others, reference])
    return "| " + " | ".join([timing.workload.name, *ratios, *times, spread]) + " |"


def _group_table(group: str, timings: Sequence[Timing]) -> list[str]:
    reference = timings[0].workload.reference
    others = [f for f in timings[0].samples if f != reference]
    head = [
        "workload",
        *(f"{_name(f)} / {_name(reference)}" for f in others),
        *(_name(f) for f in [*others, reference]),
        "spread (IQR/median)",
    ]
    lines = [f"### {group}", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return lines + [_row(t) for t in timings] + [""]


def markdown(
    timings: Sequence[Timing], environment: dict[str, str], settings: Settings, mode: str, seconds: float
) -> str:
    lines = [
        "# matgrad benchmarks",
        "",
        f"`python -m benchmarks{' --quick' if mode == 'quick' else ''}`: {settings.rounds} interleaved "
        f"rounds, ~{settings.sample_seconds * 1e3:g} ms of timed calls per sample, {seconds:.0f} s in all.",
        "Headline: time ratio to hand-written NumPy backprop (1.00× is that floor; lower is better), "
        "the median over rounds of the ratio within a round. Times: median seconds per call.",
        "",
    ]
    groups: dict[str, list[Timing]] = {}
    for timing in timings:
        groups.setdefault(timing.workload.group, []).append(timing)
    for group, rows in groups.items():
        lines += _group_table(group, rows)
    lines += ["### Environment", "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in environment.items()]
    lines += ["", "### Method", "", *METHOD.format(rtol=_short(RTOL), atol=_short(ATOL_SCALE)).splitlines(), ""]
    return "\n".join(lines)


METHOD = """\
- float32 throughout; batch-first rows, `Z = A W + b`; weights N(0, 1/n_in), inputs uniform [0, 1).
- 784-30-10 σ/MSE (seed 001): `C = ½ Σ ‖σ(Z2) − Y‖²` **summed** over the batch in both; hand \
backward `δ2 = (A2 − Y) ⊙ A2(1 − A2)`, `∂W2 = A1ᵀ δ2`, `∂b2 = Σ_rows δ2`, \
`δ1 = (δ2 W2ᵀ) ⊙ A1(1 − A1)`, `∂W1 = Xᵀ δ1`. matgrad: `0.5 * ((mg.sigmoid(Z2) - Y) ** 2).sum()`.
- 784-1024-1024-10 ReLU: `mg.cross_entropy(Z3, labels)` **averaged** over the batch; hand \
`δ3 = (softmax(Z3) − onehot) / N` (softmax kept from the forward pass), `δ_{{l−1}} = (δ_l W_lᵀ) ⊙ 𝟙[A_{{l−1}} > 0]`.
- Hand NumPy σ is seed 001's `1 / (1 + exp(−z))`; matgrad's is its overflow-safe \
`stable_sigmoid`, so part of a network gap may be that safety rather than overhead. The per-op \
σ row calls `stable_sigmoid` bare on the NumPy side.
- Backward only: the forward pass (and `p.grad = None`) runs untimed before every timed call; \
each call is timed alone and the clock's own cost subtracted. Full step: forward, backward and \
`p -= lr * grad` in place, timed as a loop.
- Before timing, each workload's gradients are compared with hand NumPy's (rtol {rtol}, \
atol {atol} × max |∂|); a mismatch aborts the run.
- Same process for both (both are NumPy); each framework is calibrated and warmed up, then \
sampled in alternating order (A B, B A, …). The garbage collector stays on: its cost is part \
of an engine's cost. Per-op rows call both sides through a closure alike."""
