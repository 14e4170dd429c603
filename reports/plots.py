"""Charts for the reports, drawn with matplotlib's Agg backend and returned as ``data:image/png;base64`` URIs.

Figures are built with :class:`matplotlib.figure.Figure` (never pyplot), so no global state leaks between reports.
Green marks the best run of a metric; intervals are the 95% bootstrap CIs of ``results.json``.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports.leaderboard import dimension_column
from reports.quality_cost import plot_quality_vs_cost
from reports.text import fmt_number

BLUE, GREEN, GREY = "#2563eb", "#16a34a", "#6b7280"
STYLE = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10,
         "axes.titleweight": "bold", "axes.edgecolor": "#9ca3af", "axes.labelcolor": "#374151",
         "xtick.color": "#4b5563", "ytick.color": "#4b5563", "font.family": "DejaVu Sans"}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def figure_to_data_uri(fig, dpi: int = 110) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return png_data_uri(buf.getvalue())


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def file_data_uri(path: str | Path) -> str:
    """A PNG, JPEG, GIF or SVG file as a ``data:`` URI."""
    path = Path(path)
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
            ".svg": "image/svg+xml"}.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _direction(higher_is_better: bool | None) -> str:
    return "higher is better" if higher_is_better in (True, None) else "lower is better"


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _dot_whisker(ax, labels: list[str], values: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 highlight: np.ndarray) -> None:
    """Rows of value dots with 95% CI whiskers on a zoomed axis (bars from zero would hide differences between
    values near 1); highlighted rows in green, each value written beside its whisker."""
    from matplotlib.ticker import MaxNLocator

    y = np.arange(len(values))[::-1]
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    err = np.vstack([np.where(has_ci, values - lo, 0), np.where(has_ci, hi - values, 0)])
    colors = [GREEN if h else BLUE for h in highlight]
    for yi in y:
        ax.axhline(yi, color="#e5e7eb", lw=0.8, zorder=0)
    ax.errorbar(values, y, xerr=np.clip(err, 0, None), fmt="none", ecolor="#374151", elinewidth=1.2, capsize=3)
    ax.scatter(values, y, color=colors, zorder=3, s=34)
    ax.set_yticks(y, labels)
    for label, h in zip(ax.get_yticklabels(), highlight):
        if h:
            label.set_color(GREEN)
            label.set_fontweight("bold")
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", length=0)
    xmax = np.nanmax(np.r_[values, hi[has_ci]])
    xmin = np.nanmin(np.r_[values, lo[has_ci]])
    span = (xmax - xmin) or max(abs(xmax), 1e-12)
    ax.set_xlim(xmin - 0.08 * span, xmax + 0.25 * span)
    ax.ticklabel_format(axis="x", useOffset=False)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    for yi, v, right in zip(y, values, np.where(has_ci, hi, values)):
        ax.annotate(fmt_number(v), (right, yi), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8,
                    color="#111827")


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float) if name in df.columns else \
        np.full(len(df), np.nan)


def metric_runs_chart(leaderboard: pd.DataFrame, metric: str) -> str | None:
    """One metric across runs: value and 95% CI per run, best on top in green. ``None`` when no run has a value."""
    import matplotlib

    higher = (leaderboard.attrs.get("higher_is_better") or {}).get(metric, True)
    sub = leaderboard[leaderboard[metric].apply(_finite)]
    if sub.empty:
        return None
    sub = sub.sort_values(metric, ascending=not higher, kind="stable")
    values = _column(sub, metric)
    with matplotlib.rc_context(STYLE):
        fig = _figure(5.6, 0.9 + 0.36 * len(sub))
        ax = fig.add_subplot()
        best = values == (values.max() if higher else values.min())
        _dot_whisker(ax, [_clip_label(r) for r in sub["run"]], values, _column(sub, f"{metric}_ci95_low"),
                     _column(sub, f"{metric}_ci95_high"), best)
        ax.set_title(f"{metric} ({_direction(higher)})", loc="left")
        return figure_to_data_uri(fig)


def _clip_label(text: str, width: int = 30) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def dimension_heatmap(leaderboard: pd.DataFrame, metric: str) -> str | None:
    """Runs by prompt-suite dimensions of one metric; colour = place within the column (green best)."""
    import matplotlib
    from matplotlib.colors import LinearSegmentedColormap

    dims = (leaderboard.attrs.get("dimensions") or {}).get(metric) or []
    cols = [dimension_column(metric, d) for d in dims if dimension_column(metric, d) in leaderboard.columns]
    if not cols:
        return None
    higher = (leaderboard.attrs.get("higher_is_better") or {}).get(metric, True)
    values = leaderboard[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return None
    score = np.full_like(values, np.nan)
    for j in range(values.shape[1]):
        col = values[:, j]
        ok = np.isfinite(col)
        if ok.sum() == 0:
            continue
        span = np.nanmax(col) - np.nanmin(col)
        # Differences below 0.1% of the column's magnitude are not worth a colour: such columns stay neutral.
        meaningful = span > 1e-3 * np.nanmax(np.abs(col))
        rel = (col - np.nanmin(col)) / span if meaningful else np.full_like(col, 0.5)
        score[:, j] = np.where(ok, rel if higher else 1 - rel, np.nan)
    n_runs, n_dims = values.shape
    with matplotlib.rc_context(STYLE):
        fig = _figure(max(4.0, 1.6 + 0.95 * n_dims), 1.2 + 0.34 * n_runs)
        ax = fig.add_subplot()
        # Pastel colours keep the numbers readable.
        cmap = LinearSegmentedColormap.from_list("soft_rdylgn", ["#fca5a5", "#fef9c3", "#86efac"])
        rgba = cmap(np.nan_to_num(score, nan=0.5))
        rgba[~np.isfinite(score)] = (0.95, 0.96, 0.97, 1.0)
        ax.imshow(rgba, aspect="auto")
        for i in range(n_runs):
            for j in range(n_dims):
                ax.text(j, i, fmt_number(values[i, j]), ha="center", va="center", fontsize=7.5, color="#111827")
        ax.set_xticks(range(n_dims), [d.replace("_", "\n") for d in dims], fontsize=7.5)
        ax.set_yticks(range(n_runs), [_clip_label(r) for r in leaderboard["run"]])
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(f"{metric} by dimension ({_direction(higher)}; green = best in column)", loc="left")
        return figure_to_data_uri(fig)


def per_video_chart(per_video: pd.DataFrame, metrics: dict[str, dict[str, Any]]) -> str | None:
    """One panel per metric of a run: every clip's value (dots), the mean (line) and its 95% CI (band)."""
    import matplotlib

    names = [m for m in metrics if m in per_video.columns and pd.to_numeric(per_video[m], errors="coerce").notna()
             .any()]
    if not names:
        return None
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    rng = np.random.default_rng(0)
    with matplotlib.rc_context(STYLE):
        fig = _figure(2.7 * ncols + 0.4, 2.3 * nrows)
        for k, name in enumerate(names):
            ax = fig.add_subplot(nrows, ncols, k + 1)
            vals = pd.to_numeric(per_video[name], errors="coerce").dropna().to_numpy(dtype=float)
            entry = metrics[name]
            x = rng.uniform(-0.25, 0.25, size=vals.size)
            ax.scatter(x, vals, s=14, color=BLUE, alpha=0.7, linewidths=0)
            mean = entry.get("value")
            if _finite(mean):
                ax.axhline(float(mean), color="#111827", lw=1.2)
            ci = entry.get("ci95")
            if ci and _finite(ci[0]) and _finite(ci[1]):
                ax.axhspan(float(ci[0]), float(ci[1]), color=GREEN, alpha=0.15, lw=0)
            ax.set_xlim(-0.6, 0.6)
            ax.set_xticks([])
            arrow = "↑" if entry.get("higher_is_better", True) else "↓"
            ax.set_title(f"{name} {arrow}", loc="left")
            ax.set_xlabel(f"mean {fmt_number(mean)}, n={entry.get('n', vals.size)}", fontsize=8)
            ax.grid(axis="y", alpha=0.3)
        return figure_to_data_uri(fig)


