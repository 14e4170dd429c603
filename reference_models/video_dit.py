"""A small, readable video diffusion transformer (DiT / Latte / VDT style) trained on the synthetic world.

The model denoises along a rectified-flow path (it predicts the clean clip ``x_0``; see :func:`flow_loss`):

    x_t = (1 - t) * x_0 + t * eps,    v = dx_t/dt = eps - x_0,    t in [0, 1]

with ``x_0`` a clip scaled to [-1, 1] and ``eps ~ N(0, I)``. Sampling integrates ``dx/dt = v(x, t)`` from pure
noise at ``t = 1`` down to ``t = 0`` with a few Euler steps (:func:`sample`).

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
suite are structured: :func:`vbench_lite.generators.synthetic.scene_from_prompt` gives a background and one or two
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

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reference_models.attention import build_attention, resolve_strategy

CONFIG_TABLE = Path(__file__).with_name("dit_configs") / "vdit.json"
PREDICTIONS = ("x0", "velocity")


def default_vocab() -> dict[str, list[str]]:
    """The synthetic world's vocabulary, in a fixed order (new words must be appended, never inserted)."""
    from vbench_lite.generators.synthetic import BACKGROUNDS, COLORS, MOTIONS, SHAPES

    return {"background": list(BACKGROUNDS), "color": list(COLORS), "shape": list(SHAPES), "motion": list(MOTIONS)}


# -- configuration --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoDiTConfig:
    """Everything that defines a model's shape; the name table ``dit_configs/vdit.json`` holds the named sizes."""

    name: str = "VDiT-T"
    frames: int = 16
    size: tuple[int, int] = (32, 32)  # (H, W)
    channels: int = 3
    tubelet: tuple[int, int, int] = (4, 4, 4)  # (pt, ph, pw)
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    strategy: str = "full"
    window: tuple[int, int, int] = (2, 4, 4)  # in tokens (wt, wh, ww); only the window strategy uses it
    max_objects: int = 2
    prediction: str = "x0"  # what the network outputs: "x0" (the clean clip) or "velocity" (eps - x0)
    time_shift: float = 3.0  # noise levels t = shift_time(u), u uniform, in training and in the sampler
    vocab: dict[str, list[str]] = field(default_factory=default_vocab)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", resolve_strategy(self.strategy))
        for name in ("size", "tubelet", "window"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if len(self.size) != 2 or len(self.tubelet) != 3 or len(self.window) != 3:
            raise ValueError(f"{self.name}: size must be (H, W), tubelet and window (t, h, w)")
        pt, ph, pw = self.tubelet
        if self.frames % pt or self.size[0] % ph or self.size[1] % pw:
            raise ValueError(f"{self.name}: tubelet {self.tubelet} does not tile clips of {self.frames} frames of "
                             f"{self.size[0]}x{self.size[1]}")
        if self.dim % self.heads:
            raise ValueError(f"{self.name}: dim {self.dim} is not divisible by heads {self.heads}")
        if self.dim % 16:
            raise ValueError(f"{self.name}: dim {self.dim} must be a multiple of 16 (3D sin-cos position embedding)")
        if self.time_shift <= 0:
            raise ValueError(f"{self.name}: time_shift must be > 0, got {self.time_shift}")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"{self.name}: prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        missing = {"background", "color", "shape", "motion"} - set(self.vocab)
        if missing:
            raise ValueError(f"{self.name}: vocab lacks {sorted(missing)}")

    @property
    def token_grid(self) -> tuple[int, int, int]:
        """``(T', H', W')``: tokens along time, rows and columns."""
        pt, ph, pw = self.tubelet
        return self.frames // pt, self.size[0] // ph, self.size[1] // pw

    @property
    def num_tokens(self) -> int:
        t, h, w = self.token_grid
        return t * h * w

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("size", "tubelet", "window"):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoDiTConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)} (known: {sorted(known)})")
        return cls(**data)


#: Bounds of every config field read from a file (a checkpoint's metadata), checked by
#: :func:`validate_config_dict` before anything is built. Generous next to the table's sizes (VDiT-B: 2048 tokens,
#: dim 384, depth 12) yet small enough that no file can ask for hours of sampling or for gigabytes at build time.
CONFIG_INT_BOUNDS = {"frames": (1, 256), "channels": (3, 3), "dim": (16, 4096), "depth": (1, 64), "heads": (1, 64),
                     "max_objects": (0, 8)}
CONFIG_TUPLE_BOUNDS = {"size": (2, 1, 1024), "tubelet": (3, 1, 64), "window": (3, 1, 1024)}  # (length, low, high)
CONFIG_FLOAT_BOUNDS = {"mlp_ratio": (0.25, 16.0), "time_shift": (1e-3, 1e3)}
MAX_TOKENS = 4096  # tokens per clip: 2x VDiT-B; attention grows with their square (16384 tokens of a VDiT-T
#                    width take ~10 s per sampling step on one CPU thread, 4096 under 1 s)
MAX_CLIP_VALUES = 1 << 24  # frames * height * width of one clip (64 frames of 512x512)
MAX_VOCAB_WORDS = 4096  # words per vocabulary table (each is an embedding row of dim values per object slot)


