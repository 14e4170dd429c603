"""Builtin suite files (data); see vbench_lite.prompts."""
