"""The metric/generator registry: one name once, third-party entry points read lazily, a cheap `--help`."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.fixtures.brightness import BrightnessMetric
from vbench_lite.registry import METRICS, Registry
from vbench_lite.types import VbenchError


def test_a_name_is_registered_once():
    registry = Registry("metric")
    registry.register_lazy("mine", "pkg.one:Metric")
    with pytest.raises(VbenchError, match=r"^metric 'mine' is registered twice: by pkg\.one:Metric and by "
                                          r"pkg\.two:Metric$"):
        registry.register_lazy("mine", "pkg.two:Metric")

    @registry.register("other")
    class Other:
        pass

    with pytest.raises(VbenchError, match="'other' is registered twice"):
        registry.register("other")(Other)
    assert registry.names() == ["mine", "other"]


def _fake_entry_points(monkeypatch, entries: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Stand-in for the installed packages' entry points; returns the groups asked for, in order."""
    asked: list[str] = []

    def entry_points(*, group: str):
        asked.append(group)
        return [importlib.metadata.EntryPoint(name=name, value=value, group=group)
                for name, value in entries.get(group, [])]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return asked


def test_entry_points_add_metrics_and_generators_lazily(monkeypatch):
    asked = _fake_entry_points(monkeypatch, {
        "vbench_lite.metrics": [("glow", "tests.fixtures.brightness:BrightnessMetric")],
        "vbench_lite.generators": [("painter", "vbench_lite.generators.synthetic:SyntheticGenerator")],
    })
    metrics = Registry("metric", group="vbench_lite.metrics")
    metrics.register_lazy("clip", "metrics.clip_similarity:ClipSimilarity")
    generators = Registry("generator", group="vbench_lite.generators")
    assert asked == []  # nothing is read before the first lookup
    assert metrics.names() == ["clip", "glow"] and asked == ["vbench_lite.metrics"]
    assert metrics.get("glow") is BrightnessMetric
    assert "glow" in metrics and asked == ["vbench_lite.metrics"]  # read once
    from vbench_lite.generators.synthetic import SyntheticGenerator

    assert generators.get("painter") is SyntheticGenerator and asked[-1] == "vbench_lite.generators"


def test_an_entry_point_cannot_take_a_builtin_name(monkeypatch):
    _fake_entry_points(monkeypatch, {"vbench_lite.metrics": [("clip", "evil.pkg:Clip")]})
    metrics = Registry("metric", group="vbench_lite.metrics")
    metrics.register_lazy("clip", "metrics.clip_similarity:ClipSimilarity")
    with pytest.raises(VbenchError, match=r"metric 'clip' is registered twice: by metrics\.clip_similarity:"
                                          r"ClipSimilarity and by entry point 'evil\.pkg:Clip'"):
        metrics.get("clip")


def test_the_brightness_fixture_is_a_plug_in_not_a_product_metric():
    assert "brightness" in METRICS and METRICS.get("brightness") is BrightnessMetric
    assert METRICS._where["brightness"].startswith("entry point 'tests.fixtures.brightness:BrightnessMetric'")
    builtins = {name for name, where in METRICS._where.items() if not where.startswith("entry point")}
    assert "brightness" not in builtins and {"clip", "fvd", "temporal"} <= builtins
    assert all(METRICS._where[name].startswith("metrics.") for name in builtins)  # every product metric is ours


def test_help_imports_no_metric():
    code = ("import sys\nfrom vbench_lite.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m == 'metrics' or m.startswith(('metrics.', 'torch'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
