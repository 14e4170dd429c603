"""Train the toy action classifier on rendered clips of the synthetic world, then measure it on held-out renders.

    python -m vbench_lite.lab.train_toy_action               # train, save the shipped weights, evaluate
    python -m vbench_lite.lab.train_toy_action --eval-only   # evaluate the shipped weights

The model lives in :mod:`reference_models.toy_action`, the data in :mod:`vbench_lite.lab.toy_vision_data`. A clip's
label is its scene's motion (:func:`clip_label`); a clip in which no object is visible in two of the sampled frames
shows nothing moving, so its label is "staying still" (``remove_object`` at strength 1 is such a clip). Objective:
cross-entropy. Everything is seeded and single-threaded, so the same command on the same machine gives the same
weights.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reference_models.synthetic_world import Scene, SceneObject
from reference_models.toy_action import (
    ACTIONS,
    PACKAGE_DIR,
    WEIGHTS_PATH,
    build,
    load_toy_action_classifier,
    resize_frames,
    sample_indices,
    stack_input,
)
from vbench_lite.lab.toy_vision_data import (
    EVAL_KEY,
    EVAL_SEED_BASE,
    Clip,
    iter_random_clips,
    random_clips,
    random_scene,
    render_truth,
    shown_path,
    suite_clips,
    write_report,
)

REPORT_PATH = PACKAGE_DIR / "train_report.json"
MOTION_ACTION = {"left": "moving left", "right": "moving right", "up": "moving up", "down": "moving down",
                 "diagonally": "moving diagonally", "still": "staying still"}


def clip_label(clip: Clip, num_sampled: int = 8) -> int:
    """The index in ACTIONS of what the clip shows: its motion, or "staying still" when fewer than two of the
    sampled frames show any object."""
    shown = sum(bool(clip.objects[t]) for t in sample_indices(len(clip.frames), num_sampled))
    return ACTIONS.index(MOTION_ACTION[clip.motion] if shown >= 2 else "staying still")


def training_set(n_clips: int, seed: int, input_size: int, num_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampled, resized frames (N, F, 3, S, S) fp16 and labels (N,) of ``n_clips`` training clips."""
    xs, ys = [], []
    for clip in iter_random_clips(n_clips, seed, "train", frame_counts=(8, 12, 16, 20, 24)):
        xs.append(resize_frames(clip.frames[sample_indices(len(clip.frames), num_frames)], input_size).half())
        ys.append(clip_label(clip, num_frames))
    return torch.stack(xs), torch.tensor(ys)


