"""Temporal metrics: closed forms, hand computations, known answers on the synthetic world, batched vs one-shot,
streaming states, the plug-in, and real clips (skipped when ../shared is absent)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from metrics.base import ClipRecord
from metrics.functional.optical_flow import FlowSettings
from metrics.functional.temporal import (
    TemporalSettings,
    clip_frame_consistency,
    consecutive_mean_abs_diff,
    dynamic_degree,
    dynamic_pairs_needed,
    dynamic_stride,
    dynamic_threshold,
    interpolate_middle,
    is_dynamic,
    motion_smoothness,
    pair_warping_error,
    temporal_features,
    temporal_flicker,
    top_fraction_mean,
    warping_error,
)
from metrics.temporal import TemporalConsistency
from tests.conftest import real_clip_paths
from tests.metrics.test_optical_flow import texture
from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts
from vbench_lite.types import Clip, Prompt, VbenchError

SCALARS = ("temporal_flicker", "motion_smoothness", "warping_error", "dynamic_degree")


def pan(speed: int, num_frames: int = 16, size: int = 64, seed: int = 1) -> np.ndarray:
    """A camera pan over a texture: every frame is the window ``speed`` pixels right of the previous one."""
    big = texture(size + 32, size + speed * num_frames + 16, seed=seed)
    return np.stack([big[10:10 + size, 5 + speed * t:5 + speed * t + size] for t in range(num_frames)])


def still(num_frames: int = 8, size: int = 64) -> np.ndarray:
    return np.repeat(texture(size, size)[None], num_frames, axis=0)


# -- closed forms -------------------------------------------------------------------------------------------------
def test_identical_frames_closed_forms():
    frames = still()
    feats = temporal_features(frames, 8.0)
    assert feats["temporal_flicker"] == 1.0
    assert feats["motion_smoothness"] == 1.0
    assert feats["warping_error"] == 0.0
    assert feats["dynamic_degree"] == 0.0
    assert np.all(feats["dynamic_pair_magnitude"] == 0.0)
    assert np.all(feats["warping_visible_fraction"] == 1.0)
    # the one-measure functions agree
    assert temporal_flicker(frames) == 1.0
    assert motion_smoothness(frames) == 1.0
    assert warping_error(frames) == 0.0
    assert dynamic_degree(frames, 8.0) == 0.0


def test_a_clip_and_its_exact_copy_agree():
    frames = pan(2)
    a, b = temporal_features(frames, 8.0), temporal_features(frames.copy(), 8.0)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


@pytest.mark.parametrize("step", [1, 7, 20])
def test_constant_brightness_step_gives_flicker_exactly(step):
    """Frame t = base + t * step (no clipping): every pair differs by exactly ``step`` levels on every value."""
    num_frames = 6
    base = np.random.default_rng(step).integers(0, 255 - step * (num_frames - 1), (12, 16, 3))
    frames = np.stack([base + t * step for t in range(num_frames)]).astype(np.uint8)
    # hand computation: plain Python sums of |difference| over every value of every pair
    total, count = 0, 0
    for t in range(num_frames - 1):
        for value_next, value in zip(frames[t + 1].ravel().tolist(), frames[t].ravel().tolist()):
            total += abs(value_next - value)
            count += 1
    hand = (255 - total / count) / 255
    assert hand == (255 - step) / 255
    assert temporal_flicker(frames) == (255 - step) / 255
    assert np.array_equal(consecutive_mean_abs_diff(frames), np.full(num_frames - 1, float(step)))


def test_flicker_counts_half_changed_pixels_half():
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    frames[1, :2] = 40  # half of the values change by 40 between frames 0-1 and 1-2
    assert temporal_flicker(frames) == (255 - 20) / 255


def test_alternating_brightness_gives_smoothness_exactly():
    """Odd frames brightened by d on a still texture: each odd frame is rebuilt from two identical even frames
    (zero flow), so e_t = d exactly and smoothness = (255 - d) / 255; flicker is the same."""
    d = 10
    base = texture(64, 64)
    frames = np.stack([base + (d if t % 2 else 0) for t in range(7)]).astype(np.uint8)
    feats = temporal_features(frames, 8.0)
    assert np.array_equal(feats["smoothness_frame_mae"], np.full(3, float(d)))
    assert feats["motion_smoothness"] == (255 - d) / 255
    assert feats["temporal_flicker"] == (255 - d) / 255
    # warping: flow is ~0 here, so the masked MSE is close to the brightness step squared
    assert feats["warping_error"] == pytest.approx((d / 255) ** 2, rel=0.02)


def test_interpolation_of_a_still_pair_is_exact():
    image = texture(32, 32)
    zero = np.zeros((32, 32, 2), np.float32)
    assert np.array_equal(interpolate_middle(image, image, zero, zero), image)


def test_interpolation_uses_half_the_flow_each_way():
    """prev = window at x, next = window at x + 4: the middle is the window at x + 2 (a 2 px shift each way)."""
    big = texture(64, 96, seed=7)
    prev, middle, nxt = big[8:40, 10:42], big[8:40, 12:44], big[8:40, 14:46]
    fw = np.zeros((32, 32, 2), np.float32)
    fw[..., 0] = -4.0  # content moves left by 4 px from prev to next
    interpolated = interpolate_middle(prev, nxt, fw, -fw)
    assert np.array_equal(interpolated[:, 2:-4], middle[:, 2:-4])


def test_smoothness_is_invariant_to_playing_backwards():
    frames = pan(2, num_frames=9)
    frames[4] = np.roll(frames[4], 3, axis=0)  # a glitch, so the value is not trivially 1
    forward, backward = motion_smoothness(frames), motion_smoothness(frames[::-1].copy())
    assert forward == backward < 0.999


def test_pans_are_smooth_and_warp_back_exactly_and_shuffling_them_is_not():
    frames = pan(2)
    feats = temporal_features(frames, 8.0)
    assert feats["motion_smoothness"] > 0.995
    assert feats["warping_error"] < 1e-4
    shuffled = frames[np.random.default_rng(3).permutation(len(frames))]
    bad = temporal_features(shuffled, 8.0)
    assert bad["motion_smoothness"] < feats["motion_smoothness"] - 0.02
    assert bad["warping_error"] > feats["warping_error"] + 1e-3


def test_pair_warping_error_hand_computed():
    rng = np.random.default_rng(8)
    a = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    zero = np.zeros((12, 20, 2), np.float32)
    mse, visible = pair_warping_error(a, b, zero, zero)
    assert visible == 1.0
    assert mse == pytest.approx(np.mean((b / 255.0 - a / 255.0) ** 2), rel=1e-6)
    # forward flow +3 px in x, consistent backward flow: the last 3 columns sample outside the frame
    fw, bw = zero.copy(), zero.copy()
    fw[..., 0], bw[..., 0] = 3.0, -3.0
    mse, visible = pair_warping_error(a, b, fw, bw)
    diff = b[:, 3:] / 255.0 - a[:, :17] / 255.0
    assert visible == 17 / 20
    assert mse == pytest.approx(np.mean(diff ** 2), rel=1e-6)
    # inconsistent flows everywhere: no visible pixel, so every pixel counts (Lai et al.)
    mse, visible = pair_warping_error(a, b, fw, fw)
    warped = np.concatenate([b[:, 3:], np.repeat(b[:, -1:], 3, axis=1)], axis=1)
    assert visible == 0.0
    assert mse == pytest.approx(np.mean((warped / 255.0 - a / 255.0) ** 2), rel=1e-6)


# -- dynamic degree -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("h", "w", "fps", "expected"), [
    (64, 64, 8.0, 1.5), (256, 256, 8.0, 6.0), (144, 256, 24.0, 6.0 * 144 / 256), (64, 64, 4.0, 3.0),
    (256, 64, 2.0, 6.0),
])
def test_dynamic_threshold_closed_form(h, w, fps, expected):
    assert dynamic_threshold(h, w, fps) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("fps", "frames", "expected"), [
    (8.0, 16, 1), (4.0, 16, 1), (11.9, 16, 1), (12.0, 16, 2), (20.0, 16, 3), (24.0, 16, 3), (30.0, 64, 4),
    (30.0, 3, 2), (60.0, 2, 1),
])
def test_dynamic_stride_closed_form(fps, frames, expected):
    assert dynamic_stride(fps, frames) == expected


@pytest.mark.parametrize(("pairs", "needed"), [(1, 1), (3, 1), (4, 1), (5, 2), (7, 2), (8, 2), (9, 3), (15, 4),
                                               (23, 6), (31, 8)])
def test_pairs_needed_is_a_quarter_rounded_up(pairs, needed):
    assert dynamic_pairs_needed(pairs) == needed


def test_top_fraction_mean_and_strict_threshold():
    assert top_fraction_mean(np.arange(100.0)) == np.mean([95, 96, 97, 98, 99])
    assert top_fraction_mean(np.arange(10.0)) == 9.0  # at least one value
    assert is_dynamic(np.array([2.0, 2.0, 1.0]), threshold=1.5, needed=2) == 1.0
    assert is_dynamic(np.array([1.5, 1.5, 1.5]), threshold=1.5, needed=1) == 0.0  # must exceed


def test_dynamic_degree_on_pans_and_its_fps_rule():
    """64x64 at 8 fps: threshold 1.5 px per pair; the top-5% flow of a pan is its speed."""
    assert dynamic_degree(pan(2), 8.0) == 1.0
    assert dynamic_degree(pan(1), 8.0) == 0.0
    assert dynamic_degree(pan(1), 30.0) == 1.0  # stride 4: 4 px per sampled pair
    assert dynamic_degree(pan(2), 4.0) == 0.0  # threshold doubles at 4 fps: 3 px


def test_dynamic_degree_does_not_depend_on_downscaling():
    """A 512-pixel pan is downscaled to 256 for flow; threshold and motion halve together."""
    fast = pan(16, num_frames=6, size=512)
    slow = pan(4, num_frames=6, size=512)
    feats = temporal_features(fast, 8.0)
    assert tuple(feats["flow_size"]) == (256, 256) and feats["dynamic_threshold"] == 6.0
    assert feats["dynamic_degree"] == 1.0
    assert temporal_features(slow, 8.0)["dynamic_degree"] == 0.0
    full = TemporalSettings(flow=FlowSettings(max_side=512))
    assert temporal_features(fast, 8.0, full)["dynamic_degree"] == 1.0


# -- CLIP frame consistency ---------------------------------------------------------------------------------------
def test_clip_frame_consistency_hand_computed():
    e = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    # t=2: 1/2 (max(0, 0) + max(0, 0)) = 0;  t=3: 1/2 (cos(f1, f3) = 0 + cos(f2, f3) = 1) = 0.5
    assert clip_frame_consistency(e) == 0.25
    assert clip_frame_consistency(np.ones((5, 8))) == pytest.approx(1.0, abs=1e-15)
    opposite = np.array([[1.0, 0.0], [-1.0, 0.0]])  # negative cosines count as 0
    assert clip_frame_consistency(opposite) == 0.0
    assert math.isnan(clip_frame_consistency(np.ones((1, 4))))


def test_clip_frame_consistency_matches_a_loop_and_accepts_torch():
    f = np.random.default_rng(9).normal(size=(7, 16))
    unit = [[x / math.sqrt(sum(y * y for y in v)) for x in v] for v in f.tolist()]

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b))

    loop = sum(0.5 * (max(0.0, cos(unit[0], unit[t])) + max(0.0, cos(unit[t - 1], unit[t])))
               for t in range(1, 7)) / 6
    assert clip_frame_consistency(f) == pytest.approx(loop, abs=1e-12)
    assert clip_frame_consistency(torch.from_numpy(f).float()) == pytest.approx(loop, abs=1e-6)


@pytest.mark.parametrize("bad", [np.zeros(4), np.zeros((3, 4)), np.full((3, 4), np.nan)])
def test_clip_frame_consistency_bad_input(bad):
    # The functional core raises ValueError (it knows nothing of the CLI); the metric classes turn it into VbenchError.
    with pytest.raises(ValueError, match="CLIP frame consistency"):
        clip_frame_consistency(bad)


# -- known answers on the synthetic world ---------------------------------------------------------------------------
MOVING = ("a-green-circle-moving-left-on-a-gray-background",
          "a-blue-triangle-and-a-white-diamond-moving-diagonally-on-a-gray-background")
STILL = ("a-purple-circle-staying-still-on-a-navy-background",)
PROMPTS = {p.id: p for p in synthetic_suite_prompts()}
SEEDS = (0, 1)


def synthetic(prompt_id: str, seed: int, defect: str = "none", strength: float = 1.0) -> Clip:
    return SyntheticGenerator(defect=defect, strength=strength).generate(PROMPTS[prompt_id], seed=seed,
                                                                         num_frames=16, size=(64, 64))


def scores(clip: Clip) -> dict[str, float]:
    feats = temporal_features(clip.frames, clip.fps)
    return {k: float(feats[k]) for k in SCALARS}


@pytest.fixture(scope="module")
def synthetic_scores() -> dict[tuple[str, int, str], dict[str, float]]:
    out = {}
    for prompt_id in MOVING + STILL:
        for seed in SEEDS:
            for defect, strength in (("none", 1.0), ("flicker", 1.0), ("flicker", 0.25), ("freeze", 1.0),
                                     ("wrong_color", 1.0),
                                     ("shuffle", 1.0), ("noise", 1.0), ("blur", 1.0)):
                key = defect if strength == 1.0 else f"{defect}@{strength}"
                out[(prompt_id, seed, key)] = scores(synthetic(prompt_id, seed, defect, strength))
    return out


@pytest.mark.parametrize("prompt_id", MOVING + STILL)
@pytest.mark.parametrize("seed", SEEDS)
def test_flicker_defect_lowers_the_flicker_score(synthetic_scores, prompt_id, seed):
    clean, flicker = synthetic_scores[(prompt_id, seed, "none")], synthetic_scores[(prompt_id, seed, "flicker")]
    assert flicker["temporal_flicker"] < clean["temporal_flicker"] - 0.08
    # 30 levels on every other frame: by the triangle inequality each pair's mean absolute difference grows by at
    # most 30 (clipping at 0/255 can only make the change smaller)
    assert flicker["temporal_flicker"] >= clean["temporal_flicker"] - 30 / 255 - 1e-12


@pytest.mark.parametrize("prompt_id", MOVING + STILL)
@pytest.mark.parametrize("seed", SEEDS)
def test_frozen_clips_are_static_and_perfect(synthetic_scores, prompt_id, seed):
    frozen = synthetic_scores[(prompt_id, seed, "freeze")]
    assert frozen == {"temporal_flicker": 1.0, "motion_smoothness": 1.0, "warping_error": 0.0, "dynamic_degree": 0.0}


@pytest.mark.parametrize("seed", SEEDS)
def test_moving_shapes_are_dynamic_and_still_ones_are_not(synthetic_scores, seed):
    for prompt_id in MOVING:
        assert synthetic_scores[(prompt_id, seed, "none")]["dynamic_degree"] == 1.0, prompt_id
    for prompt_id in STILL:
        assert synthetic_scores[(prompt_id, seed, "none")]["dynamic_degree"] == 0.0, prompt_id


@pytest.mark.parametrize("prompt_id", MOVING)
@pytest.mark.parametrize("seed", SEEDS)
def test_shuffling_lowers_smoothness_and_raises_warping_error(synthetic_scores, prompt_id, seed):
    clean, shuffled = synthetic_scores[(prompt_id, seed, "none")], synthetic_scores[(prompt_id, seed, "shuffle")]
    assert shuffled["motion_smoothness"] < clean["motion_smoothness"] - 0.005
    assert shuffled["warping_error"] > clean["warping_error"]


@pytest.mark.parametrize("prompt_id", MOVING + STILL)
@pytest.mark.parametrize("seed", SEEDS)
def test_noise_is_the_worst_defect(synthetic_scores, prompt_id, seed):
    """At the generator's default strengths noise (sigma 60) is the worst defect on flicker, smoothness and warping
    error: its clipped frame-to-frame change (about 50 levels) exceeds the flicker defect's 30-level step."""
    noise = synthetic_scores[(prompt_id, seed, "noise")]
    for other in ("none", "flicker", "flicker@0.25", "freeze", "shuffle", "blur", "wrong_color"):
        rival = synthetic_scores[(prompt_id, seed, other)]
        assert noise["temporal_flicker"] < rival["temporal_flicker"], other
        assert noise["motion_smoothness"] < rival["motion_smoothness"], other
        assert noise["warping_error"] > rival["warping_error"], other


