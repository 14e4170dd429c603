"""A tiny random-init OWLv2 in the official layout (``save_pretrained`` folder, with and without its processor) and
the build arguments of the four detection metrics for ``tests/metrics/test_every_metric.py``.

The tiny config keeps OWLv2's architecture (CLIP text and vision towers, box/class/objectness heads, 49408-token
CLIP vocabulary, 16-token context) and shrinks widths, depths and the input side (32 px, patch 8). The processor's
tokenizer is a transformers ``CLIPTokenizer`` written offline from open_clip's copy of the CLIP BPE (the published
OWLv2 tokenizer is that BPE with pad token "!", id 0), since hub files cannot be downloaded here.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

import torch

from tests.conftest import session_tempdir

TINY_SIDE = 32
TOY_CLIP = "vbench-toy-clip"
DETECTION_METRICS = ("object_class", "multiple_objects", "color", "spatial_relationship")


@functools.cache
def fixtures_dir() -> Path:
    return session_tempdir("vbench-lite-test-owlv2-")


def tiny_owlv2_config():
    from transformers import Owlv2Config

    text = {"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": 16}
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
              "image_size": TINY_SIDE, "patch_size": 8}
    return Owlv2Config(text_config=text, vision_config=vision, projection_dim=32)


def clip_bpe_tokenizer(folder: Path):
    """transformers' ``CLIPTokenizer`` from open_clip's BPE file: vocab.json (byte symbols, their ``</w>`` forms,
    the merges, then ``<|startoftext|>`` 49406 and ``<|endoftext|>`` 49407) and merges.txt, as CLIP's hub files."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    from transformers import CLIPTokenizer

    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({v: i for i, v in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="!")


@functools.cache
def tiny_owlv2(with_processor: bool = True, seed: int = 0) -> Path:
    """A save_pretrained folder of a random-init tiny ``Owlv2ForObjectDetection`` (and its processor)."""
    from transformers import Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    folder = fixtures_dir() / f"owlv2-{'proc' if with_processor else 'bare'}-{seed}"
    torch.manual_seed(seed)
    Owlv2ForObjectDetection(tiny_owlv2_config()).eval().save_pretrained(folder)
    if with_processor:
        tokenizer = clip_bpe_tokenizer(fixtures_dir() / "bpe")
        image = Owlv2ImageProcessor(size={"height": TINY_SIDE, "width": TINY_SIDE})
        Owlv2Processor(image_processor=image, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def detection_build_args(name: str) -> dict | None:
    """Constructor arguments that build ``name`` offline on a CPU runner (tiny random OWLv2; the toy CLIP for the
    box colours), or None when ``name`` is not a detection metric."""
    if name not in DETECTION_METRICS:
        return None
    args = {"weights": str(tiny_owlv2(False)), "device": "cpu", "batch_size": 4}
    if name == "color":
        args["clip_model"] = TOY_CLIP
    return args


#: For tests/metrics/tester.py (the lead merges these): settings that change no feature, settings that cannot be
#: perturbed here, and perturbed values of settings without an obvious one.
DETECTION_NOT_FEATURES = {"batch_size": "frames per forward pass", "device": "where the network runs",
                          "allow_download": "whether a missing model may be fetched; the weights' sha256 is in the key"}
DETECTION_SKIP_PERTURB = {"weights": "another folder's sha256 is in the key; one random-weights folder here",
                          "model": "the toy detector is tested in test_object_detection.py",
                          "clip_model": "another CLIP needs other weights (their sha256 is in the key)",
                          "clip_pretrained": "as clip_model", "clip_weights": "as clip_model",
                          "color_method": "detector needs the toy detector (test_color.py)"}
DETECTION_PERTURB = {"score_threshold": 0.3, "nms_iou": 0.7, "rule": "vbench", "iou_threshold": 0.2}


class StubDetector:
    """A detector that returns hand-made detections: frame ``t`` of a :func:`numbered_clip` (its pixel (0, 0, 0)
    holds ``t``) gets ``table[t]``, a list of ``(label, box, score, colour)``. Counts its calls, so tests see that
    each distinct sampled frame is detected once."""

    name = "stub"
    weights_sha256 = "stub"

    def __init__(self, table: dict[int, list[tuple]]) -> None:
        self.table, self.frames_seen = table, []

    def describe(self) -> dict:
        return {"detector": "stub"}

    def detect(self, frames, queries):
        from metrics.object_detection import Detection

        out = []
        for frame in frames:
            t = int(frame[0, 0, 0])
            self.frames_seen.append(t)
            out.append([Detection(label, tuple(box), score, color)
                        for label, box, score, color in self.table.get(t, [])])
        return out


def numbered_clip(frames: int, size: int = 32):
    """A clip whose frame ``t`` has pixel (0, 0, 0) = ``t`` (for :class:`StubDetector`)."""
    import numpy as np

    from vbench_lite.types import Clip

    video = np.full((frames, size, size, 3), 128, dtype=np.uint8)
    video[:, 0, 0, 0] = np.arange(frames)
    return Clip(video, fps=8.0, source="numbered")


def synthetic_case(objects: list[tuple[str, str]], motion: str, *, defect: str = "none", swap: bool = False,
                   background: str = "black", seed: int = 0):
    """A rendered synthetic clip (16 frames, 64 x 64) and its prompt, whose fields state the scene as asked:
    ``swap`` renders the objects in reversed order (so they stand in the opposite relation to the prompt's)."""
    from reference_models.synthetic_world import Scene, SceneObject, render_clip, two_object_relation
    from vbench_lite.types import Clip, Prompt

    scene = Scene(tuple(SceneObject(s, c, motion) for s, c in objects), background)
    shown = Scene(scene.objects[::-1], background) if swap else scene
    frames = render_clip(shown, key=scene.text(), seed=seed, num_frames=16, size=(64, 64), defect=defect)
    fields = {"objects": [{"shape": o.shape, "color": o.color, "motion": o.motion} for o in scene.objects],
              "background": background}
    if len(objects) > 1:
        fields["relation"] = two_object_relation(motion)
    prompt = Prompt(id=f"{scene.text()}-{defect}-{swap}".replace(" ", "_"), text=scene.text(), category="synthetic",
                    fields=fields)
    return Clip(frames, fps=8.0, source=prompt.id), prompt