def train(steps: int, batch_size: int, lr: float, n_clips: int, seed: int) -> tuple:
    torch.manual_seed(seed)
    model = build().train()
    t0 = time.perf_counter()
    x_all, y_all = training_set(n_clips, seed, model.input_size, model.num_frames)
    data_seconds = time.perf_counter() - t0
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    gen = torch.Generator().manual_seed(seed)
    history, t0 = [], time.perf_counter()
    for step in range(1, steps + 1):
        idx = torch.randint(len(y_all), (batch_size,), generator=gen)
        logits = model(stack_input(x_all[idx].float()))
        loss = F.cross_entropy(logits, y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            acc = float((logits.argmax(1) == y_all[idx]).float().mean())
            history.append({"step": step, "loss": float(loss.detach()), "batch_accuracy": acc})
            print(f"step {step} loss {float(loss):.4f} acc {acc:.3f}", file=sys.stderr, flush=True)
    return model.eval(), history, data_seconds, time.perf_counter() - t0, len(y_all)


def known_answer_clips(n: int, seed: int = 0, size: tuple[int, int] = (64, 64), num_frames: int = 16
                       ) -> dict[str, list[tuple[Clip, str]]]:
    """Held-out clips with the action they must get: ``remove_object`` at strength 1 and ``freeze`` at strength 1
    (nothing moves: "staying still"), ``two_object`` scenes and ``wrong_color`` clips (their motion)."""
    rng = np.random.default_rng([seed, 3])
    out: dict[str, list[tuple[Clip, str]]] = defaultdict(list)
    for i in range(n):
        render_seed = EVAL_SEED_BASE + 700_000 + seed * 10_000 + i
        for name, two, defect in (("remove_object", 0.0, "remove_object"), ("freeze", 0.3, "freeze"),
                                  ("two_object", 1.0, "none"), ("wrong_color", 0.3, "wrong_color")):
            scene = random_scene(rng, two)
            if name == "freeze" and scene.objects[0].motion == "still":  # a still scene frozen says nothing new
                scene = Scene(tuple(SceneObject(o.shape, o.color, "left") for o in scene.objects), scene.background)
            clip = render_truth(scene, key=EVAL_KEY, seed=render_seed, num_frames=num_frames, size=size,
                                defect=defect, strength=1.0)
            want = "staying still" if name in ("remove_object", "freeze") else MOTION_ACTION[clip.motion]
            out[name].append((clip, want))
    return dict(out)


@torch.no_grad()
def evaluate(model, clips: list[Clip], known: dict[str, list[tuple[Clip, str]]]) -> dict:
    """Held-out accuracy overall, per true action, per defect, the confusion matrix (rows true, columns predicted,
    in ACTIONS order) and the known answers."""
    pred = model.classify_batch([c.frames for c in clips]).argmax(1)
    true = np.array([clip_label(c, model.num_frames) for c in clips])
    confusion = np.zeros((len(ACTIONS), len(ACTIONS)), int)
    np.add.at(confusion, (true, pred), 1)
    by_defect: dict[str, list[bool]] = defaultdict(list)
    for c, t, p in zip(clips, true, pred):
        by_defect[c.defect].append(bool(t == p))
    res = {"n": len(clips), "accuracy": float((pred == true).mean()),
           "per_action": {a: float(confusion[i, i] / max(confusion[i].sum(), 1)) for i, a in enumerate(ACTIONS)},
           "per_defect": {d: {"accuracy": float(np.mean(v)), "n": len(v)} for d, v in sorted(by_defect.items())},
           "confusion": confusion.tolist(), "known": known_accuracy(model, known)}
    return res


@torch.no_grad()
def known_accuracy(model, known: dict[str, list[tuple[Clip, str]]]) -> dict:
    """Per set of (clip, wanted action): the fraction classified as wanted."""
    res = {}
    for name, pairs in known.items():
        got = model.classify_batch([c.frames for c, _ in pairs]).argmax(1)
        res[name] = {"accuracy": float(np.mean([ACTIONS[g] == w for g, (_, w) in zip(got, pairs)])), "n": len(pairs)}
    return res


def suite_known_answers() -> dict[str, list[tuple[Clip, str]]]:
    """The ``synthetic`` suite as the demo renders it (seed 0, 16 frames, 64 x 64): clean and ``wrong_color`` clips
    must get their motion, one-object ``remove_object`` (strength 1) clips "staying still"."""
    out = {name: [(c, MOTION_ACTION[c.motion]) for c in suite_clips(name)] for name in ("none", "wrong_color")}
    out["remove_object"] = [(c, "staying still") for c in suite_clips("remove_object") if len(c.scene.objects) == 1]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clips", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-clips", type=int, default=600)
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    ap.add_argument("--eval-only", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    report: dict = {}
    if not args.eval_only:
        from safetensors.torch import save_file

        model, history, data_s, train_s, n = train(args.steps, args.batch_size, args.lr, args.clips, args.seed)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out))
        report = {"command": " ".join(["python -m vbench_lite.lab.train_toy_action", *(argv or sys.argv[1:])]),
                  "settings": {**vars(args), "out": shown_path(args.out, WEIGHTS_PATH)},
                  "torch": torch.__version__, "n_clips": n, "data_seconds": data_s, "train_seconds": train_s,
                  "history": history}
    model = load_toy_action_classifier(args.out)
    t0 = time.perf_counter()
    report["eval"] = evaluate(model, random_clips(args.eval_clips, 0, "eval", frame_counts=(16,)),
                              known_answer_clips(50))
    report["eval"]["synthetic_suite"] = known_accuracy(model, suite_known_answers())
    report["eval_seconds"] = time.perf_counter() - t0
    report = write_report(report, args.out, WEIGHTS_PATH, REPORT_PATH, args.eval_only)
    print(json.dumps({k: v for k, v in report["eval"].items() if k != "confusion"}, indent=2))
    print("sha256", report["weights_sha256"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
