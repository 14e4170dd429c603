"""Train the toy detector on rendered frames of the synthetic world, then measure it on held-out renders.

    python -m vbench_lite.lab.train_toy_detector               # train, save the shipped weights, evaluate
    python -m vbench_lite.lab.train_toy_detector --eval-only   # evaluate the shipped weights

The model and its decoding live in :mod:`reference_models.toy_detector`; the data (with exact boxes from the
renderer) in :mod:`vbench_lite.lab.toy_vision_data`. Objective: CenterNet's (Zhou et al. 2019, "Objects as Points")
penalty-reduced focal loss on a Gaussian centre heatmap per shape, plus cross-entropy for the colour and L1 for the
centre offset and box size, on the 3 x 3 cells around each box centre (so a peak one cell off still decodes well).
Everything is seeded and single-threaded, so the same command on the same machine gives the same weights.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reference_models.toy_detector import COLORS, LABELS, PACKAGE_DIR, WEIGHTS_PATH, build, load_toy_detector
from reference_models.toy_detector import resize_frames as detector_resize
from vbench_lite.lab.toy_vision_data import (
    Clip,
    iter_random_clips,
    known_answer_clips,
    random_clips,
    shown_path,
    suite_clips,
    write_report,
)

REPORT_PATH = PACKAGE_DIR / "train_report.json"
SIGMA_CELLS = 1.0  # heatmap Gaussian spread; objects span about 5 cells of the 16 x 16 grid


def frame_targets(objects: list, frame_size: tuple[int, int], grid: int) -> dict[str, np.ndarray]:
    """Training targets of one frame from its true objects [(shape, colour, box, index)]: ``heat`` (L, G, G) in
    [0, 1] with 1 at each box centre's cell, ``color`` (G, G) class or -1, ``reg`` (4, G, G) offset and size in cells
    and ``mask`` (G, G) where ``color``/``reg`` apply (the 3 x 3 cells around each centre)."""
    h, w = frame_size
    heat = np.zeros((len(LABELS), grid, grid), np.float32)
    color = np.full((grid, grid), -1, np.int64)
    reg = np.zeros((4, grid, grid), np.float32)
    mask = np.zeros((grid, grid), bool)
    centres = np.arange(grid) + 0.5
    for shape, col, (x0, y0, x1, y1), _ in objects:
        cx, cy = (x0 + x1) / 2 / w * grid, (y0 + y1) / 2 / h * grid
        gx, gy = min(int(cx), grid - 1), min(int(cy), grid - 1)
        g = np.exp(-((centres[None, :] - cx) ** 2 + (centres[:, None] - cy) ** 2) / (2 * SIGMA_CELLS ** 2))
        li = LABELS.index(shape)
        heat[li] = np.maximum(heat[li], g)
        heat[li, gy, gx] = 1.0
        for yy in range(max(0, gy - 1), min(grid, gy + 2)):
            for xx in range(max(0, gx - 1), min(grid, gx + 2)):
                color[yy, xx] = COLORS.index(col)
                reg[:, yy, xx] = (cx - xx, cy - yy, (x1 - x0) / w * grid, (y1 - y0) / h * grid)
                mask[yy, xx] = True
    return {"heat": heat, "color": color, "reg": reg, "mask": mask}


def training_set(n_clips: int, frames_per_clip: int, seed: int, input_size: int, grid: int) -> dict[str, torch.Tensor]:
    """Resized frames (fp16) and their targets, ``frames_per_clip`` distinct frames of each of ``n_clips`` clips."""
    rng = np.random.default_rng([seed, 7])
    pixels, targets = [], []
    for clip in iter_random_clips(n_clips, seed, "train", frame_counts=(8, 16, 24)):
        steps = rng.choice(len(clip.frames), size=min(frames_per_clip, len(clip.frames)), replace=False)
        pixels.append(detector_resize(clip.frames[steps], input_size).half())
        targets += [frame_targets(clip.objects[t], clip.frames.shape[1:3], grid) for t in steps]
    out = {k: torch.from_numpy(np.stack([t[k] for t in targets])) for k in targets[0]}
    out["pixels"] = torch.cat(pixels)
    return out


def detection_loss(raw: torch.Tensor, heat: torch.Tensor, color: torch.Tensor, reg: torch.Tensor,
                   mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """CenterNet focal loss (alpha 2, beta 4) normalised by the number of objects + colour CE + L1 offset/size."""
    nl, nc = len(LABELS), len(COLORS)
    p = torch.sigmoid(raw[:, :nl]).clamp(1e-4, 1 - 1e-4)
    pos = heat == 1.0
    focal = -(torch.where(pos, (1 - p) ** 2 * torch.log(p), (1 - heat) ** 4 * p ** 2 * torch.log(1 - p))).sum()
    focal = focal / pos.sum().clamp(min=1)
    m = mask.float()
    n = m.sum().clamp(min=1)
    ce = (F.cross_entropy(raw[:, nl:nl + nc], color.clamp(min=0), reduction="none") * m).sum() / n
    grid = raw.shape[-1]
    pred = torch.cat([raw[:, nl + nc:nl + nc + 2], torch.sigmoid(raw[:, nl + nc + 2:]) * grid], dim=1)
    l1 = ((pred - reg).abs().sum(dim=1) * m).sum() / n
    loss = focal + ce + l1
    return loss, {"focal": float(focal.detach()), "color_ce": float(ce.detach()), "l1": float(l1.detach())}


def train(steps: int, batch_size: int, lr: float, n_clips: int, frames_per_clip: int, seed: int) -> tuple:
    torch.manual_seed(seed)
    model = build().train()
    grid = model.input_size // model.stride
    t0 = time.perf_counter()
    data = training_set(n_clips, frames_per_clip, seed, model.input_size, grid)
    data_seconds = time.perf_counter() - t0
    n = len(data["pixels"])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    gen = torch.Generator().manual_seed(seed)
    history, t0 = [], time.perf_counter()
    for step in range(1, steps + 1):
        idx = torch.randint(n, (batch_size,), generator=gen)
        x, heat, color, reg, mask = (data["pixels"][idx].float(), data["heat"][idx], data["color"][idx],
                                     data["reg"][idx].clone(), data["mask"][idx])
        if step % 2 == 0:  # horizontal flip: every shape of the world is left-right symmetric
            x, heat, color, mask = x.flip(-1), heat.flip(-1), color.flip(-1), mask.flip(-1)
            reg = reg.flip(-1)
            reg[:, 0] = 1.0 - reg[:, 0]  # offset from the flipped cell's corner: cell x -> G-1-x, centre c -> G-c
        loss, parts = detection_loss(model(x), heat, color, reg, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            history.append({"step": step, "loss": float(loss.detach()), **parts})
            print(f"step {step} loss {float(loss.detach()):.4f} {parts}", file=sys.stderr, flush=True)
    return model.eval(), history, data_seconds, time.perf_counter() - t0, n


def _iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(dets: list, objects: list, iou_min: float = 0.5, same: str = "none") -> list[tuple[int, int, float]]:
    """Greedy matching, best score first: (det index, object index, IoU) pairs with IoU >= ``iou_min`` and, for
    ``same`` = "shape" / "shape+color", the same label (and colour)."""
    used, pairs = set(), []
    for di, d in enumerate(dets):
        best, best_iou = None, iou_min
        for oi, (shape, col, box, _) in enumerate(objects):
            if oi in used or (same != "none" and d.label != shape) or (same == "shape+color" and d.color != col):
                continue
            iou = _iou(d.box, box)
            if iou >= best_iou:
                best, best_iou = oi, iou
        if best is not None:
            used.add(best)
            pairs.append((di, best, best_iou))
    return pairs


def relation(a: np.ndarray, b: np.ndarray) -> str:
    """Where centre ``a`` is relative to centre ``b`` (image y down): the larger of the x and y separations decides."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


