from __future__ import annotations

from pathlib import Path

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


# -- reproducible encoding (issue 12, item 7) -------------------------------------------------------------------
def _moving_disc(t=16, h=64, w=64) -> np.ndarray:
    """A soft red disc gliding over a blue ramp: the kind of small clip whose x264 bytes used to vary."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((t, h, w, 3), np.uint8)
    for i in range(t):
        d = np.hypot(xx - (8 + 2.5 * i), yy - (h / 2 + 6 * np.sin(i / 3)))
        out[i, ..., 0] = np.clip(255 - d * 20, 0, 255)
        out[i, ..., 2] = (xx * 3 + yy * 2 + i * 5) % 256
    return out


def _scribble_heap(seed: int) -> None:
    """Leave freed memory full of random bytes: an encoder that reads memory it never wrote then sees them."""
    rng = np.random.default_rng(seed)
    junk = [rng.integers(0, 256, size=int(rng.integers(1000, 100000)), dtype=np.uint8).tobytes() for _ in range(100)]
    del junk


def _sha256(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_same_clip_encodes_to_same_bytes_whatever_the_heap_holds(tmp_path, size):
    # With x264's MB-tree on, these clips gave up to 5 different files in 6 writes (pixels up to 9/255 apart).
    clip = Clip(_moving_disc(h=size[0], w=size[1]), fps=8.0)
    digests = set()
    for seed in range(6):
        _scribble_heap(seed)
        digests.add(_sha256(write_video(tmp_path / f"{seed}.mp4", clip)))
        digests.add(_sha256(write_video(tmp_path / f"{seed}.mkv", clip, lossless=True)))
    assert len(digests) == 2  # one mp4, one lossless mkv


@pytest.mark.parametrize("lossless", [False, True])
def test_generating_twice_writes_identical_clip_files(tmp_path, lossless):
    # Lossless clips are .mkv, whose muxer used to write a random segment id into every file.
    from vbench_lite.cli import main

    digests = []
    for run in range(3):
        _scribble_heap(run)
        out = tmp_path / f"run{run}"
        assert main(["generate", "--generator", "synthetic", "--suite", "synthetic", "--limit", "3",
                     "--out", str(out), "--no-progress"] + (["--lossless"] if lossless else [])) == 0
        clips = sorted((out / "clips").rglob("*.mkv" if lossless else "*.mp4"))
        assert len(clips) == 3
        digests.append([(p.relative_to(out).as_posix(), _sha256(p)) for p in clips])
    assert digests[0] == digests[1] == digests[2]


# -- damaged files and alpha (issue 12, item 16) ----------------------------------------------------------------
def _damage_after_packet(good: Path, out: Path, k: int) -> Path:
    """Zero every compressed frame from packet ``k`` (decode order) on; the container still lists all frames."""
    import av

    with av.open(str(good)) as container:
        packets = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(good.read_bytes())
    start, end = packets[k][0], packets[-1][0] + packets[-1][1]
    data[start:end] = bytes(end - start)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_damaged_mp4_is_noted_and_ffmpeg_stays_quiet(tmp_path, capfd, backend):
    good = write_video(tmp_path / "good.mp4", Clip(_moving_disc(t=16)))
    bad = _damage_after_packet(good, tmp_path / "bad.mp4", 6)
    intact = read_video(good).frames
    capfd.readouterr()
    clip = read_video(bad, backend=backend)
    n = clip.num_frames
    assert 1 <= n < 16
    assert np.array_equal(clip.frames, intact[:n])  # the frames before the damage, exactly
    assert clip.notes == [f"decoded {n} of 16 frames; the file is damaged after frame {n}"]
    sampled = read_video(bad, backend=backend, policy="uniform", num_frames=3)  # sampled over what decodes
    assert np.array_equal(sampled.frames, intact[sample_indices(n, "uniform", 3)])
    assert sampled.notes == clip.notes
    assert capfd.readouterr() == ("", "")  # FFmpeg's and decord's own error lines are silenced


@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_mkv_that_ends_early_is_noted_against_its_duration(tmp_path, backend):
    # Matroska lists no frame count, and the zeroed tail just ends the stream (no decode error; decord counts only
    # the 9 frames it can index). The header's duration (2 s at 8 fps) still says 16.
    frames = _moving_disc(t=16)
    good = write_video(tmp_path / "good.mkv", Clip(frames), lossless=True)
    clip = read_video(_damage_after_packet(good, tmp_path / "short.mkv", 9), backend=backend)
    assert clip.num_frames == 9 and np.array_equal(clip.frames, frames[:9])  # lossless: the source frames
    assert clip.notes == ["decoded 9 of about 16 frames (the file's duration times its frame rate); "
                          "the rest are missing from the file"]
    assert read_video(good, backend=backend).notes == []


def test_intact_files_have_no_notes(tmp_path):
    mp4 = write_video(tmp_path / "a.mp4", _ramp_clip())
    gif = tmp_path / "g.gif"
    _write_gif(gif, "L")
    for path in (mp4, gif):
        for backend in ("auto", "pyav"):
            assert read_video(path, backend=backend).notes == []


def _rgba_frames(t=4, h=16, w=24) -> np.ndarray:
    rgba = np.zeros((t, h, w, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 1] = (np.arange(w) * 10)[None, None, :]
    rgba[..., 2] = (np.arange(t) * 40 + 20)[:, None, None]
    rgba[..., 3] = np.linspace(0, 255, h).astype(np.uint8)[None, :, None]  # fully transparent to fully opaque
    return rgba


def _on_black(rgba: np.ndarray) -> np.ndarray:
    # Independent of the implementation's integer formula: colour * alpha / 255, rounded (never exactly .5 here:
    # c * a = 255 k + 127.5 has no integer solution).
    return np.rint(rgba[..., :3] * (rgba[..., 3:4] / 255.0)).astype(np.uint8)


def _write_rgba_video(path: Path, rgba: np.ndarray, codec: str, pix_fmt: str) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=8)
        stream.pix_fmt, stream.height, stream.width = pix_fmt, rgba.shape[1], rgba.shape[2]
        for f in rgba:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgba")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("codec,pix_fmt,name", [("png", "rgba", "a.mov"), ("qtrle", "argb", "a.mov"),
                                                ("ffv1", "bgra", "a.mkv")])
def test_rgba_video_is_composited_on_black_by_every_backend(tmp_path, codec, pix_fmt, name):
    from vbench_lite.video_io import ALPHA_NOTE

    rgba = _rgba_frames()
    path = _write_rgba_video(tmp_path / name, rgba, codec, pix_fmt)  # lossless: the alpha survives exactly
    folder = tmp_path / "frames"
    folder.mkdir()
    from PIL import Image

    for i, f in enumerate(rgba):
        Image.fromarray(f, "RGBA").save(folder / f"{i}.png")
    expected = _on_black(rgba)
    for clip in (read_video(path, backend="decord"), read_video(path, backend="pyav"), read_video(path),
                 read_video(folder)):
        assert np.array_equal(clip.frames, expected)
        assert clip.notes == [ALPHA_NOTE]


def test_vp9_alpha_in_webm_is_decoded_not_dropped(tmp_path):
    import av

    try:
        av.CodecContext.create("libvpx-vp9", "r")
        path = _write_rgba_video(tmp_path / "a.webm", _rgba_frames(), "libvpx-vp9", "yuva420p")
    except Exception:
        pytest.skip("this FFmpeg has no libvpx")
    clip = read_video(path)
    # Lossy yuva420p: measured 1.4/255 mean, 6 max from the exact composite; the colour with alpha dropped is
    # ~100/255 away on average, so 4 cannot confuse the two.
    assert np.abs(clip.frames.astype(int) - _on_black(_rgba_frames())).mean() < 4.0
    assert any("composited on black" in n for n in clip.notes)


def test_opaque_alpha_changes_nothing_and_says_nothing(tmp_path):
    rgba = _rgba_frames()
    rgba[..., 3] = 255
    path = _write_rgba_video(tmp_path / "opaque.mov", rgba, "png", "rgba")
    clip = read_video(path)
    assert np.array_equal(clip.frames, rgba[..., :3]) and clip.notes == []


# -- memory: keep only the sampled frames (issue 12, item 17) ---------------------------------------------------
def _numbered_gif(path: Path, n: int, side: int = 96) -> Path:
    """A GIF of ``n`` distinct grey frames; frame i is (i // 20) * 12 on the left and (i % 20) * 12 on the right."""
    from PIL import Image

    frames = []
    for i in range(n):
        arr = np.empty((side, side), np.uint8)
        arr[:, : side // 2], arr[:, side // 2:] = (i // 20) * 12, (i % 20) * 12
        frames.append(Image.fromarray(arr, "L"))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, loop=0)
    return path


def _frame_numbers(frames: np.ndarray) -> list[int]:
    side = frames.shape[2]
    left, right = frames[:, :, : side // 2].mean(axis=(1, 2, 3)), frames[:, :, side // 2:].mean(axis=(1, 2, 3))
    return [round(float(a) / 12) * 20 + round(float(b) / 12) for a, b in zip(left, right)]


def _peak_traced_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("policy", ["first", "uniform"])
def test_long_gif_keeps_only_a_bounded_number_of_frames(tmp_path, policy):
    from vbench_lite.video_pyav import WINDOW_FRAMES

    n, side = 400, 96
    gif = _numbered_gif(tmp_path / "long.gif", n, side)
    clip, peak = _peak_traced_bytes(lambda: read_video(gif, policy=policy, num_frames=16))
    assert _frame_numbers(clip.frames) == sample_indices(n, policy, 16).tolist()  # exactly the sampled frames
    frame_bytes = side * side * 3
    # first: 16 kept; uniform (length unknown to GIF): a window of max(32, 2 * 16) while counting, then 16.
    # 1 MB of slack for PyAV's Python objects; decoding every frame took >= 400 frames (11 MB).
    held = 16 if policy == "first" else max(WINDOW_FRAMES, 32) + 16
    assert peak < held * frame_bytes + 1_000_000


def test_unknown_length_keeps_a_bounded_window_then_only_the_sampled_frames(tmp_path, monkeypatch):
    import vbench_lite.video_pyav as video_pyav

    monkeypatch.setattr(video_pyav, "WINDOW_FRAMES", 8)
    n, side = 80, 96
    frames = np.stack([np.full((side, side, 3), i * 3, np.uint8) for i in range(n)])
    mkv = write_video(tmp_path / "long.mkv", Clip(frames), lossless=True)  # Matroska lists no frame count
    clip, peak = _peak_traced_bytes(lambda: read_video(mkv, policy="uniform", num_frames=4, backend="pyav"))
    assert np.array_equal(clip.frames, frames[sample_indices(n, "uniform", 4)])
    # A window of max(8, 2 * 4) frames (plus the one that overflows it) while counting, then the 4 sampled ones;
    # 0.5 MB of slack for PyAV's objects. Keeping every frame took 80 frames (2.2 MB).
    assert peak < (9 + 4) * side * side * 3 + 500_000


def test_big_png_frames_are_downscaled_one_at_a_time(tmp_path):
    import cv2
    from PIL import Image

    h, w = 1500, 2000
    yy, xx = np.mgrid[0:h, 0:w]
    frame = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)
    folder = tmp_path / "big"
    folder.mkdir()
    Image.fromarray(frame).save(folder / "0.png", compress_level=1)
    for i in range(1, 6):
        (folder / f"{i}.png").write_bytes((folder / "0.png").read_bytes())
    clip, peak = _peak_traced_bytes(lambda: read_video(folder, max_side=256))
    expected = cv2.resize(frame, (256, 192), interpolation=cv2.INTER_AREA)  # 2000x1500 -> 256x192
    assert clip.frames.shape == (6, 192, 256, 3)
    assert all(np.array_equal(f, expected) for f in clip.frames)
    # One full frame at a time (Pillow's bytes, the array made from them, the small resized copy: measured 3.1
    # frames); stacking the six before downscaling held 6 frames more than that.
    assert peak < 4 * frame.nbytes


@pytest.mark.parametrize("max_side", [None, 0])
def test_max_side_none_or_zero_keeps_full_size(tmp_path, max_side):
    from PIL import Image

    clip = Clip(np.full((2, 8, 1100, 3), 77, np.uint8))  # wider than the default 1024
    mkv = write_video(tmp_path / "wide.mkv", clip, lossless=True)
    folder = tmp_path / "wide"
    folder.mkdir()
    Image.fromarray(clip.frames[0]).save(folder / "0.png")
    for backend in ("decord", "pyav"):
        assert np.array_equal(read_video(mkv, max_side=max_side, backend=backend).frames, clip.frames)
    assert read_video(folder, max_side=max_side).frames.shape == (1, 8, 1100, 3)
    assert read_video(mkv, backend="pyav").frames.shape[1:3] == (8, 1024)  # the default still shrinks
    with pytest.raises(VbenchError, match="max_side"):
        read_video(mkv, max_side=-1)


def _decord_without_header_size(monkeypatch) -> None:
    """The decord path as it was before the header's size was used: frame 0 decoded to learn the size."""
    import dataclasses

    import vbench_lite.video_io as video_io

    real = video_io.probe_quietly
    monkeypatch.setattr(video_io, "probe_quietly",
                        lambda path: None if real(path) is None else dataclasses.replace(real(path), size=(0, 0)))


@pytest.mark.parametrize("max_side", [0, 40, 512])
def test_decord_reads_the_size_from_the_header_with_identical_pixels(tmp_path, monkeypatch, max_side):
    # max_side 40 scales every clip, where frame 0 still decides (see _read_decord): then only equality is checked
    import decord

    sizes = ((64, 64), (36, 100), (120, 160))
    paths = [write_video(tmp_path / f"{h}x{w}.mp4", _ramp_clip(t=7, h=h, w=w)) for h, w in sizes]
    paths += real_clip_paths()[:2]
    first_frames = []
    real_getitem = decord.VideoReader.__getitem__
    monkeypatch.setattr(decord.VideoReader, "__getitem__",
                        lambda self, i: first_frames.append(i) or real_getitem(self, i))
    with_header = [read_video(p, num_frames=5, policy="uniform", backend="decord", max_side=max_side) for p in paths]
    from vbench_lite.frames import target_size
    from vbench_lite.video_pyav import probe_quietly

    scaled = [p for p in paths if target_size(*probe_quietly(p).size, max_side) != probe_quietly(p).size]
    assert len(first_frames) == len(scaled)  # frame 0 is decoded to learn the size only where decord must scale
    # decord returns 4 channels at 32x48 (a stride quirk): the batch fails and frame 0 sends it to PyAV, as before
    paths.append(write_video(tmp_path / "32x48.mp4", _ramp_clip(t=7, h=32, w=48)))
    with_header.append(read_video(paths[-1], num_frames=5, policy="uniform", backend="decord", max_side=max_side))
    _decord_without_header_size(monkeypatch)
    for path, clip in zip(paths, with_header, strict=True):
        before = read_video(path, num_frames=5, policy="uniform", backend="decord", max_side=max_side)
        assert clip.frames.shape == before.frames.shape, path
        assert np.array_equal(clip.frames, before.frames), path  # byte-identical decoded pixels
    assert first_frames, "the comparison path must decode frame 0 (else it compares nothing)"
