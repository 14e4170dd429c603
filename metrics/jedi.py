"""JEDi (Luo et al. 2024, "Beyond FVD: Enhanced Evaluation Metrics for Video Generation Quality"): the polynomial-
kernel MMD of V-JEPA features.

What JEDi computes (oooolga/JEDi at c03d1785: ``videojedi/JEDi.py``, ``mmd_polynomial.py``, ``V_JEPA.py``): V-JEPA
ViT-H/16 features read at the attentive pooler of its SSv2 probe (``finetuned=True``), clips of 16 frames in [0, 1]
normalised with ImageNet's mean and std, and ``100 x`` the biased MMD^2 with the kernel ``(<x, y> / d)^2``
(:func:`metrics.functional.mmd.jedi_distance`). V-JEPA (v1) is not in ``transformers``; we build its successor
through ``transformers`` by public name, V-JEPA 2 ViT-L with its SSv2 probe (``facebook/vjepa2-vitl-fpc16-256-ssv2``,
its 256 px input), read at the same place (the probe's pooler): the kernel, scale and estimator are JEDi's, the
numbers are *not* comparable with published JEDi values (another network). ``estimator=unbiased`` gives the
U-statistic (expected 0 for equal distributions at any set size). Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from metrics.encoder_distance import EncoderDistance
from metrics.functional.mmd import bootstrap_jedi_ci95, jedi_distance
from metrics.stats_file import ReferenceStats
from metrics.video_encoders import JEDI_SPACE, VJEPA2_L_SSV2
from vbench_lite.types import VbenchError

JEDI_NOTE = ("jedi uses V-JEPA 2 ViT-L (SSv2 probe pooler) through transformers; published JEDi uses V-JEPA ViT-H/16: "
             "same kernel, scale and estimator, values not comparable with published ones")


@dataclass(frozen=True)
class JediSettings:
    """``--metric-args jedi.k=v``: ``weights`` (the zoo name or public name's cache, or a transformers
    ``save_pretrained`` folder), the frames (``num_frames``, ``stride``, ``start``, ``size``, ``loop_short``),
    ``estimator`` (``jedi``: JEDi's biased V-statistic; ``unbiased``), ``batch_size``, ``device``, ``n_boot``."""

    weights: str = VJEPA2_L_SSV2.name
    num_frames: int = 16
    stride: int = 1
    start: int = 0
    size: int = 256
    loop_short: bool = False
    estimator: Literal["jedi", "unbiased"] = "jedi"
    batch_size: int = 4
    device: str | None = None
    n_boot: int = 200


class Jedi(EncoderDistance):
    """JEDi of generated clips against reference clips' V-JEPA features (a stats file needs its features);
    lower is better. ``m = Jedi(weights=DIR); m.set_reference(...); m.update_clips(clips); m.compute()``."""

    name = "jedi"
    outputs: ClassVar[dict[str, bool]] = {"jedi": False}
    output_families: ClassVar[dict[str, str]] = {"jedi": "distribution"}
    Settings = JediSettings
    space = JEDI_SPACE
    models = (VJEPA2_L_SSV2,)
    feature_key = "vjepa"

    def _features_of(self, ref: ReferenceStats) -> np.ndarray:
        if ref.features is None:
            raise VbenchError("jedi needs the reference clips' features: the statistics file was saved without them")
        return ref.features

    def distance(self, generated: np.ndarray, ref: ReferenceStats) -> float:
        return jedi_distance(generated, self._features_of(ref), unbiased=self.config.estimator == "unbiased")

    def interval(self, generated: np.ndarray, ref: ReferenceStats) -> tuple[float, float] | None:
        return bootstrap_jedi_ci95(generated, self._features_of(ref), n_boot=self.config.n_boot, seed=self.seed,
                                   unbiased=self.config.estimator == "unbiased")

    def notes(self, n_generated: int, ref: ReferenceStats) -> list[str]:
        return [JEDI_NOTE]
