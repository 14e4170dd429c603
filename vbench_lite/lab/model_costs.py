"""Analytic cost of whole published video models (ViViT, TimeSformer, Latte, the reference DiT...), from a table.

Configurations are data (``attention_models.json`` next to this module, with sources and assumptions; schema
:data:`MODELS_SCHEMA`); :func:`model_cost` turns one into a per-part FLOP breakdown with the attention plans of
:mod:`metrics.attention_cost`. ``vbench-lite attention --models`` prints :func:`model_table`. A bad table file is a
one-line :class:`VbenchError` naming it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.attention_cost import LinearCost, attention_plan, cross_attention_plan, mlp_plan
from reference_models.attention import DEFAULT_WINDOW, resolve_strategy
from vbench_lite.types import VbenchError

MODELS_FILE = Path(__file__).with_name("attention_models.json")
MODELS_SCHEMA = "vbench-lite/attention-models@1"


_MODEL_KEYS = {"extends", "title", "family", "sources", "assumptions", "input", "latent", "patch", "token_grid",
               "dim", "heads", "mlp_ratio", "mlp_hidden", "context_tokens", "joint_tokens", "window", "stages",
               "extra_linears", "published"}
_PUBLISHED_QUANTITIES = {"macs", "flops", "tokens"}

#: The device of the "attention time" column: the issue-20 probe on an NVIDIA H200 (torch 2.11, bf16): dense
#: matmul 783 TFLOP/s, device-to-device copy 4.21 TB/s. Times are roofline lower bounds (kernels at the roof).
DEFAULT_DEVICE = {"name": "H200 (issue 20 probe, bf16)", "peak_flops_per_s": 783e12, "bandwidth_bytes_per_s": 4.21e12,
                  "dtype": "bfloat16"}
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
    mlp_hidden: int | None = None  # exact MLP width where dim * mlp_ratio is not an integer (Wan 2.1)
    joint_tokens: int = 0  # text tokens joined to the sequence of every full attention and MLP (MM-DiT)
    published: tuple[dict[str, Any], ...] = ()


@dataclass
class ModelCost:
    """Whole-model matmul FLOPs of one forward pass at batch 1, by part."""

    config: ModelConfig
    parts: dict[str, int] = field(default_factory=dict)
    pairs_per_head: int = 0  # summed over all attention layers
    attention_calls: list[tuple[int, int]] = field(default_factory=list)  # (core FLOPs, bf16 bytes) per layer

    def attention_seconds(self, device: dict[str, Any] | None = None) -> float:
        """Roofline lower bound of the attention cores on ``device``: each layer's attention takes
        ``max(FLOPs / peak, compulsory bytes / bandwidth)``."""
        dev = device or DEFAULT_DEVICE
        return sum(max(f / dev["peak_flops_per_s"], b / dev["bandwidth_bytes_per_s"]) for f, b in
                   self.attention_calls)

    def published_checks(self) -> list[dict[str, Any]]:
        """Each published figure beside ours (per view times ``views``) and the relative difference."""
        out = []
        for pub in self.config.published:
            ours = {"macs": self.macs, "flops": self.total_flops, "tokens": self.tokens}[pub["quantity"]]
            ours *= pub.get("views", 1)
            value = float(pub["value"]) * float(pub.get("scale", 1))
            out.append({"model": self.config.name, "quantity": pub["quantity"], "published": value, "ours": ours,
                        "relative_difference": ours / value - 1, "source": pub["source"]})
        return out

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
                "joint_tokens": self.config.joint_tokens,
                "attention_seconds": self.attention_seconds(), "attention_device": DEFAULT_DEVICE["name"],
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
        merged.pop("published", None)  # a published figure belongs to one configuration, never to its variants
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
        if latent.get("causal_time"):  # causal video VAEs keep the first frame: T -> 1 + (T - 1) / stride
            if (sizes[0] - 1) % stride[0]:
                raise _err(path, f"model {name!r}: causal VAE needs frames - 1 divisible by {stride[0]}")
            sizes = (1 + (sizes[0] - 1) // stride[0], *sizes[1:])
            stride = (1, *stride[1:])
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
            context_tokens=int(entry.get("context_tokens", 0)), window=tuple(entry.get("window", DEFAULT_WINDOW)),
            mlp_hidden=int(entry["mlp_hidden"]) if "mlp_hidden" in entry else None,
            joint_tokens=int(entry.get("joint_tokens", 0)), published=tuple(entry.get("published", ())))
        for pub in config.published:
            if pub.get("quantity") not in _PUBLISHED_QUANTITIES or "value" not in pub or not pub.get("source"):
                known = ", ".join(sorted(_PUBLISHED_QUANTITIES))
                raise _err(path, f"model {name!r}: a published figure needs quantity ({known}), value and source")
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
    calls: list[tuple[int, int]] = []
    for stage in config.stages:
        grid = (T, 1, 1) if stage.tokens == "frames" else (T, H, W)
        joint = config.joint_tokens if stage.tokens == "video" else 0
        tokens = math.prod(grid) + joint
        layer = dict.fromkeys(parts, 0)
        for item in stage.block:
            kind, _, strategy = item.partition(":")
            if kind == "attention":
                if joint and resolve_strategy(strategy) != "full":
                    raise ValueError(f"joint_tokens join full attention only, not {strategy!r}")
                # joint text + video tokens form one sequence: full attention over T*H*W + joint tokens
                shape = (1, 1, tokens) if joint else grid
                plan = attention_plan(strategy, *shape, config.dim, config.heads, window=config.window)
                layer["attention_core"] += plan.core_flops
                layer["attention_projections"] += plan.linear_flops
                pairs += stage.layers * plan.pairs
                calls.extend([(plan.core_flops, plan.bytes_moved("bfloat16"))] * stage.layers)
            elif kind == "mlp":
                ratio = config.mlp_hidden / config.dim if config.mlp_hidden else config.mlp_ratio
                layer["mlp"] += mlp_plan(tokens, config.dim, ratio, hidden=config.mlp_hidden).linear_flops
            else:
                plan = cross_attention_plan(tokens, config.context_tokens, config.dim, config.heads)
                layer["cross_attention_core"] += plan.core_flops
                calls.extend([(plan.core_flops, plan.bytes_moved("bfloat16"))] * stage.layers)
                layer["cross_attention_projections"] += plan.linear_flops
        if stage.modulation:
            rows, outputs = stage.modulation
            layer["modulation"] += LinearCost("adaLN", _rows(rows, grid), config.dim, outputs * config.dim).flops
        for key, value in layer.items():
            parts[key] += stage.layers * value
    for extra in config.extra_linears:
        parts["other"] += LinearCost(extra.get("name", "linear"), _rows(extra["rows"], (T, H, W)),
                                     _features(extra["in"], config), _features(extra["out"], config)).flops
    return ModelCost(config, parts, pairs, calls)


def model_table(names: Iterable[str] | None = None, path: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per named configuration (all of them by default), in file order."""
    configs = load_model_configs(path)
    chosen = list(names) if names else list(configs)
    unknown = [n for n in chosen if n not in configs]
    if unknown:
        raise VbenchError(f"{path or MODELS_FILE}: unknown model(s) {', '.join(unknown)} "
                          f"(known: {', '.join(configs)})")
    return [model_cost(configs[n]).row() for n in chosen]


def published_checks(names: Iterable[str] | None = None, path: str | Path | None = None) -> list[dict[str, Any]]:
    """Every published figure of the named configurations (all by default) beside ours."""
    configs = load_model_configs(path)
    return [check for name in (list(names) if names else list(configs)) if name in configs
            for check in model_cost(configs[name]).published_checks()]
