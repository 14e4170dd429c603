"""CLIP text-video similarity: closed forms of the maths, the loader, the plug-in and its known answers."""

from __future__ import annotations

import hashlib
import math
import shutil

import numpy as np
import pytest
import torch

from metrics.clip_model import (
    ClipEncoder,
    frames_to_pixels,
    load_clip,
)
from metrics.clip_similarity import ClipSimilarity
from metrics.functional.clip_score import (
    clip_score,
    cosine_matrix,
    frame_text_cosines,
    video_text_scores,
)
from metrics.hardware import cpu_native_bf16
from reference_models.toy_clip import MODEL_NAME, WEIGHTS_PATH
from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts
from vbench_lite.types import Clip, Prompt, VbenchError
from vbench_lite.video_io import sample_indices

needs_weights = pytest.mark.skipif(not WEIGHTS_PATH.exists(), reason="toy CLIP weights not trained yet")


# -- functional closed forms ------------------------------------------------------------------------------------
def test_identical_embeddings_have_cosine_one_and_clipscore_2_5():
    a = torch.tensor([[0.3, -1.2, 2.0, 0.5]], dtype=torch.float64)
    cos = cosine_matrix(a, 4.0 * a)  # scale must not matter
    assert cos.item() == pytest.approx(1.0, abs=1e-12)
    assert clip_score(cos).item() == pytest.approx(2.5, abs=1e-12)


