"""``vbench-lite attention``: the attention cost lab.

``vbench-lite attention [opts]`` prints the analytic cost of attention strategies over a sweep of frames and grids
(with ``--measure`` also latency, peak memory and fraction of the matmul peak; with ``--out`` CSV, Markdown and
plots). ``vbench-lite attention tokens ...`` does the token and pair arithmetic of a clip;
``vbench-lite attention models`` prints whole-model FLOPs and MACs of named configurations.
"""

from __future__ import annotations

import argparse
import sys

from vbench_lite.types import VbenchError

DEFAULT_FRAMES = "4,8,16"
DEFAULT_GRID = "16x16"


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _grid(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"grid must look like 16x16 (tokens per frame, H x W), got {text!r}") from exc
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"grid must look like 16x16 with positive sides, got {text!r}")
    return values[0], values[1]


def _grids(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(_grid(g) for g in text.split(",") if g.strip())


def _window(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(p) for p in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"window must look like 4x8x8 (T x H x W), got {text!r}") from exc
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"window must look like 4x8x8 with positive sides, got {text!r}")
    return values  # type: ignore[return-value]


def register(sub) -> None:
    p = sub.add_parser("attention", help="attention cost lab: FLOPs, memory and latency of attention strategies",
                       description="Compare attention strategies of video transformers. Without a sub-action, "
                       "runs the sweep (analytic; --measure adds latency and memory).")
    p.add_argument("--strategies", default=None,
                   help="comma-separated strategies (default: all of full, spatial, temporal, divided, "
                   "factorised_encoder, factorised_self_attention, factorised_dot_product, window; also packed and "
                   "padded: NaViT packing of a mix of clip sizes with a block-diagonal mask, or padded to the longest)")
    p.add_argument("--frames", type=_int_list, default=_int_list(DEFAULT_FRAMES),
                   help=f"frame counts T of the token grid (default {DEFAULT_FRAMES})")
    p.add_argument("--grid", type=_grids, default=_grids(DEFAULT_GRID),
                   help=f"tokens per frame HxW, comma-separated for several (default {DEFAULT_GRID})")
    p.add_argument("--dim", type=int, default=512, help="width C (default 512)")
    p.add_argument("--heads", type=int, default=8, help="attention heads (default 8)")
    p.add_argument("--batch", type=int, default=1, help="clips per call (default 1)")
    p.add_argument("--window", type=_window, default=None, help="window of the window strategy, TxHxW (default 4x8x8)")
    p.add_argument("--measure", action="store_true", help="also measure latency, peak memory and %% of matmul peak")
    p.add_argument("--impl", choices=["sdpa", "plain", "flex"], default="sdpa",
                   help="attention core: reshape + fused scaled_dot_product_attention, explicit matmul-softmax, or "
                   "one FlexAttention block-sparse call over the whole sequence")
    p.add_argument("--sdpa-backend", choices=["auto", "flash", "efficient", "cudnn", "math"], default="auto",
                   help="SDPA kernel (torch.nn.attention.sdpa_kernel); recorded in every row (default auto)")
    p.add_argument("--flex-layout", choices=["frame", "grouped"], default="frame",
                   help="--impl flex token order: frame-major (no copies) or grouped (each group contiguous)")
    p.add_argument("--flex-block", type=int, default=128,
                   help="--impl flex tile side of the block mask (default 128; e.g. 16 for temporal over 16 frames)")
    p.add_argument("--flex-eager", action="store_true",
                   help="--impl flex without torch.compile (flex's unfused reference; for checking, not timing)")
    p.add_argument("--matmul-max-n", type=int, default=None,
                   help="largest matmul of the roof probe (default 2048 on CPU, 16384 on CUDA)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (cuda when available)")
    p.add_argument("--scope", choices=["core", "module"], default="core",
                   help="what --measure times: the attention core on projected qkv, or the whole module")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads for the sweep (default: torch's; 1 gives steadier numbers on a busy machine)")
    p.add_argument("--breakdown", action="store_true",
                   help="with --measure, profile each configuration once and show the ops that take the time")
    p.add_argument("--memory-cap", type=float, default=None, metavar="GIB",
                   help="skip configurations whose analytic working set exceeds this (default: half of free memory)")
    p.add_argument("--min-run-time", type=float, default=0.05, help="seconds of timing before the IQR test")
    p.add_argument("--max-run-time", type=float, default=0.5, help="most seconds of timing per configuration")
    p.add_argument("--out", default=None, help="write attention.csv, attention.md and plots into this folder")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="what to print")
    p.set_defaults(func=run_sweep_command)

    actions = p.add_subparsers(dest="attention_action", metavar="ACTION")
    t = actions.add_parser("tokens", help="token and query-key pair arithmetic of a clip")
    t.add_argument("--seconds", type=float, default=None, help="clip length in seconds (with --fps)")
    t.add_argument("--fps", type=float, default=None, help="frames per second (with --seconds)")
    t.add_argument("--frames", type=int, default=None, help="frames (tokens along time) instead of --seconds/--fps")
    t.add_argument("--grid", type=_grid, required=True, help="tokens per frame HxW, e.g. 64x64")
    t.add_argument("--window", type=_window, default=None, help="window of the window strategy, TxHxW")
    t.add_argument("--dtype", choices=["float32", "bfloat16"], default="bfloat16",
                   help="element type for the score-matrix bytes column (default bfloat16)")
    t.set_defaults(func=run_tokens_command)

    m = actions.add_parser("models", help="whole-model FLOPs and MACs of named configurations")
    m.add_argument("--format", choices=["table", "csv", "json"], default="table")
    m.add_argument("--models", default=None, help="comma-separated model names (default: all)")
    m.add_argument("--file", default=None, help="a model table JSON (default: the one shipped with vbench-lite)")
    m.add_argument("--details", action="store_true", help="also print each model's sources and assumptions")
    m.add_argument("--published", action="store_true",
                   help="also print each published figure (paper, table, page) beside ours and the difference")
    m.set_defaults(func=run_models_command)


