"""The ``diffusers`` generator on a tiny AnimateDiff pipeline built offline from diffusers' own classes.

The pipeline (UNet with two 8/16-channel blocks, a motion adapter, a 2-block VAE, a 1-layer CLIP text encoder and a
byte-level CLIP tokenizer written here) has random weights, is saved with ``save_pretrained`` to a temp folder and
loaded back through the adapter's own path (safetensors, local files only). Clips are 4 frames of 16x16 made in 2
steps, so a pipeline call takes a few milliseconds. Skipped when diffusers is not installed (the optional extra
``vbench-lite[diffusers]``; CI installs it).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers", reason="the diffusers generator needs the optional extra vbench-lite[diffusers]")
pytest.importorskip("transformers", reason="the diffusers generator needs the optional extra vbench-lite[diffusers]")

import torch

from vbench_lite.cli import main
from vbench_lite.generators.base import build_generator
from vbench_lite.types import Prompt, VbenchError
from vbench_lite.video_io import read_video

REPO = Path(__file__).resolve().parents[2]
PROMPTS = [Prompt(id=f"p{i}", text=t) for i, t in enumerate(["a red ball", "a blue cube rolling", "rain"])]
SHAPE = dict(num_frames=4, size=(16, 16))
RUN = ["run", "--generator", "diffusers", "--suite", "synthetic", "--limit", "3", "--frames", "4", "--size", "16x16",
       "--metrics", "brightness", "--lossless", "--no-progress", "--no-report"]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (what CLIP's BPE vocabulary is written in)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def build_tiny_pipeline(folder: Path) -> Path:
    """A random-weight AnimateDiff pipeline saved in diffusers' layout under ``folder``."""
    from diffusers import AnimateDiffPipeline, AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}  # single bytes, and bytes ending a word; no merges
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    tok_dir = folder / "tokenizer-src"
    tok_dir.mkdir(parents=True)
    (tok_dir / "vocab.json").write_text(json.dumps(vocab))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=16)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=8, norm_num_groups=2, attention_head_dim=4)
        adapter = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_norm_num_groups=2,
                                motion_num_attention_heads=2, motion_max_seq_length=8)
        vae = AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3, latent_channels=4,
                            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                            norm_num_groups=2, sample_size=16)
        text_encoder = CLIPTextModel(CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"], vocab_size=len(vocab), hidden_size=8, intermediate_size=16,
            num_attention_heads=2, num_hidden_layers=1, max_position_embeddings=16))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False)
    pipe = AnimateDiffPipeline(unet=unet, motion_adapter=adapter, vae=vae, text_encoder=text_encoder,
                               tokenizer=tokenizer, scheduler=scheduler, feature_extractor=None, image_encoder=None)
    out = folder / "tiny-animatediff"
    pipe.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("diffusers"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    # Nothing may reach the network, and the weights-hash cache goes to a temp folder.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("VBENCH_LITE_CACHE", str(tmp_path / "cache"))


def _gen(model, **args):
    return build_generator("diffusers", {"model": str(model), "steps": "2", "guidance": "2.0", **args})


def _clips(run: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(run).as_posix(): read_video(p, max_side=None).frames
            for p in sorted(run.glob("clips/*/*.mkv"))}


# -- the adapter, in process -------------------------------------------------------------------------------------
def test_same_seed_same_clip_and_seeds_differ(model):
    gen = _gen(model)
    a = gen.generate(PROMPTS[0], seed=0, **SHAPE)
    assert a.frames.dtype == np.uint8 and a.frames.shape == (4, 16, 16, 3)
    assert np.array_equal(gen.generate(PROMPTS[0], seed=0, **SHAPE).frames, a.frames)  # bit-exact: same noise
    assert not np.array_equal(gen.generate(PROMPTS[0], seed=1, **SHAPE).frames, a.frames)
    assert not np.array_equal(gen.generate(PROMPTS[1], seed=0, **SHAPE).frames, a.frames)


def test_output_types_give_the_same_clip(model):
    # np, PIL lists and torch tensors all go through as_clip; PIL is diffusers' round(x * 255), as_clip's rint(x *
    # 255) on the same floats, both half-to-even: equal exactly.
    clips = {t: _gen(model, output_type=t).generate(PROMPTS[1], seed=3, **SHAPE).frames for t in ("np", "pil", "pt")}
    assert np.array_equal(clips["np"], clips["pil"]) and np.array_equal(clips["np"], clips["pt"])


def test_batch_equals_one_at_a_time(model):
    one = _gen(model)
    singles = [one.generate(p, seed=5, **SHAPE).frames for p in PROMPTS]
    batched = _gen(model, batch="3")
    batched.plan([(p, 5) for p in PROMPTS], **SHAPE)
    calls = []
    real = batched.make_clips
    batched.make_clips = lambda reqs, **kw: calls.append(len(reqs)) or real(reqs, **kw)
    together = [batched.generate(p, seed=5, **SHAPE).frames for p in PROMPTS]
    assert calls == [3]  # one pipeline call made all three
    for a, b in zip(singles, together):
        # A batch of 3 runs other float kernels than a batch of 1 (blocking of the matmuls): floats agree to ~1e-6,
        # which can move a value across a rounding boundary, so allow one grey level (and nearly always none).
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
        assert (a != b).mean() < 0.01


def test_provenance_records_weights_and_settings(model):
    gen = _gen(model, negative_prompt="blurry", scheduler="EulerDiscreteScheduler")
    prov = gen.provenance()
    files = sorted(p for p in Path(model).rglob("*.safetensors"))
    assert set(prov["weights_sha256"]) == {p.relative_to(model).as_posix() for p in files} and len(files) == 4
    for p in files:
        assert prov["weights_sha256"][p.relative_to(model).as_posix()] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert prov["pipeline"] == "AnimateDiffPipeline" and prov["scheduler"]["class"] == "EulerDiscreteScheduler"
    assert prov["dtype"] == "float32" and prov["device"] == "cpu" and prov["steps"] == 2 and prov["guidance"] == 2.0
    assert prov["source"] == "local folder"
    assert gen.describe()["args"]["negative_prompt"] == "blurry"
    json.dumps(prov)  # results.json must be able to hold it


def test_frames_and_images_errors(model):
    gen = _gen(model)
    gen.pipe.vae_scale_factor_temporal = 4  # what CogVideoX/Wan pipelines carry: their VAE makes 1 + 4m frames
    with pytest.raises(VbenchError, match=r"makes 1 \+ 4\*m frames; --frames 4 is not one \(use --frames 1 or 5\)"):
        gen.generate(PROMPTS[0], seed=0, **SHAPE)
    del gen.pipe.vae_scale_factor_temporal
    gen.needs_image = True
    with pytest.raises(VbenchError, match="image-to-video pipeline and this prompt has no image"):
        gen.generate(PROMPTS[0], seed=0, **SHAPE)


def test_out_of_memory_is_one_line_with_advice(model):
    gen = _gen(model)

    def oom(**kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    gen.pipe = oom
    with pytest.raises(VbenchError) as info:
        gen.generate(PROMPTS[0], seed=0, **SHAPE)
    text = str(info.value)
    assert "\n" not in text and "out of GPU memory" in text and "cpu_offload=model" in text and "batch=1" in text


def test_refusals_before_loading(model, tmp_path):
    with pytest.raises(VbenchError, match="not found offline.*allow_download=true"):
        build_generator("diffusers", {"model": "nobody-here/no-such-model"})
    with pytest.raises(VbenchError, match="no such folder"):
        build_generator("diffusers", {"model": str(tmp_path / "missing")})
    pickled = tmp_path / "pickled"
    (pickled / "unet").mkdir(parents=True)
    (pickled / "model_index.json").write_text("{}")
    (pickled / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(VbenchError, match="only pickled weights.*allow_pickle=true"):
        build_generator("diffusers", {"model": str(pickled)})
    with pytest.raises(VbenchError, match="unknown argument 'stepz' \\(did you mean 'steps'\\?\\)"):
        _gen(model, stepz="3")
    with pytest.raises(VbenchError, match="call.nope"):
        _gen(model, **{"call.nope": "1"})
    with pytest.raises(VbenchError, match="cpu_offload=model needs a CUDA device"):
        _gen(model, cpu_offload="model", device="cpu")


# -- end to end through `vbench-lite run` ------------------------------------------------------------------------
def test_run_is_deterministic_batch_independent_and_resumable(model, tmp_path, capsys):
    args = f"model={model},steps=2,guidance=2.0"
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main([*RUN, "--generator-args", args, "--out", str(a)]) == 0
    assert main([*RUN, "--generator-args", args, "--out", str(b)]) == 0
    assert main([*RUN, "--generator-args", args + ",batch=2", "--out", str(c)]) == 0
    ca, cb, cc = _clips(a), _clips(b), _clips(c)
    assert len(ca) == 3 and all(np.array_equal(ca[k], cb[k]) for k in ca)  # same seed -> same clips
    for k in ca:  # batch=2 vs one at a time: one grey level, as in test_batch_equals_one_at_a_time
        assert np.abs(ca[k].astype(int) - cc[k].astype(int)).max() <= 1
    results = json.loads((a / "results.json").read_text())
    assert results["generator"]["name"] == "diffusers" and results["generator"]["args"]["steps"] == "2"
    manifest = json.loads((a / "run.json").read_text())
    assert len(manifest["generator_provenance"]["weights_sha256"]) == 4
    # resume: two clips lost; the rerun makes exactly those (in one batch of 2) and they equal the first ones; the
    # batch size is not part of the run's identity (a run stopped by running out of memory resumes with another)
    assert "batch" not in json.loads((c / "run.json").read_text())["generator"]["args"]
    lost = sorted(c.glob("clips/*/*.mkv"))[:2]
    for p in lost:
        p.unlink()
    capsys.readouterr()
    assert main([*RUN, "--generator-args", args + ",batch=3", "--out", str(c)]) == 0
    assert "generated 2 clips, 1 already present, 0 failed" in capsys.readouterr().out
    again = _clips(c)  # remade in another batch composition: within one grey level, as above
    assert again.keys() == cc.keys()
    assert all(np.abs(again[k].astype(int) - cc[k].astype(int)).max() <= 1 for k in cc)


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(model, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "fixtures" / "plugins")]),
               OMP_NUM_THREADS="1")
    args = [*RUN, "--generator-args", f"model={model},steps=2,guidance=2.0"]
    one, two = tmp_path / "one", tmp_path / "two"
    p1 = subprocess.run([sys.executable, "-m", "vbench_lite", *args, "--out", str(one)], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=600)
    assert p1.returncode == 0, p1.stderr[-3000:]
    p2 = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                         "-m", "vbench_lite", *args, "--out", str(two)], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=600)
    assert p2.returncode == 0, p2.stderr[-3000:]
    c1, c2 = _clips(one), _clips(two)
    assert len(c1) == 3 and c1.keys() == c2.keys()
    assert all(np.array_equal(c1[k], c2[k]) for k in c1)  # one clip per call in both: the same kernels, bit-exact
    r2 = json.loads((two / "results.json").read_text())
    assert r2["provenance"]["world_size"] == 2
    assert r2["metrics"]["brightness"]["value"] == pytest.approx(
        json.loads((one / "results.json").read_text())["metrics"]["brightness"]["value"], abs=1e-9)


