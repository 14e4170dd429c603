"""I3D forward speed on the CPU against fp32 peaks measured in the same run, before/after the fast path.

    python benchmarks/bench_i3d.py                      # 16 clips of 16 x 224 x 224 (FVD), batch 8, 3 rounds
    python benchmarks/bench_i3d.py --clips 8 --rounds 2 --size 112 # quicker

"before" is the network as it was: every convolution's TF "SAME" padding a padded copy, max-pools on a copy padded
with -inf, BatchNorm and ReLU as separate passes. "after" is what FVD runs now: BatchNorm folded into the
convolutions and each block's three input 1x1 convolutions run as one (:meth:`InceptionI3d.fold_batchnorm`),
padding done by the convolution/pool itself, ReLU applied by oneDNN as the convolution writes. Both use the same
weights and channels-last layout (``--channels-first`` for the other), float32.

Each round times, one after the other (interleaved, so a load spike from other processes hits every variant
alike): a large ``torch.mm`` (the fp32 matmul peak) and a large 3x3x3 convolution (oneDNN's peak, the kernel the
I3D runs: the higher of the two where MKL takes its generic code path, as on AMD CPUs; ``MKL_VERBOSE=1`` says
which), then each path batched (``--batch-size``) and one clip at a time. Prints the best and median over
rounds, the I3D GFLOP per clip (``FlopCounterMode``: 2 FLOPs per multiply-add, convolutions only), the % of each
peak each path reaches, and the largest feature difference between the paths. Run it with ``OMP_NUM_THREADS``
unset; ``--threads`` sets torch's thread count (default 2).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from reference_models.i3d import InceptionI3d, MaxPool3dSame, Unit3D, pad_same
from reference_models.i3d_weights import load_i3d_safetensors


# -- the path as it was, for the comparison ----------------------------------------------------------------------
def _unit_forward_before(self: Unit3D, x: torch.Tensor) -> torch.Tensor:
    x = self.conv3d(pad_same(x, self.kernel, self.stride))  # the module's padding is 0: SAME by a padded copy
    if self.bn is not None:
        x = self.bn(x)
    return F.relu(x) if self.relu else x


def _pool_forward_before(self: MaxPool3dSame, x: torch.Tensor) -> torch.Tensor:
    return F.max_pool3d(pad_same(x, self.kernel, self.stride, value=-math.inf), self.kernel, self.stride)


@contextmanager
def path_before() -> Iterator[None]:
    """Run the I3D the way it ran before the fast path (an unfolded model is needed for BatchNorm to run)."""
    saved = Unit3D.forward, MaxPool3dSame.forward
    Unit3D.forward, MaxPool3dSame.forward = _unit_forward_before, _pool_forward_before
    try:
        yield
    finally:
        Unit3D.forward, MaxPool3dSame.forward = saved


# -- measuring ---------------------------------------------------------------------------------------------------
def load_model() -> tuple[InceptionI3d, str]:
    from vbench_lite.weights import converted_path

    path = converted_path()
    if path.is_file():
        return load_i3d_safetensors(path), f"Kinetics-400 weights ({path.name})"
    torch.manual_seed(0)
    return InceptionI3d().eval().requires_grad_(False), "random weights (no cached I3D; same cost)"


def matmul_gflops(n: int) -> float:
    """fp32 GFLOP/s of one ``n x n`` by ``n x n`` ``torch.mm`` (best of 3 after a warm-up)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(_seconds(lambda: torch.mm(a, b)) for _ in range(3))
    return 2 * n**3 / best / 1e9


def conv_gflops(channels: int = 256, size: int = 28) -> float:
    """fp32 GFLOP/s of a large 3x3x3 convolution (oneDNN, channels-last; best of 3 after a warm-up).

    The I3D's own kernel: where ``torch.mm``'s BLAS does not use the widest vector unit (MKL's generic code path
    on AMD CPUs), this is the higher peak, and the one the I3D can reach.
    """
    x = torch.randn(1, channels, 8, size, size).contiguous(memory_format=torch.channels_last_3d)
    weight = torch.randn(channels, channels, 3, 3, 3)
    F.conv3d(x, weight, padding=1)
    best = min(_seconds(lambda: F.conv3d(x, weight, padding=1)) for _ in range(3))
    return 2 * x.numel() * channels * 27 / best / 1e9


