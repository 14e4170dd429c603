"""The lab harness's real-clip path (``--real FOLDER``): windows, the reference/generated split and the defects, on
small synthetic videos written to disk (seconds, no network)."""

from __future__ import annotations

import numpy as np
import pytest

from reference_models.video_defects import apply_frame_defect
from vbench_lite.lab.distribution_comparison import defective, real_windows
from vbench_lite.types import Clip, VbenchError
from vbench_lite.video_io import read_video, write_video


def _video(path, frames: int, seed: int):
    rng = np.random.default_rng(seed)
    # A moving gradient with a per-video colour, so windows of one video differ from each other and from others.
    t = np.arange(frames)[:, None, None, None]
    y = np.arange(32)[None, :, None, None]
    x = np.arange(48)[None, None, :, None]
    base = rng.integers(0, 128, size=3)[None, None, None, :]
    write_video(path, Clip(((base + 2 * x + y + 3 * t) % 256).astype(np.uint8)), lossless=True)


def test_real_windows_split_even_odd_per_video(tmp_path):
    _video(tmp_path / "a.mp4", 40, 0)     # 2 windows of 16 (8 frames left over)
    _video(tmp_path / "b" / "c.mp4", 70, 1)  # 4 windows, capped to 3
    _video(tmp_path / "short.mp4", 20, 2)  # 1 window: skipped (cannot be on both sides)
    ref, gen, names = real_windows(tmp_path, num_frames=16, max_windows=3)
    assert names == ["a.mp4", "b/c.mp4"]
    a = read_video(tmp_path / "a.mp4", max_side=256).frames
    c = read_video(tmp_path / "b" / "c.mp4", max_side=256).frames
    # Windows are consecutive from each video's start; even ones are the reference, odd ones the generated set.
    expected_ref = [a[0:16], c[0:16], c[32:48]]
    expected_gen = [a[16:32], c[16:32]]
    assert len(ref) == 3 and len(gen) == 2
    for got, want in zip(ref + gen, expected_ref + expected_gen):
        np.testing.assert_array_equal(got, want)  # exact: slices of the same decode


def test_real_windows_refuses_a_folder_without_two_windows(tmp_path):
    _video(tmp_path / "short.mp4", 20, 0)
    with pytest.raises(VbenchError, match="at least 32 frames"):
        real_windows(tmp_path, num_frames=16)


@pytest.mark.parametrize("defect", ["shuffle", "color_shift", "noise"])
def test_defective_seeds_each_window(defect):
    rng = np.random.default_rng(5)
    windows = [rng.integers(0, 256, size=(16, 8, 8, 3), dtype=np.uint8) for _ in range(3)]
    got = defective(windows, defect, 1.0, seed=1)
    for i, w in enumerate(windows):
        want = apply_frame_defect(w, defect, 1.0, np.random.default_rng((1, i)))
        np.testing.assert_array_equal(got[i], want)  # exact: same closed form, same seed
    assert not np.array_equal(got[0], windows[0])
