"""Train the offline toy CLIP on captioned frames of the synthetic world, then measure held-out retrieval.

    python -m vbench_lite.lab.train_toy_clip                 # train, save the shipped weights, evaluate
    python -m vbench_lite.lab.train_toy_clip --eval-only     # evaluate the shipped weights

(The shipped weights record the command under its former name, ``python -m reference_models.toy_clip.train``; the
options are the same.) The weights and config live in :mod:`reference_models.toy_clip`; the data, this script and
the evaluation use the metric's own preprocessing (:mod:`metrics.clip_model`), so they live here, above the metrics.

Objective: CLIP's symmetric contrastive loss with several positives. A frame cannot show motion, so every caption
in the batch whose colours, shapes and background match the frame (``data.appearance_key``) is a positive; the
targets of each row are spread evenly over its positives. A batch is made of whole groups of shape siblings (one
scene drawn in each of the four shapes), so every caption meets the captions that differ from it only in the shape
word: colour and background are easy, shape is what needs those hard negatives. Everything is seeded (data,
initialisation, batch order) and the thread count is fixed, so the same command on the same machine gives the same
weights.

Retrieval is measured the way the metric scores: a clip's score for a caption is the mean over 8 uniformly sampled
frames of the frame-caption cosine (``clip_similarity``); text->clip top-1 picks the clip with the highest score.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from metrics.clip_model import ClipEncoder, frames_to_pixels, load_clip, normalize_pixels
from metrics.functional.clip_score import cosine_matrix
from reference_models.synthetic_world import MOTIONS, SHAPES, Scene, SceneObject
from reference_models.toy_clip import MODEL_NAME, PACKAGE_DIR, WEIGHTS_PATH, register_config
from vbench_lite.frames import sample_indices
from vbench_lite.lab.toy_clip_data import (
    CLIP_FRAMES,
    PoolEntry,
    render_frames,
    retrieval_pool,
    training_frames,
    two_object_pool,
)

REPORT_PATH = PACKAGE_DIR / "train_report.json"


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, positives: torch.Tensor,
                     logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric cross-entropy with soft targets spread over the positives.

    ``image_emb`` (B, D) and ``text_emb`` (U, D) are unit rows; ``positives`` (B, U) is boolean and every row and
    column has at least one True.
    """
    logits = logit_scale * image_emb @ text_emb.T  # (B, U)
    targets = positives.float()
    image_to_text = -(targets / targets.sum(1, keepdim=True) * F.log_softmax(logits, dim=1)).sum(1).mean()
    text_to_image = -(targets / targets.sum(0, keepdim=True) * F.log_softmax(logits, dim=0)).sum(0).mean()
    return 0.5 * (image_to_text + text_to_image)


def _pixels(frames: np.ndarray, mean, std) -> torch.Tensor:
    return normalize_pixels(frames_to_pixels(frames, frames.shape[1]), mean, std)


