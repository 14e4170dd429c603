"""Reports: results as tables, leaderboards, Markdown and single-file HTML reports, and the CI regression gate.

- :mod:`reports.tables`: run folders and ``results.json`` as pandas tables.
- :mod:`reports.leaderboard`: one row per run, intervals, direction-aware ranks, comparability checks.
- :mod:`reports.markdown`, :mod:`reports.html`: the documents (HTML via jinja2 templates in ``reports/templates``);
  :mod:`reports.text`: the number and Markdown-table primitives they share.
- :mod:`reports.plots`, :mod:`reports.filmstrip`: charts and filmstrips as inline base64 images.
- :mod:`reports.attention_report`, :mod:`reports.quality_cost`: the attention-cost sweep's tables and charts, and
  the quality-versus-cost table and chart of the reference DiT's strategies.
- :mod:`reports.run_report`: ``write_run_reports(run_dir)`` and ``write_comparison_report(run_dirs, out_dir)``.
- :mod:`reports.check`: ``vbench-lite check``, the regression gate.
"""

from reports.leaderboard import build_leaderboard
from reports.run_report import write_comparison_report, write_run_reports
from reports.tables import load_run, load_runs

__all__ = ["build_leaderboard", "load_run", "load_runs", "write_comparison_report", "write_run_reports"]
