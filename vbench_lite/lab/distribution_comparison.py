"""How fvd, fvd_inf, kvd and JEDi's kernel distance respond to controlled defects, and how many clips each needs for
a stable ranking: the measurement behind docs/distribution-metrics.md.

    python -m vbench_lite.lab.distribution_comparison --out /tmp/dist [--n-ref 96 --n-gen 40 --size 224]
    python -m vbench_lite.lab.distribution_comparison --out /tmp/dist-real --real FOLDER [--max-windows 12]

Clips: the synthetic suite's prompts (shuffled with a fixed seed), rendered by the ``synthetic`` generator; the
reference set is ``n_ref`` clean clips of some prompts (seed 0), every generated set answers the next ``n_gen``
prompts (seed 1), clean or with one defect of :mod:`reference_models.video_defects` (content: color_shift, noise;
motion: shuffle, freeze, drop). Features: the I3D of ``fvd`` (whatever weights ``fvd`` resolves: the real Kinetics-400
file when cached), saved to ``OUT/features.npz`` so the analysis re-runs without the network. cd_fvd and jedi need
their own networks' real weights to say anything; the distance functions are compared here on the same I3D features.

``--real FOLDER``: every video under FOLDER (any real footage) is cut into consecutive, non-overlapping 16-frame
windows (at most ``max_windows`` per video, from its start); even windows of each video are the reference, odd ones
the generated set, which gets the same defects (seeded per window). Both sets then show the same videos, so the clean
set's distance is what sampling alone gives.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SETS = [("clean", "none", 0.0), ("color_shift 0.5", "color_shift", 0.5), ("color_shift 1", "color_shift", 1.0),
        ("noise 0.5", "noise", 0.5), ("shuffle 1", "shuffle", 1.0), ("freeze 1", "freeze", 1.0),
        ("drop 1", "drop", 1.0)]


def real_windows(folder: Path, num_frames: int = 16, max_windows: int = 12,
                 max_side: int = 256) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(reference windows, generated windows, names of the videos) from every video under ``folder``: consecutive
    ``num_frames`` windows from each video's start, at most ``max_windows`` of them; even ones are the reference, odd
    ones the generated set. A video shorter than two windows is skipped (it could not be on both sides)."""
    from vbench_lite.types import VbenchError
    from vbench_lite.video_io import find_videos, read_video

    ref: list[np.ndarray] = []
    gen: list[np.ndarray] = []
    names: list[str] = []
    for path in find_videos(folder):
        frames = read_video(path, max_side=max_side).frames
        count = min(max_windows, len(frames) // num_frames)
        if count < 2:
            continue
        names.append(str(path.relative_to(folder)))
        for w in range(count):
            (ref if w % 2 == 0 else gen).append(frames[w * num_frames:(w + 1) * num_frames])
    if not names:
        raise VbenchError(f"{folder}: no video with at least {2 * num_frames} frames (--real needs two windows each)")
    return ref, gen, names


def defective(windows: list[np.ndarray], defect: str, strength: float, seed: int = 1) -> list[np.ndarray]:
    """``defect`` at ``strength`` on every window; window i draws from ``default_rng((seed, i))``."""
    from reference_models.video_defects import apply_frame_defect

    return [apply_frame_defect(w, defect, strength, np.random.default_rng((seed, i))) for i, w in enumerate(windows)]


def extract_real(out: Path, folder: Path, size: int, max_windows: int) -> dict[str, np.ndarray]:
    from metrics.fvd import FrechetVideoDistance
    from vbench_lite.types import Clip, VbenchError

    path = out / "features.npz"
    if path.is_file():
        cached = dict(np.load(path))
        if "videos" not in cached:  # a synthetic run's features: never mix them into a real-clip table
            raise VbenchError(f"{path}: features of the synthetic suite; give --real another --out folder")
        return cached
    ref, gen, names = real_windows(folder, max_windows=max_windows)
    metric = FrechetVideoDistance(device="cpu", batch_size=8, size=size)

    def features(windows):
        return np.stack([f["i3d"] for f in metric.extract([Clip(w) for w in windows], [None] * len(windows))])

    feats = {"reference": features(ref)}
    for label, defect, strength in SETS:
        feats[label] = features(defective(gen, defect, strength))
    out.mkdir(parents=True, exist_ok=True)
    np.savez(path, **feats, weights_sha256=np.array(metric.weights_sha256), videos=np.array(names))
    return dict(np.load(path))  # as a re-run reads it: with the weights' sha256 and the video names


def extract(out: Path, n_ref: int, n_gen: int, size: int) -> dict[str, np.ndarray]:
    from metrics.fvd import FrechetVideoDistance
    from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts

    path = out / "features.npz"
    if path.is_file():
        return dict(np.load(path))
    prompts = synthetic_suite_prompts()
    order = np.random.default_rng(0).permutation(len(prompts))
    ref_prompts = [prompts[i] for i in order[:n_ref]]
    gen_prompts = [prompts[i] for i in order[n_ref:n_ref + n_gen]]
    metric = FrechetVideoDistance(device="cpu", batch_size=8, size=size)
    feats = {}

    def features(generator, ps, seed):
        clips = [generator.generate(p, seed=seed, num_frames=16, size=(64, 64)) for p in ps]
        return np.stack([f["i3d"] for f in metric.extract(clips, ps)])

    feats["reference"] = features(SyntheticGenerator(defect="none"), ref_prompts, 0)
    for label, defect, strength in SETS:
        feats[label] = features(SyntheticGenerator(defect=defect, strength=strength or 1.0), gen_prompts, 1)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(path, **feats, weights_sha256=np.array(metric.weights_sha256))
    return dict(np.load(path))  # as a re-run reads it: with the weights' sha256


def distances(x: np.ndarray, ref: np.ndarray, *, fit_repeats: int = 4, seed: int = 0) -> dict[str, float]:
    from metrics.functional.extrapolation import fit_inverse_n, subset_sizes, values_at_sizes
    from metrics.functional.frechet import FrechetToReference
    from metrics.functional.kernel_distance import mmd2_unbiased
    from metrics.functional.mmd import jedi_distance

    to_ref = FrechetToReference(*_mean_cov(ref))
    sizes = subset_sizes(len(x), points=4, min_fraction=0.5)
    fit = fit_inverse_n(sizes, values_at_sizes(x, to_ref.of_features, sizes, repeats=fit_repeats, seed=seed))
    return {"fvd": to_ref.of_features(x), "fvd_inf": fit.intercept, "kvd": mmd2_unbiased(x, ref),
            "jedi_kernel": jedi_distance(x, ref), "jedi_kernel_unbiased": jedi_distance(x, ref, unbiased=True)}


def _mean_cov(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from metrics.functional.frechet import gaussian_statistics

    return gaussian_statistics(x)


def ranking_stability(feats: dict[str, np.ndarray], labels: list[str], sizes: list[int], draws: int,
                      seed: int = 0) -> dict[str, dict[int, float]]:
    """Per metric and subset size: the fraction of draws (random subsets of every generated set, reference whole)
    whose order of ``labels`` equals the order the full sets give."""
    ref = feats["reference"]
    full = {label: distances(feats[label], ref) for label in labels}
    metrics = list(next(iter(full.values())))
    truth = {m: list(np.argsort([full[label][m] for label in labels])) for m in metrics}
    rng = np.random.default_rng(seed)
    out: dict[str, dict[int, float]] = {m: {} for m in metrics}
    for n in sizes:
        hits = dict.fromkeys(metrics, 0)
        for _ in range(draws):
            vals = {label: distances(feats[label][rng.choice(len(feats[label]), n, replace=False)], ref,
                                     fit_repeats=1, seed=int(rng.integers(1 << 31))) for label in labels}
            for m in metrics:
                hits[m] += list(np.argsort([vals[label][m] for label in labels])) == truth[m]
        for m in metrics:
            out[m][n] = hits[m] / draws
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n-ref", type=int, default=96)
    p.add_argument("--n-gen", type=int, default=40)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--draws", type=int, default=40)
    p.add_argument("--real", type=Path, help="a folder of real videos instead of the synthetic suite")
    p.add_argument("--max-windows", type=int, default=12, help="with --real: 16-frame windows per video, at most")
    args = p.parse_args(argv)
    if args.real is not None:
        feats = extract_real(args.out, args.real, args.size, args.max_windows)
        args.n_ref, args.n_gen = len(feats["reference"]), len(feats["clean"])
    else:
        feats = extract(args.out, args.n_ref, args.n_gen, args.size)
    ref = feats["reference"]
    table = {label: distances(feats[label], ref) for label, _, _ in SETS}
    ladders = {"content (clean < color_shift 0.5 < color_shift 1)": ["clean", "color_shift 0.5", "color_shift 1"],
               "motion (clean, shuffle 1, freeze 1)": ["clean", "shuffle 1", "freeze 1"]}
    sizes = [s for s in (8, 16, 24, 32) if s < args.n_gen] + [args.n_gen]
    stability = {name: ranking_stability(feats, labels, sizes[:-1], args.draws) for name, labels in ladders.items()}
    result = {"clips": str(args.real or "synthetic"), "videos": [str(v) for v in feats.get("videos", [])],
              "n_ref": args.n_ref, "n_gen": args.n_gen, "size": args.size,
              "i3d_weights_sha256": str(feats.get("weights_sha256", "")), "table": table, "stability": stability}
    (args.out / "comparison.json").write_text(json.dumps(result, indent=2, default=float))
    print(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
