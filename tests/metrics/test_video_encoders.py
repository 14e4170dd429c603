"""metrics/video_encoders.py: loaders on random-init checkpoints of the exact architectures (tiny, and the real
configurations' shapes on the meta device), the read-out layer, the preprocessing, batched == one at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metrics.fvd_protocol import FvdProtocol
from metrics.video_encoders import (
    CD_FVD_SPACE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    JEDI_SPACE,
    VideoEncoderFeatures,
    file_sha256,
    resolve_folder,
)
from tests.metrics.encoder_fixtures import TINY_FRAMES, TINY_SIZE, tiny_videomae, tiny_vjepa2
from tests.metrics.tester import tiny_clips
from vbench_lite.types import VbenchError

PROTOCOL = FvdProtocol(num_frames=TINY_FRAMES, size=TINY_SIZE)
# float32 networks on the same inputs: batched and single runs may sum in another order (~1e-7 relative).
FEATURE_ATOL = 1e-5


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("enc")
    return {"videomae": tiny_videomae(root / "videomae"), "vjepa2": tiny_vjepa2(root / "vjepa2")}


@pytest.mark.parametrize(("space", "family"), [(CD_FVD_SPACE, "videomae"), (JEDI_SPACE, "vjepa2")])
def test_features_are_the_classifiers_input_and_batching_does_not_change_them(folders, space, family):
    """The read-out is what each model's own classification head reads: head(features) == the model's logits
    (VideoMAE-v2: fc_norm of the mean token; V-JEPA 2: the attentive pooler), one clip == a batch of three."""
    source, weights = resolve_folder(space, str(folders[family]), "test")
    assert weights == folders[family] / "model.safetensors"
    ext = VideoEncoderFeatures(space, source, protocol=PROTOCOL, batch_size=3, device="cpu")
    clips = tiny_clips(3)
    feats = ext.features([c.frames for c in clips])
    single = ext.features([clips[1].frames])
    np.testing.assert_allclose(single[0], feats[1], atol=FEATURE_ATOL)
    x = torch.stack([ext.prepare(c.frames) for c in clips])
    with torch.no_grad():
        if family == "videomae":
            logits = ext.model(pixel_values=x).logits
        else:
            logits = ext.model(pixel_values_videos=x).logits
        head = ext.model.classifier(torch.from_numpy(feats))
    np.testing.assert_allclose(head.numpy(), logits.numpy(), atol=FEATURE_ATOL)


def test_videomae_fc_norm_uses_videomae_v2_eps(folders):
    source, _ = resolve_folder(CD_FVD_SPACE, str(folders["videomae"]), "test")
    ext = VideoEncoderFeatures(CD_FVD_SPACE, source, protocol=PROTOCOL, device="cpu")
    assert ext.model.fc_norm.eps == 1e-6


def test_pixels_are_scaled_as_each_anchor_does(folders):
    """cd-FVD: frames / 255 bilinearly resized (no normalisation); JEDi: then ImageNet mean/std. Checked against a
    hand resize of the uint8 frames (float32 interpolation: 1e-6 absolute on values of order 1)."""
    frames = tiny_clips(1, size=40)[0].frames
    hand = F.interpolate(torch.from_numpy(frames[:TINY_FRAMES]).permute(0, 3, 1, 2).float() / 255.0,
                         size=(TINY_SIZE, TINY_SIZE), mode="bilinear", align_corners=False)
    for space, family in ((CD_FVD_SPACE, "videomae"), (JEDI_SPACE, "vjepa2")):
        source, _ = resolve_folder(space, str(folders[family]), "test")
        got = VideoEncoderFeatures(space, source, protocol=PROTOCOL, device="cpu").prepare(frames)
        want = hand if space.mean is None else (hand - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(
            IMAGENET_STD).view(1, 3, 1, 1)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_the_safetensors_file_itself_loads_and_its_sha256_is_the_files(folders):
    file = folders["videomae"] / "model.safetensors"
    source, weights = resolve_folder(CD_FVD_SPACE, str(file), "cd_fvd")
    assert source == str(folders["videomae"]) and file_sha256(weights) == __import__("hashlib").sha256(
        file.read_bytes()).hexdigest()


def test_missing_or_incomplete_weights_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(VbenchError, match="weights fetch videomae-v2-g-ssv2") as info:
        resolve_folder(CD_FVD_SPACE, CD_FVD_SPACE.model.name, "cd_fvd")  # not cached, never downloaded
    assert "\n" not in str(info.value)
    with pytest.raises(VbenchError, match="no weights for cd_fvd") as info:
        resolve_folder(CD_FVD_SPACE, str(tmp_path / "nowhere"), "cd_fvd")
    assert "\n" not in str(info.value)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(VbenchError, match="no config.json"):
        resolve_folder(CD_FVD_SPACE, str(tmp_path / "half"), "cd_fvd")


def test_real_configurations_have_the_published_shapes():
    """ViT-g/14 VideoMAE-v2 (cd-FVD: 1408-d, 40 blocks, ~1.0e9 parameters) and V-JEPA 2 ViT-L/16 (1024-d, 24 blocks)
    built on the meta device (no memory): the architectures the zoo names load into."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VJEPA2Config, VJEPA2ForVideoClassification

    from metrics.video_encoders import VIDEOMAE_V2_G_CONFIG, VJEPA2_L_SSV2_CONFIG

    with torch.device("meta"):
        vm = VideoMAEForVideoClassification(VideoMAEConfig(**VIDEOMAE_V2_G_CONFIG))
        vj = VJEPA2ForVideoClassification(VJEPA2Config(**VJEPA2_L_SSV2_CONFIG))
    vm_params = sum(p.numel() for p in vm.videomae.parameters())
    assert vm.fc_norm.normalized_shape == (1408,) and len(vm.videomae.encoder.layer) == 40
    assert vm.videomae.encoder.layer[0].intermediate.dense.out_features == 6144  # int(1408 * 48 / 11)
    assert 0.95e9 < vm_params < 1.05e9  # ViT-g: ~1.0B
    assert vj.classifier.in_features == 1024 and len(vj.vjepa2.encoder.layer) == 24
