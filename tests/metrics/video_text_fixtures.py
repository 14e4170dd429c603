"""Tiny random-init checkpoints, in the official layouts, for the video-text metrics (made once per test session).

- a ``VideoMAEForVideoClassification`` save_pretrained folder (32 px, 4 frames, width 32) with its image processor
  and an ``id2label`` of a few Kinetics-400 names plus the synthetic world's motions;
- an ``XCLIPModel`` folder (32 px, 8 frames, width 32, the full 49,408-token CLIP vocabulary) with its image
  processor, with or without the CLIP tokenizer files (vocab.json / merges.txt written from open_clip's BPE);
- ``video_text_build_args(name)``: what builds each metric offline for ``tests/metrics/test_every_metric.py``, and
  the tester's setting tables for them (``TESTER_TABLES``) for the lead to merge into ``tests/metrics/tester.py``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import torch

from metrics.hardware import default_device
from tests.conftest import session_tempdir

#: tests/metrics/tester.py's SAME_DEVICE_TYPE (not imported: tester.py may import this module's tables)
SAME_DEVICE_TYPE = f"{default_device()}:0"

TOY_CLIP = "vbench-toy-clip"
#: A few Kinetics-400 labels (as VBench's kinetics_400_categories.txt spells them) and the toy world's motions.
TINY_LABELS = ("riding a bike", "playing guitar", "moving left", "moving right", "moving up", "moving down",
               "moving diagonally", "staying still")


@functools.cache
def fixtures_dir() -> Path:
    return session_tempdir("vbench-lite-video-text-")


def _geometry(folder: Path, size: int) -> None:
    from transformers import VideoMAEImageProcessor

    # the published processors' values (ImageNet mean/std; transformers' class defaults are 0.5)
    VideoMAEImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                           image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)


@functools.cache
def tiny_videomae_k400(labels: tuple[str, ...] = TINY_LABELS) -> Path:
    """A random-init VideoMAE video classifier folder (config.json, model.safetensors, preprocessor_config.json)."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    torch.manual_seed(11)
    cfg = VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=32,
                         num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, use_mean_pooling=True,
                         id2label=dict(enumerate(labels)), label2id={lb: i for i, lb in enumerate(labels)})
    folder = fixtures_dir() / f"videomae-{len(labels)}"
    VideoMAEForVideoClassification(cfg).eval().save_pretrained(folder)
    _geometry(folder, 32)
    return folder


def write_clip_bpe(folder: Path) -> None:
    """vocab.json and merges.txt of open_clip's BPE (the same vocabulary OpenAI's CLIP tokenizer files hold)."""
    from open_clip.tokenizer import SimpleTokenizer

    tok = SimpleTokenizer()
    folder.mkdir(parents=True, exist_ok=True)
    # OpenAI's vocab.json names the special tokens <|startoftext|> / <|endoftext|>; open_clip renames them
    names = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    (folder / "vocab.json").write_text(json.dumps({names.get(k, k): v for k, v in tok.encoder.items()}))
    merges = sorted(tok.bpe_ranks, key=tok.bpe_ranks.get)
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")


def clip_tokenizer(folder: Path):
    """A transformers ``CLIPTokenizer`` built offline from :func:`write_clip_bpe`'s files, saved into ``folder``."""
    from transformers import CLIPTokenizer

    write_clip_bpe(folder)
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tok.save_pretrained(folder)
    return tok


@functools.cache
def tiny_xclip(with_tokenizer: bool = False) -> Path:
    """A random-init X-CLIP folder (8 frames, 32 px); ``with_tokenizer`` adds the CLIP tokenizer files."""
    from transformers import XCLIPConfig, XCLIPModel

    torch.manual_seed(12)
    text = {"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 77}
    vision = {"image_size": 32, "patch_size": 16, "num_frames": 8, "hidden_size": 32, "intermediate_size": 64,
              "num_hidden_layers": 1, "num_attention_heads": 2, "mit_hidden_size": 16, "mit_intermediate_size": 32,
              "mit_num_hidden_layers": 1, "mit_num_attention_heads": 2}
    cfg = XCLIPConfig(text_config=text, vision_config=vision, projection_dim=16, prompt_layers=1,
                      prompt_num_attention_heads=2, prompt_attention_dropout=0.0, prompt_projection_dropout=0.0)
    folder = fixtures_dir() / ("xclip-tok" if with_tokenizer else "xclip")
    XCLIPModel(cfg).eval().save_pretrained(folder)
    _geometry(folder, 32)
    if with_tokenizer:
        clip_tokenizer(folder)
    return folder


def video_text_build_args(name: str) -> dict | None:
    """Constructor arguments that build ``name`` offline on a CPU runner, or None when it is not one of these."""
    if name == "human_action":
        return {"weights": str(tiny_videomae_k400()), "device": "cpu"}
    if name in ("scene", "appearance_style"):
        return {"model": TOY_CLIP, "device": "cpu"}
    if name in ("temporal_style", "overall_consistency"):
        # the toy backend: X-CLIP's frame count is fixed by its checkpoint, so the tester's frames+1 cannot build
        # (the X-CLIP path is tested in test_overall_consistency.py)
        return {"model": TOY_CLIP, "device": "cpu"}
    return None


_NOT_FEATURES = {"device": "where the network runs",
                 "allow_download": "whether a missing file may be fetched; the weights' sha256 is in the key"}
_SKIP = {"weights": "another file's sha256 is in the key; one random-weights file here",
         "model": "another model needs other weights (their sha256 is in the key)",
         "pretrained": "as model"}
#: For tests/metrics/tester.py: NOT_FEATURES, SKIP_PERTURB and PERTURB entries of these metrics (``device`` is
#: perturbed to the default device type with an index, which must not change the key).
TESTER_TABLES: dict[str, dict[str, dict]] = {
    name: {"NOT_FEATURES": {**_NOT_FEATURES, **({"batch_size": "frames per forward pass"}
                                                if name in ("scene", "appearance_style") else {})},
           "SKIP_PERTURB": dict(_SKIP),
           "PERTURB": {"device": SAME_DEVICE_TYPE,
                       **{"scene": {"vocabulary": "vbench", "template": "a {} scene"}}.get(name, {})}}
    for name in ("human_action", "scene", "appearance_style", "temporal_style", "overall_consistency")
}