# -- batched vs one-shot, repeatability -----------------------------------------------------------------------------
def _clips_and_prompts() -> tuple[list[Clip], list[Prompt]]:
    clips = [synthetic(MOVING[0], 0), synthetic(MOVING[1], 1, "shuffle"), synthetic(STILL[0], 0, "noise"),
             Clip(pan(3, num_frames=9, size=48), fps=24.0, source="pan")]
    prompts = [PROMPTS[MOVING[0]], PROMPTS[MOVING[1]], PROMPTS[STILL[0]], PROMPTS[STILL[0]]]
    return clips, prompts


def test_batched_and_one_shot_agree_exactly_and_runs_repeat():
    clips, prompts = _clips_and_prompts()
    plugin = TemporalConsistency()
    batched = plugin.extract(clips, prompts)
    again = TemporalConsistency().extract(clips, prompts)
    for i, (clip, prompt) in enumerate(zip(clips, prompts)):
        single = plugin.extract([clip], [prompt])[0]
        direct = temporal_features(clip.frames, clip.fps)
        for key in batched[i]:
            assert np.array_equal(batched[i][key], single[key]), key
            assert np.array_equal(batched[i][key], direct[key]), key
            assert np.array_equal(batched[i][key], again[i][key]), key
        for key in SCALARS:
            assert batched[i][key].dtype == np.float64 and batched[i][key].shape == ()


