"""The model zoo: every pretrained network a metric uses, where it comes from, and where its file is on this machine.

Each metric class lists the models it can use in ``models`` (a tuple of :class:`ModelSpec`); ``vbench-lite weights
list`` shows them all with their source, licence, expected sha256 and whether they are cached, and ``vbench-lite
weights fetch NAME`` downloads and verifies one. Scoring never downloads: a metric finds its weights with
:func:`local_weights` (a file the user passed with ``--metric-args NAME.weights=PATH`` first, then the zoo cache,
then the owning library's own cache), and a missing file is a one-line error that says how to fetch it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vbench_lite.paths import weights_dir
from vbench_lite.types import VbenchError

#: Libraries that build the networks (the zoo never defines an architecture itself).
LIBRARIES = ("vbench-lite", "open_clip", "timm", "torchvision", "transformers", "pyiqa", "diffusers")


@dataclass(frozen=True)
class ModelSpec:
    """One pretrained network: built by ``library`` from ``source``, weights checked against ``sha256``."""

    name: str  # zoo name: `weights fetch NAME`, the cache folder, `--metric-args METRIC.weights=...` help
    library: str  # one of LIBRARIES
    source: str  # the public name in that library: hub id, timm/open_clip name + tag, torchvision enum, URL
    license: str
    description: str
    #: sha256 of the weights file as fetched; None where the source does not pin one (then the sha256 found is
    #: recorded in provenance, never assumed).
    sha256: str | None = None
    #: The file name in the zoo cache (``<weights_dir>/<name>/<filename>``).
    filename: str = "weights.safetensors"
    #: Metric names that use it (filled in by the metric classes that list it).
    used_by: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.library not in LIBRARIES:
            raise ValueError(f"model {self.name!r}: unknown library {self.library!r} (known: {', '.join(LIBRARIES)})")

    @property
    def cache_path(self) -> Path:
        return weights_dir() / self.name / self.filename


def local_weights(spec: ModelSpec, override: str | os.PathLike | None = None) -> Path | None:
    """The weights file to load without any network: ``override`` (must exist), else the zoo cache, else None.

    None means "not here": the caller tries the owning library's own offline cache, then fails with
    :func:`missing_weights_error`.
    """
    if override:
        path = Path(override)
        if not path.is_file():
            raise VbenchError(f"{path}: weights file for {spec.name} not found")
        return path
    return spec.cache_path if spec.cache_path.is_file() else None


def missing_weights_error(spec: ModelSpec, metric: str) -> VbenchError:
    return VbenchError(f"{metric}: weights of {spec.name} ({spec.source}) are not on this machine and scoring never "
                       f"downloads: run `vbench-lite weights fetch {spec.name}` once with network, or pass "
                       f"--metric-args {metric}.weights=/path/to/file")
