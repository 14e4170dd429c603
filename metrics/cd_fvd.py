"""Content-debiased FVD (Ge et al., CVPR 2024, "On the Content Bias in Frechet Video Distance"): the Frechet
distance of VideoMAE-v2 features.

What cd-FVD computes (songweige/content-debiased-fvd, ``cdfvd/fvd.py`` and ``cdfvd/third_party/VideoMAEv2/utils.py``
at a1e037ab): the VideoMAE-v2 ViT-g/14 fine-tuned on SSv2 (``vit_g_hybrid_pt_1200e_ssv2_ft.pth``), 16 frames, each
resized to 224 x 224 bilinear with pixels in [0, 1] (no mean/std normalisation), the 1408-d ``forward_features``
(``fc_norm`` of the mean of the last layer's tokens), then the Frechet distance of the two Gaussians. Here the network
is ``transformers.VideoMAEForVideoClassification`` with that architecture (:mod:`metrics.video_encoders`); frames
are chosen and resized as for fvd (:class:`~metrics.fvd_protocol.FvdProtocol`, 16 consecutive frames from the
start). Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from metrics.encoder_distance import EncoderDistance
from metrics.feature_statistics import small_sample_notes
from metrics.functional.frechet import bootstrap_frechet_ci95, frechet_distance, gaussian_statistics
from metrics.stats_file import ReferenceStats
from metrics.video_encoders import CD_FVD_SPACE, VIDEOMAE_V2_G


@dataclass(frozen=True)
class CdFvdSettings:
    """``--metric-args cd_fvd.k=v``: ``weights`` (the zoo name, or a transformers ``save_pretrained`` folder),
    the frames (``num_frames``, ``stride``, ``start``, ``size``, ``loop_short``), ``batch_size``, ``device`` and
    ``n_boot`` bootstrap resamples for the interval."""

    weights: str = VIDEOMAE_V2_G.name
    num_frames: int = 16
    stride: int = 1
    start: int = 0
    size: int = 224
    loop_short: bool = False
    batch_size: int = 4
    device: str | None = None
    n_boot: int = 200


class ContentDebiasedFvd(EncoderDistance):
    """cd-FVD of generated clips against a reference in the VideoMAE-v2 feature space; lower is better.

    ``m = ContentDebiasedFvd(weights=DIR); m.set_reference("ref.npz"); m.update_clips(clips); m.compute()``
    -> ``{"cd_fvd": float64 tensor}``, the number ``vbench-lite score --metrics cd_fvd`` writes."""

    name = "cd_fvd"
    outputs: ClassVar[dict[str, bool]] = {"cd_fvd": False}
    output_families: ClassVar[dict[str, str]] = {"cd_fvd": "distribution"}
    Settings = CdFvdSettings
    space = CD_FVD_SPACE
    models = (VIDEOMAE_V2_G,)
    feature_key = "videomae"

    def distance(self, generated: np.ndarray, ref: ReferenceStats) -> float:
        mu_g, sigma_g = gaussian_statistics(generated)  # biased covariance, as FVD's statistics
        mu_r, sigma_r = ref.stats.mean_cov()
        return frechet_distance(mu_g, sigma_g, mu_r, sigma_r)

    def interval(self, generated: np.ndarray, ref: ReferenceStats) -> tuple[float, float] | None:
        mu_r, sigma_r = ref.stats.mean_cov()
        return bootstrap_frechet_ci95(generated, mu_r, sigma_r, n_boot=self.config.n_boot, seed=self.seed)

    def notes(self, n_generated: int, ref: ReferenceStats) -> list[str]:
        return small_sample_notes(n_generated, ref.stats.n, dim=ref.stats.feature_sum.shape[0])

