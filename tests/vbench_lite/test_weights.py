"""The model zoo's commands: `weights list` shows every model of every registered metric plus the I3D; `weights
fetch NAME` verifies and caches a file (or fails in one line offline); scoring finds the cached file."""

from __future__ import annotations

import hashlib
import json
import urllib.error

import pytest
import torch

from vbench_lite.cli import main
from vbench_lite.model_zoo import LAION_AESTHETIC_LINEAR, RAFT_SMALL, VBENCH_MODELS
from vbench_lite.registry import METRICS
from vbench_lite.types import VbenchError
from vbench_lite.weights import fetch_model


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def listing(capsys) -> dict:
    assert main(["weights", "list", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_shows_every_model_of_every_registered_metric_and_the_i3d(capsys):
    rows = {r["name"]: r for r in listing(capsys)["models"]}
    expected = {"i3d"} | {s.name for s in VBENCH_MODELS}
    for name in METRICS.names():
        expected |= {s.name for s in getattr(METRICS.get(name), "models", ())}
    assert expected <= set(rows)
    for row in rows.values():
        assert row["source"] and row["license"] and row["cached"] is False
    assert rows["raft-large"]["sha256_prefix"] == "22a6c225" and "subject_consistency" in rows["dino-vitb16"]["used_by"]
    assert main(["weights", "list"]) == 0 and "not cached" in capsys.readouterr().out


def test_fetch_offline_is_one_line(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    assert main(["weights", "fetch", "raft-small"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "weights fetch raft-small: download failed" in err and "temporal.weights=" in err
    assert not RAFT_SMALL.cache_path.exists()


def test_fetch_unknown_name_is_one_line(capsys):
    assert main(["weights", "fetch", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_fetch_file_checks_the_publishers_sha256_prefix(tmp_path):
    bad = tmp_path / "raft_small_C_T_V1-ad48884c.pth"
    bad.write_bytes(b"not the published file")
    with pytest.raises(VbenchError, match="does not start with ad48884c"):
        fetch_model(RAFT_SMALL, file=bad)
    assert not RAFT_SMALL.cache_path.exists()


def test_fetched_file_is_cached_listed_and_found_by_scoring(tmp_path, capsys):
    from metrics.image_features import resolve_file

    head = tmp_path / "sa_0_4_vit_l_14_linear.pth"
    torch.save({"weight": torch.randn(1, 768), "bias": torch.randn(1)}, head)
    manifest = fetch_model(LAION_AESTHETIC_LINEAR, file=head)
    assert manifest["sha256"] == hashlib.sha256(head.read_bytes()).hexdigest()
    row = {r["name"]: r for r in listing(capsys)["models"]}["laion-aesthetic-linear"]
    assert row["cached"] and row["cached_sha256"] == manifest["sha256"]
    assert resolve_file(LAION_AESTHETIC_LINEAR, "aesthetic_quality", None) == LAION_AESTHETIC_LINEAR.cache_path
