"""metrics/pretrained_folders.py: the order in which save_pretrained folders are found (weights=, zoo name, zoo
folder, huggingface offline cache), the weights file hashed, and one-line errors; files only, no model built."""

from __future__ import annotations

import pytest

from metrics.pretrained_folders import cached_manifest, fetch_pretrained, resolve_pretrained_folder
from vbench_lite.model_zoo import XCLIP_B32
from vbench_lite.types import VbenchError


@pytest.fixture(autouse=True)
def empty_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("huggingface_hub.try_to_load_from_cache", lambda repo_id, name: None)


def folder_with(path, *names):
    path.mkdir(parents=True)
    for name in ("config.json", *names):
        (path / name).write_text("{}")
    return path


def test_user_folder_or_file_gives_the_file_from_pretrained_reads(tmp_path):
    both = folder_with(tmp_path / "both", "model.safetensors", "pytorch_model.bin")
    assert resolve_pretrained_folder(XCLIP_B32, str(both), "m") == (both, both / "model.safetensors")
    assert resolve_pretrained_folder(XCLIP_B32, str(both / "pytorch_model.bin"), "m") == (both,
                                                                                           both / "model.safetensors")
    old = folder_with(tmp_path / "old", "pytorch_model.bin")
    assert resolve_pretrained_folder(XCLIP_B32, str(old), "m") == (old, old / "pytorch_model.bin")


def test_zoo_name_and_zoo_folder_then_offline_cache(tmp_path, monkeypatch):
    with pytest.raises(VbenchError, match="weights fetch xclip-base-patch32") as info:
        resolve_pretrained_folder(XCLIP_B32, XCLIP_B32.name, "overall_consistency")
    assert "\n" not in str(info.value)
    snapshot = folder_with(tmp_path / "hf" / "snapshot", "model.safetensors")
    monkeypatch.setattr("huggingface_hub.try_to_load_from_cache",
                        lambda repo_id, name: str(snapshot / name) if repo_id == XCLIP_B32.source else None)
    assert resolve_pretrained_folder(XCLIP_B32, None, "m") == (snapshot, snapshot / "model.safetensors")
    zoo = folder_with(XCLIP_B32.cache_path.parent, "model.safetensors")
    assert resolve_pretrained_folder(XCLIP_B32, XCLIP_B32.name, "m") == (zoo, XCLIP_B32.cache_path)
    assert resolve_pretrained_folder(XCLIP_B32, None, "m") == (zoo, XCLIP_B32.cache_path)


def test_bad_paths_are_one_line_naming_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    half = tmp_path / "half"
    half.mkdir()
    (half / "model.safetensors").write_text("x")
    for path, message in ((tmp_path / "nowhere", "no weights for m"), (tmp_path / "empty", "no weights for m"),
                          (half, "no config.json")):
        with pytest.raises(VbenchError, match=message) as info:
            resolve_pretrained_folder(XCLIP_B32, str(path), "m")
        assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_fetch_refuses_a_file_and_reuses_the_manifest(tmp_path):
    (tmp_path / "model.bin").write_text("x")
    with pytest.raises(VbenchError, match="not a save_pretrained folder of xclip-base-patch32"):
        fetch_pretrained(XCLIP_B32, "XCLIPModel", file=tmp_path / "model.bin")
    assert cached_manifest(XCLIP_B32, None, False) is None
    folder_with(XCLIP_B32.cache_path.parent, "model.safetensors")
    (XCLIP_B32.cache_path.parent / "manifest.json").write_text('{"sha256": "ab"}')
    assert fetch_pretrained(XCLIP_B32, "XCLIPModel") == {"sha256": "ab"}  # nothing fetched again
    assert cached_manifest(XCLIP_B32, None, True) is None and cached_manifest(XCLIP_B32, tmp_path, False) is None
