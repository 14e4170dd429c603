"""Cost of the reference video DiT's attention strategies, measured, and its join with the runs' quality.

Per strategy, one clip at the model's native size (:func:`strategy_cost_table`):

- ``forward_flops``: matmul FLOPs of one forward pass (batch 1), *measured* with
  ``torch.utils.flop_counter.FlopCounterMode`` (via :func:`metrics.flop_counter.count_flops`, which also counts the
  fused CPU attention kernel) -- exact for the code that runs, 2 FLOPs per multiply-add, elementwise ops excluded.
  ``attention_core_flops`` is the part spent in ``softmax(q k^T) v``; the rest is projections, MLPs, embeddings.
- ``flops_per_clip``: ``forward_flops`` x sampler steps (x 2 with classifier-free guidance).
- ``latency_ms_per_clip``: median wall time of sampling one clip (all Euler steps), measured with
  ``torch.utils.benchmark.Timer.blocked_autorange`` on a fixed thread count. Latency does not depend on the weight
  values, so the untrained model of the same config is timed (no checkpoint needed).

:func:`quality_cost_for_runs` measures the strategies of some run folders and joins them with the runs' results
(:func:`reports.quality_cost.quality_cost_table`, which also draws the chart).

    python -m vbench_lite.lab.strategy_cost                      # the cost table
    python -m vbench_lite.lab.strategy_cost --fvd vdit-t-full,untrained:VDiT-T:full --json fvd.json
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from metrics.flop_counter import SDPA_CPU_OP, count_flops
from reference_models.rectified_flow import sample
from reference_models.video_dit import VideoDiT, build_model, condition_fields
from reports.quality_cost import STRATEGIES, quality_cost_table
from vbench_lite.lab.checkpoint_eval import fvd_against_renderer


def forward_flops(model: VideoDiT, batch: int = 1) -> dict[str, int]:
    """Matmul FLOPs of one forward pass, measured: ``{"total": ..., "attention_core": ...}``."""
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m vbench_lite.lab.strategy_cost",
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
                          "`python -m vbench_lite.lab.strategy_cost --fvd NAMES --json FILE`. Small sets: "
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
