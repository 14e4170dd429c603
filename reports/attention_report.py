"""Tables and charts of an attention-cost sweep (rows of :func:`vbench_lite.lab.attention_sweep.run_sweep`).

The console table of ``vbench-lite attention``, the Markdown of ``attention.md`` and the PNG charts beside it; the
sweep itself (and the files it writes) is :mod:`vbench_lite.lab.attention_sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


# -- numbers -----------------------------------------------------------------------------------------------------
def sig3(value: float) -> str:
    """``34789235097600`` -> ``"3.48e13"``; small numbers stay plain."""
    if value == 0:
        return "0"
    if abs(value) < 1e4:
        return f"{value:.4g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def human_bytes(n: float) -> str:
    """``3.2e9`` -> ``"2.98 GiB"``: binary units, three significant digits."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"



# -- tables ----------------------------------------------------------------------------------------------------
SUMMARY_COLUMNS = [
    ("strategy", "strategy", str),
    ("frames", "T", str),
    ("grid", "grid", str),
    ("tokens", "tokens", lambda v: f"{v:,}"),
    ("pairs", "pairs/head", sig3),
    ("attention_problems", "problems", lambda v: f"{v:,}"),
    ("core_flops", "core GFLOP", lambda v: f"{v / 1e9:.3f}"),
    ("module_flops", "module GFLOP", lambda v: f"{v / 1e9:.3f}"),
    ("plain_attention_bytes", "plain attn mem", human_bytes),
    ("flash_state_bytes", "flash attn mem", human_bytes),
]
MEASURED_COLUMNS = [
    ("latency_median_s", "median ms", lambda v: f"{v * 1e3:.3f}"),
    ("latency_iqr_s", "IQR ms", lambda v: f"{v * 1e3:.3f}"),
    ("peak_memory_bytes", "peak mem", human_bytes),
    ("achieved_flops_per_s", "GFLOP/s", lambda v: f"{v / 1e9:.1f}"),
    ("fraction_of_peak", "% peak", lambda v: f"{100 * v:.1f}"),
    ("fraction_of_peak_best", "best %", lambda v: f"{100 * v:.1f}"),
    ("arithmetic_intensity", "FLOP/B", lambda v: f"{v:.3g}"),
    ("fraction_of_roofline", "% roofline", lambda v: f"{100 * v:.1f}"),
    ("bound", "bound", str),
    ("us_per_problem", "us/problem", lambda v: f"{v:.2f}"),
    ("status", "status", lambda v: v if len(v) <= 72 else v[:69] + "..."),
]


def _cell(row: dict[str, Any], key: str, fmt: Callable[[Any], str]) -> str:
    value = f"{row['height']}x{row['width']}" if key == "grid" else row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt(value)