# -- sweep -----------------------------------------------------------------------------------------------------
def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise VbenchError(f"--device: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise VbenchError(f"--device {name}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise VbenchError(f"--device {name}: only cpu and cuda are supported")
    return name


def run_sweep_command(args) -> int:
    from reference_models.attention import DEFAULT_WINDOW
    from vbench_lite.lab.attention_sweep import SweepSettings, run_sweep, write_attention_report

    strategies = [s for s in (args.strategies or "").split(",") if s.strip()] or None
    try:
        settings = SweepSettings(
            **({"strategies": tuple(strategies)} if strategies else {}), frames=args.frames, grids=args.grid,
            dim=args.dim, heads=args.heads, batch=args.batch, window=args.window or DEFAULT_WINDOW, impl=args.impl,
            dtype=args.dtype, device=_device(args.device), scope=args.scope, measure=args.measure,
            sdpa_backend=args.sdpa_backend, flex_layout=args.flex_layout, flex_compile=not args.flex_eager,
            flex_block_size=args.flex_block,
            matmul_max_n=args.matmul_max_n,
            breakdown=args.breakdown, threads=args.threads,
            memory_cap_bytes=None if args.memory_cap is None else int(args.memory_cap * 2**30),
            min_run_time=args.min_run_time, max_run_time=args.max_run_time)
        progress = _progress if args.measure and args.format == "table" else None
        result = run_sweep(settings, progress=progress)
    except ValueError as exc:
        raise VbenchError(f"attention: {exc}") from exc
    _print_rows(result.rows, args.format)
    if args.format == "table":
        _print_summary(result.meta)
    if args.out:
        from vbench_lite.commands._common import out_folder

        paths = write_attention_report(result.rows, out_folder(args.out), result.meta)
        print(f"wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr if args.format != "table"
              else sys.stdout)
    return 0


def _progress(row) -> None:
    print(f"  measured {row['strategy']} T={row['frames']} grid={row['height']}x{row['width']}: {row['status']}",
          file=sys.stderr, flush=True)


def _print_rows(rows, fmt: str) -> None:
    from reports.attention_report import format_rows, text_table

    if fmt == "table":
        header, cells = format_rows(rows)
        print(text_table(header, cells))
    elif fmt == "csv":
        import pandas as pd

        pd.DataFrame(rows).to_csv(sys.stdout, index=False)
    else:
        import json

        print(json.dumps(rows, indent=2, default=str))


def _print_summary(meta) -> None:
    for dtype, peak in (meta.get("matmul_peak") or {}).items():
        print(f"measured dense matmul peak ({dtype}, {peak['n']}x{peak['n']}, the size where throughput stopped "
              f"rising): {peak['flops_per_s'] / 1e9:.1f} GFLOP/s on {meta['environment']['threads']} threads")
    bw = meta.get("copy_bandwidth")
    if bw:
        print(f"measured memory bandwidth (device copy, read + write): {bw['bytes_per_s'] / 1e9:.1f} GB/s")
    fits = [f for f in meta.get("fits", []) if f["analytic_exponent"] is not None]
    if fits:
        print("scaling exponent vs tokens (analytic FLOPs / measured latency); fixed cost per (sequence, head) "
              "problem and marginal rate where they can be told apart:")
        for f in fits:
            measured = "-" if f["measured_exponent"] is None else f"{f['measured_exponent']:.2f}"
            line = f"  {f['strategy']:<26} {f['analytic_exponent']:.2f} / {measured}"
            if f.get("fixed_us_per_problem") is not None:
                rate = f["marginal_gflop_per_s"]
                line += (f"   fixed {f['fixed_us_per_problem']:.2f} us/problem, marginal "
                         f"{'-' if rate is None else f'{rate:.1f}'} GFLOP/s (R^2 {f['overhead_fit_r2']:.3f})")
            print(line)


# -- tokens ----------------------------------------------------------------------------------------------------
def run_tokens_command(args) -> int:
    from metrics.attention_cost import STRATEGIES, pair_count, token_count, tokens_table
    from reference_models.attention import DEFAULT_WINDOW
    from reports.attention_report import sig3, text_table

    if args.frames is not None:
        if args.seconds is not None or args.fps is not None:
            raise VbenchError("attention tokens: give either --frames or --seconds with --fps, not both")
        frames, origin = args.frames, f"{args.frames} frames"
    else:
        if args.seconds is None or args.fps is None:
            raise VbenchError("attention tokens: give --seconds and --fps (or --frames)")
        exact = args.seconds * args.fps
        frames = round(exact)
        if abs(exact - frames) > 1e-9 or frames < 1:
            raise VbenchError(f"attention tokens: --seconds {args.seconds:g} x --fps {args.fps:g} = {exact:g} "
                              "is not a whole, positive number of frames")
        origin = f"{frames} frames ({args.seconds:g} s x {args.fps:g} fps)"
    if frames < 1:
        raise VbenchError("attention tokens: --frames must be at least 1")
    height, width = args.grid
    window = args.window or DEFAULT_WINDOW
    tokens = token_count(frames, height, width)
    print(f"{origin}, grid {height}x{width} ({height * width:,} tokens per frame)")
    print(f"tokens: {tokens:,} (~{sig3(tokens)})")
    print("query-key pairs per head (tokens x attended keys):")
    formulas = {"full": "N^2", "spatial": "T*(HW)^2", "temporal": "HW*T^2"}
    values = {s: pair_count(s, frames, height, width) for s in formulas}
    width_int = max(len(f"{v:,}") for v in values.values())
    for strategy, formula in formulas.items():
        v = values[strategy]
        print(f"  {strategy:<9} {v:>{width_int},}  {'(~' + sig3(v) + ')':<10} {formula}")
    rows = tokens_table(frames, height, width, STRATEGIES, window=window, dtype=args.dtype)
    cells, notes = [], []
    for r in rows:
        if r["pairs"] is None:
            cells.append([r["strategy"], "-", "-", "-", "-"])
            notes.append(f"{r['strategy']}: {r['note']}")
            continue
        cells.append([r["strategy"], f"{r['pairs']:,}", sig3(r["pairs"]), f"{r['fraction_of_full']:.3g}",
                      _bytes(r["score_bytes_per_head"])])
    print()
    print(f"all strategies (window {'x'.join(map(str, window))}; score bytes if one head's scores were "
          f"materialised at once, {args.dtype}):")
    print(text_table(["strategy", "pairs/head", "~", "of full", "score bytes/head"], cells))
    for note in notes:
        print(f"  {note}")
    return 0


def _bytes(n: int) -> str:
    from reports.attention_report import human_bytes

    return human_bytes(n)


def _giga(n: float) -> str:
    """Billions with one decimal, or three significant digits below 10 (small models stay readable)."""
    g = n / 1e9
    return f"{g:,.1f}" if abs(g) >= 10 else f"{g:.3g}"


# -- models ----------------------------------------------------------------------------------------------------
def run_models_command(args) -> int:
    from reports.attention_report import text_table
    from vbench_lite.lab.model_costs import load_model_configs, model_table

    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    rows = model_table(names, args.file)
    if args.format == "csv":
        import pandas as pd

        pd.DataFrame(rows).to_csv(sys.stdout, index=False)
        return 0
    if args.format == "json":
        import json

        print(json.dumps(rows, indent=2))
        return 0
    header = ["model", "token grid", "tokens", "layers", "attn core GFLOP", "proj+MLP+other GFLOP", "GFLOPs",
              "GMACs", "attn share", "attn time"]
    cells = [[r["model"], r["token_grid"], f"{r['tokens']:,}" + (f"+{r['joint_tokens']}" if r["joint_tokens"] else ""),
              str(r["layers"]), _giga(r["attention_core_flops"]), _giga(r["total_flops"] - r["attention_core_flops"]),
              _giga(r["total_flops"]), _giga(r["total_macs"]), f"{100 * r['attention_core_share']:.1f}%",
              _seconds(r["attention_seconds"])] for r in rows]
    print(text_table(header, cells))
    print(f"attn time: attention cores (self + cross) at the roofline of {rows[0]['attention_device']} "
          "(783 TFLOP/s, 4.21 TB/s): a lower bound per forward pass; tokens +N: text tokens joined to the sequence")
    print("one forward pass, batch 1 (one view / one denoising step); FLOPs = 2 x MACs, matmuls only; "
          "see --details for sources and assumptions")
    if args.details:
        configs = load_model_configs(args.file)
        for r in rows:
            c = configs[r["model"]]
            print(f"\n{c.name}: {c.title}")
            for s in c.sources:
                print(f"  source: {s}")
            for a in c.assumptions:
                print(f"  assumes: {a}")
    if args.published:
        from vbench_lite.lab.model_costs import published_checks

        print("\npublished figures (ours x views against the paper):")
        for check in published_checks(names, args.file):
            print(f"  {check['model']:<34} {check['quantity']:<6} published {check['published']:.4g}  ours "
                  f"{check['ours']:.4g}  ({100 * check['relative_difference']:+.2f}%)  {check['source']}")
    return 0


def _seconds(s: float) -> str:
    """Milliseconds below a minute, else minutes or hours."""
    if s < 60:
        return f"{s * 1e3:,.3g} ms" if s < 1 else f"{s * 1e3:,.0f} ms"
    return f"{s / 60:.1f} min" if s < 3600 else f"{s / 3600:.1f} h"
