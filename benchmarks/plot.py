"""The results as a PNG bar chart: ratio to hand NumPy per workload and framework (log scale)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .harness import Row
from .suite import BY_NAME, GROUPS, REFERENCE

COLORS = {
    "matgrad": "#d62728",
    "torch": "#ee7733",
    "torch.compile": "#aa6600",
    "jax": "#1f77b4",
    "autograd": "#2ca02c",
}


def bar_chart(rows: Sequence[Row], frameworks: list[str], path: Path, title: str) -> str | None:
    """Write the chart to ``path``; return why not if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError as error:
        return f"no chart: {error}"
    others = [f for f in frameworks if f != REFERENCE]
    groups = [(g, [r for r in rows if r.spec.group == g]) for g in GROUPS]
    groups = [(g, rs) for g, rs in groups if rs]
    heights = [max(1.5, 0.32 * len(rs) * len(others) ** 0.5 + 0.8) for _, rs in groups]
    total = sum(heights) + 0.9  # inches: the groups, then the title and legend on top
    fig, axes = plt.subplots(
        len(groups),
        1,
        figsize=(10, total),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        sharex=True,
    )
    width = 0.8 / max(len(others), 1)
    for ax, (group, group_rows) in zip(axes[:, 0], groups):
        for j, framework in enumerate(others):
            ys, xs = [], []
            for i, row in enumerate(group_rows):
                ratio = row.ratio(framework)
                y = i + (j - (len(others) - 1) / 2) * width
                if ratio is None:
                    cell = row.cells.get(framework)
                    if cell is not None and cell.status in ("FAILED", "missing", "n/a"):
                        ax.text(1.0, y, f" {cell.status}", va="center", fontsize=6, color=COLORS.get(framework, "grey"))
                    continue
                ys.append(y)
                xs.append(ratio)
                ax.text(ratio, y, f" {ratio:.3g}×", va="center", fontsize=5.5)
            ax.barh(ys, xs, height=width, color=COLORS.get(framework, "grey"), label=BY_NAME[framework].label)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}×"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(range(len(group_rows)), [r.spec.name for r in group_rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(group, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", which="both", alpha=0.3)
    if others:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(
            handles, labels, fontsize=7, loc="upper center", ncol=len(others), bbox_to_anchor=(0.5, 1 - 0.3 / total)
        )
    axes[-1, 0].set_xlabel(
        "time / hand NumPy (log scale; 1 = hand-written NumPy backprop, lower is faster)", fontsize=8
    )
    fig.suptitle(title, fontsize=10, y=1 - 0.05 / total)
    axes[-1, 0].tick_params(axis="x", labelbottom=True)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / total))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None
