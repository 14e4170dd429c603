"""The training loop of the reference video DiT: rectified flow, AdamW, an EMA of the weights; data is passed in.

Objective: rectified flow with x0-prediction (:func:`reference_models.rectified_flow.flow_loss`), shifted noise
levels, optionally object pixels weighted more, the condition dropped to the null token for a fraction of the clips
(classifier-free guidance). AdamW with linear warm-up and cosine decay, gradient clipping at 1, an exponential moving
average of the weights (the EMA weights are returned). Everything is seeded (initialisation, data order, noise,
timesteps), so the same pool, arguments, thread count and torch version give the same weights.

The data (the synthetic world's suite rendered at the model's size) and the command line live with the evaluation
harness, :mod:`vbench_lite.lab.train_video_dit`.
"""

from __future__ import annotations

import math
import platform
import time
from typing import Any

import numpy as np
import torch

from reference_models.rectified_flow import flow_loss, foreground_mask, from_uint8_frames
from reference_models.video_dit import VideoDiT
from reference_models.video_dit_config import VideoDiTConfig


def batch_order(n: int, batch_size: int, steps: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Indices of each step's batch: consecutive slices of a fresh permutation per epoch (no index twice a batch)."""
    order: list[int] = []
    batches = []
    for _ in range(steps):
        if len(order) < batch_size:
            order += torch.randperm(n, generator=generator).tolist()
        batches.append(torch.tensor(order[:batch_size]))
        order = order[batch_size:]
    return batches



# -- training -------------------------------------------------------------------------------------------------
def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak``, then cosine decay to 10% of it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def fit(config: VideoDiTConfig, clips: np.ndarray, ids: torch.Tensor, *, steps: int, batch_size: int, lr: float,
        warmup: int, weight_decay: float, ema_decay: float, cond_dropout: float, seed: int,
        foreground_weight: float = 1.0, loss_t_floor: float = 1.0, log=print, started: float | None = None
        ) -> tuple[VideoDiT, dict[str, Any]]:
    """Train a model of ``config`` from scratch on a pool of clips; returns the EMA model (eval mode) and the record.

    ``clips``: uint8 ``(N, T, H, W, 3)`` at the model's native shape; ``ids``: their condition ids ``(N, fields)``
    (:func:`reference_models.video_dit.condition_ids`). ``started``: ``time.perf_counter()`` when the caller began
    (rendering the pool counts in the wall time), now by default. The model is initialised from ``seed`` first, so
    the same pool and arguments give the same weights.
    """
    torch.manual_seed(seed)
    model = VideoDiT(config)
    ema = VideoDiT(config)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    started = time.perf_counter() if started is None else started
    log(f"{config.name}/{config.strategy}: {model.num_params:,} parameters, {len(clips)} training clips")
    generator = torch.Generator().manual_seed(seed)
    batches = batch_order(len(clips), batch_size, steps, generator)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embed" not in name else no_decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99), fused=True)
    losses: list[float] = []
    model.train()
    for step, index in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, lr, warmup)
        x0 = from_uint8_frames(torch.from_numpy(clips[index.numpy()]))  # (B, 3, T, H, W) in [-1, 1]
        cond = ids[index].clone()  # (B, F)
        cond[torch.rand(len(index), generator=generator) < cond_dropout] = 0  # the null token: unconditional
        weight = 1.0 + (foreground_weight - 1.0) * foreground_mask(x0) if foreground_weight != 1.0 else None
        loss = flow_loss(model, x0, cond, generator=generator, weight=weight, t_floor=loss_t_floor)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            # warm-started EMA: early on the average follows the weights closely (no stale random init)
            d = min(ema_decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - d)
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            recent = float(np.mean(losses[-50:]))
            log(f"step {step:5d}/{steps}  loss {recent:.4f}  lr {optimizer.param_groups[0]['lr']:.2e}  "
                f"{time.perf_counter() - started:6.1f}s")
    ema.eval()
    every = max(1, min(50, steps // 10))  # mean loss of each stretch of `every` steps
    record = {
        "steps": steps, "batch_size": batch_size, "lr": lr, "warmup": warmup, "weight_decay": weight_decay,
        "ema_decay": ema_decay, "cond_dropout": cond_dropout, "foreground_weight": foreground_weight,
        "seed": seed, "training_clips": len(clips),
        "objective": f"rectified flow, {config.prediction}-prediction, loss ||x0_hat - x0||^2 / max(t, floor)^2",
        "loss_t_floor": loss_t_floor,
        "timesteps": f"shift_time(U(0, 1), {config.time_shift})",
        "optimizer": "AdamW(betas=(0.9, 0.99)), warm-up + cosine to 10%",
        "final_loss": round(float(np.mean(losses[-50:])), 5),
        "loss_curve_every": every,
        "loss_curve": [round(float(np.mean(losses[i:i + every])), 5) for i in range(0, steps, every)],
        "wall_time_s": round(time.perf_counter() - started, 1), "threads": torch.get_num_threads(),
        "torch": torch.__version__, "python": platform.python_version(),
    }
    return ema, record
