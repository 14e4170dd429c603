"""The detector backends (metrics/object_detection.py) and the OWLv2 fetcher (metrics/detector_weights.py): a tiny
random-init Owlv2ForObjectDetection saved with save_pretrained, loaded through the path a user's folder takes."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from metrics.object_detection import (
    Owlv2Detector,
    ToyDetectorBackend,
    finish,
    open_clip_token_ids,
    resolve_owlv2,
)
from tests.metrics.detection_fixtures import tiny_owlv2
from vbench_lite.types import VbenchError

TEXTS = ["a photo of a dog", "a photo of a Red Bicycle, 2 wheels", "a photo of a teddy bear on the left of a "
         "wooden chair in a very long sentence that is cut"]


def owlv2(weights, **kw) -> Owlv2Detector:
    args = {"device": "cpu", "allow_download": False, "batch_size": 3, "score_threshold": 0.1, "nms_iou": 0.5}
    return Owlv2Detector(str(weights), "object_class", **{**args, **kw})


@pytest.fixture(autouse=True)
def empty_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))


def frames(n=5, h=24, w=40, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_folder_tokenizer_gives_open_clip_bpe_ids():
    """The tokenizer saved in the folder (CLIP BPE, pad "!") and the open_clip fallback give the same ids and masks,
    including a text longer than OWLv2's 16-token context (cut, end token kept last)."""
    det = owlv2(tiny_owlv2(True))
    assert det.tokenizer is not None and det.context_length == 16
    ids, mask = det.token_ids(TEXTS)
    ref_ids, ref_mask = open_clip_token_ids(TEXTS, 16)
    assert torch.equal(ids, ref_ids) and torch.equal(mask, ref_mask)
    assert ids[0, 0] == 49406 and ids[2, -1] == 49407 and ids[0, -1] == 0  # start, end, pad
    assert mask[0].tolist() == [1] * 7 + [0] * 9
    # The one difference: "!" is OWLv2's pad token, so a transformers tokenizer splits it off as id 0 (the published
    # tokenizer does the same); open_clip reads it as the word "!</w>" (256). Object names carry no "!".
    assert det.token_ids(["a cat!"])[0][0, 3] == 0 and open_clip_token_ids(["a cat!"], 16)[0][0, 3] == 256


def test_folder_file_and_processor_paths_agree():
    """weights=FOLDER, weights=FOLDER/model.safetensors, and a folder without processor files (OWLv2's default
    processor at the model's size + open_clip's BPE) load the same network and give the same detections."""
    with_proc, bare = tiny_owlv2(True), tiny_owlv2(False)
    a, b, c = owlv2(with_proc), owlv2(with_proc / "model.safetensors"), owlv2(bare)
    assert a.weights_sha256 == hashlib.sha256((with_proc / "model.safetensors").read_bytes()).hexdigest()
    assert a.weights_sha256 == b.weights_sha256 == c.weights_sha256  # same seed, same bytes
    x = frames()
    da, db, dc = (d.detect(x, ["dog", "cat"]) for d in (a, b, c))
    assert da == db == dc and sum(map(len, da)) > 0


def test_boxes_are_frame_pixels_after_owlv2_square_padding():
    """OWLv2 pads a frame bottom/right to a square: relative boxes scale by max(H, W) and are clipped to the frame."""
    det = owlv2(tiny_owlv2(False))
    h, w = 16, 32
    white = np.full((1, h, w, 3), 255, np.uint8)
    pixels = det.processor(images=[torch.from_numpy(white[0]).permute(2, 0, 1)], return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 32, 32)  # square, the model's side (scale 1 here: no resampling)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    torch.testing.assert_close(pixels[0, :, :h], ((1 - mean) / std).expand(3, h, w), rtol=0, atol=1e-5)
    torch.testing.assert_close(pixels[0, :, h:], ((0 - mean) / std).expand(3, 32 - h, w), rtol=0, atol=1e-5)

    # centre (0.5, 0.25), size 0.5 of the 32-px square: x 8..24, y 0..16; a second box lies wholly in the padding
    # (y 24..32 clips to 16..16: no area, so no cat is "seen" in a frame that has none); a third straddles the
    # frame's bottom edge and is clipped (y 12..20 -> 12..16)
    boxes = torch.tensor([[[0.5, 0.25, 0.5, 0.5], [0.5, 0.875, 0.25, 0.25], [0.25, 0.5, 0.25, 0.25]]])
    logits = torch.tensor([[[5.0, -5.0], [-5.0, 5.0], [-5.0, 4.0]]])
    det.model = lambda **kw: SimpleNamespace(logits=logits.clone(), pred_boxes=boxes.clone())
    (found,) = det.detect(white, ["dog", "cat"])
    assert [(d.label, d.box) for d in found] == [("dog", (8.0, 0.0, 24.0, 16.0)), ("cat", (4.0, 12.0, 12.0, 16.0))]
    assert found[0].score == pytest.approx(float(torch.sigmoid(torch.tensor(5.0))), abs=1e-7)