def test_streaming_metrics_match_the_plugin_and_merge_exactly():
    clips, prompts = _clips_and_prompts()
    feats = [temporal_features(c.frames, c.fps) for c in clips]
    whole = TemporalConsistency()
    for clip, prompt in zip(clips, prompts):
        whole.update_clips([clip], [prompt])
    shard_a, shard_b = TemporalConsistency(), TemporalConsistency()
    shard_a.update_clips(clips[:2])
    shard_b.update(shard_b.extract(clips[2:], prompts[2:]))
    shard_a.merge_state(shard_b)
    for key in SCALARS:
        expected = sum(float(f[key]) for f in feats) / len(feats)
        assert whole.compute()[key].dtype == torch.float64
        assert whole.compute()[key].item() == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert shard_a.compute()[key].item() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert all(fx is not None and fx.__name__ == "dim_zero_cat" for fx in whole._reductions.values())
    assert TemporalConsistency.outputs["warping_error"] is False
    assert TemporalConsistency.outputs["dynamic_degree"] is True
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert math.isnan(TemporalConsistency().compute()["temporal_flicker"].item())


def test_plugin_outputs_settings_and_aggregate():
    assert TemporalConsistency.outputs == {"temporal_flicker": True, "motion_smoothness": True, "warping_error": False,
                                      "dynamic_degree": True}
    plugin = TemporalConsistency()
    settings = plugin.settings()
    assert settings["flow"]["method"] == "dis" and settings["flow"]["max_side"] == 256
    assert settings["occlusion_alpha1"] == 0.01 and settings["occlusion_alpha2"] == 0.5
    assert settings["dynamic_threshold_px"] == 6.0 and settings["dynamic_pair_fraction"] == 0.25
    assert TemporalConsistency(flow_max_side="128").cache_key() != plugin.cache_key()
    clips, prompts = _clips_and_prompts()
    feats = plugin.extract(clips, prompts)
    records = [ClipRecord(p, 0, f, plugin.per_video(f)) for p, f in zip(prompts, feats)]
    results = plugin.aggregate(records)
    assert set(results) == set(SCALARS)
    dynamic = [float(f["dynamic_degree"]) for f in feats]
    assert results["dynamic_degree"].value == sum(dynamic) / len(dynamic)  # the fraction of dynamic clips
    assert results["warping_error"].higher_is_better is False
    assert results["temporal_flicker"].n == 4 and results["temporal_flicker"].settings == settings