def format_rows(rows: Sequence[dict[str, Any]], measured: bool | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the summary table (measured columns when any row was measured)."""
    if measured is None:
        measured = any(not str(r.get("status", "analytic")).startswith(("analytic", "invalid")) for r in rows)
    columns = SUMMARY_COLUMNS + (MEASURED_COLUMNS if measured else MEASURED_COLUMNS[-1:])
    if any(r.get("top_ops") for r in rows):
        columns = [*columns[:-1], ("top_ops", "top ops (self time)", str), columns[-1]]
    return [c[1] for c in columns], [[_cell(r, key, fmt) for key, _, fmt in columns] for r in rows]


def text_table(header: Sequence[str], cells: Sequence[Sequence[str]], left: Sequence[str] = ("strategy", "status",
                                                                                           "model")) -> str:
    """A fixed-width table: numbers right-aligned, the named text columns left-aligned."""
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if h in left else v.rjust(w)
                         for v, w, h in zip(values, widths, header)).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(c) for c in cells)])


def markdown_table(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header)))
             + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    return "\n".join(lines)


def sweep_markdown(rows: list[dict[str, Any]], meta: dict[str, Any], names: dict[str, str]) -> str:
    """``attention.md``: the environment, the summary table, the fits (``meta["fits"]``) and links to the plots."""
    header, cells = format_rows(rows)
    parts = ["# Attention cost", ""]
    env = meta.get("environment")
    if env:
        parts.append("Produced by " + ", ".join(f"{k} {v}" for k, v in env.items() if v is not None) + ".")
    settings = meta.get("settings")
    if settings:
        keep = ("dim", "heads", "batch", "impl", "dtype", "device", "scope", "window")
        parts.append("Settings: " + ", ".join(f"{k}={settings[k]}" for k in keep if k in settings) + ".")
    for dtype, peak in (meta.get("matmul_peak") or {}).items():
        parts.append(f"Measured dense matmul peak ({dtype}, n={peak.get('n')}, grown until flat): "
                     f"{peak['flops_per_s'] / 1e9:.1f} GFLOP/s.")
    if meta.get("copy_bandwidth"):
        parts.append(f"Measured memory bandwidth (device copy, read + write): "
                     f"{meta['copy_bandwidth']['bytes_per_s'] / 1e9:.1f} GB/s. '% roofline' = achieved / "
                     "min(compute peak, FLOP/B x bandwidth), FLOP/B = attention FLOPs per compulsory byte "
                     "(q, k, v read and the output written once).")
    parts += ["", "FLOPs are matmul FLOPs (2 per multiply-add); pairs are query-key pairs per head; 'plain attn "
              "mem' is the analytic peak of live score and softmax matrices of the plain path, 'flash attn mem' the "
              "per-row softmax statistics a flash-style kernel keeps instead.", "", markdown_table(header, cells), ""]
    fits = meta.get("fits") or []
    if fits:
        keys = ("analytic_exponent", "measured_exponent", "measured_r2", "points", "fixed_us_per_problem",
                "marginal_gflop_per_s")
        parts += ["## Scaling exponents and overhead fit", "",
                  "Exponents: log-log least squares of analytic FLOPs and of measured latency against tokens. "
                  "Overhead fit: latency = fixed cost x problems + FLOPs / marginal rate (non-negative least "
                  "squares; only where problems and FLOPs vary independently over the sweep).", "",
                  markdown_table(["strategy", "analytic exp.", "measured exp.", "R^2", "points",
                                  "fixed us/problem", "marginal GFLOP/s"],
                                 [[f["strategy"], *("-" if f.get(k) is None else str(f[k]) for k in keys)]
                                  for f in fits]), ""]
    plots = [names[k] for k in ("plot_cost_vs_frames", "plot_latency_vs_tokens", "plot_roofline") if k in names]
    if plots:
        parts += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(parts)


def sweep_plots(rows: list[dict[str, Any]], fits: Sequence[dict[str, Any]], out: Path) -> dict[str, Path]:
    """PNG charts of a sweep in ``out``: analytic cost (and measured latency) against frames, and, when latencies
    were measured, latency against tokens labelled with each strategy's fitted slope (``fits``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: dict[str, Path] = {}
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    grids = list(dict.fromkeys((r["height"], r["width"]) for r in rows))
    styles = ["-", "--", ":", "-."]
    timed = [r for r in rows if r.get("latency_median_s")]
    panels = 2 if timed else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.5), squeeze=False)
    for gi, grid in enumerate(grids):
        for si, strategy in enumerate(strategies):
            color = f"C{si % 10}"
            mine = sorted((r for r in rows if r["strategy"] == strategy and (r["height"], r["width"]) == grid),
                          key=lambda r: r["frames"])
            label = strategy if len(grids) == 1 else f"{strategy} {grid[0]}x{grid[1]}"
            axes[0][0].plot([r["frames"] for r in mine], [max(r["flops"], 1) for r in mine], styles[gi % 4],
                            color=color, marker="o", label=label)
            mine_t = [r for r in mine if r.get("latency_median_s")]
            if panels == 2 and mine_t:
                axes[0][1].plot([r["frames"] for r in mine_t], [r["latency_median_s"] * 1e3 for r in mine_t],
                                styles[gi % 4], color=color, marker="o", label=label)
    axes[0][0].set(xscale="log", yscale="log", xlabel="frames T", ylabel="analytic matmul FLOPs (timed scope)",
                   title="Attention cost vs frames")
    if panels == 2:
        axes[0][1].set(xscale="log", yscale="log", xlabel="frames T", ylabel="median latency (ms)",
                       title="Measured latency vs frames")
    for ax in axes[0]:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths["plot_cost_vs_frames"] = out / "attention_cost_vs_frames.png"
    fig.savefig(paths["plot_cost_vs_frames"], dpi=110)
    plt.close(fig)
    if timed:
        by_strategy = {f["strategy"]: f for f in fits}
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for si, strategy in enumerate(strategies):
            mine = sorted((r for r in timed if r["strategy"] == strategy), key=lambda r: r["tokens"])
            if not mine:
                continue
            slope = by_strategy.get(strategy, {}).get("measured_exponent")
            label = strategy if slope is None else f"{strategy} (slope {slope:.2f})"
            ax.plot([r["tokens"] for r in mine], [r["latency_median_s"] * 1e3 for r in mine], marker="o",
                    color=f"C{si % 10}", label=label)
        ax.set(xscale="log", yscale="log", xlabel="tokens N", ylabel="median latency (ms)",
               title="Latency vs tokens (log-log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths["plot_latency_vs_tokens"] = out / "attention_latency_vs_tokens.png"
        fig.savefig(paths["plot_latency_vs_tokens"], dpi=110)
        plt.close(fig)
    roofed = [r for r in timed if r.get("roofline_flops_per_s") and r.get("achieved_flops_per_s")]
    if roofed:
        paths["plot_roofline"] = roofline_plot(roofed, out / "attention_roofline.png")
    return paths


def roofline_plot(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Log-log roofline: the compute and memory roofs (recovered from the rows' bounds) and every measured
    configuration as a point at (arithmetic intensity, achieved FLOP/s), one colour per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    peak = max(r["roofline_flops_per_s"] for r in rows)
    memory = [r["roofline_flops_per_s"] / r["arithmetic_intensity"] for r in rows
              if r.get("bound") == "memory" and r["arithmetic_intensity"] > 0]
    lo = min(r["arithmetic_intensity"] for r in rows) / 2
    hi = max(r["arithmetic_intensity"] for r in rows) * 2
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    if memory:
        bandwidth = max(memory)
        lo = min(lo, peak / bandwidth / 4)
        hi = max(hi, peak / bandwidth * 4)
        xs = np.geomspace(lo, hi, 100)
        ax.plot(xs, np.minimum(peak, xs * bandwidth), "k-", lw=1.2, label=f"roof ({bandwidth / 1e9:.0f} GB/s)")
    else:
        ax.axhline(peak, color="k", lw=1.2, label="compute roof")
    for si, strategy in enumerate(dict.fromkeys(r["strategy"] for r in rows)):
        mine = [r for r in rows if r["strategy"] == strategy]
        ax.scatter([r["arithmetic_intensity"] for r in mine], [r["achieved_flops_per_s"] for r in mine],
                   color=f"C{si % 10}", label=strategy, zorder=3)
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOPs / compulsory byte)",
           ylabel="achieved FLOP/s", title=f"Roofline (peak {peak / 1e9:.0f} GFLOP/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
