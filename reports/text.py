"""Text primitives of the reports: numbers, intervals and ranks as text, Markdown escaping and tables, terminal
widths, and the marks that flag numbers from toy models. Shared by the Markdown, HTML and check reports."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np


def fmt_number(x: Any) -> str:
    """A compact, readable number: integers as they are (thousands separated from 10,000); floats with 3 significant
    digits below 0.001, 4 decimals below 10, 2 below 1000, 1 below 1e5, else 4 significant digits."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}" if abs(int(x)) >= 10_000 else str(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-" if x is None else str(x)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    a = abs(v)
    if a == 0:
        return "0"
    if a < 1e-3:
        return f"{v:.3g}"
    if a < 10:
        return f"{v:.4f}"
    if a < 1000:
        return f"{v:.2f}"
    if a < 1e5:
        return f"{v:.1f}"
    return f"{v:.4g}"


def fmt_rank(x: Any) -> str:
    """A rank as an integer, a mean rank with 2 decimals, ``-`` when missing."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(v):
        return "-"
    return str(int(v)) if v == int(v) else f"{v:.2f}"


def fmt_interval(value: Any, low: Any = None, high: Any = None) -> str:
    """``0.367 [0.196, 0.587]``, or the value alone when there is no interval."""
    text = fmt_number(value)
    try:
        lo, hi = float(low), float(high)
    except (TypeError, ValueError):
        return text
    if math.isnan(lo) or math.isnan(hi):
        return text
    return f"{text} [{fmt_number(lo)}, {fmt_number(hi)}]"


#: Markdown's own characters in user text, backslash-escaped, so no code span can be opened.
_MD_ESCAPES = str.maketrans({"\\": "\\\\", "`": "\\`"})


def md_text(text: Any) -> str:
    """User text (prompts, run names, suite names, paths, errors) made inert in Markdown: one line, no raw HTML
    (``&``, ``<`` and ``>`` as entities), no code spans (backticks escaped), no links or images (``](`` and a
    leading ``[`` escaped, so neither an inline link nor a link definition can form)."""
    text = _inline(text)
    return "\\" + text if text.startswith("[") else text


def _inline(text: Any) -> str:
    text = " ".join(str(text).split()).translate(_MD_ESCAPES).replace("](", "]\\(")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    """Markdown-safe cell: one line, no raw HTML, code span or inline link, escaped pipes (a table cell cannot hold
    a link definition, so a leading ``[`` stays as it is)."""
    return _inline(text).replace("|", "\\|")


def display_width(text: str) -> int:
    """Terminal columns of ``text``: wide East Asian characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None, *,
                   pad: bool = False) -> str:
    """A GitHub table; ``align`` holds ``"l"`` or ``"r"`` per column (default: first left, the rest right).
    ``pad`` aligns the columns in the text itself (for a terminal; the rendered table is the same)."""
    align = list(align or ["l"] + ["r"] * (len(header) - 1))
    cells = [[_cell(h) for h in header], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(3, *(display_width(r[j]) for r in cells)) if pad else 0 for j in range(len(header))]

    def line(row: list[str]) -> str:
        fitted = [c + " " * (w - display_width(c)) if a == "l" else " " * (w - display_width(c)) + c
                  for c, w, a in zip(row, widths, align)]
        return "| " + " | ".join(fitted) + " |"

    rule = "|" + "|".join((":" + "-" * (w + 1) if a == "l" else "-" * (w + 1) + ":") if pad else
                          (":---" if a == "l" else "---:") for a, w in zip(align, widths)) + "|"
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def table_width(table: str) -> int:
    """The widest line of a (Markdown) text, in terminal columns."""
    return max((display_width(line) for line in table.splitlines()), default=0)


# -- toy models ------------------------------------------------------------------------------------------------------
#: Said wherever a number may come from a toy model; "toy" marks each such number or metric.
TOY_BANNER = ("Numbers marked toy come from toy models trained on the synthetic world; not comparable to published "
              "numbers")
TOY_MARK = "(toy)"


def toy_banner_lines(descriptions: Sequence[str]) -> list[str]:
    """The Markdown banner (a quote block) naming the toy models, or nothing when there are none."""
    if not descriptions:
        return []
    return [f"> **Toy models.** {TOY_BANNER}.", ">", *[f"> - {md_text(d)}" for d in descriptions], ""]


def arrow(higher_is_better: bool | None) -> str:
    return "" if higher_is_better is None else ("↑" if higher_is_better else "↓")


def clip_text(text: Any, width: int) -> str:
    """``text`` cut to ``width`` terminal columns with an ellipsis when longer."""
    text = " ".join(str(text).split())
    if display_width(text) <= width:
        return text
    while display_width(text) > width - 1:
        text = text[:-1]
    return text + "…"


def clip_middle(text: Any, width: int) -> str:
    """``text`` cut in the middle to ``width`` columns (``synthetic(def…ength=0.5)``): run names often differ only
    at the end."""
    text = " ".join(str(text).split())
    if display_width(text) <= width:
        return text
    head, tail = text[: len(text) // 2], text[len(text) // 2:]
    while display_width(head) + display_width(tail) > width - 1:
        if display_width(head) > display_width(tail):
            head = head[:-1]
        else:
            tail = tail[1:]
    return head + "…" + tail
