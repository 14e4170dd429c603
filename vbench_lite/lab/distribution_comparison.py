"""How fvd, fvd_inf, kvd and JEDi's kernel distance respond to controlled defects, and how many clips each needs for
a stable ranking: the measurement behind docs/distribution-metrics.md.

    python -m vbench_lite.lab.distribution_comparison --out /tmp/dist [--n-ref 96 --n-gen 40 --size 224]

Clips: the synthetic suite's prompts (shuffled with a fixed seed), rendered by the ``synthetic`` generator; the
reference set is ``n_ref`` clean clips of some prompts (seed 0), every generated set answers the next ``n_gen``
prompts (seed 1), clean or with one defect of :mod:`reference_models.video_defects` (content: color_shift, noise;
motion: shuffle, freeze, drop). Features: the I3D of ``fvd`` (whatever weights ``fvd`` resolves: the real Kinetics-400
file when cached), saved to ``OUT/features.npz`` so the analysis re-runs without the network. cd_fvd and jedi need
their own networks' real weights to say anything; the distance functions are compared here on the same I3D features.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SETS = [("clean", "none", 0.0), ("color_shift 0.5", "color_shift", 0.5), ("color_shift 1", "color_shift", 1.0),
        ("noise 0.5", "noise", 0.5), ("shuffle 1", "shuffle", 1.0), ("freeze 1", "freeze", 1.0),
        ("drop 1", "drop", 1.0)]


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
    return feats


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
    args = p.parse_args(argv)
    feats = extract(args.out, args.n_ref, args.n_gen, args.size)
    ref = feats["reference"]
    table = {label: distances(feats[label], ref) for label, _, _ in SETS}
    ladders = {"content (clean < color_shift 0.5 < color_shift 1)": ["clean", "color_shift 0.5", "color_shift 1"],
               "motion (clean, shuffle 1, freeze 1)": ["clean", "shuffle 1", "freeze 1"]}
    sizes = [s for s in (8, 16, 24, 32) if s < args.n_gen] + [args.n_gen]
    stability = {name: ranking_stability(feats, labels, sizes[:-1], args.draws) for name, labels in ladders.items()}
    result = {"n_ref": args.n_ref, "n_gen": args.n_gen, "size": args.size,
              "i3d_weights_sha256": str(feats.get("weights_sha256", "")), "table": table, "stability": stability}
    (args.out / "comparison.json").write_text(json.dumps(result, indent=2, default=float))
    print(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
