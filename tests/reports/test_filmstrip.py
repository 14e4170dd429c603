"""Filmstrips: exact tiling, downscaling only, JPEG round trip against read_video's uniform frames, clip lookup."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from reports.filmstrip import clip_path, filmstrip_data_uri, filmstrip_jpeg, tile_frames
from vbench_lite.types import Clip
from vbench_lite.video_io import read_video, write_video


def test_tile_frames_places_each_frame_exactly():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(4, 6, 5, 3), dtype=np.uint8)
    strip = tile_frames(frames, max_height=128, gap=2)
    assert strip.shape == (6, 4 * 5 + 3 * 2, 3)
    for i in range(4):
        np.testing.assert_array_equal(strip[:, i * 7: i * 7 + 5], frames[i])
    for i in range(3):
        assert (strip[:, i * 7 + 5: i * 7 + 7] == 255).all()  # white gaps


def test_tile_frames_downscales_tall_frames_only():
    frames = np.zeros((2, 400, 200, 3), dtype=np.uint8)
    assert tile_frames(frames, max_height=100, gap=0).shape == (100, 100, 3)
    small = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    assert tile_frames(small, max_height=100, gap=0).shape == (16, 32, 3)  # never enlarged


def test_filmstrip_of_a_video_matches_the_uniform_frames(tmp_path):
    t = np.arange(12, dtype=np.uint8)
    frames = np.broadcast_to((t * 20)[:, None, None, None], (12, 32, 32, 3)).copy()  # flat grey ramp over time
    path = tmp_path / "clip.mp4"
    write_video(path, Clip(frames, fps=8.0), lossless=True)
    jpeg, width, height = filmstrip_jpeg(path)
    image = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    assert image.shape == (height, width, 3) == (32, 4 * 32 + 3 * 2, 3)
    expected = read_video(path, policy="uniform", num_frames=4).frames
    for i in range(4):
        tile = image[:, i * 34: i * 34 + 32].astype(int)
        assert np.abs(tile.mean() - expected[i].mean()) < 2.0  # JPEG of a flat frame keeps its level


def test_filmstrip_data_uri_and_errors(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    out = filmstrip_data_uri(bad)
    assert out["src"] is None and "bad.mp4" in out["error"] and "\n" not in out["error"]
    frames = np.zeros((4, 16, 16, 3), dtype=np.uint8)
    good = tmp_path / "good.mp4"
    write_video(good, Clip(frames, fps=8.0))
    out = filmstrip_data_uri(good)
    assert out["src"].startswith("data:image/jpeg;base64,") and out["error"] == ""
    Image.open(io.BytesIO(base64.b64decode(out["src"].split(",", 1)[1]))).verify()


def test_clip_path_prefers_the_run_folder_then_the_recorded_path(tmp_path):
    run = tmp_path / "RUN"
    own = run / "clips" / "p1" / "0.mp4"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"x")
    elsewhere = tmp_path / "videos" / "a.mp4"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"x")
    assert clip_path(run, {"prompt_id": "p1", "sample": 0, "path": str(elsewhere)}) == own
    assert clip_path(run, {"prompt_id": "p2", "sample": 0, "path": str(elsewhere)}) == elsewhere
    assert clip_path(run, {"prompt_id": "p2", "sample": 0, "path": "videos/a.mp4"}) == tmp_path / "videos/a.mp4"
    assert clip_path(run, {"prompt_id": "p2", "sample": 0, "path": ""}) is None


@pytest.mark.parametrize("sample", [0, "0", 0.0])
def test_clip_path_sample_forms(tmp_path, sample):
    f = tmp_path / "clips" / "p" / "0.mkv"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    assert clip_path(tmp_path, {"prompt_id": "p", "sample": sample}) == f
