"""Background consistency: VBench's formula on CLIP image features; known answers on the synthetic defects with the
offline toy CLIP (trained on the synthetic world), toy numbers labelled as toy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metrics.background_consistency import BackgroundConsistency
from metrics.base import ClipRecord
from metrics.functional.vbench_consistency import vbench_pixels
from reference_models.toy_clip import WEIGHTS_PATH
from tests.metrics.test_vbench_consistency import vbench_loop
from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts
from vbench_lite.types import VbenchError

pytestmark = pytest.mark.skipif(not WEIGHTS_PATH.exists(), reason="toy CLIP weights not trained yet")


@pytest.fixture(scope="module")
def metric():
    return BackgroundConsistency(model="vbench-toy-clip", device="cpu")


def render(defect: str, n: int = 3):
    prompts = synthetic_suite_prompts()[:: max(1, len(synthetic_suite_prompts()) // n)][:n]
    gen = SyntheticGenerator(defect=defect)
    return prompts, [gen.generate(p, seed=0, num_frames=12, size=(64, 64)) for p in prompts]


def test_value_equals_vbench_loop_on_the_encoder_features(metric):
    _, clips = render("none", 1)
    loaded = metric.loaded
    pixels = vbench_pixels(clips[0].frames, "clip", loaded.image_size, loaded.mean, loaded.std)
    with torch.no_grad():
        feats = loaded.model.encode_image(pixels).double()
    got = float(metric.extract(clips, [None])[0]["background_consistency"])
    assert got == pytest.approx(vbench_loop(feats), abs=1e-6)  # same float32 features, float64 sums


def test_freeze_raises_and_flicker_lowers_consistency(metric):
    values = {}
    for defect in ("none", "freeze", "flicker"):
        _, clips = render(defect)
        values[defect] = np.mean([float(f["background_consistency"]) for f in metric.extract(clips, [None] * 3)])
    assert values["freeze"] > values["none"] > values["flicker"], values


def test_toy_numbers_are_labelled(metric):
    prompts, clips = render("none", 2)
    feats = metric.extract(clips, prompts)
    records = [ClipRecord(p, 0, f, metric.per_video(f)) for p, f in zip(prompts, feats)]
    result = metric.aggregate(records)["background_consistency"]
    assert result.toy_model and "toy" in result.toy_model


def test_missing_file_and_unknown_tag_are_one_line(tmp_path):
    with pytest.raises(VbenchError, match="no-such.pt: weights file for background_consistency"):
        BackgroundConsistency(weights=str(tmp_path / "no-such.pt"), device="cpu")
    with pytest.raises(VbenchError) as info:
        BackgroundConsistency(device="cpu")  # ViT-B-32/openai is not in open_clip's cache here
    line = str(info.value)
    assert "\n" not in line  # and it names this metric's fetch command and setting, not the clip metric's
    assert "`vbench-lite weights fetch clip-vitb32-openai`" in line and "background_consistency.weights=" in line
    assert "clip.allow_download" not in line
