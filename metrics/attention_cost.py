"""Analytic cost of video attention: tokens and query-key pairs, matmul FLOPs and MACs, score-matrix bytes.

Notation: ``B`` clips, ``T`` frames, ``H x W`` tokens per frame, ``S = H*W``, ``N = T*S``, width ``C``, ``h`` heads of
``d = C/h`` channels, MLP hidden ``r*C``.

Conventions
- **FLOPs are matmul FLOPs at 2 per multiply-add; MACs = FLOPs / 2.** That is what
  ``torch.utils.flop_counter.FlopCounterMode`` counts, and the tests check that these formulas equal its count
  exactly for every strategy (plain and fused attention paths). Bias adds are not counted (nor by the counter).
- **Pairs** are query-key pairs per head, per clip: the number of entries of all score matrices of one head.
  ``full = N^2``, ``spatial = T*S^2``, ``temporal = S*T^2``, ``window = N*(wt*wh*ww)``; composite strategies add
  their parts (``factorised_dot_product`` averages its spatial and temporal halves over the heads).
- **Attention core** (``QK^T`` and ``softmax(.) V``): ``2*d`` FLOPs per pair each, so ``4*C*pairs`` per clip.
- **Projections**: qkv ``2*N*C*3C`` and output ``2*N*C*C``, i.e. ``8*N*C^2`` per attention sublayer (TimeSformer's
  ``temporal_fc`` adds ``2*N*C^2``); **MLP** ``4*r*N*C^2``.
- **Not in matmul FLOPs**: scaling and softmax. ``softmax_flops`` is an estimate under a stated convention, not a
  count: 5 FLOPs per score (max, subtract, exp, sum, divide) plus 1 per query element for the ``1/sqrt(d)`` scale.
- **Bytes**: a materialised score matrix holds ``B*h*Lq*Lk`` elements per attention call; the calls of a module
  run one after another, so its peak is the largest call. The plain path keeps the scores and the fp32 softmax
  (plus its cast back for half types) alive together: ``PLAIN_BYTES_PER_SCORE`` = 8 bytes per score for
  float32 and bfloat16 alike. A flash-style kernel streams key/value tiles and keeps only a running max and sum per
  query row (``4*B*h*Lq`` bytes of fp32 statistics) besides fixed-size tiles.

Whole models are data (``metrics/attention_models.json``, with sources and assumptions); :func:`model_cost` turns a
configuration into a per-part FLOP breakdown.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference_models.attention import ATTENTION_STRATEGIES, DEFAULT_WINDOW, resolve_strategy, window_size
from vbench_lite.types import VbenchError

MODELS_FILE = Path(__file__).with_name("attention_models.json")
MODELS_SCHEMA = "vbench-lite/attention-models@1"
#: Bytes of live attention matrices per score on the plain path: scores + fp32 softmax (+ cast back for bf16).
PLAIN_BYTES_PER_SCORE = 8
#: Bytes per query row a flash-style kernel keeps (running max and sum, or the logsumexp, in fp32).
FLASH_BYTES_PER_ROW = 4
SOFTMAX_FLOPS_PER_SCORE = 5
DTYPE_BYTES = {"float32": 4, "float": 4, "bfloat16": 2, "float16": 2, "half": 2, "float64": 8}
STRATEGIES = tuple(ATTENTION_STRATEGIES)


# -- plans: the matmuls a module runs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LinearCost:
    """A linear layer applied to ``rows`` rows: ``2*rows*in*out`` FLOPs."""

    name: str
    rows: int
    in_features: int
    out_features: int

    @property
    def flops(self) -> int:
        return 2 * self.rows * self.in_features * self.out_features


@dataclass(frozen=True)
class AttentionCall:
    """One attention call as the kernel sees it: ``batch`` sequences, ``heads`` heads, ``q_len x k_len`` scores."""

    name: str
    batch: int
    heads: int
    q_len: int
    k_len: int
    head_dim: int

    @property
    def scores(self) -> int:
        """Score-matrix entries of the call, all heads."""
        return self.batch * self.heads * self.q_len * self.k_len

    @property
    def flops(self) -> int:
        return 2 * self.scores * self.head_dim + 2 * self.scores * self.head_dim  # q k^T, then softmax(.) v

    @property
    def query_rows(self) -> int:
        return self.batch * self.heads * self.q_len


@dataclass(frozen=True)
class CostPlan:
    """The linear layers and attention calls of one forward pass, and the costs that follow from them."""

    heads: int
    linears: tuple[LinearCost, ...] = ()
    attentions: tuple[AttentionCall, ...] = ()

    def __add__(self, other: CostPlan) -> CostPlan:
        return CostPlan(self.heads, self.linears + other.linears, self.attentions + other.attentions)

    @property
    def core_flops(self) -> int:
        return sum(a.flops for a in self.attentions)

    @property
    def linear_flops(self) -> int:
        return sum(lin.flops for lin in self.linears)

    @property
    def matmul_flops(self) -> int:
        return self.core_flops + self.linear_flops

    @property
    def macs(self) -> int:
        return self.matmul_flops // 2

    @property
    def problems(self) -> int:
        """Independent (sequence, head) attention problems: the units a kernel works through one by one."""
        return sum(a.batch * a.heads for a in self.attentions)

    @property
    def scores(self) -> int:
        """All score-matrix entries, summed over calls and heads."""
        return sum(a.scores for a in self.attentions)

    @property
    def pairs(self) -> int:
        """Query-key pairs per head (``scores / heads``)."""
        total = self.scores
        if total % self.heads:
            raise ValueError(f"{total} scores do not split evenly over {self.heads} heads")
        return total // self.heads

    @property
    def softmax_flops(self) -> int:
        """Estimate (not a count): 5 per score plus 1 per query element for the scale."""
        return sum(SOFTMAX_FLOPS_PER_SCORE * a.scores + a.query_rows * a.head_dim for a in self.attentions)

    def score_matrix_bytes(self, dtype: str = "float32") -> int:
        """Bytes of the largest single materialised score matrix (one attention call, all heads)."""
        return max((a.scores for a in self.attentions), default=0) * dtype_bytes(dtype)

    def plain_attention_bytes(self) -> int:
        """Peak bytes of live score/probability matrices on the plain path (largest call)."""
        return max((a.scores for a in self.attentions), default=0) * PLAIN_BYTES_PER_SCORE

    def flash_state_bytes(self) -> int:
        """Per-row softmax statistics a flash-style kernel keeps (largest call), tiles aside."""
        return max((a.query_rows for a in self.attentions), default=0) * FLASH_BYTES_PER_ROW

    def attention_bytes(self, impl: str) -> int:
        """Peak bytes the attention itself needs beyond q, k, v and the output, for ``impl``."""
        return self.plain_attention_bytes() if impl == "plain" else self.flash_state_bytes()


def dtype_bytes(dtype: str) -> int:
    name = str(dtype).replace("torch.", "")
    if name not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r} (known: {', '.join(DTYPE_BYTES)})")
    return DTYPE_BYTES[name]


def _head_dim(dim: int, heads: int) -> int:
    if dim < 1 or heads < 1 or dim % heads:
        raise ValueError(f"dim {dim} must be a positive multiple of heads {heads}")
    return dim // heads


def _sublayer(name: str, rows: int, dim: int, heads: int, calls: Iterable[AttentionCall]) -> CostPlan:
    """qkv projection, the attention calls, output projection."""
    return CostPlan(heads, (LinearCost(f"{name}.qkv", rows, dim, 3 * dim), LinearCost(f"{name}.proj", rows, dim, dim)),
                    tuple(calls))


def attention_plan(strategy: str, frames: int, height: int, width: int, dim: int, heads: int, *, batch: int = 1,
                   window: Sequence[int] = DEFAULT_WINDOW) -> CostPlan:
    """The matmuls of ``reference_models.attention.build_attention(strategy, dim, heads)`` on a ``(B, T, H*W, C)``
    input, written out from the formulas (not by running the module)."""
    name = resolve_strategy(strategy)
    B, T, S = batch, frames, height * width
    N, h, d = T * S, heads, _head_dim(dim, heads)
    if min(B, T, height, width) < 1:
        raise ValueError(f"batch, frames and grid must be positive, got B={B}, T={T}, grid={height}x{width}")

    def full(rows_batch: int, length: int, n_heads: int = h) -> AttentionCall:
        return AttentionCall("full", rows_batch, n_heads, length, length, d)

    spatial = AttentionCall("spatial", B * T, h, S, S, d)  # one sequence per frame
    temporal = AttentionCall("temporal", B * S, h, T, T, d)  # one sequence per location
    if name == "full":
        return _sublayer("full", B * N, dim, h, [full(B, N)])
    if name == "spatial":
        return _sublayer("spatial", B * N, dim, h, [spatial])
    if name == "temporal":
        return _sublayer("temporal", B * N, dim, h, [temporal])
    if name == "window":
        wt, wh, ww = window_size(T, (height, width), tuple(window))
        volume = wt * wh * ww
        return _sublayer("window", B * N, dim, h, [AttentionCall("window", B * N // volume, h, volume, volume, d)])
    if name == "factorised_dot_product":
        if h % 2:
            raise ValueError(f"factorised_dot_product needs an even number of heads, got {h}")
        half = h // 2
        return _sublayer("fdp", B * N, dim, h, [AttentionCall("spatial", B * T, half, S, S, d),
                                                 AttentionCall("temporal", B * S, half, T, T, d)])
    if name == "divided":
        temporal_fc = CostPlan(h, (LinearCost("temporal_fc", B * N, dim, dim),))
        return (_sublayer("temporal", B * N, dim, h, [temporal]) + temporal_fc
                + _sublayer("spatial", B * N, dim, h, [spatial]))
    if name == "factorised_self_attention":
        return _sublayer("spatial", B * N, dim, h, [spatial]) + _sublayer("temporal", B * N, dim, h, [temporal])
    if name == "factorised_encoder":
        return (_sublayer("spatial", B * N, dim, h, [spatial])
                + _sublayer("frames", B * T, dim, h, [AttentionCall("frames", B, h, T, T, d)]))
    raise AssertionError(f"no cost formula for strategy {name!r}")  # every registered strategy has one above


def core_plan(strategy: str, frames: int, height: int, width: int, dim: int, heads: int, **kwargs: Any) -> CostPlan:
    """Only the attention calls (what ``VideoAttention.core`` runs)."""
    plan = attention_plan(strategy, frames, height, width, dim, heads, **kwargs)
    return CostPlan(plan.heads, (), plan.attentions)


def mlp_plan(rows: int, dim: int, mlp_ratio: float, heads: int = 1) -> CostPlan:
    hidden = int(dim * mlp_ratio)
    return CostPlan(heads, (LinearCost("mlp.fc1", rows, dim, hidden), LinearCost("mlp.fc2", rows, hidden, dim)))


def block_plan(strategy: str, frames: int, height: int, width: int, dim: int, heads: int, *, mlp_ratio: float = 4.0,
               batch: int = 1, **kwargs: Any) -> CostPlan:
    """``reference_models.attention.AttentionBlock``: the attention strategy plus the MLP."""
    rows = batch * frames * height * width
    return (attention_plan(strategy, frames, height, width, dim, heads, batch=batch, **kwargs)
            + mlp_plan(rows, dim, mlp_ratio, heads))


def cross_attention_plan(tokens: int, context_tokens: int, dim: int, heads: int, *, batch: int = 1) -> CostPlan:
    """Video tokens attend over ``context_tokens`` caption tokens (PixArt / Open-Sora ``MultiHeadCrossAttention``)."""
    d = _head_dim(dim, heads)
    return CostPlan(heads, (LinearCost("cross.q", batch * tokens, dim, dim),
                            LinearCost("cross.kv", batch * context_tokens, dim, 2 * dim),
                            LinearCost("cross.proj", batch * tokens, dim, dim)),
                    (AttentionCall("cross", batch, heads, tokens, context_tokens, d),))


# -- token and pair arithmetic ----------------------------------------------------------------------------------
def token_count(frames: int, height: int, width: int) -> int:
    return frames * height * width


def pair_count(strategy: str, frames: int, height: int, width: int, *,
               window: Sequence[int] = DEFAULT_WINDOW) -> int:
    """Query-key pairs per head for one clip (independent of width and head count)."""
    return attention_plan(strategy, frames, height, width, dim=2, heads=2, window=window).pairs


def sig3(value: float) -> str:
    """``34789235097600`` -> ``"3.48e13"``; small numbers stay plain."""
    if value == 0:
        return "0"
    if abs(value) < 1e4:
        return f"{value:.4g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def human_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def tokens_table(frames: int, height: int, width: int, strategies: Sequence[str] = STRATEGIES, *,
                 window: Sequence[int] = DEFAULT_WINDOW, dtype: str = "bfloat16") -> list[dict[str, Any]]:
    """Per strategy: pairs per head, share of full attention, bytes of its scores per head if materialised."""
    full = pair_count("full", frames, height, width)
    rows = []
    for strategy in strategies:
        try:
            pairs = pair_count(strategy, frames, height, width, window=window)
        except ValueError as exc:  # e.g. a window that does not tile this grid
            rows.append({"strategy": resolve_strategy(strategy), "pairs": None, "note": str(exc)})
            continue
        rows.append({"strategy": resolve_strategy(strategy), "pairs": pairs, "fraction_of_full": pairs / full,
                     "score_bytes_per_head": pairs * dtype_bytes(dtype), "dtype": dtype})
    return rows


# -- whole models -------------------------------------------------------------------------------------------------
_MODEL_KEYS = {"extends", "title", "family", "sources", "assumptions", "input", "latent", "patch", "token_grid",
               "dim", "heads", "mlp_ratio", "context_tokens", "window", "stages", "extra_linears"}
_STAGE_KEYS = {"layers", "tokens", "block", "modulation"}


@dataclass(frozen=True)
class Stage:
    layers: int
    block: tuple[str, ...]
    tokens: str = "video"  # or "frames": one token per frame
    modulation: tuple[str, int] | None = None  # (rows keyword, outputs multiple of dim)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    title: str
    family: str
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    input: dict[str, int]
    latent_stride: tuple[int, int, int]
    in_channels: int
    patch: tuple[int, int, int]
    token_grid: tuple[int, int, int]
    dim: int
    heads: int
    mlp_ratio: float
    stages: tuple[Stage, ...]
    extra_linears: tuple[dict[str, Any], ...] = ()
    context_tokens: int = 0
    window: tuple[int, int, int] = DEFAULT_WINDOW


@dataclass
class ModelCost:
    """Whole-model matmul FLOPs of one forward pass at batch 1, by part."""

    config: ModelConfig
    parts: dict[str, int] = field(default_factory=dict)
    pairs_per_head: int = 0  # summed over all attention layers

    @property
    def total_flops(self) -> int:
        return sum(self.parts.values())

    @property
    def macs(self) -> int:
        return self.total_flops // 2

    @property
    def tokens(self) -> int:
        return math.prod(self.config.token_grid)

    @property
    def attention_share(self) -> float:
        """Fraction of all FLOPs spent in the attention cores (self- and cross-attention)."""
        core = self.parts.get("attention_core", 0) + self.parts.get("cross_attention_core", 0)
        return core / self.total_flops if self.total_flops else 0.0

    def row(self) -> dict[str, Any]:
        grid = "x".join(str(n) for n in self.config.token_grid)
        return {"model": self.config.name, "title": self.config.title, "token_grid": grid, "tokens": self.tokens,
                "layers": sum(s.layers for s in self.config.stages), "dim": self.config.dim,
                "heads": self.config.heads, **{f"{k}_flops": v for k, v in self.parts.items()},
                "total_flops": self.total_flops, "total_macs": self.macs, "gflops": self.total_flops / 1e9,
                "gmacs": self.macs / 1e9, "attention_core_share": round(self.attention_share, 4),
                "pairs_per_head": self.pairs_per_head}


def _err(path: Path | str, message: str) -> VbenchError:
    return VbenchError(f"{path}: {message}")


def load_model_configs(path: str | Path | None = None) -> dict[str, ModelConfig]:
    """Read, resolve ``extends`` and validate the model table (default: the one shipped with vbench-lite)."""
    path = Path(path) if path is not None else MODELS_FILE
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise _err(path, f"cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise _err(path, f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != MODELS_SCHEMA or not isinstance(data.get("models"), dict):
        raise _err(path, f"expected an object with schema {MODELS_SCHEMA!r} and a 'models' object")
    raw: dict[str, dict[str, Any]] = data["models"]

    def resolved(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if name in seen:
            raise _err(path, f"model {name!r}: 'extends' loops through {' -> '.join((*seen, name))}")
        entry = raw.get(name)
        if not isinstance(entry, dict):
            raise _err(path, f"model {name!r} is not defined (or not an object)")
        unknown = set(entry) - _MODEL_KEYS
        if unknown:
            raise _err(path, f"model {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
        if "extends" not in entry:
            return dict(entry)
        merged = resolved(entry["extends"], (*seen, name))
        merged.update({k: v for k, v in entry.items() if k != "extends"})
        return merged

    return {name: _model_config(path, name, resolved(name)) for name in raw}


def _model_config(path: Path, name: str, entry: dict[str, Any]) -> ModelConfig:
    def need(key: str) -> Any:
        if key not in entry:
            raise _err(path, f"model {name!r}: missing {key!r}")
        return entry[key]

    try:
        inp = {k: int(need("input")[k]) for k in ("frames", "height", "width", "channels")}
        latent = entry.get("latent") or {}
        stride = tuple(int(s) for s in latent.get("stride", (1, 1, 1)))
        in_channels = int(latent.get("channels", inp["channels"]))
        patch = tuple(int(p) for p in need("patch"))
        sizes = (inp["frames"], inp["height"], inp["width"])
        if len(stride) != 3 or len(patch) != 3:
            raise _err(path, f"model {name!r}: latent stride and patch must have 3 entries (t, h, w)")
        grid = []
        for size, s, p in zip(sizes, stride, patch):
            if size % (s * p):
                raise _err(path, f"model {name!r}: input size {size} is not divisible by stride {s} x patch {p}")
            grid.append(size // (s * p))
        declared = tuple(int(g) for g in entry.get("token_grid", grid))
        if declared != tuple(grid):
            raise _err(path, f"model {name!r}: token_grid {list(declared)} does not match the derived {grid}")
        stages = []
        for i, st in enumerate(need("stages")):
            unknown = set(st) - _STAGE_KEYS
            if unknown:
                raise _err(path, f"model {name!r} stage {i}: unknown key(s) {', '.join(sorted(unknown))}")
            if st.get("tokens", "video") not in ("video", "frames"):
                raise _err(path, f"model {name!r} stage {i}: tokens must be 'video' or 'frames'")
            mod = st.get("modulation")
            for item in st["block"]:
                kind, _, arg = item.partition(":")
                if kind == "attention":
                    try:
                        resolve_strategy(arg)
                    except ValueError as exc:
                        raise _err(path, f"model {name!r} stage {i}: {exc}") from exc
                elif kind not in ("mlp", "cross_attention"):
                    raise _err(path, f"model {name!r} stage {i}: unknown block entry {item!r} "
                               "(use attention:<strategy>, mlp or cross_attention)")
            stages.append(Stage(layers=int(st["layers"]), block=tuple(st["block"]), tokens=st.get("tokens", "video"),
                                modulation=(mod["rows"], int(mod["outputs"])) if mod else None))
        config = ModelConfig(
            name=name, title=str(entry.get("title", name)), family=str(entry.get("family", "")),
            sources=tuple(entry.get("sources", ())), assumptions=tuple(entry.get("assumptions", ())), input=inp,
            latent_stride=stride, in_channels=in_channels, patch=patch, token_grid=tuple(grid),
            dim=int(need("dim")), heads=int(need("heads")), mlp_ratio=float(entry.get("mlp_ratio", 4)),
            stages=tuple(stages), extra_linears=tuple(entry.get("extra_linears", ())),
            context_tokens=int(entry.get("context_tokens", 0)), window=tuple(entry.get("window", DEFAULT_WINDOW)))
    except (KeyError, TypeError, ValueError) as exc:
        raise _err(path, f"model {name!r}: malformed entry ({type(exc).__name__}: {exc})") from exc
    if not config.sources or not config.assumptions:
        raise _err(path, f"model {name!r}: every configuration must list its sources and assumptions")
    try:
        model_cost(config)  # surfaces bad head counts, windows, rows keywords while loading
    except ValueError as exc:
        raise _err(path, f"model {name!r}: {exc}") from exc
    return config


_MULTIPLE_OF_DIM = re.compile(r"^(\d+)\*dim$")


def _features(value: Any, config: ModelConfig) -> int:
    if isinstance(value, int):
        return value
    if value == "dim":
        return config.dim
    if value == "patch":
        return math.prod(config.patch) * config.in_channels
    match = _MULTIPLE_OF_DIM.match(str(value))
    if match:
        return int(match.group(1)) * config.dim
    raise ValueError(f"features must be an integer, 'dim', 'k*dim' or 'patch', got {value!r}")


def _rows(value: Any, grid: tuple[int, int, int]) -> int:
    T, H, W = grid
    table = {"tokens": T * H * W, "frames": T, "locations": H * W, "one": 1}
    if isinstance(value, int):
        return value
    if value not in table:
        raise ValueError(f"rows must be an integer or one of {', '.join(table)}, got {value!r}")
    return table[value]


def model_cost(config: ModelConfig) -> ModelCost:
    """Matmul FLOPs of one forward pass, by part: embed, attention_core, attention_projections, mlp,
    cross_attention_core, cross_attention_projections, modulation, other (the configuration's extra linears)."""
    T, H, W = config.token_grid
    parts = dict.fromkeys(["embed", "attention_core", "attention_projections", "mlp", "cross_attention_core",
                           "cross_attention_projections", "modulation", "other"], 0)
    parts["embed"] = LinearCost("embed", T * H * W, _features("patch", config), config.dim).flops
    pairs = 0
    for stage in config.stages:
        grid = (T, 1, 1) if stage.tokens == "frames" else (T, H, W)
        tokens = math.prod(grid)
        layer = dict.fromkeys(parts, 0)
        for item in stage.block:
            kind, _, strategy = item.partition(":")
            if kind == "attention":
                plan = attention_plan(strategy, *grid, config.dim, config.heads, window=config.window)
                layer["attention_core"] += plan.core_flops
                layer["attention_projections"] += plan.linear_flops
                pairs += stage.layers * plan.pairs
            elif kind == "mlp":
                layer["mlp"] += mlp_plan(tokens, config.dim, config.mlp_ratio).linear_flops
            else:
                plan = cross_attention_plan(tokens, config.context_tokens, config.dim, config.heads)
                layer["cross_attention_core"] += plan.core_flops
                layer["cross_attention_projections"] += plan.linear_flops
        if stage.modulation:
            rows, outputs = stage.modulation
            layer["modulation"] += LinearCost("adaLN", _rows(rows, grid), config.dim, outputs * config.dim).flops
        for key, value in layer.items():
            parts[key] += stage.layers * value
    for extra in config.extra_linears:
        parts["other"] += LinearCost(extra.get("name", "linear"), _rows(extra["rows"], (T, H, W)),
                                     _features(extra["in"], config), _features(extra["out"], config)).flops
    return ModelCost(config, parts, pairs)


def model_table(names: Iterable[str] | None = None, path: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per named configuration (all of them by default), in file order."""
    configs = load_model_configs(path)
    chosen = list(names) if names else list(configs)
    unknown = [n for n in chosen if n not in configs]
    if unknown:
        raise VbenchError(f"{path or MODELS_FILE}: unknown model(s) {', '.join(unknown)} "
                          f"(known: {', '.join(configs)})")
    return [model_cost(configs[n]).row() for n in chosen]
