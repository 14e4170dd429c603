"""Shared fixtures. Tests that use ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: The test fixture metric ``brightness`` is not in the product registry: it arrives as a third-party plug-in would,
#: through the ``vbench_lite.metrics`` entry point of the dist-info in this folder, here and in the subprocesses the
#: tests start (they inherit PYTHONPATH).
FIXTURE_PLUGINS = REPO / "tests" / "fixtures" / "plugins"
sys.path.insert(0, str(FIXTURE_PLUGINS))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(FIXTURE_PLUGINS), str(REPO),
                                                        os.environ.get("PYTHONPATH", "")) if p)


def session_tempdir(prefix: str) -> Path:
    """A temporary folder for module-level caches of random weights, removed when the test process exits (they are
    100+ MB a session: left behind, repeated runs fill the disk)."""
    path, owner = Path(tempfile.mkdtemp(prefix=prefix)), os.getpid()
    # only the process that made it removes it (a forked child inherits the exit hooks, not the folder)
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(path, ignore_errors=True))
    return path


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
