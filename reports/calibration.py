"""The calibration report: a heatmap of (metric, defect), a line chart per metric, the summary table, and the
sample-efficiency chart of set metrics (``vbench-lite calibrate`` writes ``calibration.csv`` and
``calibration_summary.csv``; this module reads them, as frames, and draws).

Heatmap cell = the signed Spearman rho between strength and value, oriented so that +1 means "the metric gets worse
at every stronger defect" (green) and -1 "it rewards the defect" (red); the text in a cell is the smallest strength
detected beyond the clean clips' 95% interval ("-" when none is).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports.plots import STYLE, _figure, figure_to_data_uri
from reports.text import fmt_number

SUMMARY_COLUMNS = ["output", "defect", "direction", "spearman", "monotonicity", "detected_at"]


def oriented_rho(summary: pd.DataFrame) -> pd.Series:
    """Spearman rho with the metric's direction folded in: +1 = degrades with strength (lower-is-better metrics keep
    their sign, higher-is-better ones flip it)."""
    sign = np.where(summary["higher_is_better"].astype(bool), -1.0, 1.0)
    return pd.to_numeric(summary["spearman"], errors="coerce") * sign


def heatmap_frame(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(oriented rho, detected_at)`` as output x defect frames, rows and columns in first-seen order."""
    s = summary.assign(rho=oriented_rho(summary))
    outputs = list(dict.fromkeys(s["output"]))
    defects = list(dict.fromkeys(s["defect"]))
    rho = s.pivot(index="output", columns="defect", values="rho").reindex(index=outputs, columns=defects)
    det = s.pivot(index="output", columns="defect", values="detected_at").reindex(index=outputs, columns=defects)
    return rho, det


def calibration_heatmap(summary: pd.DataFrame) -> str | None:
    """The (metric x defect) heatmap as a ``data:`` URI (``None`` for an empty summary)."""
    if summary is None or summary.empty:
        return None
    from matplotlib import rc_context

    rho, det = heatmap_frame(summary)
    with rc_context(STYLE):
        fig = _figure(1.6 + 0.62 * rho.shape[1], 1.0 + 0.36 * rho.shape[0])
        ax = fig.add_subplot()
        img = ax.imshow(np.nan_to_num(rho.to_numpy(dtype=float), nan=0.0), cmap="RdYlGn", vmin=-1, vmax=1,
                        aspect="auto")
        ax.set_xticks(range(rho.shape[1]), [str(c) for c in rho.columns], rotation=40, ha="right")
        ax.set_yticks(range(rho.shape[0]), [str(i) for i in rho.index])
        for i in range(rho.shape[0]):
            for j in range(rho.shape[1]):
                d = det.iat[i, j]
                text = "-" if d is None or not math.isfinite(d) else f"{d:g}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="#111827")
        fig.colorbar(img, ax=ax, shrink=0.8, label="rho, + = worse with strength")
        ax.set_title("Metric response to each defect (cell: smallest strength detected)")
        return figure_to_data_uri(fig)


def calibration_line_charts(table: pd.DataFrame) -> list[tuple[str, str]]:
    """One chart per metric output: value against strength, one line per defect, the clean interval shaded."""
    if table is None or table.empty:
        return []
    from matplotlib import rc_context

    charts = []
    for output, g in table.groupby("output", sort=False):
        with rc_context(STYLE):
            fig = _figure(4.6, 3.0)
            ax = fig.add_subplot()
            clean = g[g["strength"] == 0]
            if not clean.empty and math.isfinite(clean["ci95_low"].iloc[0]) and math.isfinite(
                    clean["ci95_high"].iloc[0]):
                ax.axhspan(clean["ci95_low"].iloc[0], clean["ci95_high"].iloc[0], color="#9ca3af", alpha=0.25,
                           label="clean 95% CI")
            for defect, d in g.groupby("defect", sort=False):
                d = d.sort_values("strength")
                ax.plot(d["strength"], d["value"], marker="o", markersize=3, linewidth=1.2, label=str(defect))
            arrow = "higher is better" if bool(g["higher_is_better"].iloc[0]) else "lower is better"
            ax.set_title(f"{output} ({arrow})")
            ax.set_xlabel("defect strength (0 = clean)")
            ax.legend(fontsize=6, ncol=2, frameon=False)
            charts.append((str(output), figure_to_data_uri(fig)))
    return charts


