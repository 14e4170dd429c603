"""Shipped reference video DiT checkpoints (safetensors) and their index, CHECKPOINTS.md; a package so that
non-editable installs carry them as package data."""