def test_plugin_settings_from_strings():
    s = TemporalConsistency.parse_settings(dict(flow_method="farneback", flow_max_side="128", occlusion_alpha2="0.25",
                                                farneback_winsize="9", dynamic_pair_fraction="0.5"))
    assert s.flow.method == "farneback" and s.flow.max_side == 128 and s.flow.winsize == 9
    assert s.occlusion_alpha2 == 0.25 and s.dynamic_pair_fraction == 0.5
    with pytest.raises(VbenchError, match="unknown settings"):
        TemporalConsistency(threshold="3")
    with pytest.raises(VbenchError, match="flow_max_side must be an integer"):
        TemporalConsistency(flow_max_side="big")
    with pytest.raises(VbenchError, match="dynamic_top_fraction"):
        TemporalConsistency(dynamic_top_fraction="2")


def test_short_and_bad_clips():
    two = Clip(pan(2, num_frames=2), source="two.mp4")
    feats = TemporalConsistency().extract([two], [PROMPTS[STILL[0]]])[0]
    assert math.isnan(feats["motion_smoothness"]) and np.isfinite(feats["warping_error"])
    assert np.isfinite(feats["temporal_flicker"]) and feats["dynamic_pairs_needed"] == 1
    with pytest.raises(VbenchError, match=r"one\.mp4: 1 frame"):
        TemporalConsistency().extract([Clip(still(1), source="one.mp4")], [PROMPTS[STILL[0]]])
    with pytest.raises(ValueError, match=r"tiny\.gif: frames of 8x8"):
        temporal_features(still(4, size=8), source="tiny.gif")
    with pytest.raises(VbenchError, match="uint8"):
        TemporalConsistency().update_clips([np.zeros((4, 16, 16, 3), np.float32)])
    with pytest.raises(ValueError, match="at least 3"):
        motion_smoothness(still(2))
    with pytest.raises(VbenchError, match="fps must be positive"):
        TemporalConsistency().update_clips([Clip(still(4), fps=0)])