def validate_config_dict(data: Any) -> dict[str, Any]:
    """Check a config read from a file: known fields, types, bounds and consistency; raise a one-line ValueError.

    Returns the dict unchanged, ready for :meth:`VideoDiTConfig.from_dict`. Booleans are not numbers here (JSON
    ``true`` is not a frame count) and floats must be finite.
    """
    if not isinstance(data, dict):
        raise ValueError(f"config must be a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(VideoDiTConfig)}
    unknown = sorted(map(str, set(data) - known))
    if unknown:
        raise ValueError(f"unknown config fields {unknown}")
    for name, (low, high) in CONFIG_INT_BOUNDS.items():
        if name in data:
            _check_int(name, data[name], low, high)
    for name, (length, low, high) in CONFIG_TUPLE_BOUNDS.items():
        if name in data:
            value = data[name]
            if not isinstance(value, (list, tuple)) or len(value) != length:
                raise ValueError(f"config {name} must be a list of {length} integers, got {value!r:.80}")
            for v in value:
                _check_int(name, v, low, high)
    for name, (low, high) in CONFIG_FLOAT_BOUNDS.items():
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValueError(f"config {name} must be a number in [{low:g}, {high:g}], got {value!r:.80}")
    for name in ("name", "strategy", "prediction"):
        if name in data and (not isinstance(data[name], str) or len(data[name]) > 100):
            raise ValueError(f"config {name} must be a string of at most 100 characters, got {data[name]!r:.80}")
    if "vocab" in data:
        _check_vocab(data["vocab"])
    defaults = VideoDiTConfig.__dataclass_fields__

    def get(name: str) -> Any:  # a field's value or its default (only fields with plain defaults are asked)
        return data.get(name, defaults[name].default)

    frames, size, tubelet = get("frames"), get("size"), get("tubelet")
    if frames * size[0] * size[1] > MAX_CLIP_VALUES:
        raise ValueError(f"config clips of {frames} frames of {size[0]}x{size[1]} exceed {MAX_CLIP_VALUES} pixels")
    tokens = (frames // tubelet[0]) * (size[0] // tubelet[1]) * (size[1] // tubelet[2])
    if tokens > MAX_TOKENS:
        raise ValueError(f"config has {tokens} tokens per clip, more than {MAX_TOKENS}")
    if get("dim") % get("heads"):
        raise ValueError(f"config dim {get('dim')} is not divisible by heads {get('heads')}")
    return data


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"config {name} must be an integer in [{low}, {high}], got {value!r:.80}")


def _check_vocab(vocab: Any) -> None:
    if not isinstance(vocab, dict):
        raise ValueError(f"config vocab must be an object of word lists, got {type(vocab).__name__}")
    for key, words in vocab.items():
        if not isinstance(words, list) or len(words) > MAX_VOCAB_WORDS:
            raise ValueError(f"config vocab {key!r:.40} must be a list of at most {MAX_VOCAB_WORDS} words")
        if not all(isinstance(w, str) and len(w) <= 100 for w in words):
            raise ValueError(f"config vocab {key!r:.40} must hold strings of at most 100 characters")


def load_config_table(path: str | Path = CONFIG_TABLE) -> dict[str, dict[str, Any]]:
    """The name table: ``{"VDiT-T": {...}, ...}`` (JSON keys starting with ``_`` are comments)."""
    table = json.loads(Path(path).read_text())
    return {name: spec for name, spec in table.items() if not name.startswith("_")}


def config_by_name(name: str, **overrides: Any) -> VideoDiTConfig:
    """A named size (case-insensitive), e.g. ``config_by_name("VDiT-T", strategy="window")``."""
    table = load_config_table()
    by_key = {key.lower(): key for key in table}
    if name.lower() not in by_key:
        raise ValueError(f"unknown video DiT config {name!r} (known: {', '.join(table)})")
    key = by_key[name.lower()]
    return replace(VideoDiTConfig.from_dict({"name": key, **table[key]}), **overrides)


# -- conditioning ---------------------------------------------------------------------------------------------
def condition_fields(config: VideoDiTConfig) -> list[tuple[str, str]]:
    """The id columns, in order: ``(table name, vocabulary)`` -- background, then color/shape/motion per slot."""
    cols = [("background", "background")]
    for k in range(config.max_objects):
        cols += [(f"color{k}", "color"), (f"shape{k}", "shape"), (f"motion{k}", "motion")]
    return cols


def condition_ids(prompt, config: VideoDiTConfig) -> list[int]:
    """Ids of a prompt's structured fields (0 = null); all zeros for a prompt the synthetic world cannot parse.

    ``prompt`` is a :class:`vbench_lite.types.Prompt`. Objects beyond ``max_objects`` are dropped (the world has at
    most two). Words outside the checkpoint's vocabulary map to the null token too.
    """
    from vbench_lite.generators.synthetic import scene_from_prompt
    from vbench_lite.types import VbenchError

    ids = [0] * len(condition_fields(config))
    try:
        scene = scene_from_prompt(prompt)
    except (VbenchError, KeyError, TypeError):
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


def build_model(config: VideoDiTConfig | str, **overrides: Any) -> VideoDiT:
    """A model from a config or a name of the table (``build_model("VDiT-T", strategy="divided")``)."""
    if isinstance(config, str):
        config = config_by_name(config, **overrides)
    elif overrides:
        config = replace(config, **overrides)
    return VideoDiT(config)


# -- rectified flow -------------------------------------------------------------------------------------------
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
    then divided by the mean weight, so a weight of all ones is the plain loss. ``train_video_dit
    --foreground-weight`` can weight object pixels (:func:`foreground_mask`) more; it is off (1) by default: a
    weight ``w`` moves the optimum at high noise from the posterior mean towards ``w``-weighted object evidence,
    and with ``w = 3`` samples committed to objects in too many places (scattered tubelets, FVD twice as bad).
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
    Why offer it: re-noising washes out a small model's errors instead of compounding them. On the shipped VDiT-T
    full-attention checkpoint (26 clips, FVD against 52 renderer clips), 16 deterministic steps gave FVD 962 and
    scattered object-coloured tubelets; 32 steps at ``eta = 1`` gave 419 (the untrained model: 674).

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
