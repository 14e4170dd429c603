"""Rectified flow for the video DiT: noise levels, the training loss, the sampler and the pixel <-> [-1, 1] maps.

The path from a clean clip ``x_0`` (scaled to [-1, 1]) to noise ``eps ~ N(0, I)``::

    x_t = (1 - t) * x_0 + t * eps,    v = dx_t/dt = eps - x_0,    t in [0, 1]

Training (:func:`flow_loss`) and sampling (:func:`sample`) use the same shifted noise levels (:func:`shift_time`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # annotations only: the model module does not need this one
    from reference_models.video_dit import VideoDiT


def shift_time(u: torch.Tensor, shift: float) -> torch.Tensor:
    """``t = shift * u / (1 + (shift - 1) * u)``: maps [0, 1] onto [0, 1], crowding noise levels towards ``t = 1``.

    Why (SD3's resolution shift, Esser et al. 2024, Sec. 5.3.2): a clip has many redundant pixels, so its background
    can be read from the noisy input until ``t`` is close to 1 (the mean of ``N`` noisy pixels has noise
    ``t / sqrt(N)``). With uniform levels (shift 1) a short run hardly trains where the content is decided and its
    samples get the average (grey) background and no object. Too large a shift starves the middle levels instead,
    where objects get their shape: shift 8 puts a fifth of the training levels above ``t = 0.97``. The default 3
    puts the median level at ``t = 0.75``. The runs behind the choice are in the recipe table of
    ``reference_models/checkpoints/CHECKPOINTS.md``. Used the same way in training (:func:`flow_loss`) and sampling
    (:func:`sample`); the value is stored in every checkpoint's config.
    """
    return shift * u / (1 + (shift - 1) * u)


def foreground_mask(x0: torch.Tensor, tolerance: float = 0.05) -> torch.Tensor:
    """``(B, 3, T, H, W)`` clips -> ``(B, 1, T, H, W)`` float mask of pixels unlike the clip's background colour.

    The background colour is the per-channel median of the clip (the plain background covers most of every
    synthetic clip); a pixel is foreground when any channel differs from it by more than ``tolerance``.
    """
    background = x0.flatten(2).median(dim=2).values[:, :, None, None, None]  # (B, 3, 1, 1, 1)
    return ((x0 - background).abs() > tolerance).any(dim=1, keepdim=True).to(x0.dtype)


def flow_loss(model: VideoDiT, x0: torch.Tensor, cond: torch.Tensor, generator: torch.Generator | None = None,
              t: torch.Tensor | None = None, weight: torch.Tensor | None = None, t_floor: float = 1.0
              ) -> torch.Tensor:
    """Mean squared error of the velocity ``v = eps - x0`` at a random noise level ``t`` (or the given ``t``).

    With x0-prediction (the default) the velocity is derived from the predicted clean clip, ``(x_t - x0_hat) / t``,
    and so is the target, ``(x_t - x0) / t`` (equal to ``eps - x0``), both with ``t`` floored at ``t_floor``: the loss
    is ``||x0_hat - x0||^2 / max(t, t_floor)^2``. The default floor 1 makes it the plain x0 loss: JiT's velocity
    loss (floor 0.05) weights low noise up to 400x, and in short runs the high-noise end, where a clip's content
    is decided, then stays untrained (samples get the right background and no object).

    Why x0 and not the velocity: a tubelet holds ``4*4*4*3 = 192`` values and a token is only ``dim`` (64) wide,
    so a network that must output the noise (velocity or eps prediction) cannot carry it through -- its samples
    stay noisy; the clean clip lies on a low-dimensional set and can be carried (Li & He, "Back to Basics: Let
    Denoising Generative Models Denoise", 2025, "JiT").

    Noise levels ``t = shift_time(u, config.time_shift)`` with ``u ~ U(0, 1)`` (see :func:`shift_time`).
    ``weight`` (broadcastable to ``x0``, e.g. ``(B, 1, T, H, W)``) weights each value's squared error; the mean is
    then divided by the mean weight, so a weight of all ones is the plain loss. The training script's
    ``--foreground-weight`` can weight object pixels (:func:`foreground_mask`) more; it is off (1) by default: a
    weight ``w`` moves the optimum at high noise from the posterior mean towards ``w``-weighted object evidence,
    so samples commit to objects in too many places (the runs: ``reference_models/checkpoints/CHECKPOINTS.md``).
    """
    B = x0.shape[0]
    if t is None:
        t = shift_time(torch.rand(B, generator=generator, device=x0.device), model.config.time_shift)
    eps = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    tb = t.to(x0.dtype)[:, None, None, None, None]  # (B, 1, 1, 1, 1)
    xt = (1 - tb) * x0 + tb * eps
    if model.config.prediction == "velocity":
        error = (model(xt, t, cond) - (eps - x0)).pow(2)
    else:
        target = (xt - x0) / tb.clamp_min(t_floor)
        error = (model.velocity(xt, t, cond, t_floor=t_floor) - target).pow(2)
    if weight is None:
        return error.mean()
    weight = weight.expand_as(error)
    return (error * weight).mean() / weight.mean()


@torch.no_grad()
def sample(model: VideoDiT, cond: torch.Tensor, noise: torch.Tensor, *, steps: int = 16, guidance: float = 1.0,
           eta: float = 0.0, generators: Sequence[torch.Generator] | None = None) -> torch.Tensor:
    """Integrate the flow from ``noise`` (``t = 1``) to a clip (``t = 0``) in [-1, 1] (unclipped).

    The ``steps + 1`` noise levels are ``shift_time`` of a uniform grid (the config's ``time_shift``), so more steps
    fall where the clip's content is decided. Each step splits ``x_t`` into the predicted clean clip ``x0_hat`` and
    noise ``eps_hat = (x_t - (1 - t) x0_hat) / t`` and moves to the next level ``s``::

        x_s = (1 - s) * x0_hat + s * (sqrt(1 - eta^2) * eps_hat + eta * z),    z ~ N(0, I)

    ``eta = 0`` is the deterministic Euler step of the flow ODE (exactly ``x + (s - t) * v``); ``eta = 1`` draws
    fresh noise every step (the flow analogue of DDPM's ancestral sampler; DDIM's eta interpolates the same way).
    Why offer it: re-noising washes out a small model's errors instead of compounding them (on the shipped
    checkpoints it more than halves FVD: the runs are in ``reference_models/checkpoints/CHECKPOINTS.md``).

    ``generators``: one ``torch.Generator`` per clip for ``z`` (so a clip does not depend on its batch); without
    them ``z`` comes from the global generator. With x0-prediction the last step lands exactly on ``x0_hat``.
    ``guidance > 1`` applies classifier-free guidance: ``x0 = x0_null + guidance * (x0_cond - x0_null)`` (the same as
    guiding the velocity, which is affine in ``x0_hat`` at a fixed ``x_t``).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    if generators is not None and len(generators) != noise.shape[0]:
        raise ValueError(f"{len(generators)} generators for {noise.shape[0]} clips")
    x = noise
    null = torch.zeros_like(cond)
    times = shift_time(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64), model.config.time_shift)
    for i in range(steps):
        t_now, t_next = float(times[i]), float(times[i + 1])
        t = torch.full((x.shape[0],), t_now, device=x.device)
        if guidance == 1.0:
            v = model.velocity(x, t, cond)
        else:
            both = model.velocity(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, null]))  # (2B, 3, T, H, W)
            v_cond, v_null = both.chunk(2)
            v = v_null + guidance * (v_cond - v_null)
        if eta == 0.0 or t_next == 0.0:
            x = x + (t_next - t_now) * v
            continue
        x0_hat = x - t_now * v  # v = eps - x0 and x = (1 - t) x0 + t eps  =>  x0 = x - t v
        eps_hat = x + (1 - t_now) * v  # eps = x + (1 - t) v
        if generators is None:
            z = torch.randn(x.shape, device=x.device, dtype=x.dtype)
        else:
            z = torch.stack([torch.randn(x.shape[1:], generator=g, dtype=torch.float32) for g in generators])
            z = z.to(device=x.device, dtype=x.dtype)  # (B, 3, T, H, W)
        x = (1 - t_next) * x0_hat + t_next * (math.sqrt(1 - eta**2) * eps_hat + eta * z)
    return x


def to_uint8_frames(x: torch.Tensor) -> torch.Tensor:
    """``(B, 3, T, H, W)`` in [-1, 1] -> uint8 ``(B, T, H, W, 3)``."""
    x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1)  # (B, T, H, W, 3)


def from_uint8_frames(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, T, H, W, 3)`` -> ``(B, 3, T, H, W)`` float in [-1, 1]."""
    return frames.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0  # (B, 3, T, H, W)
