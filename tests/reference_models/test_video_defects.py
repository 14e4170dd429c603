"""Each defect against its closed form on small arrays (reference_models/video_defects.py, synthetic_world.py)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from reference_models.synthetic_world import DEFECTS, SceneError, apply_defect, render_clip, render_scene, suite_scenes
from reference_models.video_defects import (
    FRAME_DEFECTS,
    apply_frame_defect,
    compress_crf,
    drop_indices,
    freeze_indices,
    h264_roundtrip,
    hue_rotation,
    jitter_times,
    shuffle_order,
)


def ramp(t: int = 8, h: int = 6, w: int = 4) -> np.ndarray:
    """Frame t is constant 10 t + a small spatial pattern: every frame is distinguishable from every other."""
    base = (np.arange(h * w * 3).reshape(h, w, 3) % 5).astype(np.int64)
    return np.stack([base + 10 * i for i in range(t)]).astype(np.uint8)


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_every_defect_is_known_and_strength_zero_is_identity():
    assert set(DEFECTS) == {"none", *FRAME_DEFECTS, "wrong_color", "remove_object"}
    x = ramp()
    for d in FRAME_DEFECTS:
        assert apply_frame_defect(x, d, 0.0, rng()) is x
    with pytest.raises(SceneError, match="unknown defect 'bogus'"):
        apply_defect(x, "bogus", 1.0, rng())
    with pytest.raises(ValueError, match="strength must be"):
        apply_frame_defect(x, "noise", -1.0, rng())


def test_freeze_closed_form():
    x = ramp()
    assert freeze_indices(8, 1.0).tolist() == [0] * 8
    assert freeze_indices(8, 0.5).tolist() == [0, 1, 2, 3, 3, 3, 3, 3]  # floor(0.5 * 7) = 3
    assert freeze_indices(8, 3.0).tolist() == [0] * 8  # saturates
    np.testing.assert_array_equal(apply_frame_defect(x, "freeze", 0.5, rng()), x[[0, 1, 2, 3, 3, 3, 3, 3]])


def test_shuffle_partial_permutes_k_positions_and_full_is_never_identity():
    for s, k in ((0.25, 2), (0.5, 4)):
        order = shuffle_order(8, s, np.random.default_rng(3))
        assert sorted(order.tolist()) == list(range(8))
        moved = int((order != np.arange(8)).sum())
        assert 2 <= moved <= k  # only k = round(s T) positions take part, and they are not all left in place
    for seed in range(20):
        order = shuffle_order(4, 1.0, np.random.default_rng(seed))
        assert sorted(order.tolist()) == [0, 1, 2, 3] and order.tolist() != [0, 1, 2, 3]
    x = ramp()
    order = shuffle_order(8, 1.0, np.random.default_rng(11))
    np.testing.assert_array_equal(apply_frame_defect(x, "shuffle", 1.0, np.random.default_rng(11)), x[order])


def test_drop_repeats_the_previous_kept_frame():
    idx = drop_indices(9, 1.0, np.random.default_rng(5))
    assert idx[0] == 0 and int((idx[1:] == idx[:-1]).sum()) == 4  # round(1 * 8 / 2) dropped frames
    assert all(idx[t] in (t, idx[t - 1]) for t in range(1, 9))
    assert drop_indices(9, 0.25, np.random.default_rng(5)).tolist().count(0) >= 1
    assert int((np.diff(drop_indices(9, 0.25, np.random.default_rng(5))) == 0).sum()) == 1  # round(0.25 * 4)
    x = ramp(9)
    np.testing.assert_array_equal(apply_frame_defect(x, "drop", 1.0, np.random.default_rng(5)), x[idx])


def test_noise_blur_flicker_keep_their_closed_forms():
    x = np.full((4, 8, 8, 3), 100, np.uint8)
    fl = apply_frame_defect(x, "flicker", 0.5, rng())
    assert fl[::2].tolist() == x[::2].tolist() and np.all(fl[1::2] == 115)  # dark clip: +30 * 0.5
    noisy = apply_frame_defect(np.full((2, 64, 64, 3), 128, np.uint8), "noise", 0.25, rng()).astype(float)
    assert abs(noisy.std() - 15.0) < 0.5  # sigma 60 * 0.25; 24576 samples: se of the sd ~0.07
    flat = apply_frame_defect(x, "blur", 1.0, rng())
    np.testing.assert_array_equal(flat, x)  # a blur of a constant image is the image


def test_color_shift_is_a_rotation_about_grey():
    m = hue_rotation(120.0)  # a third of a turn maps R -> G -> B exactly
    np.testing.assert_allclose(m @ np.array([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(hue_rotation(30.0) @ np.ones(3), np.ones(3), atol=1e-12)
    np.testing.assert_allclose(hue_rotation(30.0) @ hue_rotation(30.0).T, np.eye(3), atol=1e-12)
    x = np.zeros((1, 1, 2, 3), np.uint8)
    x[0, 0, 0] = (200, 0, 0)
    x[0, 0, 1] = (90, 90, 90)
    out = apply_frame_defect(x, "color_shift", 4.0, rng())  # 120 degrees
    assert out[0, 0, 0].tolist() == [0, 200, 0] and out[0, 0, 1].tolist() == [90, 90, 90]
    # 30 degrees, by hand: c = cos, s = sin, k = 1/sqrt(3): R' = (c + (1 - c)/3) 200
    c = math.cos(math.radians(30))
    r = apply_frame_defect(x, "color_shift", 1.0, rng())[0, 0, 0, 0]
    assert r == round((c + (1 - c) / 3) * 200)


def test_jitter_blends_neighbours_at_the_drawn_times():
    x = ramp(6)
    times = jitter_times(6, 1.0, np.random.default_rng(2))
    assert np.all(np.abs(times - np.clip(np.arange(6), 0, 5)) <= 0.5 + 1e-12)
    out = apply_frame_defect(x, "jitter", 1.0, np.random.default_rng(2))
    for t, p in enumerate(times):
        lo = math.floor(p)
        w = p - lo
        hi = min(lo + 1, 5)
        want = np.clip(np.rint(x[lo].astype(np.float32) * (1 - np.float32(w)) + x[hi] * np.float32(w)), 0, 255)
        np.testing.assert_array_equal(out[t], want)


def test_compress_is_deterministic_and_worse_at_higher_crf():
    assert (compress_crf(0.25), compress_crf(0.5), compress_crf(1.0), compress_crf(5.0)) == (26, 33, 48, 51)
    frames = render_clip(suite_scenes()[3], key="k", seed=0, num_frames=6, size=(31, 32))  # odd height: padded
    a = apply_frame_defect(frames, "compress", 1.0, rng())
    assert a.shape == frames.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, h264_roundtrip(frames, 48))
    np.testing.assert_array_equal(a, apply_frame_defect(frames, "compress", 1.0, rng()))
    errs = [np.abs(h264_roundtrip(frames, crf).astype(float) - frames).mean() for crf in (18, 33, 51)]
    assert errs[0] < errs[1] < errs[2]


def test_remove_object_hides_the_last_object_from_its_frame():
    scene = suite_scenes()[-1]  # two objects
    full = render_clip(scene, key="k", seed=1, num_frames=8, size=(32, 32))
    gone = render_clip(scene, key="k", seed=1, num_frames=8, size=(32, 32), defect="remove_object", strength=0.5)
    only_first = render_scene(scene, seed=1, num_frames=8, size=(32, 32), rng_key="k", hidden_from={1: 0})
    np.testing.assert_array_equal(gone[:4], full[:4])  # ceil((1 - 0.5) 8) = 4
    np.testing.assert_array_equal(gone[4:], only_first[4:])
    assert not np.array_equal(gone[4:], full[4:])
    one = suite_scenes()[0]
    empty = render_clip(one, key="k", seed=1, num_frames=4, size=(16, 16), defect="remove_object", strength=1.0)
    assert len({tuple(p) for p in empty.reshape(-1, 3).tolist()}) == 1  # background only


def test_strength_one_bytes_are_the_worlds_original_defects():
    """sha256 of clips made before strengths were graded (flicker, freeze, shuffle, noise, blur at strength 1)."""
    scene = suite_scenes()[200]
    want = {"flicker": "2b5986a901f29650", "freeze": "bde850ccf6efc0ba", "shuffle": "a131acf51cbcfc71",
            "noise": "6c83b54bd5823f9d", "blur": "304918ff0a3b904b"}
    got = {d: hashlib.sha256(render_clip(scene, key="k200", seed=3, num_frames=16, size=(64, 48), defect=d)
                              .tobytes()).hexdigest()[:16] for d in want}
    assert got == want


def test_wrong_color_is_binary_and_recolours_every_object():
    scene = suite_scenes()[-1]
    a = render_clip(scene, key="k", seed=2, num_frames=4, size=(32, 32), defect="wrong_color", strength=0.25)
    b = render_clip(scene, key="k", seed=2, num_frames=4, size=(32, 32), defect="wrong_color", strength=1.0)
    np.testing.assert_array_equal(a, b)
    from reference_models.synthetic_world import wrong_colors

    want = render_scene(scene, seed=2, num_frames=4, size=(32, 32), rng_key="k", color_override=wrong_colors(scene))
    np.testing.assert_array_equal(b, want)
    assert all(wrong_colors(scene)[k] != o.color for k, o in enumerate(scene.objects))
