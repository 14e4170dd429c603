from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import real_clip_paths
from vbench_lite.types import Clip, VbenchError
from vbench_lite.video_io import find_videos, parse_video_name, read_video, sample_indices, write_video


def _ramp_clip(t=6, h=32, w=48, fps=8.0) -> Clip:
    rng = np.random.default_rng(0)
    return Clip(rng.integers(0, 256, size=(t, h, w, 3), dtype=np.uint8), fps=fps)


# -- sampling ---------------------------------------------------------------------------------------------------
def test_sample_all_and_first():
    assert sample_indices(5, "all").tolist() == [0, 1, 2, 3, 4]
    assert sample_indices(5, "first", 3).tolist() == [0, 1, 2]
    assert sample_indices(2, "first", 3).tolist() == [0, 1]


def test_sample_uniform_includes_endpoints():
    assert sample_indices(10, "uniform", 4).tolist() == [0, 3, 6, 9]
    assert sample_indices(100, "uniform", 2).tolist() == [0, 99]
    assert sample_indices(9, "uniform", 1).tolist() == [4]


def test_sample_middle_of_segments():
    # 12 frames in 4 segments of 3: middles at 1.5 -> 1, 4.5 -> 4, 7.5 -> 7, 10.5 -> 10
    assert sample_indices(12, "middle", 4).tolist() == [1, 4, 7, 10]
    # more segments than frames repeats frames but never leaves the clip
    idx = sample_indices(3, "middle", 6)
    assert idx.min() >= 0 and idx.max() <= 2


def test_sample_fps_resampling():
    # 30 fps -> 10 fps keeps every third frame
    assert sample_indices(30, "fps", src_fps=30, target_fps=10).tolist() == list(range(0, 30, 3))
    # 8 fps -> 16 fps repeats each frame twice
    assert sample_indices(4, "fps", src_fps=8, target_fps=16).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert len(sample_indices(30, "fps", 5, src_fps=30, target_fps=10)) == 5


@pytest.mark.parametrize("policy,kwargs", [("uniform", {}), ("bogus", {"k": 2}), ("fps", {"k": 2})])
def test_sample_bad_policy(policy, kwargs):
    with pytest.raises(VbenchError):
        sample_indices(10, policy, **kwargs)


# -- encode / decode --------------------------------------------------------------------------------------------
def test_lossless_roundtrip_is_exact(tmp_path):
    clip = _ramp_clip()
    path = write_video(tmp_path / "a.mkv", clip, lossless=True)
    back = read_video(path)
    assert back.frames.shape == clip.frames.shape
    assert np.array_equal(back.frames, clip.frames)
    assert back.fps == pytest.approx(8.0)


def test_h264_roundtrip_is_close_and_atomic(tmp_path):
    # smooth content: H.264 at crf 12 is near-transparent on it
    yy, xx = np.mgrid[0:32, 0:48]
    frames = np.stack([np.stack([(xx * 5 + t * 3) % 256, yy * 7 % 256, (xx + yy) * 2 % 256], -1) for t in range(8)])
    clip = Clip(frames.astype(np.uint8), fps=12)
    path = write_video(tmp_path / "a.mp4", clip)
    back = read_video(path)
    assert back.frames.shape == clip.frames.shape
    assert np.abs(back.frames.astype(int) - clip.frames).mean() < 3.0
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]  # no temporary file left


def test_odd_size_is_padded_for_h264(tmp_path):
    clip = _ramp_clip(h=31, w=45)
    back = read_video(write_video(tmp_path / "odd.mp4", clip))
    assert back.frames.shape[1:3] == (32, 46)


def test_decode_samples_only_requested_frames(tmp_path):
    frames = np.zeros((10, 16, 16, 3), np.uint8)
    for t in range(10):
        frames[t] = t * 20
    path = write_video(tmp_path / "v.mkv", Clip(frames), lossless=True)
    clip = read_video(path, policy="uniform", num_frames=4)
    assert clip.num_frames == 4
    assert [int(f.mean()) for f in clip.frames] == [0, 60, 120, 180]


def test_max_side_downscales(tmp_path):
    clip = Clip(np.full((2, 64, 128, 3), 100, np.uint8))
    path = write_video(tmp_path / "big.mkv", clip, lossless=True)
    small = read_video(path, max_side=32)
    assert small.frames.shape[1:3] == (16, 32)


