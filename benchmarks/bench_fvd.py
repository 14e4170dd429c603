"""FVD speed, measured in one run: the Frechet distance (eigh vs scipy sqrtm) and I3D throughput (batched vs a loop).

    python benchmarks/bench_fvd.py                       # d = 400, I3D at 16 x 224 x 224 (the FVD protocol)
    python benchmarks/bench_fvd.py --clips 8 --size 112  # quicker, smaller I3D input

Frechet: covariances of ``--features`` random 400-d features (correlated, like I3D logits); each method's time is
the best of ``--repeats`` after a warm-up, and the two values are compared (relative difference).

I3D: ``--clips`` preprocessed clips through the network in batches of ``--batch-size`` and one clip at a time
(float32, channels-last), and batched in bfloat16; clips per second, best of ``--repeats``. Uses the cached
Kinetics-400 weights when present (``vbench-lite weights fetch i3d``), random weights otherwise (same cost).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _timing import best_time  # benchmarks/ is the script folder, first on sys.path


def bench_frechet(n_features: int, dim: int, repeats: int) -> None:
    """Both methods under both thread policies: BLAS's default threads and one thread
    (``metrics.functional.frechet.blas_threads``, what FVD's aggregation uses)."""
    from metrics.functional.frechet import blas_threads, frechet_distance, gaussian_statistics

    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    mu1, s1 = gaussian_statistics(rng.normal(size=(n_features, dim)) @ mixing)
    mu2, s2 = gaussian_statistics(rng.normal(size=(n_features, dim)) @ (mixing * 1.1) + 0.05)
    print(f"Frechet distance, d={dim}, covariances of {n_features} features (best of {repeats})")
    times = {}
    for label, limit in (("default threads", None), ("1 thread", 1)):
        with blas_threads(limit):
            t_eigh, v_eigh = best_time(lambda: frechet_distance(mu1, s1, mu2, s2, method="eigh"), repeats)
            t_sqrtm, v_sqrtm = best_time(lambda: frechet_distance(mu1, s1, mu2, s2, method="sqrtm"), repeats)
        times[label] = (t_eigh, t_sqrtm)
        rel = abs(v_eigh - v_sqrtm) / v_sqrtm
        print(f"  {label:<16} eigh {t_eigh * 1e3:8.1f} ms   sqrtm {t_sqrtm * 1e3:8.1f} ms   speed-up "
              f"{t_sqrtm / t_eigh:5.1f}x   relative difference {rel:.1e}")
    print(f"  eigh on 1 thread vs sqrtm on default threads (pytorch-fid as usually run): "
          f"{times['default threads'][1] / times['1 thread'][0]:.1f}x")


def bench_i3d(n_clips: int, size: int, frames: int, batch_size: int, repeats: int) -> None:
    from metrics.feature_statistics import FEATURE_DIM
    from reference_models.i3d import InceptionI3d
    from reference_models.i3d_weights import load_i3d
    from vbench_lite.weights import converted_path

    path = converted_path()
    if path.is_file():
        model, source = load_i3d(path), f"Kinetics-400 weights ({path.name})"
    else:
        torch.manual_seed(0)
        model, source = InceptionI3d().eval().requires_grad_(False), "random weights (no cached I3D)"
    torch.manual_seed(1)
    videos = torch.rand(n_clips, 3, frames, size, size) * 2 - 1  # preprocessed clips in [-1, 1]
    layout = torch.channels_last_3d

    def run(net: torch.nn.Module, dtype: torch.dtype, batch: int) -> torch.Tensor:
        with torch.no_grad():
            outs = [net(videos[i:i + batch].to(dtype).contiguous(memory_format=layout)).float()
                    for i in range(0, n_clips, batch)]
        return torch.cat(outs)

    fp32 = model.to(memory_format=layout)
    t_batched, f_batched = best_time(lambda: run(fp32, torch.float32, batch_size), repeats)
    t_loop, f_loop = best_time(lambda: run(fp32, torch.float32, 1), repeats)
    bf16 = load_i3d(path) if path.is_file() else InceptionI3d().eval().requires_grad_(False)
    bf16 = bf16.to(torch.bfloat16).to(memory_format=layout)
    t_bf16, f_bf16 = best_time(lambda: run(bf16, torch.bfloat16, batch_size), repeats)
    scale = f_batched.abs().max().item()

    def row(label: str, seconds: float, features: torch.Tensor | None = None) -> str:
        line = f"  {label:<32} {n_clips / seconds:7.2f} clips/s  {seconds / n_clips * 1e3:8.1f} ms/clip"
        if features is not None:
            line += f"   max |diff| / max |feature| {(features - f_batched).abs().max().item() / scale:.1e}"
        return line

    print(f"I3D, {n_clips} clips of {frames} x {size} x {size}, {source}, {torch.get_num_threads()} threads "
          f"(best of {repeats})")
    print(row(f"float32 batched (batch {batch_size})", t_batched))
    print(row("float32 one clip at a time", t_loop, f_loop))
    print(row(f"bfloat16 batched (batch {batch_size})", t_bf16, f_bf16))
    print(f"  throughput batched / loop: {t_loop / t_batched:.2f}x;  bfloat16 / float32 batched: "
          f"{t_batched / t_bf16:.2f}x   (features: {FEATURE_DIM}-d)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=2048, help="features per set for the covariances")
    parser.add_argument("--dim", type=int, default=400)
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-i3d", action="store_true")
    args = parser.parse_args(argv)
    bench_frechet(args.features, args.dim, args.repeats)
    if not args.skip_i3d:
        bench_i3d(args.clips, args.size, args.frames, args.batch_size, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