def train(*, steps: int, batch_size: int, lr: float, warmup: int, n_groups: int, frames_per_clip: int, seed: int,
          eval_every: int, log=print) -> tuple[torch.nn.Module, dict[str, Any]]:
    import open_clip

    register_config()
    torch.manual_seed(seed)
    model = open_clip.create_model(MODEL_NAME)  # random initialisation
    tokenizer = open_clip.get_tokenizer(MODEL_NAME)
    cfg = model.visual.preprocess_cfg
    mean, std = cfg["mean"], cfg["std"]

    t0 = time.perf_counter()
    data = training_frames(n_groups, seed, frames_per_clip=frames_per_clip)
    clip_start = np.flatnonzero(np.r_[True, data.clip_ids[1:] != data.clip_ids[:-1]])  # first frame of each clip
    group_clips = np.split(np.arange(len(clip_start)), np.flatnonzero(np.diff(data.group_ids[clip_start])) + 1)
    captions, caption_ids = np.unique(np.array(data.captions), return_inverse=True)
    key_index = {k: i for i, k in enumerate(dict.fromkeys(data.keys))}
    frame_key = np.array([key_index[k] for k in data.keys])  # (N,)
    caption_key = np.zeros(len(captions), dtype=np.int64)  # (U_all,)
    caption_key[caption_ids] = frame_key
    tokens = tokenizer(list(captions))  # (U_all, context_length)
    log(f"data: {len(data.frames)} frames of {len(clip_start)} clips in {n_groups} groups, {len(captions)} captions, "
        f"{len(key_index)} appearances, {time.perf_counter() - t0:.0f}s")

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98), eps=1e-6)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) /
                                                                                max(1, steps - warmup))))
    rng = np.random.default_rng(seed + 1)
    val = retrieval_pool(seed=0, limit=64)
    history: list[dict[str, float]] = []
    t_train = time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        # whole sibling groups (hard shape negatives), one random frame of each clip: about batch_size frames
        groups = rng.choice(n_groups, size=max(1, batch_size // len(SHAPES)), replace=False)
        clips = np.concatenate([group_clips[g] for g in groups])
        idx = clip_start[clips] + rng.integers(frames_per_clip, size=len(clips))
        batch_captions = np.unique(caption_ids[idx])
        positives = torch.from_numpy(frame_key[idx][:, None] == caption_key[batch_captions][None, :])  # (B, U)
        image_emb = model.encode_image(_pixels(data.frames[idx], mean, std), normalize=True)  # (B, D)
        text_emb = model.encode_text(tokens[torch.from_numpy(batch_captions)], normalize=True)  # (U, D)
        loss = contrastive_loss(image_emb, text_emb, positives, model.logit_scale.exp())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 25 == 0 or step == 1:
            log(f"step {step}/{steps} loss {loss.item():.4f} scale {model.logit_scale.exp().item():.1f} "
                f"lr {schedule.get_last_lr()[0]:.2e} {time.perf_counter() - t_train:.0f}s")
        if eval_every and (step % eval_every == 0 or step == steps):
            model.eval()
            acc = _quick_retrieval(model, tokenizer, val, mean, std)
            model.train()
            history.append({"step": step, "loss": float(loss.item()), "val_top1": acc})
            log(f"step {step}: quick val top-1 {acc:.3f} (64 clips, 4 frames)")
    model.eval()
    info = {"train_seconds": time.perf_counter() - t_train, "data_seconds": t_train - t0, "history": history,
            "n_frames": len(data.frames), "n_captions": len(captions), "n_appearances": len(key_index)}
    return model, info


@torch.no_grad()
def _quick_retrieval(model, tokenizer, entries: list[PoolEntry], mean, std, frames: int = 4) -> float:
    steps = sample_indices(CLIP_FRAMES, "uniform", frames)
    clips = np.concatenate([render_frames(e.scene, e.seed, 64)[steps] for e in entries])
    emb = model.encode_image(_pixels(clips, mean, std), normalize=True).view(len(entries), frames, -1)  # (N, k, D)
    text = model.encode_text(tokenizer([e.caption for e in entries]), normalize=True)  # (N, D)
    scores = torch.einsum("nkd,md->mn", emb, text) / frames  # (caption, clip)
    return float((scores.argmax(1) == torch.arange(len(entries))).float().mean())


def save_weights(model: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """fp16 safetensors of the full open_clip state dict (what ``create_model(..., pretrained=path)`` loads)."""
    from safetensors.torch import save_file

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata)


def retrieval_scores(encoder, entries: list[PoolEntry], frames: int = 8, size: int = 64) -> torch.Tensor:
    """(caption, clip) matrix of per-video ``clip_similarity``: mean over sampled frames of the frame-caption cosine."""
    steps = sample_indices(CLIP_FRAMES, "uniform", frames)
    clips = np.concatenate([render_frames(e.scene, e.seed, size)[steps] for e in entries])  # (N*k, S, S, 3)
    frame_emb = encoder.encode_frames(clips)  # (N*k, D)
    text_emb = encoder.encode_texts([e.caption for e in entries])  # (N, D)
    cosines = cosine_matrix(text_emb, frame_emb).view(len(entries), len(entries), frames)  # (caption, clip, k)
    return cosines.mean(dim=2)


def top1_by_split(entries: list[PoolEntry], scores: torch.Tensor) -> dict[str, dict[str, float]]:
    hits = (scores.argmax(dim=1) == torch.arange(len(entries))).numpy()
    out: dict[str, dict[str, float]] = {}
    for split in [*sorted({e.split for e in entries}), "all"]:
        mask = np.array([split in ("all", e.split) for e in entries])
        out[split] = {"top1": float(hits[mask].mean()), "n": int(mask.sum())}
    return out


def motion_accuracy(encoder, n_appearances: int = 16, frames: int = 8, seed: int = 0) -> dict[str, float]:
    """Top-1 among the 6 clips of one appearance that differ only in motion (chance = 1/6)."""
    base = retrieval_pool(seed=seed, limit=n_appearances)
    hits, total = 0, 0
    for entry in base:
        obj = entry.scene.objects[0]
        group = [PoolEntry(Scene((SceneObject(obj.shape, obj.color, m),), entry.scene.background), entry.split,
                           entry.seed + 100_000 * (i + 1)) for i, m in enumerate(MOTIONS)]
        scores = retrieval_scores(encoder, group, frames)
        hits += int((scores.argmax(dim=1) == torch.arange(len(group))).sum())
        total += len(group)
    return {"top1": hits / total, "n": total, "chance": 1 / len(MOTIONS)}


def evaluate(weights: Path = WEIGHTS_PATH, *, seed: int = 0, limit: int | None = None, frames: int = 8,
             dtype: str = "float32", with_motion: bool = True) -> dict[str, Any]:
    """Held-out retrieval of the weights in ``weights``, loaded through the metric's open_clip path."""
    encoder = ClipEncoder(load_clip(MODEL_NAME, str(weights)), dtype=dtype, batch_size=256)
    pool = retrieval_pool(seed=seed, limit=limit)
    result: dict[str, Any] = {"single_object": top1_by_split(pool, retrieval_scores(encoder, pool, frames)),
                              "frames": frames, "seed": seed, "dtype": dtype}
    pairs = two_object_pool(seed=seed, n=48 if limit is None else min(48, limit))
    result["two_object"] = top1_by_split(pairs, retrieval_scores(encoder, pairs, frames))["all"]
    if with_motion:
        result["motion_only"] = motion_accuracy(encoder, frames=frames, seed=seed)
    result["weights_sha256"] = encoder.loaded.weights_sha256
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vbench_lite.lab.train_toy_clip", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--groups", type=int, default=2000, help="random scenes, each rendered in every shape")
    parser.add_argument("--frames-per-clip", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    # On a shared 2-core machine one thread beats two: OpenMP threads spin-wait against the other jobs.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    parser.add_argument("--eval-only", action="store_true", help="evaluate --out, do not train")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(msg, flush=True)

    report: dict[str, Any] = {}
    if not args.eval_only:
        command = "python -m vbench_lite.lab.train_toy_clip " + " ".join(argv if argv is not None else sys.argv[1:])
        model, info = train(steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup=args.warmup,
                            n_groups=args.groups, frames_per_clip=args.frames_per_clip, seed=args.seed,
                            eval_every=args.eval_every, log=log)
        settings = {k: v for k, v in vars(args).items() if k not in ("out", "report", "eval_only")}
        save_weights(model, args.out, {"command": command.strip(), "settings": json.dumps(settings)})
        report.update({"command": command.strip(), "settings": settings, "torch": torch.__version__, **info})
        log(f"saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) after {info['train_seconds']:.0f}s")
    t0 = time.perf_counter()
    report["eval"] = evaluate(args.out, seed=0)
    report["eval_seconds"] = time.perf_counter() - t0
    log(json.dumps(report["eval"], indent=2))
    if not args.eval_only:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