def test_threshold_and_nms():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [30, 30, 50, 50]], dtype=torch.float64)
    scores = torch.tensor([0.5, 0.9, 0.4, 0.3], dtype=torch.float64)
    labels = ["dog", "dog", "cat", "dog"]
    kept = finish(boxes, scores, labels, [""] * 4, 40, 40, 0.5)  # IoU(0, 1) = 90/110 > 0.5: one dog left there
    assert [(d.label, d.box) for d in kept] == [("dog", (1.0, 0.0, 11.0, 10.0)), ("cat", (0.0, 0.0, 10.0, 10.0)),
                                                ("dog", (30.0, 30.0, 40.0, 40.0))]  # clipped to the 40 x 40 frame
    assert len(finish(boxes, scores, labels, [""] * 4, 40, 40, 1.0)) == 4  # nms_iou=1: no suppression
    assert finish(torch.zeros(0, 4), torch.zeros(0), [], [], 40, 40, 0.5) == []
    # boxes left without area by the clipping (wholly outside the frame) are dropped, colours kept aligned
    outside = torch.tensor([[45, 0, 50, 10], [0, 0, 10, 10], [0, 40, 10, 48]], dtype=torch.float64)
    kept = finish(outside, torch.tensor([0.9, 0.5, 0.8]), ["cat", "dog", "cat"], ["red", "blue", "red"], 40, 40, 0.5)
    assert [(d.label, d.color, d.box) for d in kept] == [("dog", "blue", (0.0, 0.0, 10.0, 10.0))]


def test_bad_weights_are_one_line(tmp_path):
    cases = {tmp_path / "nothing": "no weights for object_class", tmp_path / "noconfig": "no config.json",
             tmp_path / "broken": "cannot load OWLv2 weights"}
    (tmp_path / "noconfig").mkdir()
    (tmp_path / "noconfig" / "model.safetensors").write_bytes(b"x")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"not safetensors")
    (tmp_path / "broken" / "config.json").write_text((tiny_owlv2(False) / "config.json").read_text())
    for path, message in cases.items():
        with pytest.raises(VbenchError, match=message) as info:
            owlv2(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_model_says_how_to_fetch_it():
    with pytest.raises(VbenchError) as info:
        resolve_owlv2(None, "object_class")
    text = str(info.value)
    assert "\n" not in text and "vbench-lite weights fetch owlv2-base-ensemble" in text
    assert "object_class.weights=" in text


def test_fetcher_saves_model_and_processor_into_the_zoo():
    """``weights fetch owlv2-base-ensemble`` (here from a local folder: file=) writes a save_pretrained folder with the
    processor; scoring then finds it with no weights= and reads the folder's tokenizer."""
    from metrics.detector_weights import fetch_owlv2
    from vbench_lite.model_zoo import OWLV2_BASE_ENSEMBLE

    manifest = fetch_owlv2(OWLV2_BASE_ENSEMBLE, file=tiny_owlv2(True))
    folder = OWLV2_BASE_ENSEMBLE.cache_path.parent
    assert manifest["sha256"] == hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert manifest["processor"] and (folder / "tokenizer.json").is_file()
    det = Owlv2Detector(None, "object_class", device="cpu", allow_download=False, batch_size=4, score_threshold=0.1,
                        nms_iou=0.5)
    assert det.weights_sha256 == manifest["sha256"] and det.tokenizer is not None
    assert fetch_owlv2(OWLV2_BASE_ENSEMBLE) == manifest  # cached: nothing fetched again


@pytest.mark.filterwarnings("ignore:.*random weights")
def test_toy_backend_runs_and_refuses_a_bad_file(tmp_path):
    det = ToyDetectorBackend(None, "color", device="cpu", score_threshold=0.5, nms_iou=0.5)
    out = det.detect(frames(3, 64, 64), ["circle"])
    assert len(out) == 3 and all(d.color for f in out for d in f)  # the colour head names every box
    bad = tmp_path / "toy.safetensors"
    bad.write_bytes(b"junk")
    with pytest.raises(VbenchError, match="toy.safetensors") as info:
        ToyDetectorBackend(str(bad), "color", device="cpu", score_threshold=0.5, nms_iou=0.5)
    assert "\n" not in str(info.value)


def test_fetcher_failure_is_one_line(tmp_path):
    from metrics.detector_weights import fetch_owlv2
    from vbench_lite.model_zoo import OWLV2_BASE_ENSEMBLE

    (tmp_path / "empty").mkdir()
    with pytest.raises(VbenchError, match="weights fetch owlv2-base-ensemble: cannot load") as info:
        fetch_owlv2(OWLV2_BASE_ENSEMBLE, file=tmp_path / "empty")
    assert "\n" not in str(info.value)