@pytest.mark.needs_shared
@pytest.mark.parametrize("path", real_clip_paths(), ids=lambda p: p.name)
def test_every_real_clip_decodes(path):
    clip = read_video(path, policy="uniform", num_frames=8)
    assert clip.num_frames == 8
    assert clip.frames.dtype == np.uint8 and clip.frames.shape[-1] == 3
    assert clip.fps > 0
    assert clip.frames.std() > 1.0  # real content, not a blank decode


def test_real_clips_are_listed_or_skipped():
    if not real_clip_paths():
        pytest.skip("shared real clips not present")
    assert len(real_clip_paths()) >= 10


# -- bad input --------------------------------------------------------------------------------------------------
def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(VbenchError, match=r"empty\.mp4: empty file"):
        read_video(p)


def test_text_file_named_mp4(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 20)
    with pytest.raises(VbenchError, match=r"notes\.mp4: "):
        read_video(p)


def test_truncated_mp4_keeps_what_decodes_or_errors_cleanly(tmp_path):
    clip = _ramp_clip(t=24, h=64, w=64)
    full = write_video(tmp_path / "full.mp4", clip)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        out = read_video(cut)
    except VbenchError as exc:
        assert "cut.mp4" in str(exc) and "\n" not in str(exc)
    else:
        assert 1 <= out.num_frames <= 24


def test_one_frame_video(tmp_path):
    p = write_video(tmp_path / "one.mp4", _ramp_clip(t=1))
    assert read_video(p).num_frames == 1


def _write_gif(path, mode):
    from PIL import Image

    frames = []
    for t in range(4):
        arr = np.zeros((20, 24), np.uint8)
        arr[:, t * 5:(t * 5) + 6] = 200
        im = Image.fromarray(arr, "L")
        if mode == "RGBA":
            rgba = Image.new("RGBA", im.size, (0, 0, 0, 0))
            rgba.paste(Image.merge("RGBA", (im, im, im, im)))
            im = rgba
        frames.append(im)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=125, loop=0)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grayscale_and_alpha_gif(tmp_path, mode):
    p = tmp_path / f"anim_{mode}.gif"
    _write_gif(p, mode)
    clip = read_video(p)
    assert clip.num_frames == 4
    assert clip.frames.shape[1:] == (20, 24, 3)
    assert clip.frames[0, :, :5].mean() > clip.frames[0, :, 12:].mean()


def test_frame_folder(tmp_path):
    from PIL import Image

    d = tmp_path / "frames"
    d.mkdir()
    for t in (1, 2, 10):  # natural order: 1, 2, 10 (not 1, 10, 2)
        Image.fromarray(np.full((8, 8, 3), t * 10, np.uint8)).save(d / f"frame_{t}.png")
    clip = read_video(d)
    assert [int(f.mean()) for f in clip.frames] == [10, 20, 100]


def test_4k_clip_is_downscaled(tmp_path):
    clip = Clip(np.full((2, 2160, 3840, 3), 90, np.uint8))
    p = write_video(tmp_path / "uhd.mp4", clip)
    out = read_video(p)
    assert max(out.frames.shape[1:3]) == 1024
    assert abs(int(out.frames.mean()) - 90) <= 2


def test_missing_file(tmp_path):
    with pytest.raises(VbenchError, match="no such file"):
        read_video(tmp_path / "nope.mp4")


# -- finding ----------------------------------------------------------------------------------------------------
def test_find_and_parse_both_namings(tmp_path):
    clip = _ramp_clip(t=2)
    write_video(tmp_path / "a-red-circle" / "0.mp4", clip)
    write_video(tmp_path / "a-red-circle" / "1.mp4", clip)
    write_video(tmp_path / "A cat playing piano-3.mp4", clip)
    (tmp_path / ".hidden.tmp.mp4").write_bytes(b"x")
    found = find_videos(tmp_path)
    parsed = sorted(parse_video_name(p, tmp_path) for p in found)
    assert parsed == [("A cat playing piano", 3, "text"), ("a-red-circle", 0, "id"), ("a-red-circle", 1, "id")]