def sample_efficiency_chart(rows: pd.DataFrame) -> str | None:
    """Agreement of the two runs' order against subset size, one line per (metric, pair)."""
    if rows is None or rows.empty:
        return None
    from matplotlib import rc_context

    with rc_context(STYLE):
        fig = _figure(4.6, 3.0)
        ax = fig.add_subplot()
        for label, g in rows.groupby("label", sort=False):
            g = g.sort_values("size")
            ax.plot(g["size"], g["agreement"], marker="o", markersize=3, label=str(label))
        ax.axhline(0.95, color="#6b7280", linestyle="--", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_ylim(0.4, 1.02)
        ax.set_xlabel("clips per run (bootstrap subsets)")
        ax.set_ylabel("fraction ranking the runs as all clips do")
        ax.set_title("Sample efficiency of set metrics")
        ax.legend(fontsize=6, frameon=False)
        return figure_to_data_uri(fig)


def summary_cells(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The summary as header + string rows for the HTML and Markdown tables."""
    rows = []
    for r in summary.to_dict(orient="records"):
        rows.append([str(r["output"]), str(r["defect"]), str(r["direction"]), fmt_number(r["spearman"]),
                     fmt_number(r["monotonicity"]), _strength(r["detected_at"])])
    return ["metric", "defect", "direction", "spearman rho", "monotonicity", "detected at"], rows


def _strength(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if not math.isfinite(x) else f"{x:g}"


def calibration_markdown(summary: pd.DataFrame, *, title: str | None = None) -> str:
    """The summary as a Markdown table (``docs/metrics-validity.md`` and the calibrate report)."""
    header, rows = summary_cells(summary)
    lines = [f"## {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def calibration_context(table: pd.DataFrame | None, summary: pd.DataFrame | None, *, charts: bool = True,
                        efficiency: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """What the templates' calibration section needs (``None`` when there is no calibration)."""
    if summary is None or summary.empty:
        return None
    header, rows = summary_cells(summary)
    return {"heatmap": calibration_heatmap(summary), "lines": calibration_line_charts(table) if charts else [],
            "header": header, "rows": rows, "efficiency": sample_efficiency_chart(efficiency)}


def calibration_html(table: pd.DataFrame, summary: pd.DataFrame, *, title: str = "vbench-lite calibration",
                     notes: Sequence[str] = (), efficiency: pd.DataFrame | None = None) -> str:
    from reports.html import render

    ctx = calibration_context(table, summary, efficiency=efficiency)
    n_defects = summary["defect"].nunique() if summary is not None and not summary.empty else 0
    return render("calibration.html.j2", title=title, subtitle=f"{n_defects} defects, metric response by strength",
                  toc=[("calibration", "Calibration")], calibration=ctx, notes=list(notes), toy=[])


def load_calibration(folder: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``calibration.csv`` and ``calibration_summary.csv`` of a calibrate output folder (``None`` where absent)."""
    folder = Path(folder)
    table = pd.read_csv(folder / "calibration.csv") if (folder / "calibration.csv").exists() else None
    summary = (pd.read_csv(folder / "calibration_summary.csv")
               if (folder / "calibration_summary.csv").exists() else None)
    return table, summary


__all__ = ["SUMMARY_COLUMNS", "calibration_context", "calibration_heatmap", "calibration_html",
           "calibration_line_charts", "calibration_markdown", "heatmap_frame", "load_calibration", "oriented_rho",
           "sample_efficiency_chart", "summary_cells"]
