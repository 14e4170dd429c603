"""The attention charts of the report are readable: the legend sits outside the axes (it covers no line), type is at
least 10 pt, the frame axis is labelled with the swept frame counts as plain numbers, and slopes are the log-log
least-squares fits of the data."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest

from reports.plots import attention_figure, attention_plots


def _rows() -> pd.DataFrame:
    """A sweep with a closed form: FLOPs ~ T^2 (full) and ~ T (spatial) on an 8x8 grid; latency ~ N^2 and ~ N."""
    rows = []
    for strategy, power in (("full", 2), ("spatial", 1), ("factorised_self_attention", 1)):
        for frames in (4, 8, 16, 32):
            tokens = frames * 64
            rows.append({"strategy": strategy, "height": 8, "width": 8, "frames": frames, "tokens": tokens,
                         "flops": 1000.0 * frames ** power, "latency_median_s": 1e-6 * tokens ** power})
    return pd.DataFrame(rows)


def _drawn(fig):
    """Lay the figure out as savefig does and return the renderer (for the boxes of its parts, in pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


@pytest.mark.parametrize("kind", ["cost", "latency"])
def test_attention_legend_is_outside_the_axes_and_type_is_readable(kind):
    fig = attention_figure(_rows(), kind)
    renderer = _drawn(fig)
    (ax,) = fig.axes
    (legend,) = fig.legends
    axes_box, legend_box = ax.get_window_extent(renderer), legend.get_window_extent(renderer)
    assert legend_box.y1 <= axes_box.y0  # below the axes: no overlap with any line
    fig_box = fig.bbox
    assert legend_box.x0 >= fig_box.x0 - 0.5 and legend_box.x1 <= fig_box.x1 + 0.5  # not cut off at the sides
    sizes = [t.get_fontsize() for t in [*ax.get_xticklabels(), *ax.get_yticklabels(), *legend.get_texts()]]
    assert min(sizes) >= 9.5
    assert fig.get_figwidth() * 110 >= 700  # ~750 px: shown at about 590 px in the report's two-column grid


def test_attention_axes_use_plain_numbers_and_slopes_match_the_data():
    fig = attention_figure(_rows(), "cost")
    _drawn(fig)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8", "16", "32"]
    fig = attention_figure(_rows(), "latency")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    # latency = 1e-6 N^p s exactly, so the fitted slopes are p up to float rounding (printed with 2 decimals)
    assert labels == ["full (slope 2.00)", "spatial (slope 1.00)", "factorised_self_attention (slope 1.00)"]


def test_attention_plots_are_pngs_and_skip_what_cannot_be_drawn():
    charts = attention_plots(_rows())
    assert len(charts) == 2
    from PIL import Image

    for _, uri in charts:
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert image.format == "PNG" and image.width >= 700
    untimed = _rows().assign(latency_median_s=np.nan)
    assert [c.split()[0] for c, _ in attention_plots(untimed)] == ["Analytic"]
    assert attention_plots(pd.DataFrame({"other": [1, 2]})) == []
