"""A small, readable video diffusion transformer (DiT / Latte / VDT style) trained on the synthetic world.

The model denoises along a rectified-flow path (it predicts the clean clip ``x_0``; the loss, the sampler and the
noise levels are in :mod:`reference_models.rectified_flow`). The config and its bounds are in
:mod:`reference_models.video_dit_config`; checkpoint files are read and checked by
:mod:`reference_models.video_dit_checkpoint` (:meth:`VideoDiT.from_pretrained`).

Architecture (one file, shape comments on every reshape):

1. **Tubelets.** A ``Conv3d`` with kernel = stride = ``tubelet`` ``(pt, ph, pw)`` turns the clip
   ``(B, 3, T, H, W)`` into tokens ``(B, T', S, C)`` with ``T' = T / pt``, ``S = H' * W'`` (ViViT's tubelet
   embedding). A fixed 3D sine-cosine position embedding is added (the time, row and column parts use separate
   channels).
2. **Blocks.** Each block is DiT's adaLN-Zero block around one attention *strategy* from
   :mod:`reference_models.attention` (``full``, ``spatial``, ``temporal``, ``divided``, ``window``, ...): the
   strategy is a config field, everything else is the same, so strategies can be compared at equal parameters
   (``divided`` adds its second attention, as TimeSformer does).
3. **Conditioning.** ``c = timestep_embedding(t) + scene_embedding(prompt)`` drives the shift, scale and gate of
   every LayerNorm (adaLN-Zero: the gates start at zero, so every block starts as the identity).
4. **Output.** A final adaLN LayerNorm and a linear layer (zero-initialised) give ``pt*ph*pw*3`` values per token,
   folded back into a clip ``(B, 3, T, H, W)``.

Prompt conditioning (a deliberate choice for the synthetic world, documented here). The prompts of the synthetic
suite are structured: :func:`reference_models.synthetic_world.parse_scene` gives a background and one or two
objects ``(shape, color, motion)``. The model sees a *sum of learned embeddings*, one table per field and object
slot::

    scene_embedding = E_background[bg] + sum_k (E_color[k][color_k] + E_shape[k][shape_k] + E_motion[k][motion_k])

Separate tables per object slot ``k`` keep the binding ("red circle and blue square" differs from "blue circle and
red square"), which a plain bag of embeddings would lose. Index 0 of every table is the *null token*: an absent
second object, a prompt the synthetic world cannot parse (any other text maps to all-null ids, so the model
samples an unconditional clip of the world; the generator's noise still depends on the prompt id and seed), and
the condition dropped during training for classifier-free guidance. There is no text encoder: a learned
embedding of the structured fields is exact for this world, costs nothing and cannot be confused by wording.
The vocabularies are stored in the config (and so in every checkpoint), so a checkpoint keeps its meaning if the
world's vocabulary grows.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reference_models.attention import build_attention
from reference_models.synthetic_world import SceneError, parse_scene
from reference_models.video_dit_checkpoint import CheckpointError, check_weights, first_line, read_checkpoint
from reference_models.video_dit_config import VideoDiTConfig, config_by_name, validate_config_dict


# -- conditioning ---------------------------------------------------------------------------------------------
def condition_fields(config: VideoDiTConfig) -> list[tuple[str, str]]:
    """The id columns, in order: ``(table name, vocabulary)`` -- background, then color/shape/motion per slot."""
    cols = [("background", "background")]
    for k in range(config.max_objects):
        cols += [(f"color{k}", "color"), (f"shape{k}", "shape"), (f"motion{k}", "motion")]
    return cols


def condition_ids(prompt: Any, config: VideoDiTConfig) -> list[int]:
    """Ids of a prompt's structured fields (0 = null); all zeros for a prompt the synthetic world cannot parse.

    ``prompt`` is anything with a ``text`` and a ``fields`` mapping (e.g. a ``vbench_lite.types.Prompt``); the scene
    comes from :func:`reference_models.synthetic_world.parse_scene`. Objects beyond ``max_objects`` are dropped (the
    world has at most two). Words outside the checkpoint's vocabulary map to the null token too.
    """
    ids = [0] * len(condition_fields(config))
    try:
        scene = parse_scene(prompt.text, prompt.fields)
    except (SceneError, KeyError, TypeError):
        return ids

    def index(vocab: str, word: str) -> int:
        words = config.vocab[vocab]
        return words.index(word) + 1 if word in words else 0

    ids[0] = index("background", scene.background)
    for k, obj in enumerate(scene.objects[: config.max_objects]):
        ids[1 + 3 * k: 4 + 3 * k] = [index("color", obj.color), index("shape", obj.shape),
                                     index("motion", obj.motion)]
    return ids


class SceneEmbedder(nn.Module):
    """Sum of one learned embedding per structured field (index 0 of each table is the null token)."""

    def __init__(self, config: VideoDiTConfig) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(len(config.vocab[vocab]) + 1, config.dim)
                                    for _, vocab in condition_fields(config))
        for table in self.tables:
            nn.init.normal_(table.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids: (B, fields)`` long -> ``(B, C)``."""
        return sum(table(ids[:, i]) for i, table in enumerate(self.tables))


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of ``t`` in [0, 1] (scaled by 1000 as DiT's integer steps): ``(B,)`` -> ``(B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimestepEmbedder(nn.Module):
    def __init__(self, dim: int, frequency_dim: int = 256) -> None:
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        for layer in (self.mlp[0], self.mlp[2]):
            nn.init.normal_(layer.weight, std=0.02)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        emb = timestep_embedding(t, self.frequency_dim).to(self.mlp[0].weight.dtype)
        return self.mlp(emb)  # (B, C)


# -- position embedding ---------------------------------------------------------------------------------------
def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """``(L,)`` positions -> ``(L, dim)`` sin-cos features (``dim`` even)."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.double()[:, None] * omega[None]  # (L, dim/2)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


def sincos_3d(dim: int, grid: tuple[int, int, int]) -> torch.Tensor:
    """Fixed position embedding ``(1, T', H'*W', dim)``: a quarter of the channels for time, 3/8 each for rows/cols."""
    t, h, w = grid
    dim_t = dim // 4
    dim_h = (dim - dim_t) // 2
    dim_w = dim - dim_t - dim_h
    emb_t = sincos_1d(dim_t, torch.arange(t))  # (T', dim_t)
    emb_h = sincos_1d(dim_h, torch.arange(h))  # (H', dim_h)
    emb_w = sincos_1d(dim_w, torch.arange(w))  # (W', dim_w)
    emb = torch.cat([
        emb_t[:, None, None].expand(t, h, w, dim_t),
        emb_h[None, :, None].expand(t, h, w, dim_h),
        emb_w[None, None, :].expand(t, h, w, dim_w),
    ], dim=-1)  # (T', H', W', dim)
    return emb.reshape(1, t, h * w, dim)  # (1, T', S, C)


# -- blocks ---------------------------------------------------------------------------------------------------
def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``x: (B, T', S, C)``, ``shift, scale: (B, C)`` -> ``x * (1 + scale) + shift``, broadcast over tokens."""
    return x * (1 + scale[:, None, None]) + shift[:, None, None]


class DiTBlock(nn.Module):
    """adaLN-Zero block: ``x + gate * attn(modulate(LN(x)))``, then the same around the MLP."""

    def __init__(self, config: VideoDiTConfig) -> None:
        super().__init__()
        dim = config.dim
        kwargs = {"window": config.window} if config.strategy == "window" else {}
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = build_attention(config.strategy, dim, config.heads, **kwargs)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * config.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada_ln = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.ada_ln[1].weight)  # adaLN-Zero: gates start at 0, the block starts as the identity
        nn.init.zeros_(self.ada_ln[1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """``x: (B, T', S, C)``, ``c: (B, C)`` -> ``(B, T', S, C)``."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada_ln(c).chunk(6, dim=-1)  # 6 x (B, C)
        x = x + gate1[:, None, None] * self.attn(modulate(self.norm1(x), shift1, scale1), grid)
        return x + gate2[:, None, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class FinalLayer(nn.Module):
    def __init__(self, dim: int, out_per_token: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ada_ln = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.linear = nn.Linear(dim, out_per_token)
        for layer in (self.ada_ln[1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.ada_ln(c).chunk(2, dim=-1)  # 2 x (B, C)
        return self.linear(modulate(self.norm(x), shift, scale))  # (B, T', S, pt*ph*pw*3)


# -- the model ------------------------------------------------------------------------------------------------
class VideoDiT(nn.Module):
    """``forward(x: (B, 3, T, H, W), t: (B,), cond: (B, fields) long) -> velocity (B, 3, T, H, W)``."""

    def __init__(self, config: VideoDiTConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embed = nn.Conv3d(config.channels, config.dim, kernel_size=config.tubelet, stride=config.tubelet)
        self.register_buffer("pos_embed", sincos_3d(config.dim, config.token_grid), persistent=False)
        self.time_embed = TimestepEmbedder(config.dim)
        self.scene_embed = SceneEmbedder(config)
        self.blocks = nn.ModuleList(DiTBlock(config) for _ in range(config.depth))
        pt, ph, pw = config.tubelet
        self.final = FinalLayer(config.dim, pt * ph * pw * config.channels)
        self._init_weights()

    def _init_weights(self) -> None:
        for block in self.blocks:
            for module in [*block.attn.modules(), *block.mlp.modules()]:
                if isinstance(module, nn.Linear):
                    nn.init.xavier_uniform_(module.weight)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
        w = self.patch_embed.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))  # as a linear layer over the flattened tubelet
        nn.init.zeros_(self.patch_embed.bias)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, T, H, W)`` -> tokens ``(B, T', S, C)``."""
        tokens = self.patch_embed(x)  # (B, C, T', H', W')
        B, C, Tt, Ht, Wt = tokens.shape
        return tokens.reshape(B, C, Tt, Ht * Wt).permute(0, 2, 3, 1)  # (B, C, T', S) -> (B, T', S, C)

    def unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, T', S, pt*ph*pw*3)`` -> ``(B, 3, T, H, W)``."""
        cfg = self.config
        B = tokens.shape[0]
        Tt, Ht, Wt = cfg.token_grid
        pt, ph, pw = cfg.tubelet
        x = tokens.reshape(B, Tt, Ht, Wt, pt, ph, pw, cfg.channels)  # split tokens and the values of each tubelet
        x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)  # (B, 3, T', pt, H', ph, W', pw)
        return x.reshape(B, cfg.channels, Tt * pt, Ht * ph, Wt * pw)  # (B, 3, T, H, W)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        expected = (cfg.channels, cfg.frames, *cfg.size)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"{cfg.name}: expected clips (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        grid = cfg.token_grid[1:]
        tokens = self.patchify(x) + self.pos_embed.to(x.dtype)  # (B, T', S, C)
        c = self.time_embed(t) + self.scene_embed(cond)  # (B, C)
        for block in self.blocks:
            tokens = block(tokens, c, grid)
        return self.unpatchify(self.final(tokens, c))  # (B, 3, T, H, W)

    def velocity(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, *, t_floor: float = 0.0
                 ) -> torch.Tensor:
        """The flow velocity ``dx/dt`` at ``(x, t)``: the output itself, or ``(x - x0_hat) / t`` for x0-prediction."""
        out = self(x, t, cond)
        if self.config.prediction == "velocity":
            return out
        tb = t.to(x.dtype).clamp_min(max(t_floor, 1e-4))[:, None, None, None, None]  # (B, 1, 1, 1, 1)
        return (x - out) / tb

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @classmethod
    def from_pretrained(cls, path: str | Path) -> tuple[VideoDiT, dict[str, str]]:
        """The model of a checkpoint file in eval mode, and the file's metadata dict (``config``, ``training``...).

        Nothing in the file is trusted: the config is bounded and checked (:func:`validate_config_dict`) and the
        weights are checked against the shapes of the config's model (built on the meta device, so no memory is
        allocated), for a floating dtype and for finite values, all before the model is built. Every refusal is a
        one-line :class:`~reference_models.video_dit_checkpoint.CheckpointError` naming the file.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint not found")
        config_dict, state, metadata = read_checkpoint(path)
        try:
            config = VideoDiTConfig.from_dict(validate_config_dict(config_dict))
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{path}: bad model config in the checkpoint ({first_line(exc)})") from exc
        with torch.device("meta"):  # shapes only: no memory, whatever the config asks for
            expected = {k: tuple(v.shape) for k, v in cls(config).state_dict().items()}
        check_weights(path, state, expected)
        model = cls(config)
        try:
            model.load_state_dict(state)
        except (ValueError, TypeError, RuntimeError) as exc:  # checked above; kept so a surprise stays one line
            raise CheckpointError(f"{path}: the weights do not fit the model config ({first_line(exc)})") from exc
        return model.eval(), metadata


def build_model(config: VideoDiTConfig | str, **overrides: Any) -> VideoDiT:
    """A model from a config or a name of the table (``build_model("VDiT-T", strategy="divided")``)."""
    if isinstance(config, str):
        config = config_by_name(config, **overrides)
    elif overrides:
        config = replace(config, **overrides)
    return VideoDiT(config)
