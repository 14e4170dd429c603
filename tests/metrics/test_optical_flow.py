"""Optical flow helpers: closed forms (known translations, exact warps, hand-computed occlusion tests), an
independent bilinear reference (scipy), determinism and bad inputs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

from metrics.functional.optical_flow import (
    FlowEstimator,
    FlowSettings,
    flow_magnitude,
    flow_size,
    inside_frame,
    occlusion_mask,
    resize_frames,
    to_gray,
    warp_backward,
)


def texture(height: int, width: int, seed: int = 0, sigma: float = 2.0) -> np.ndarray:
    """A smooth random uint8 RGB texture with values in [20, 220] (flow has something to lock on everywhere)."""
    x = np.random.default_rng(seed).uniform(0, 255, (height, width, 3)).astype(np.float32)
    x = cv2.GaussianBlur(x, (0, 0), sigma)
    x = (x - x.min()) / (x.max() - x.min()) * 200 + 20
    return np.rint(x).astype(np.uint8)


@pytest.mark.parametrize(("size", "max_side", "expected"), [
    ((64, 64), 256, (64, 64)),
    ((256, 200), 256, (256, 200)),
    ((720, 1280), 256, (144, 256)),
    ((1080, 1920), 256, (144, 256)),
    ((1280, 720), 128, (128, 72)),
])
def test_flow_size_closed_form(size, max_side, expected):
    assert flow_size(*size, max_side) == expected


def test_resize_keeps_constant_images_and_shape():
    frames = np.full((3, 90, 160, 3), 77, np.uint8)
    small = resize_frames(frames, (45, 80))
    assert small.shape == (3, 45, 80, 3)
    assert np.all(small == 77)
    assert resize_frames(frames, (90, 160)) is frames


def test_gray_is_bt601_luma():
    rgb = np.random.default_rng(1).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    reference = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(to_gray(rgb).astype(np.float64) - reference).max() <= 1.0


def test_flow_magnitude_closed_form():
    flow = np.zeros((2, 2, 2), np.float32)
    flow[0, 0] = (3, 4)
    flow[1, 1] = (-6, 8)
    assert np.array_equal(flow_magnitude(flow), np.array([[5, 0], [0, 10]], np.float32))


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_identical_frames_have_no_motion(method):
    gray = to_gray(texture(64, 64)[None])[0]
    flow = FlowEstimator(FlowSettings(method=method))(gray, gray)
    assert flow.shape == (64, 64, 2) and flow.dtype == np.float32
    if method == "dis":
        assert np.all(flow == 0)  # DIS returns exact zeros, which makes the still-clip closed forms exact
    else:  # Farneback leaves small non-zero flow, largest at the image corners
        assert np.median(np.abs(flow)) < 0.02 and np.abs(flow).max() < 0.25


@pytest.mark.parametrize("method", ["dis", "farneback"])
@pytest.mark.parametrize(("dx", "dy"), [(3, 0), (0, -2), (2, 1)])
def test_known_translation_is_recovered(method, dx, dy):
    """The next frame is a window of a larger texture moved by (-dx, -dy): content moves by (+dx, +dy)."""
    big = texture(120, 120, seed=2)
    y0, x0 = 20, 20
    prev = big[y0:y0 + 80, x0:x0 + 80]
    nxt = big[y0 - dy:y0 - dy + 80, x0 - dx:x0 - dx + 80]
    flow = FlowEstimator(FlowSettings(method=method))(to_gray(prev[None])[0], to_gray(nxt[None])[0])
    inner = flow[12:-12, 12:-12].reshape(-1, 2)
    assert np.abs(np.median(inner, axis=0) - (dx, dy)).max() < 0.1


def test_warp_by_integer_flow_reproduces_the_previous_frame():
    big = texture(100, 100, seed=3)
    prev, nxt = big[20:84, 20:84], big[18:82, 23:87]  # content moved by (-3, +2)
    flow = np.zeros((64, 64, 2), np.float32)
    flow[..., 0], flow[..., 1] = -3, 2  # prev(x) = nxt(x + flow)
    warped = warp_backward(nxt, flow)
    assert warped.dtype == np.float32
    assert np.array_equal(warped[:-2, 3:], prev[:-2, 3:].astype(np.float32))


def test_zero_flow_warp_is_the_identity():
    image = texture(32, 48, seed=4).astype(np.float32)
    assert np.array_equal(warp_backward(image, np.zeros((32, 48, 2), np.float32)), image)


def test_warp_matches_scipy_bilinear_reference():
    """cv2.remap quantizes sample positions to 1/32 px: agree with an exact bilinear sampler to that precision."""
    rng = np.random.default_rng(5)
    image = texture(40, 40, seed=5, sigma=3.0)[..., 0].astype(np.float32)
    flow = rng.uniform(-3, 3, (40, 40, 2)).astype(np.float32)
    ys, xs = np.mgrid[0:40, 0:40].astype(np.float64)
    coords = np.stack([ys + flow[..., 1], xs + flow[..., 0]])
    reference = ndimage.map_coordinates(image.astype(np.float64), coords, order=1, mode="nearest")
    gy, gx = np.gradient(image.astype(np.float64))
    bound = (np.abs(gx).max() + np.abs(gy).max()) / 32 + 1e-3
    inside = inside_frame(flow)
    assert np.abs(warp_backward(image, flow)[inside] - reference[inside]).max() <= bound


def test_inside_frame_closed_form():
    flow = np.zeros((10, 20, 2), np.float32)
    flow[..., 0] = 3.0  # x + 3 leaves the frame for the last 3 columns
    inside = inside_frame(flow)
    assert inside[:, :17].all() and not inside[:, 17:].any()
    flow[..., 0] = 0.4  # within half a pixel of the last centre: still on the frame
    assert inside_frame(flow).all()
    flow[..., 0], flow[..., 1] = 0.0, -0.6
    assert not inside_frame(flow)[0].any() and inside_frame(flow)[1:].all()


@pytest.mark.parametrize(("fw", "bw", "occluded"), [
    ((2.0, 1.0), (-2.0, -1.0), False),  # perfectly consistent: |sum|^2 = 0
    ((0.5, 0.0), (0.2, 0.0), False),  # 0.49 <= 0.01 * (0.25 + 0.04) + 0.5 = 0.5029
    ((0.5, 0.0), (0.3, 0.0), True),  # 0.64 >  0.01 * (0.25 + 0.09) + 0.5 = 0.5034
    ((10.0, 0.0), (-9.5, 0.0), False),  # 0.25 <= 0.01 * (100 + 90.25) + 0.5 = 2.4025
    ((10.0, 0.0), (-8.0, 0.0), True),  # 4.0 > 0.01 * (100 + 64) + 0.5 = 2.14
])
def test_occlusion_check_hand_computed(fw, bw, occluded):
    flow_fw = np.broadcast_to(np.array(fw, np.float32), (16, 16, 2)).copy()
    flow_bw = np.broadcast_to(np.array(bw, np.float32), (16, 16, 2)).copy()
    mask = occlusion_mask(flow_fw, flow_bw)
    assert mask.dtype == bool and mask.shape == (16, 16)
    assert np.all(mask == occluded)


def test_occlusion_check_reads_the_backward_flow_at_the_target():
    """Left half moves right by 4 px: its backward flow lives 4 px further right, where the check must look."""
    flow_fw = np.zeros((8, 32, 2), np.float32)
    flow_fw[:, :16, 0] = 4.0
    flow_bw = np.zeros((8, 32, 2), np.float32)
    flow_bw[:, 4:20, 0] = -4.0
    mask = occlusion_mask(flow_fw, flow_bw)
    assert not mask[:, :16].any()  # x + 4 lands in [4, 20) where bw = -4: consistent
    assert not mask[:, 20:].any()  # fw = 0 and bw = 0 there
    assert mask[:, 16:20].all()  # fw = 0 but bw = -4 at x: |-4|^2 = 16 > 0.01 * 16 + 0.5


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_is_deterministic(method):
    a = to_gray(texture(64, 80, seed=6)[None])[0]
    b = np.roll(a, 2, axis=1)
    first = FlowEstimator(FlowSettings(method=method))(a, b)
    second = FlowEstimator(FlowSettings(method=method))(a, b)
    assert np.array_equal(first, second)


def test_settings_describe_every_parameter():
    dis = FlowSettings().describe()
    assert dis["method"] == "dis" and dis["max_side"] == 256 and dis["dis"]["preset"] == "medium"
    assert dis["dis"]["patch_size"] == 8 and dis["opencv"] == cv2.__version__
    farneback = FlowSettings(method="farneback").describe()
    assert farneback["farneback"] == {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5,
                                      "poly_sigma": 1.2, "flags": 0}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "raft"}, "unknown method"),
    ({"dis_preset": "slow"}, "unknown DIS preset"),
    ({"max_side": 8}, "max_side=8"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FlowSettings(**kwargs)


def test_bad_frames_are_one_line_errors():
    estimator = FlowEstimator()
    with pytest.raises(ValueError, match="one size"):
        estimator(np.zeros((32, 32), np.uint8), np.zeros((32, 30), np.uint8))
    with pytest.raises(ValueError, match="one size"):
        estimator(np.zeros((32, 32), np.float32), np.zeros((32, 32), np.float32))
    with pytest.raises(ValueError, match="too small"):
        estimator(np.zeros((8, 32), np.uint8), np.zeros((8, 32), np.uint8))
