"""The offline toy CLIP: its config loads through open_clip, its shipped weights match the card, its data splits
hold out what they claim, and it still retrieves held-out captions as well as the card says."""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np
import pytest
import torch

from reference_models.synthetic_world import SHAPES
from reference_models.toy_clip import CONFIG_PATH, MODEL_CARD_PATH, MODEL_NAME, WEIGHTS_PATH, register_config
from vbench_lite.lab.toy_clip_data import (
    EVAL_SEED_BASE,
    HELD_OUT_PAIRS,
    held_out_triples,
    retrieval_pool,
    sample_train_scene,
    shape_siblings,
    split_of,
    training_frames,
)
from vbench_lite.lab.train_toy_clip import contrastive_loss


def _card() -> str:
    return MODEL_CARD_PATH.read_text()


def test_config_has_open_clip_schema_and_the_standard_tokenizer():
    cfg = json.loads(CONFIG_PATH.read_text())
    assert {"embed_dim", "vision_cfg", "text_cfg"} <= set(cfg)
    assert cfg["text_cfg"]["vocab_size"] == 49408
    import open_clip

    assert register_config() == MODEL_NAME and MODEL_NAME in open_clip.list_models()
    tokens = open_clip.get_tokenizer(MODEL_NAME)(["a red circle moving left on a black background"])
    assert tokens.shape == (1, cfg["text_cfg"]["context_length"])
    assert tokens[0, 0].item() == 49406  # open_clip's <start_of_text>


def test_weights_load_through_open_clip_and_match_the_card():
    import open_clip
    from safetensors.torch import load_file

    assert WEIGHTS_PATH.stat().st_size < 10 * 1024 * 1024
    sha = hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()
    card_sha = re.search(r"sha256[^0-9a-f]*([0-9a-f]{64})", _card())
    assert card_sha and card_sha.group(1) == sha
    register_config()
    model, _, _ = open_clip.create_model_and_transforms(MODEL_NAME, pretrained=str(WEIGHTS_PATH))
    shipped = load_file(str(WEIGHTS_PATH))
    state = model.state_dict()
    assert set(shipped) == set(state)
    assert all(torch.equal(state[k], shipped[k].to(state[k].dtype)) for k in shipped)
    assert model.visual.preprocess_cfg["size"] in (64, (64, 64))


def _card_figure(label: str) -> float:
    match = re.search(rf"\|\s*{re.escape(label)}\s*\|[^|]*\|\s*([0-9.]+)\s*\|", _card())
    assert match, f"card has no row {label!r}"
    return float(match.group(1))


def test_held_out_retrieval_is_as_good_as_the_card_says():
    from vbench_lite.lab.train_toy_clip import evaluate

    result = evaluate(WEIGHTS_PATH, limit=40, with_motion=False)
    single = result["single_object"]
    assert {"train", "held_out_triple", "held_out_pair"} <= set(single)
    # A 40-clip pool has fewer distractors than the card's full pool, so its accuracy is not lower in expectation;
    # the margin covers the noise of 40 captions.
    assert single["all"]["top1"] >= _card_figure("single object, all splits") - 0.1, single
    assert single["all"]["top1"] >= 0.85


def test_splits_hold_out_what_they_claim():
    triples = held_out_triples()
    assert len(triples) == 16 and triples == held_out_triples()  # fixed by a seed
    assert not any((c, s) in HELD_OUT_PAIRS for c, s, _ in triples)
    rng = np.random.default_rng(0)
    for _ in range(500):
        scene = sample_train_scene(rng)
        assert split_of(scene) == "train"
        for obj in scene.objects:
            assert (obj.color, obj.shape) not in HELD_OUT_PAIRS
            assert (obj.color, obj.shape, obj.motion) not in triples
    pool = retrieval_pool()
    assert {e.split for e in pool} == {"train", "held_out_triple", "held_out_pair"}
    assert all(e.seed >= EVAL_SEED_BASE for e in pool)
    assert len({(e.scene.objects[0].color, e.scene.objects[0].shape, e.scene.background) for e in pool}) == len(pool)


def test_training_data_is_deterministic_and_grouped_by_shape():
    a, b = training_frames(3, seed=7), training_frames(3, seed=7)
    assert np.array_equal(a.frames, b.frames) and a.captions == b.captions
    assert a.frames.dtype == np.uint8 and a.frames.shape[1:] == (64, 64, 3)
    assert len(a.frames) == len(a.captions) == len(a.clip_ids) == 2 * len(set(a.clip_ids.tolist()))
    assert not np.array_equal(a.frames, training_frames(3, seed=8).frames)
    for group in set(a.group_ids.tolist()):
        words = [c.split() for c, g in zip(a.captions, a.group_ids) if g == group]
        # siblings differ only in the shape word (the third), and never in a held-out caption
        assert len({w[2] for w in words}) >= 3 and len({tuple(w[:2] + w[3:]) for w in words}) == 1


def test_shape_siblings_keep_the_scene_and_only_training_captions():
    rng = np.random.default_rng(1)
    for _ in range(50):
        scene = sample_train_scene(rng)
        siblings = shape_siblings(scene)
        assert scene in siblings and all(split_of(s) == "train" for s in siblings)
        assert {s.objects[0].shape for s in siblings} <= set(SHAPES)


def test_contrastive_loss_closed_forms():
    # All embeddings equal: every softmax is uniform.
    b, u = 4, 3
    same_img, same_txt = torch.ones(b, 2) / math.sqrt(2), torch.ones(u, 2) / math.sqrt(2)
    positives = torch.zeros(b, u, dtype=torch.bool)
    positives[torch.arange(b), torch.tensor([0, 1, 2, 2])] = True
    loss = contrastive_loss(same_img, same_txt, positives, torch.tensor(10.0))
    # a uniform softmax costs log(size) whatever the (normalised) targets: log U per row, log B per column
    want = 0.5 * (math.log(u) + math.log(b))
    assert loss.item() == pytest.approx(want, abs=1e-6)
    # Perfectly separated pairs with a large scale: the loss goes to 0.
    eye = torch.eye(3)
    assert contrastive_loss(eye, eye, torch.eye(3, dtype=torch.bool), torch.tensor(100.0)).item() < 1e-6