def test_hub_id_from_the_local_cache_records_the_commit(model, tmp_path, monkeypatch):
    # The layout huggingface_hub writes: hub/models--org--name/{refs/main, snapshots/<commit>/...}
    import shutil

    import huggingface_hub.constants

    # huggingface_hub read HF_HOME when it was imported; point its cache here for this test
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "hub" / "models--tiny--animatediff"
    shutil.copytree(model, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    gen = build_generator("diffusers", {"model": "tiny/animatediff", "steps": "2"})
    prov = gen.provenance()
    assert prov["commit"] == commit and prov["source"] == "hugging face cache" and prov["revision"] == "main"
    local = _gen(model)
    assert prov["weights_sha256"] == local.provenance()["weights_sha256"]
    assert np.array_equal(gen.generate(PROMPTS[2], seed=0, **SHAPE).frames,
                          build_generator("diffusers", {"model": str(model), "steps": "2"})
                          .generate(PROMPTS[2], seed=0, **SHAPE).frames)


def test_pickled_weights_only_with_the_flag(model, tmp_path):
    pickled = tmp_path / "pickled"
    _gen(model).pipe.save_pretrained(pickled, safe_serialization=False)
    # diffusers writes .bin for its models; transformers 5 writes safetensors whatever it is told
    assert not list((pickled / "unet").glob("*.safetensors")) and list((pickled / "unet").glob("*.bin"))
    with pytest.raises(VbenchError, match="(motion_adapter|unet|vae): only pickled weights.*allow_pickle=true"):
        _gen(pickled)
    gen = _gen(pickled, allow_pickle="true")
    assert "unet/diffusion_pytorch_model.bin" in gen.provenance()["weights_sha256"]
    assert np.array_equal(gen.generate(PROMPTS[0], seed=2, **SHAPE).frames,
                          _gen(model).generate(PROMPTS[0], seed=2, **SHAPE).frames)


def test_image_to_video_takes_the_prompts_image(model, tmp_path):
    from PIL import Image

    image = tmp_path / "start.png"
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(image)
    seen = {}

    class FakeI2V:  # records what the adapter passes; returns frames as a (B, T, 3, H, W) float tensor
        def __call__(self, **kwargs):
            seen.update(kwargs)
            return type("Out", (), {"frames": torch.full((len(kwargs["image"]), 4, 3, 16, 16), 0.5)})()

    gen = _gen(model)
    gen.pipe, gen.needs_image = FakeI2V(), True
    prompt = Prompt(id="with-image", text="the same scene, moving", fields={"image": str(image)})
    clip = gen.generate(prompt, seed=0, **SHAPE)
    assert [im.size for im in seen["image"]] == [(16, 16)] and seen["prompt"] == ["the same scene, moving"]
    assert seen["num_frames"] == 4 and seen["height"] == seen["width"] == 16 and len(seen["generator"]) == 1
    assert clip.frames.shape == (4, 16, 16, 3) and (clip.frames == 128).all()  # rint(0.5 * 255) = 128
