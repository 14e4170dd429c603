"""Shared fixtures. Tests that use ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    env = os.environ.get("VBENCH_LITE_SHARED")
    return Path(env) if env else (REPO / ".." / "shared").resolve()


def real_clips_dir() -> Path:
    return shared_dir() / "data" / "real"


def real_clip_paths() -> list[Path]:
    root = real_clips_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mp4", ".avi", ".webm", ".mkv", ".gif"))


@pytest.fixture(scope="session")
def real_dir() -> Path:
    root = real_clips_dir()
    if not root.is_dir():
        pytest.skip(f"shared real clips not present at {root}")
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own vbench-lite cache unless it asks for the user's (weights live there)."""
    if "VBENCH_LITE_TEST_CACHE" in os.environ:
        monkeypatch.setenv("VBENCH_LITE_CACHE", os.environ["VBENCH_LITE_TEST_CACHE"])
    yield