def test_orthogonal_is_zero_and_negative_is_clamped():
    a = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 2.0, 0.0], [-3.0, 0.0, 0.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    cos = cosine_matrix(a, b)[0]
    assert cos.tolist() == pytest.approx([0.0, -1.0, 1 / math.sqrt(2)], abs=1e-12)
    assert clip_score(cos).tolist() == pytest.approx([0.0, 0.0, 2.5 / math.sqrt(2)], abs=1e-12)


def test_cosine_matrix_matches_a_hand_loop():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(3, 7))
    got = cosine_matrix(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    for i in range(5):
        for j in range(3):
            want = float(a[i] @ b[j]) / (math.sqrt(float(a[i] @ a[i])) * math.sqrt(float(b[j] @ b[j])))
            assert got[i, j] == pytest.approx(want, abs=1e-12)
    with pytest.raises(ValueError):
        cosine_matrix(torch.zeros(2, 3), torch.zeros(2, 4))


def test_per_video_scores_equal_a_hand_loop():
    rng = np.random.default_rng(1)
    frames, text = rng.normal(size=(6, 16)), rng.normal(size=16)
    scores = video_text_scores(frame_text_cosines(torch.from_numpy(frames), torch.from_numpy(text)))
    cosines = [float(f @ text) / (np.linalg.norm(f) * np.linalg.norm(text)) for f in frames]
    assert min(cosines) < 0 < max(cosines)  # the clamp is exercised
    assert scores["clip_similarity"].item() == pytest.approx(sum(cosines) / 6, abs=1e-12)
    assert scores["clipscore"].item() == pytest.approx(sum(2.5 * max(c, 0.0) for c in cosines) / 6, abs=1e-12)
    with pytest.raises(ValueError):
        video_text_scores(torch.zeros(0))


# -- streaming metric -------------------------------------------------------------------------------------------
def test_streaming_metric_equals_hand_mean_and_merges_exactly(toy):
    gen = torch.Generator().manual_seed(3)
    videos = [torch.randn(k, 8, generator=gen) for k in (3, 5, 4, 2)]  # ragged frame counts
    texts = torch.randn(4, 8, generator=gen)
    per_video = [video_text_scores(frame_text_cosines(v.double(), t.double())) for v, t in zip(videos, texts)]
    features = [{k: np.float64(v.item()) for k, v in scores.items()} for scores in per_video]
    whole = ClipSimilarity()
    whole.update(features)
    got = whole.compute()
    assert got["clip_similarity"].item() == pytest.approx(np.mean([s["clip_similarity"] for s in per_video]))
    assert got["clipscore"].item() == pytest.approx(np.mean([s["clipscore"] for s in per_video]))
    shard_a, shard_b = ClipSimilarity(), ClipSimilarity()
    shard_a.update(features[:1])
    shard_b.update(features[1:])
    shard_a.merge_state(shard_b)
    merged = shard_a.compute()
    assert merged["clip_similarity"].item() == pytest.approx(got["clip_similarity"].item(), abs=1e-12)
    assert merged["clipscore"].item() == pytest.approx(got["clipscore"].item(), abs=1e-12)
    assert len(shard_a.values("clip_similarity")) == 4
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert math.isnan(ClipSimilarity().compute()["clip_similarity"].item())
    with pytest.raises(ValueError):
        whole.update_clips([np.zeros((4, 16, 16, 3), np.uint8)] * 2, [Prompt(id="p", text="a circle")])


# -- frames -> pixels --------------------------------------------------------------------------------------------
def test_frames_to_pixels_geometry():
    same = np.random.default_rng(4).integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    assert torch.equal(frames_to_pixels(same, 64), torch.from_numpy(same).permute(0, 3, 1, 2).float() / 255)
    # A wide frame: blue sides, red middle 64 columns. Shortest side is already 64: the centre crop is pure red.
    wide = np.zeros((1, 64, 128, 3), dtype=np.uint8)
    wide[..., 2] = 255
    wide[:, :, 32:96] = (255, 0, 0)
    crop = frames_to_pixels(wide, 64)
    assert crop.shape == (1, 3, 64, 64)
    assert torch.allclose(crop[0, 0], torch.ones(64, 64)) and torch.allclose(crop[0, 2], torch.zeros(64, 64))
    # A constant image stays constant through a bicubic downscale (no overshoot on flat input).
    flat = np.full((1, 96, 96, 3), 200, dtype=np.uint8)
    assert torch.allclose(frames_to_pixels(flat, 64), torch.full((1, 3, 64, 64), 200 / 255), atol=1e-6)
    squashed = frames_to_pixels(wide, 32, resize_mode="squash")
    assert squashed.shape == (1, 3, 32, 32) and squashed[0, 2, :, 0].mean() > 0.9  # squash keeps the blue sides


# -- loading -----------------------------------------------------------------------------------------------------
@needs_weights
def test_local_checkpoint_file_is_hashed_and_loaded(tmp_path):
    copy = tmp_path / "my-toy.safetensors"
    shutil.copyfile(WEIGHTS_PATH, copy)
    loaded = load_clip(MODEL_NAME, str(copy))
    assert loaded.weights_sha256 == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert loaded.weights_path == str(copy) and loaded.image_size == 64
    from safetensors.torch import load_file

    shipped = load_file(str(WEIGHTS_PATH))
    name = "visual.conv1.weight"
    assert torch.equal(loaded.model.state_dict()[name], shipped[name].float())


def test_hub_tag_without_local_weights_is_a_clear_error(tmp_path):
    with pytest.raises(VbenchError, match="not in the local cache and downloads are off"):
        load_clip("ViT-B-32", "openai", cache_dir=str(tmp_path))


def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    import open_clip

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(open_clip, "download_pretrained", offline)
    with pytest.raises(VbenchError, match="ViT-B-32/openai: cannot download weights .*Name or service"):
        load_clip("ViT-B-32", "openai", allow_download=True, cache_dir=str(tmp_path))


def test_bad_model_names_and_files_are_clear_errors(tmp_path):
    with pytest.raises(VbenchError, match="unknown pretrained tag"):
        load_clip("ViT-B-32", "no-such-tag", cache_dir=str(tmp_path))
    with pytest.raises(VbenchError, match="missing.pt: CLIP checkpoint file not found"):
        load_clip("ViT-B-32", str(tmp_path / "missing.pt"))
    with pytest.raises(VbenchError, match="unknown CLIP architecture"):
        load_clip("ViT-Nope-1", "openai")
    with pytest.raises(VbenchError, match="needs pretrained weights"):
        load_clip("ViT-B-32", None)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(VbenchError, match="garbage.safetensors: cannot load as"):
        load_clip(MODEL_NAME, str(garbage))


@pytest.mark.slow
def test_vit_b_32_loads_from_a_local_state_dict(tmp_path):
    import open_clip

    torch.manual_seed(0)
    net = open_clip.create_model("ViT-B-32")
    path = tmp_path / "vit-b-32.pt"
    torch.save(net.state_dict(), path)
    loaded = load_clip("ViT-B-32", str(path))
    assert loaded.image_size == 224 and loaded.weights_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert torch.equal(loaded.model.state_dict()["visual.proj"], net.state_dict()["visual.proj"])


# -- encoder and plug-in (toy CLIP) ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy():
    if not WEIGHTS_PATH.exists():
        pytest.skip("toy CLIP weights not trained yet")
    return load_clip()


def _suite_subset(n: int) -> list[Prompt]:
    prompts = synthetic_suite_prompts()
    picks = np.round(np.linspace(0, len(prompts) - 1, n)).astype(int)
    return [prompts[i] for i in picks]


def _render(prompts: list[Prompt], defect: str = "none", seed: int = 0, size=(64, 64)) -> list[Clip]:
    gen = SyntheticGenerator(defect=defect)
    return [gen.generate(p, seed=seed, num_frames=16, size=size) for p in prompts]


def test_batched_and_one_frame_at_a_time_embeddings_agree(toy):
    frames = np.concatenate([c.frames for c in _render(_suite_subset(2))])  # (32, 64, 64, 3)
    batched = ClipEncoder(toy, batch_size=32).encode_frames(frames)
    single = ClipEncoder(toy, batch_size=1).encode_frames(frames)
    assert batched.shape == (32, 64) and batched.dtype == torch.float32
    assert torch.allclose(batched, single, atol=1e-5)
    assert torch.allclose(batched.norm(dim=1), torch.ones(32), atol=1e-5)


def test_bfloat16_encoder_leaves_the_loaded_model_in_float32(toy):
    frames = _render(_suite_subset(1))[0].frames[:4]
    before = ClipEncoder(toy).encode_frames(frames)
    bf16 = ClipEncoder(toy, dtype="bfloat16")
    assert next(bf16.model.parameters()).dtype == torch.bfloat16
    assert next(toy.model.parameters()).dtype == torch.float32
    assert torch.equal(ClipEncoder(toy).encode_frames(frames), before)


def test_single_frame_clip_has_no_consistency(toy):
    prompt = _suite_subset(1)
    clip = Clip(_render(prompt)[0].frames[:1])
    (feats,) = ClipSimilarity(frames=8).extract([clip], prompt)
    assert feats["frame_cosines"].shape == (1,) and np.isfinite(feats["clip_similarity"])
    assert math.isnan(float(feats["clip_consistency"]))


def test_text_embeddings_are_cached_per_prompt(toy):
    encoder = ClipEncoder(toy)
    first = encoder.encode_texts(["a red circle moving left on a black background"])
    calls = []
    original = encoder.model.encode_text
    encoder.model.encode_text = lambda tokens: calls.append(tokens) or original(tokens)
    again = encoder.encode_texts(["a red circle moving left on a black background"] * 3)
    assert not calls and torch.equal(again[0], first[0]) and again.shape == (3, 64)


def test_plugin_accepts_cli_strings_and_records_settings(toy):
    plugin = ClipSimilarity(frames="4", policy="middle", batch_size="16", dtype="float32", device="cpu")
    settings = plugin.settings()
    assert settings["model"] == MODEL_NAME and settings["pretrained"] == WEIGHTS_PATH.name
    assert (settings["frames"], settings["policy"], settings["dtype"], settings["image_size"]) == (4, "middle",
                                                                                                 "float32", 64)
    sha = plugin.provenance()[f"clip:{MODEL_NAME}:weights_sha256"]
    assert sha == hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()
    assert plugin.cache_key() != ClipSimilarity(frames="4", policy="uniform").cache_key()
    for bad, match in [({"dtype": "float8"}, "dtype"), ({"policy": "random"}, "sampling policy"),
                       ({"frames": "zero"}, "frames must be an integer"), ({"colour": "red"}, "unknown settings"),
                       ({"policy": "fps"}, "needs fps"), ({"allow_download": "maybe"}, "true or false")]:
        with pytest.raises(VbenchError, match=match):
            ClipSimilarity(**bad)


def test_plugin_features_match_the_functional_core(toy):
    prompts = _suite_subset(4)
    clips = _render(prompts)
    clips[1] = Clip(clips[1].frames[:5], fps=8.0)  # fewer frames than k: every frame once, no repeats
    clips[2] = _render([prompts[2]], size=(48, 80))[0]  # another size in the same batch
    plugin = ClipSimilarity(frames=8)
    feats = plugin.extract(clips, prompts)
    assert [len(f["frame_cosines"]) for f in feats] == [8, 5, 8, 8]
    assert feats[0]["frame_indices"].tolist() == sample_indices(16, "uniform", 8).tolist()
    encoder = ClipEncoder(toy)
    for clip, prompt, f in zip(clips, prompts, feats):
        assert f["frame_cosines"].dtype == np.float32 and f["frame_embeddings"].dtype == np.float16
        assert f["frame_embeddings"].shape == (len(f["frame_indices"]), 64)
        emb = encoder.encode_frames(clip.frames[f["frame_indices"]])
        text = encoder.encode_texts([prompt.text])[0]
        cosines = (emb @ text).double().numpy()
        assert f["frame_cosines"] == pytest.approx(cosines, abs=1e-5)
        assert float(f["clip_similarity"]) == pytest.approx(cosines.mean(), abs=1e-6)
        assert float(f["clipscore"]) == pytest.approx(np.mean(2.5 * np.maximum(cosines, 0)), abs=1e-6)
        unit = emb.double().numpy()
        want = np.mean([0.5 * (max(0, unit[0] @ unit[t]) + max(0, unit[t - 1] @ unit[t]))
                        for t in range(1, len(unit))])
        assert float(f["clip_consistency"]) == pytest.approx(want, abs=1e-6)
        assert plugin.per_video(f) == {k: float(f[k]) for k in ("clip_similarity", "clipscore", "clip_consistency")}
    # The streaming metric agrees with the plug-in's per-video values.
    metric = ClipSimilarity(frames=8)
    metric.update(feats)
    assert metric.compute()["clip_similarity"].item() == pytest.approx(
        np.mean([f["clip_similarity"] for f in feats]), abs=1e-3)  # features are stored in fp16


def test_known_answer_wrong_color_and_noise_lower_similarity(toy):
    prompts = _suite_subset(16)
    plugin = ClipSimilarity(frames=8)
    scores = {}
    for defect in ("none", "wrong_color", "noise"):
        feats = plugin.extract(_render(prompts, defect), prompts)
        scores[defect] = np.array([float(f["clip_similarity"]) for f in feats])
    drop_color = scores["none"] - scores["wrong_color"]
    drop_noise = scores["none"] - scores["noise"]
    assert (drop_color > 0).all(), drop_color  # every prompt: the asked colour matches better than its opposite
    assert drop_color.mean() > 0.1
    assert drop_noise.mean() > 0.05 and (drop_noise > 0).mean() >= 0.75, drop_noise


def test_results_are_identical_across_two_runs(toy):
    prompts = _suite_subset(3)
    clips = _render(prompts)
    first = ClipSimilarity(frames=6).extract(clips, prompts)
    second = ClipSimilarity(frames=6).extract(clips, prompts)
    for a, b in zip(first, second):
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), key