# -- real clips ---------------------------------------------------------------------------------------------------
def _decode(path, num_frames: int = 9, max_side: int = 256) -> tuple[np.ndarray, float]:
    import av

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 8.0)
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == num_frames:
                break
    x = np.stack(frames)
    h, w = x.shape[1:3]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        x = np.stack([cv2.resize(f, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) for f in x])
    return x, fps


REAL = [p for p in real_clip_paths() if p.name in ("horse.mp4", "bigbuckbunny.mp4")]


@pytest.mark.needs_shared
@pytest.mark.skipif(not REAL, reason="shared real clips (horse.mp4, bigbuckbunny.mp4) not present")
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_clips_are_finite_and_in_range(path):
    frames, fps = _decode(path)
    feats = temporal_features(frames, fps, source=str(path))
    assert 0.5 < feats["temporal_flicker"] <= 1.0
    assert 0.5 < feats["motion_smoothness"] <= 1.0
    assert 0.0 <= feats["warping_error"] < 0.1
    assert feats["dynamic_degree"] in (0.0, 1.0)
    for key, value in feats.items():
        assert np.all(np.isfinite(value)), key
    # a real clip's frames are not a still: flicker and smoothness are below 1
    assert feats["temporal_flicker"] < 1.0 and feats["motion_smoothness"] < 1.0