def group_chart(groups: dict[str, dict[str, Any]], metric: str, higher_is_better: bool, overall: Any = None,
                what: str = "dimension") -> str | None:
    """One run's metric by dimension (or category): values with 95% CIs, the overall value as a dashed line."""
    import matplotlib

    items = [(g, e) for g, e in sorted(groups.items()) if isinstance(e, dict) and _finite(e.get("value"))]
    if not items:
        return None
    values = np.array([float(e["value"]) for _, e in items])
    ci = [e.get("ci95") if isinstance(e.get("ci95"), (list, tuple)) else (None, None) for _, e in items]
    lo = np.array([float(c[0]) if _finite(c[0]) else np.nan for c in ci])
    hi = np.array([float(c[1]) if _finite(c[1]) else np.nan for c in ci])
    with matplotlib.rc_context(STYLE):
        fig = _figure(4.8, 0.9 + 0.32 * len(items))
        ax = fig.add_subplot()
        _dot_whisker(ax, [f"{g} (n={e.get('n', '?')})" for g, e in items], values, lo, hi,
                     np.zeros(len(items), dtype=bool))
        if _finite(overall):
            ax.axvline(float(overall), color="#111827", ls="--", lw=1)
        ax.set_title(f"{metric} by {what}", loc="left")
        ax.set_xlabel(_direction(higher_is_better), fontsize=8)
        return figure_to_data_uri(fig)