@torch.no_grad()
def evaluate(model, clips: list[Clip], known: dict[str, list[Clip]], threshold: float = 0.5) -> dict:
    """Held-out precision/recall at IoU 0.5 of shape and shape+colour, colour accuracy and mean IoU of the box-matched
    pairs, over every frame of ``clips``; and the known answers over every frame of ``known``'s clips."""
    counts = {"dets": 0, "objects": 0, "tp_shape": 0, "tp_shape_color": 0, "matched": 0, "color_ok": 0}
    ious = []
    per_defect: dict[str, list[int]] = {}  # defect -> [frames, detections, objects, shape+colour true positives]
    for clip in clips:
        for dets, objs in zip(model.detect(clip.frames, threshold), clip.objects):
            tally = per_defect.setdefault(clip.defect, [0, 0, 0, 0])
            tally[0], tally[1], tally[2] = tally[0] + 1, tally[1] + len(dets), tally[2] + len(objs)
            tally[3] += len(match(dets, objs, same="shape+color"))
            counts["dets"] += len(dets)
            counts["objects"] += len(objs)
            counts["tp_shape"] += len(match(dets, objs, same="shape"))
            counts["tp_shape_color"] += len(match(dets, objs, same="shape+color"))
            pairs = match(dets, objs)
            counts["matched"] += len(pairs)
            counts["color_ok"] += sum(dets[d].color == objs[o][1] for d, o, _ in pairs)
            ious += [iou for _, _, iou in pairs]
    res = {"frames": sum(len(c.frames) for c in clips), **counts,
           "precision_shape": counts["tp_shape"] / max(counts["dets"], 1),
           "recall_shape": counts["tp_shape"] / max(counts["objects"], 1),
           "precision_shape_color": counts["tp_shape_color"] / max(counts["dets"], 1),
           "recall_shape_color": counts["tp_shape_color"] / max(counts["objects"], 1),
           "color_accuracy": counts["color_ok"] / max(counts["matched"], 1),
           "mean_iou": float(np.mean(ious)) if ious else 0.0,
           "per_defect": {d: {"frames": f, "precision_shape_color": tp / max(nd, 1),
                              "recall_shape_color": tp / max(no, 1)}
                          for d, (f, nd, no, tp) in sorted(per_defect.items())}}
    res["known"] = known_answers(model, known, threshold)
    return res