def gflop_per_clip(model: torch.nn.Module, frames: int, size: int) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, frames, size, size))
    return counter.get_total_flops() / 1e9


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def features(model: torch.nn.Module, videos: torch.Tensor, batch: int, layout: torch.memory_format) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(videos[i:i + batch].contiguous(memory_format=layout))
                          for i in range(0, videos.shape[0], batch)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--channels-first", action="store_true", help="contiguous layout instead of channels-last")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    layout = torch.contiguous_format if args.channels_first else torch.channels_last_3d

    before, source = load_model()
    after = load_model()[0].fold_batchnorm()
    before, after = before.to(memory_format=layout), after.to(memory_format=layout)
    torch.manual_seed(1)
    videos = torch.rand(args.clips, 3, args.frames, args.size, args.size) * 2 - 1  # preprocessed clips in [-1, 1]
    gflop = gflop_per_clip(after, args.frames, args.size)

    runs: dict[str, Callable[[], torch.Tensor]] = {}
    for path, model in (("before", before), ("after", after)):
        for label, batch in ((f"batch {args.batch_size}", args.batch_size), ("one clip at a time", 1)):
            def run(model: torch.nn.Module = model, batch: int = batch, path: str = path) -> torch.Tensor:
                if path == "before":
                    with path_before():
                        return features(model, videos, batch, layout)
                return features(model, videos, batch, layout)
            runs[f"{path:<6} {label}"] = run

    load_start = os.getloadavg()
    outputs = {name: run() for name, run in runs.items()}  # warm-up, and the features compared below
    peaks: dict[str, list[float]] = {"torch.mm": [], "3x3x3 conv": []}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        peaks["torch.mm"].append(matmul_gflops(args.matmul_size))
        peaks["3x3x3 conv"].append(conv_gflops())
        for name, run in runs.items():
            times[name].append(_seconds(run))
    load_end = os.getloadavg()

    layout_name = "channels-first" if args.channels_first else "channels-last"
    print(f"I3D, {args.clips} clips of {args.frames} x {args.size} x {args.size}, {source}, float32 {layout_name}, "
          f"{torch.get_num_threads()} threads, {args.rounds} interleaved rounds")
    print(f"  load average (1 min) {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end "
          f"on {os.cpu_count()} CPUs")
    mm_best, mm_median = max(peaks["torch.mm"]), statistics.median(peaks["torch.mm"])
    conv_best, conv_median = max(peaks["3x3x3 conv"]), statistics.median(peaks["3x3x3 conv"])
    print(f"  fp32 peak, torch.mm {args.matmul_size}^2: best {mm_best:.1f} GFLOP/s, median {mm_median:.1f};  "
          f"a 3x3x3 convolution (oneDNN): best {conv_best:.1f}, median {conv_median:.1f}")
    print(f"  I3D: {gflop:.2f} GFLOP per clip")
    print(f"  {'':<26} {'clips/s':>15}  {'% of torch.mm peak':>18}  {'% of conv peak':>14}")
    print(f"  {'path':<26} {'best':>7} {'median':>7}  {'best':>8} {'median':>9}  {'best':>6} {'median':>7}")
    rate = {}
    for name, seconds in times.items():
        best, median = args.clips / min(seconds), args.clips / statistics.median(seconds)
        rate[name] = (best, median)
        print(f"  {name:<26} {best:7.2f} {median:7.2f}  {100 * best * gflop / mm_best:7.0f}% "
              f"{100 * median * gflop / mm_median:8.0f}%  {100 * best * gflop / conv_best:5.0f}% "
              f"{100 * median * gflop / conv_median:6.0f}%")
    for path in ("before", "after"):
        (b_best, b_med), (l_best, l_med) = (rate[f"{path:<6} batch {args.batch_size}"],
                                            rate[f"{path:<6} one clip at a time"])
        print(f"  {path}: batched / one clip at a time {b_best / l_best:.2f}x (best), {b_med / l_med:.2f}x (median)")
    names = list(runs)
    b_after, b_before = rate[names[2]], rate[names[0]]
    print(f"  after / before, batched: {b_after[0] / b_before[0]:.2f}x (best), {b_after[1] / b_before[1]:.2f}x "
          f"(median)")
    reference = outputs[names[0]]
    scale = reference.abs().max().item()
    for name in names[1:]:
        diff = (outputs[name] - reference).abs().max().item()
        print(f"  features of {name.strip()!r} vs {names[0]!r}: max |diff| {diff:.2e} (max |feature| {scale:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