def quality_cost_chart(df: pd.DataFrame) -> str | None:
    """The reference DiT's quality-vs-cost scatter (:func:`reports.quality_cost.plot_quality_vs_cost`), written to a
    temporary PNG and inlined; ``None`` when the table has nothing to draw."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = plot_quality_vs_cost(df, Path(tmp) / "quality_vs_cost.png")
        except (ValueError, KeyError, TypeError):
            return None
        return file_data_uri(path)


#: Style of the attention charts: shown about 600 px wide in the report, so larger type than the small charts.
ATTENTION_STYLE = {**STYLE, "font.size": 10.5, "axes.titlesize": 11.5, "axes.labelsize": 10.5, "legend.fontsize": 9.5,
                   "xtick.labelsize": 10, "ytick.labelsize": 10}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")
_LINESTYLES = ("-", "--", ":", "-.")


def _si(value: float, _pos: Any = None) -> str:
    """``2.5G``, ``40M``, ``0.1``: axis labels of log scales without ``10^x`` powers."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def _attention_series(df: pd.DataFrame, y: str, x: str = "frames") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, x, y)`` per strategy (and grid, when the sweep has several) with finite, positive values."""
    grids = list(dict.fromkeys(zip(df["height"], df["width"])))
    out = []
    for strategy in dict.fromkeys(df["strategy"]):
        for h, w in grids:
            mine = df[(df["strategy"] == strategy) & (df["height"] == h) & (df["width"] == w)].sort_values(x)
            xs, ys = _column(mine, x), _column(mine, y)
            ok = np.isfinite(xs) & np.isfinite(ys) & (ys > 0)
            if ok.any():
                label = str(strategy) if len(grids) == 1 else f"{strategy} {h}x{w}"
                out.append((label, xs[ok], ys[ok]))
    return out


def _log_log_axes(ax, xs: np.ndarray) -> None:
    """Log axes labelled with plain numbers, a tick at each swept x."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted(set(xs.tolist()))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(_si))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", alpha=0.35)


def attention_figure(df: pd.DataFrame, kind: str = "cost"):
    """One attention chart as a matplotlib Figure: ``cost`` (analytic matmul FLOPs against frames) or ``latency``
    (measured median latency against tokens, with each strategy's log-log slope). The legend sits below the axes, so
    it never covers a line; ``None`` when the sweep has nothing to draw."""
    import matplotlib

    if kind == "cost":
        series = _attention_series(df, "flops")
        xlabel, ylabel = "frames T", "analytic matmul FLOPs"
        title = "Attention cost as frames grow"
    elif kind == "latency":
        timed = df.assign(latency_ms=_column(df, "latency_median_s") * 1e3)
        series = _attention_series(timed, "latency_ms", x="tokens")
        xlabel, ylabel = "tokens N (frames x grid)", "median latency (ms)"
        title = "Measured latency against tokens (log-log)"
    else:
        raise ValueError(f"attention_figure: kind must be 'cost' or 'latency', not {kind!r}")
    if not series:
        return None
    with matplotlib.rc_context(ATTENTION_STYLE):
        labels = [label for label, _, _ in series]
        if kind == "latency":
            labels = [f"{label} (slope {np.polyfit(np.log(xs), np.log(ys), 1)[0]:.2f})"
                      if len(set(xs.tolist())) >= 2 else label for label, xs, ys in series]
        longest = max(len(label) for label in labels)
        ncols = min(len(series), 3 if longest <= 26 else 2 if longest <= 42 else 1)  # legend as wide as the axes
        fig = _figure(6.8, 4.0 + 0.26 * math.ceil(len(series) / ncols))
        ax = fig.add_subplot()
        for i, ((_, xs, ys), label) in enumerate(zip(series, labels)):
            ax.plot(xs, ys, _LINESTYLES[(i // 10) % 4], color=f"C{i % 10}", marker=_MARKERS[i % len(_MARKERS)],
                    markersize=6, lw=1.8, alpha=0.9, label=label)
        _log_log_axes(ax, np.concatenate([xs for _, xs, _ in series]))
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower center", ncols=ncols, frameon=False)
        return fig


def attention_plots(attention: pd.DataFrame, csv_path: str | Path | None = None) -> list[tuple[str, str]]:
    """``(caption, data URI)`` of the attention charts drawn from the sweep's rows (``csv_path`` is accepted for
    compatibility; the charts are always drawn here, at a size and type that read well in the report)."""
    captions = {"cost": "Analytic attention FLOPs as frames grow (log-log)",
                "latency": "Measured latency against tokens; the slope is the measured scaling exponent"}
    out = []
    for kind, caption in captions.items():
        try:
            fig = attention_figure(attention, kind)
        except (KeyError, TypeError, ValueError):  # not a sweep of `vbench-lite attention`: no chart, the table stays
            fig = None
        if fig is not None:
            out.append((caption, figure_to_data_uri(fig)))
    return out


__all__ = [
    "attention_figure", "attention_plots", "dimension_heatmap", "figure_to_data_uri", "file_data_uri", "group_chart",
    "metric_runs_chart", "per_video_chart", "png_data_uri", "quality_cost_chart",
]