def test_bfloat16_scores_match_float32(toy):
    prompts = _suite_subset(8)
    clips = _render(prompts)
    fp32 = ClipSimilarity(frames=8, dtype="float32").extract(clips, prompts)
    bf16_plugin = ClipSimilarity(frames=8, dtype="bfloat16")
    bf16 = bf16_plugin.extract(clips, prompts)
    assert bf16_plugin.settings()["dtype"] == "bfloat16"
    assert bf16_plugin.settings()["cpu_native_bf16"] == cpu_native_bf16()  # which bfloat16 path ran is on record
    assert "cpu_native_bf16" not in ClipSimilarity(frames=8).settings()  # float32 caches stay portable
    # The 0.015 bound holds on both paths: measured with native AVX-512 BF16 and with oneDNN held to AVX-512 without
    # BF16 (ONEDNN_MAX_CPU_ISA=AVX512_CORE), the emulated path of issue 12's CI machine.
    for a, b in zip(fp32, bf16):
        for key in ("clip_similarity", "clipscore", "clip_consistency"):
            assert float(b[key]) == pytest.approx(float(a[key]), abs=0.015), key


def test_plugin_aggregates_with_settings(toy):
    prompts = _suite_subset(4)
    plugin = ClipSimilarity(frames=4)
    from metrics.base import ClipRecord

    feats = plugin.extract(_render(prompts), prompts)
    records = [ClipRecord(p, 0, f, plugin.per_video(f)) for p, f in zip(prompts, feats)]
    results = plugin.aggregate(records)
    assert set(results) == {"clip_similarity", "clipscore", "clip_consistency"}
    assert results["clip_similarity"].value == pytest.approx(np.mean([f["clip_similarity"] for f in feats]))
    assert results["clip_similarity"].settings["frames"] == 4 and results["clipscore"].n == 4