# -- VBench's rules: static filter for flicker, dynamic degree (issue 15) ----------------------------------------
def test_static_filter_keeps_a_still_flickering_clip_and_drops_a_moving_one():
    rng = np.random.default_rng(0)
    base = texture(64, 64, seed=1)
    still = np.repeat(base[None], 8, axis=0).astype(np.int16)
    still = np.clip(still + rng.integers(-3, 4, size=(8, 1, 1, 1)), 0, 255).astype(np.uint8)  # flicker only
    moving = np.stack([np.roll(base, 4 * t, axis=1) for t in range(8)])
    settings = TemporalSettings(static_filter=True)
    kept = temporal_features(still, 8.0, settings)
    dropped = temporal_features(moving, 8.0, settings)
    assert kept["static"] == 1.0 and kept["temporal_flicker"] == temporal_flicker(still)
    assert dropped["static"] == 0.0 and np.isnan(dropped["temporal_flicker"])
    assert "static" not in temporal_features(still, 8.0)


def test_vbench_dynamic_rule_on_known_motion():
    base = texture(64, 64, seed=2)
    fast = np.stack([np.roll(base, 6 * t, axis=1) for t in range(16)])
    still = np.repeat(base[None], 16, axis=0)
    settings = TemporalSettings(dynamic_rule="vbench")
    f = temporal_features(fast, 8.0, settings)
    s = temporal_features(still, 8.0, settings)
    # 16 frames at 8 fps: every pair, threshold 6 * 64 / 256 = 1.5 px, round(16 / 4) = 4 moving pairs needed
    assert f["dynamic_threshold"] == 1.5 and f["dynamic_pairs_needed"] == 4
    assert f["dynamic_degree"] == 1.0 and s["dynamic_degree"] == 0.0
