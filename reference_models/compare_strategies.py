"""Quality versus cost of the reference video DiT's attention strategies.

Cost, per strategy, of one clip at the model's native size (:func:`strategy_cost_table`):

- ``forward_flops``: matmul FLOPs of one forward pass (batch 1), *measured* with
  ``torch.utils.flop_counter.FlopCounterMode`` (via :func:`metrics.flop_counter.count_flops`, which also counts the
  fused CPU attention kernel) -- exact for the code that runs, 2 FLOPs per multiply-add, elementwise ops excluded.
  ``attention_core_flops`` is the part spent in ``softmax(q k^T) v``; the rest is projections, MLPs, embeddings.
- ``flops_per_clip``: ``forward_flops`` x sampler steps (x 2 with classifier-free guidance).
- ``latency_ms_per_clip``: median wall time of sampling one clip (all Euler steps), measured with
  ``torch.utils.benchmark.Timer.blocked_autorange`` on a fixed thread count. Latency does not depend on the weight
  values, so the untrained model of the same config is timed (no checkpoint needed).

Quality comes from each strategy's run (``results.json``: FVD, CLIP similarity, temporal metrics);
:func:`quality_cost_table` joins the two and :func:`plot_quality_vs_cost` draws the trade-off.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from reference_models.video_dit import VideoDiT, build_model, condition_fields, sample

STRATEGIES = ("full", "divided", "spatial", "temporal", "window")
#: Cost columns of :func:`strategy_cost_table`, in order.
COST_COLUMNS = ("config", "params", "tokens", "forward_flops", "attention_core_flops", "sampler_steps",
                "flops_per_clip", "gflops_per_clip", "latency_ms_per_clip", "threads")
#: Metrics drawn by :func:`plot_quality_vs_cost` by default (those present), one row of panels each.
DEFAULT_CHART_METRICS = ("fvd", "clip_similarity", "temporal_flicker")


def forward_flops(model: VideoDiT, batch: int = 1) -> dict[str, int]:
    """Matmul FLOPs of one forward pass, measured: ``{"total": ..., "attention_core": ...}``."""
    from metrics.flop_counter import SDPA_CPU_OP, count_flops

    cfg = model.config
    x = torch.zeros(batch, cfg.channels, cfg.frames, *cfg.size)
    t = torch.full((batch,), 0.5)
    cond = torch.zeros(batch, len(condition_fields(cfg)), dtype=torch.long)
    with torch.no_grad():
        counted = count_flops(model, x, t, cond)
    core_op = str(SDPA_CPU_OP).rsplit(".", 1)[-1]
    core = sum(n for op, n in counted.by_op.items() if op.startswith(core_op) or op == "bmm")
    return {"total": counted.total, "attention_core": core}


def sampling_latency_ms(model: VideoDiT, *, steps: int = 32, guidance: float = 1.0, eta: float = 1.0,
                        threads: int = 1, min_run_time: float = 2.0) -> float:
    """Median milliseconds to sample one clip (batch 1, ``steps`` Euler steps) on ``threads`` threads."""
    from torch.utils.benchmark import Timer

    cfg = model.config
    noise = torch.randn(1, cfg.channels, cfg.frames, *cfg.size, generator=torch.Generator().manual_seed(0))
    cond = torch.zeros(1, len(condition_fields(cfg)), dtype=torch.long)
    timer = Timer(stmt="sample(model, cond, noise, steps=steps, guidance=guidance, eta=eta)",
                  globals={"sample": sample, "model": model, "cond": cond, "noise": noise, "steps": steps,
                           "guidance": guidance, "eta": eta}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def strategy_cost_table(config_name: str = "VDiT-T", strategies: Sequence[str] = STRATEGIES, *,
                        steps: int = 32, guidance: float = 1.0, measure_latency: bool = True, threads: int = 1,
                        min_run_time: float = 2.0) -> list[dict[str, Any]]:
    """One row per strategy: parameters, tokens, measured FLOPs (forward and per clip) and sampling latency."""
    rows = []
    for strategy in strategies:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = build_model(config_name, strategy=strategy).eval()
        flops = forward_flops(model)
        per_clip = flops["total"] * steps * (1 if guidance == 1.0 else 2)
        row: dict[str, Any] = {
            "strategy": model.config.strategy, "config": model.config.name, "params": model.num_params,
            "tokens": model.config.num_tokens, "forward_flops": flops["total"],
            "attention_core_flops": flops["attention_core"], "sampler_steps": steps, "flops_per_clip": per_clip,
            "gflops_per_clip": per_clip / 1e9, "latency_ms_per_clip": None, "threads": threads,
        }
        if measure_latency:
            row["latency_ms_per_clip"] = sampling_latency_ms(model, steps=steps, guidance=guidance, threads=threads,
                                                             min_run_time=min_run_time)
        rows.append(row)
    return rows


# -- joining with run results ---------------------------------------------------------------------------------
def metric_values(results: Mapping[str, Any]) -> dict[str, float | None]:
    """Flat ``{metric: value}`` from a ``results.json`` dict (``{"metrics": {name: {"value": ...}}}``) or an already
    flat mapping of metric names to numbers."""
    metrics = results.get("metrics", results)
    out: dict[str, float | None] = {}
    for name, entry in metrics.items():
        value = entry.get("value") if isinstance(entry, Mapping) else entry
        out[name] = None if value is None else float(value)
    return out


def metric_directions(results: Mapping[str, Any]) -> dict[str, bool]:
    """``{metric: higher_is_better}`` of the metrics of a ``results.json`` dict that say (a flat mapping says none)."""
    metrics = results.get("metrics", results)
    return {name: bool(entry["higher_is_better"]) for name, entry in metrics.items()
            if isinstance(entry, Mapping) and entry.get("higher_is_better") is not None}


def quality_cost_table(results_by_strategy: Mapping[str, Mapping[str, Any]], costs: Iterable[Mapping[str, Any]]):
    """A ``pandas.DataFrame`` indexed by strategy: the cost columns plus one column per metric of the runs.

    ``results_by_strategy``: strategy -> ``results.json`` dict (or a flat ``{metric: value}``); ``costs``: rows of
    :func:`strategy_cost_table`. Strategies missing on either side are kept with empty cells, so a failed run shows.
    ``df.attrs["higher_is_better"]`` holds each metric's direction as the runs state it (as the leaderboard does).
    """
    import pandas as pd

    cost_df = pd.DataFrame(list(costs))
    if cost_df.empty:
        cost_df = pd.DataFrame(columns=["strategy", *COST_COLUMNS])
    cost_df = cost_df.set_index("strategy")
    quality = pd.DataFrame.from_dict({s: metric_values(r) for s, r in results_by_strategy.items()}, orient="index")
    df = cost_df.join(quality, how="outer")
    df.index.name = "strategy"
    order = [s for s in STRATEGIES if s in df.index] + sorted(s for s in df.index if s not in STRATEGIES)
    df = df.loc[order]
    df.attrs["higher_is_better"] = {m: h for r in results_by_strategy.values() for m, h in metric_directions(r).items()}
    return df


def quality_cost_for_runs(runs: Mapping[str, str | Path], *, config_name: str | None = None,
                          measure_latency: bool = True):
    """:func:`quality_cost_table` for run folders (label -> RUN with ``results.json``).

    Each run's strategy and config come from its generator provenance in ``run.json`` (``strategy``, ``model``);
    a run without one is taken to be the strategy its label names. A label is a row: ``{"full": RUN_A,
    "untrained": RUN_B}`` where RUN_B is the untrained full-attention model gives two rows with the same costs,
    so a baseline sits on the chart beside the strategies it is the baseline of.
    """
    results, configs, strategy_of = {}, set(), {}
    for label, run in runs.items():
        run = Path(run)
        results_path = run / "results.json"
        if results_path.exists():
            results[label] = json.loads(results_path.read_text())
        manifest = run / "run.json"
        provenance = json.loads(manifest.read_text()).get("generator_provenance", {}) if manifest.exists() else {}
        if provenance.get("model"):
            configs.add(provenance["model"])
        strategy_of[label] = provenance.get("strategy") or label
    name = config_name or (configs.pop() if len(configs) == 1 else "VDiT-T")
    costs = strategy_cost_table(name, list(dict.fromkeys(strategy_of.values())), measure_latency=measure_latency)
    by_strategy = {row["strategy"]: row for row in costs}
    rows = [{**by_strategy[strategy], "strategy": label} for label, strategy in strategy_of.items()
            if strategy in by_strategy]
    return quality_cost_table(results, rows)


def plot_quality_vs_cost(df, path: str | Path, *, quality: str | Sequence[str] | None = None,
                         costs: Sequence[str] = ("gflops_per_clip", "latency_ms_per_clip")) -> Path:
    """Scatter each strategy's quality metrics against each cost column (a row of panels per metric); PNG or SVG.

    ``quality``: one metric column or several; by default those of ``fvd``, ``clip_similarity`` and
    ``temporal_flicker`` that are present, else the first metric column. Returns ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric_cols = [c for c in df.columns if c not in COST_COLUMNS]
    directions = df.attrs.get("higher_is_better", {})
    if quality is None:
        qualities = [c for c in DEFAULT_CHART_METRICS if c in df.columns] or metric_cols[:1]
    else:
        qualities = [quality] if isinstance(quality, str) else list(quality)
    missing = [q for q in qualities if q not in df.columns]
    if not qualities or missing:
        raise ValueError(f"no quality column {(missing or [None])[0]!r} to plot "
                         f"(columns: {', '.join(map(str, df.columns))})")
    panels = [c for c in costs if c in df.columns and df[c].notna().any()]
    if not panels:
        raise ValueError(f"none of the cost columns {list(costs)} has values")
    fig, axes = plt.subplots(len(qualities), len(panels), figsize=(4.2 * len(panels), 3.2 * len(qualities)),
                             squeeze=False)
    labels = {"gflops_per_clip": "GFLOPs per clip (measured)", "latency_ms_per_clip": "ms per clip (median)"}
    for row_axes, metric in zip(axes, qualities):
        for ax, cost in zip(row_axes, panels):
            sub = df[[cost, metric]].dropna()
            ax.scatter(sub[cost], sub[metric], color="tab:blue")
            for strategy, row in sub.iterrows():
                ax.annotate(str(strategy), (row[cost], row[metric]), textcoords="offset points", xytext=(4, 4),
                            fontsize=8)
            ax.set_xlabel(labels.get(cost, cost))
            better = {True: " (higher is better)", False: " (lower is better)"}.get(directions.get(metric), "")
            ax.set_ylabel(metric + better)
            ax.grid(True, alpha=0.3)
    fig.suptitle(f"Reference video DiT: {', '.join(qualities)} versus cost by attention strategy", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# -- FVD of checkpoints against the exact renderer ------------------------------------------------------------
def fvd_against_renderer(checkpoints: Sequence[str], *, prompt_stride: int = 8, seed: int = 0,
                         reference_seeds: Sequence[int] = (1000, 1001), size: tuple[int, int] = (64, 64),
                         steps: int = 32, batch_size: int = 4, log=print) -> dict[str, float]:
    """FVD (real Kinetics-400 I3D, the default protocol) of each checkpoint's clips against exact-renderer clips.

    The demo's setting: every ``prompt_stride``-th prompt of the synthetic suite, one clip per prompt (noise seed
    ``seed``) resized to ``size``; the reference is the exact renderer at ``reference_seeds`` (held out from
    training), rendered at ``size``. ``checkpoints`` are generator names or paths (``untrained:...`` too). The I3D
    weights must be cached (``vbench-lite weights fetch i3d``). Small sets: the values rank models, they are not
    comparable with published FVDs (see ``metrics.fvd``).
    """
    from metrics.fvd import FeatureStatistics, I3dFeatureExtractor, fvd_from_statistics
    from vbench_lite.generators.reference import ReferenceGenerator
    from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts
    from vbench_lite.weights import converted_path

    weights = converted_path()
    if not weights.is_file():
        from vbench_lite.types import VbenchError

        raise VbenchError(f"{weights}: I3D weights not cached (run `vbench-lite weights fetch i3d`)")
    prompts = synthetic_suite_prompts()[::prompt_stride]
    extractor = I3dFeatureExtractor(weights, batch_size=batch_size, device="cpu")
    renderer = SyntheticGenerator()
    reference = [renderer.generate(p, seed=s, num_frames=16, size=size).frames for s in reference_seeds
                 for p in prompts]
    ref_stats = FeatureStatistics.from_features(extractor.features(reference))
    log(f"reference: {len(reference)} exact-renderer clips")
    out = {}
    for name in checkpoints:
        gen = ReferenceGenerator(checkpoint=name, steps=steps)
        clips = [gen.generate(p, seed=seed, num_frames=gen.config.frames, size=size).frames for p in prompts]
        out[name] = fvd_from_statistics(FeatureStatistics.from_features(extractor.features(clips)), ref_stats)
        log(f"{name}: FVD {out[name]:.1f} ({len(clips)} clips)")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m reference_models.compare_strategies",
                                description="Cost table of the DiT strategies, and FVD of checkpoints (--fvd).")
    p.add_argument("--config", default="VDiT-T")
    p.add_argument("--fvd", default=None, help="comma-separated checkpoints to score with FVD against the renderer")
    p.add_argument("--no-latency", action="store_true")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    result: dict[str, Any] = {}
    if args.fvd:
        result["fvd"] = fvd_against_renderer([c for c in args.fvd.split(",") if c])
        result["note"] = ("FVD (Kinetics-400 I3D, StyleGAN-V protocol: 16 frames resized to 224) of 26 clips "
                          "(every 8th synthetic-suite prompt, noise seed 0, 32 stochastic steps (eta 1), resized "
                          "to 64x64) against 52 "
                          "exact-renderer clips of the same prompts (render seeds 1000 and 1001, held out); "
                          "`python -m reference_models.compare_strategies --fvd NAMES --json FILE`. Small sets: "
                          "the values rank models and are far above published FVDs of 2048 clips.")
    else:
        result["costs"] = strategy_cost_table(args.config, measure_latency=not args.no_latency)
        for row in result["costs"]:
            print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
