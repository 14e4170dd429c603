"""Train the reference video DiT on the synthetic world, evaluate it, save a safetensors checkpoint.

    python -m vbench_lite.lab.train_video_dit --strategy full  # -> reference_models/checkpoints/vdit-t-full.safetensors
    python -m vbench_lite.lab.train_video_dit --write-index    # rewrite reference_models/checkpoints/CHECKPOINTS.md

(The shipped checkpoints record the command under its former name, ``python -m reference_models.train_video_dit``;
the options are the same.)

Data: every prompt of the synthetic suite (``synthetic_suite_prompts()``) rendered by the exact renderer
(``SyntheticGenerator``) at the model's native size, ``--seeds-per-prompt`` clips each with render seeds
``TRAIN_SEED_BASE + i``. Seeds below ``TRAIN_SEED_BASE`` are never trained on: evaluation, the demo's reference set
(seed 1000 and up) and generation (seed 0 and up) are held out. The pool is rendered once, then visited in a
seeded random order (a fresh permutation per epoch) by the training loop of
:mod:`reference_models.video_dit_training`, whose docstring states the objective and the optimiser.
The thread count is fixed (default 1: on a shared 2-core machine one thread is faster than two), so the same command
on the same machine and torch version gives the same weights.

The checkpoint holds the weights (float32) and a JSON metadata block: ``format``, ``config`` (the model config,
vocabulary included) and ``training`` (command, steps, seed, wall time, final loss, evaluation, versions); see
:mod:`reference_models.video_dit_checkpoint`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reference_models.video_dit import VideoDiT, build_model, condition_ids
from reference_models.video_dit_checkpoint import CHECKPOINT_DIR, save_checkpoint
from reference_models.video_dit_config import VideoDiTConfig, config_by_name
from reference_models.video_dit_training import fit
from vbench_lite.generators.synthetic import synthetic_suite_prompts
from vbench_lite.lab.checkpoint_eval import evaluate, render_clips
from vbench_lite.lab.checkpoint_index import write_index, write_preview
from vbench_lite.results import sha256_file

#: Training clips use render seeds TRAIN_SEED_BASE, TRAIN_SEED_BASE + 1, ...; every smaller seed is held out.
TRAIN_SEED_BASE = 100_000


# -- data -----------------------------------------------------------------------------------------------------
def training_pool(config: VideoDiTConfig, seeds_per_prompt: int) -> tuple[np.ndarray, torch.Tensor]:
    """All suite prompts x ``seeds_per_prompt`` training seeds: clips uint8 ``(N, T, H, W, 3)``, ids ``(N, F)``."""
    suite = synthetic_suite_prompts()
    pairs = [(p, TRAIN_SEED_BASE + i) for i in range(seeds_per_prompt) for p in suite]
    clips = render_clips([p for p, _ in pairs], [s for _, s in pairs], config)
    ids = torch.tensor([condition_ids(p, config) for p, _ in pairs], dtype=torch.long)
    return clips, ids


def train(config: VideoDiTConfig, *, steps: int, batch_size: int, lr: float, warmup: int, weight_decay: float,
          ema_decay: float, cond_dropout: float, seeds_per_prompt: int, seed: int, foreground_weight: float = 1.0,
          loss_t_floor: float = 1.0, log=print) -> tuple[VideoDiT, dict[str, Any]]:
    """Train from scratch on the suite's training pool; returns the EMA model (eval mode) and the training record."""
    started = time.perf_counter()
    clips, ids = training_pool(config, seeds_per_prompt)
    log(f"{len(clips)} training clips rendered in {time.perf_counter() - started:.1f}s")
    model, record = fit(config, clips, ids, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
                        weight_decay=weight_decay, ema_decay=ema_decay, cond_dropout=cond_dropout, seed=seed,
                        foreground_weight=foreground_weight, loss_t_floor=loss_t_floor, log=log, started=started)
    return model, {**record, "seeds_per_prompt": seeds_per_prompt, "train_seed_base": TRAIN_SEED_BASE}


def checkpoint_name(config: VideoDiTConfig) -> str:
    return f"{config.name.lower()}-{config.strategy}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vbench_lite.lab.train_video_dit", description=__doc__.split("\n")[0])
    p.add_argument("--config", default="VDiT-T", help="name in dit_configs/vdit.json (default VDiT-T)")
    p.add_argument("--strategy", default="full", help="attention strategy (full, spatial, temporal, divided, window)")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--ema-decay", type=float, default=0.995)
    p.add_argument("--cond-dropout", type=float, default=0.1)
    p.add_argument("--seeds-per-prompt", type=int, default=16)
    p.add_argument("--loss-t-floor", type=float, default=1.0,
                   help="x0 loss weighted 1/max(t, floor)^2 (1 = plain x0 loss, 0.05 = JiT's velocity loss)")
    p.add_argument("--foreground-weight", type=float, default=1.0,
                   help="loss weight of object pixels (unlike the clip's background colour); 1 = plain loss")
    p.add_argument("--time-shift", type=float, default=None,
                   help="noise-level shift of training and sampling (default: the config's, see video_dit.shift_time)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, part of reproducibility)")
    p.add_argument("--out", default=None, help="checkpoint path (default checkpoints/<config>-<strategy>.safetensors)")
    p.add_argument("--no-eval", action="store_true", help="skip the pixel Frechet evaluation after training")
    p.add_argument("--write-index", action="store_true", help="only rewrite checkpoints/CHECKPOINTS.md")
    p.add_argument("--preview", action="store_true", help="with --write-index: also redraw checkpoints/preview.png")
    args = p.parse_args(argv)
    if args.write_index:
        if args.preview:
            torch.set_num_threads(args.threads)
            print(write_preview())
        print(write_index())
        return 0
    torch.set_num_threads(args.threads)
    overrides = {"strategy": args.strategy}
    if args.time_shift is not None:
        overrides["time_shift"] = args.time_shift
    config = config_by_name(args.config, **overrides)
    out = Path(args.out) if args.out else CHECKPOINT_DIR / f"{checkpoint_name(config)}.safetensors"
    model, record = train(config, steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup=args.warmup,
                          weight_decay=args.weight_decay, ema_decay=args.ema_decay, cond_dropout=args.cond_dropout,
                          seeds_per_prompt=args.seeds_per_prompt, seed=args.seed,
                          foreground_weight=args.foreground_weight, loss_t_floor=args.loss_t_floor,
                          log=lambda *a: print(*a, flush=True))
    record["command"] = "python -m vbench_lite.lab.train_video_dit " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if not args.no_eval:
        record["eval"] = evaluate(model)
        torch.manual_seed(args.seed)
        record["eval_untrained"] = evaluate(build_model(config).eval())
        print(f"pixel Frechet (trained): {record['eval']}  (untrained: {record['eval_untrained']})")
    save_checkpoint(model, out, record)
    print(f"saved {out} (sha256 {sha256_file(out)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