def test_toy_model_numbers_say_so_and_foreign_videos_are_flagged(toy):
    from dataclasses import replace

    from metrics.base import ClipRecord
    from metrics.clip_similarity import REAL_CLIP_HINT, TOY_DESCRIPTION, TOY_NOTE

    prompts = _suite_subset(3)
    plugin = ClipSimilarity(frames=2)
    feats = plugin.extract(_render(prompts), prompts)
    records = [ClipRecord(p, 0, f, plugin.per_video(f)) for p, f in zip(prompts, feats)]
    results = plugin.aggregate(records)
    for res in results.values():  # every output of the toy model is labelled, in the dict results.json gets too
        assert res.toy_model == TOY_DESCRIPTION and res.to_dict()["toy_model"] == TOY_DESCRIPTION
        assert res.notes == [TOY_NOTE]
    # Two clips whose prompts come from outside the synthetic world (e.g. real videos scored by file name).
    foreign = [replace(r, prompt=replace(r.prompt, category="unknown")) for r in records[:2]]
    flagged = plugin.aggregate(foreign + records[2:])["clip_similarity"]
    assert flagged.notes[0] == TOY_NOTE and flagged.notes[1].startswith("2 of 3 clips are not from the synthetic")
    assert REAL_CLIP_HINT in flagged.notes[1]


def test_real_clip_numbers_are_not_labelled_toy(tmp_path):
    import open_clip

    from metrics.base import ClipRecord

    torch.manual_seed(0)
    net = open_clip.create_model("ViT-B-32")  # random weights of the real architecture, saved as a local file
    path = tmp_path / "vit-b-32.pt"
    torch.save(net.state_dict(), path)
    plugin = ClipSimilarity(model="ViT-B-32", pretrained=str(path), frames=2)
    prompts = _suite_subset(2)
    feats = plugin.extract(_render(prompts), prompts)
    results = plugin.aggregate([ClipRecord(p, 0, f, plugin.per_video(f)) for p, f in zip(prompts, feats)])
    assert all(res.toy_model is None and "toy_model" not in res.to_dict() and not res.notes
               for res in results.values())
