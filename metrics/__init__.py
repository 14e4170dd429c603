"""Metrics: one metric per file, each a pure functional core plus a stateful class with mergeable states.

``metrics.base.VideoMetric`` is the plug-in interface the pipeline runs; see its docstring.
"""