def known_answers(model, known: dict[str, list[Clip]], threshold: float = 0.5) -> dict:
    """Per frame: clean objects found with the asked shape and colour; wrong_color objects found with the asked shape
    but another colour than asked; remove_object (strength 1) frames without any detection; two-object frames whose
    detected centres (matched by shape and colour) give the true relation of object 0 to object 1."""
    out = {}
    for name, clips in known.items():
        ok = total = 0
        for clip in clips:
            asked = {k: o.color for k, o in enumerate(clip.scene.objects)}
            for t, dets in enumerate(model.detect(clip.frames, threshold)):
                objs = clip.objects[t]
                if name == "remove_object":
                    ok, total = ok + (len(dets) == 0), total + 1
                elif name in ("clean", "wrong_color"):
                    pairs = match(dets, objs, same="shape")
                    found = {objs[o][3]: dets[d].color for d, o, _ in pairs}
                    for k, col in asked.items():
                        good = found.get(k) == col if name == "clean" else found.get(k, col) != col
                        ok, total = ok + bool(good), total + 1
                else:  # two_object: the relation recovered from the detected boxes' centres
                    pairs = {objs[o][3]: dets[d].box for d, o, _ in match(dets, objs, same="shape+color")}
                    truth = relation(clip.centers[0][t], clip.centers[1][t])
                    got = None
                    if 0 in pairs and 1 in pairs:
                        c = [np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) for b in (pairs[0], pairs[1])]
                        got = relation(c[0], c[1])
                    ok, total = ok + (got == truth), total + 1
        out[name] = {"accuracy": ok / max(total, 1), "n": total}
    return out


def suite_answers(model, threshold: float = 0.5) -> dict:
    """:func:`known_answers` on the ``synthetic`` suite as the demo renders it (seed 0, 16 frames, 64 x 64)."""
    clean = suite_clips()
    return known_answers(model, {
        "clean": clean, "wrong_color": suite_clips("wrong_color"),
        "remove_object": [c for c in suite_clips("remove_object") if len(c.scene.objects) == 1],
        "two_object": [c for c in clean if len(c.scene.objects) == 2]}, threshold)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3500)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clips", type=int, default=6000)
    ap.add_argument("--frames-per-clip", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-clips", type=int, default=300)
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    ap.add_argument("--eval-only", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    report: dict = {}
    if args.eval_only:
        model = load_toy_detector(args.out)
    else:
        from safetensors.torch import save_file

        model, history, data_s, train_s, n_frames = train(args.steps, args.batch_size, args.lr, args.clips,
                                                          args.frames_per_clip, args.seed)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out))
        report = {"command": " ".join(["python -m vbench_lite.lab.train_toy_detector", *(argv or sys.argv[1:])]),
                  "settings": {**vars(args), "out": shown_path(args.out, WEIGHTS_PATH)},
                  "torch": torch.__version__, "n_frames": n_frames, "data_seconds": data_s, "train_seconds": train_s,
                  "history": history}
        model = load_toy_detector(args.out)
    t0 = time.perf_counter()
    clips = random_clips(args.eval_clips, 0, "eval", frame_counts=(16,))
    report["eval"] = evaluate(model, clips, known_answer_clips(40))
    report["eval"]["synthetic_suite"] = suite_answers(model)
    report["eval_seconds"] = time.perf_counter() - t0
    report = write_report(report, args.out, WEIGHTS_PATH, REPORT_PATH, args.eval_only)
    print(json.dumps(report["eval"], indent=2))
    print("sha256", report["weights_sha256"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
