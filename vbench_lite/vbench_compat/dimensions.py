"""VBench's 16 dimensions, their normalisation and weights, and the vbench-lite metric output that scores each.

Every number below is read from VBench (github.com/Vchitect/VBench, commit
45e79ec14e69a2187202c675d2dbce1a71843d53, files last changed in ed5d1481e003ffa41f86b7c33d1d85e4d256257c):
``scripts/constant.py`` (NORMALIZE_DIC, DIM_WEIGHT, QUALITY_LIST, SEMANTIC_LIST, QUALITY_WEIGHT = 4,
SEMANTIC_WEIGHT = 1) and ``vbench/__init__.py`` (the dimension names, the sample indices 0-4). docs/vbench.md says
which of our metrics are the same computation and which are substitutes.
"""

from __future__ import annotations

from dataclasses import dataclass

VBENCH_REPO = "https://github.com/Vchitect/VBench"
VBENCH_COMMIT = "45e79ec14e69a2187202c675d2dbce1a71843d53"
#: sample indices VBench looks for, per prompt (``for i in range(5)`` in ``VBench.build_full_info_json``)
SAMPLE_INDICES = (0, 1, 2, 3, 4)
QUALITY_WEIGHT = 4.0
SEMANTIC_WEIGHT = 1.0


@dataclass(frozen=True)
class Dimension:
    """One VBench dimension: its name in VBench's files, the group, weight and min/max of the normalisation, and
    where its value comes from in vbench-lite (``metric`` plug-in, ``output`` name of that plug-in)."""

    name: str
    group: str  # "quality" or "semantic"
    weight: float
    low: float
    high: float
    metric: str
    output: str

    @property
    def label(self) -> str:
        """VBench's spelling in constant.py (spaces for underscores)."""
        return self.name.replace("_", " ")


def _d(name: str, group: str, weight: float, low: float, high: float, metric: str | None = None,
       output: str | None = None) -> Dimension:
    return Dimension(name, group, weight, low, high, metric or name, output or name)


#: In QUALITY_LIST, then SEMANTIC_LIST order of constant.py.
DIMENSIONS: tuple[Dimension, ...] = (
    _d("subject_consistency", "quality", 1.0, 0.1462, 1.0),
    _d("background_consistency", "quality", 1.0, 0.2615, 1.0),
    _d("temporal_flickering", "quality", 1.0, 0.6293, 1.0, "temporal", "temporal_flicker"),
    _d("motion_smoothness", "quality", 1.0, 0.706, 0.9975, "temporal", "motion_smoothness"),
    _d("aesthetic_quality", "quality", 1.0, 0.0, 1.0),
    _d("imaging_quality", "quality", 1.0, 0.0, 1.0),
    _d("dynamic_degree", "quality", 0.5, 0.0, 1.0, "temporal", "dynamic_degree"),
    _d("object_class", "semantic", 1.0, 0.0, 1.0),
    _d("multiple_objects", "semantic", 1.0, 0.0, 1.0),
    _d("human_action", "semantic", 1.0, 0.0, 1.0),
    _d("color", "semantic", 1.0, 0.0, 1.0),
    _d("spatial_relationship", "semantic", 1.0, 0.0, 1.0),
    _d("scene", "semantic", 1.0, 0.0, 0.8222),
    _d("appearance_style", "semantic", 1.0, 0.0009, 0.2855),
    _d("temporal_style", "semantic", 1.0, 0.0, 0.364),
    _d("overall_consistency", "semantic", 1.0, 0.0, 0.364),
)
BY_NAME = {d.name: d for d in DIMENSIONS}
BY_OUTPUT = {d.output: d for d in DIMENSIONS}
QUALITY = tuple(d.name for d in DIMENSIONS if d.group == "quality")
SEMANTIC = tuple(d.name for d in DIMENSIONS if d.group == "semantic")


def dimension(name: str) -> Dimension:
    """A dimension by VBench's name, VBench's spaced label, or our output name (``temporal_flicker``)."""
    key = name.strip().replace(" ", "_")
    if key in BY_NAME:
        return BY_NAME[key]
    if key in BY_OUTPUT:
        return BY_OUTPUT[key]
    from vbench_lite.types import VbenchError

    raise VbenchError(f"unknown VBench dimension {name!r} (known: {', '.join(BY_NAME)})")


def parse_dimensions(text: str | None) -> list[str]:
    """``--dimensions a,b`` (VBench or our names) in VBench's order; None or empty: all 16."""
    if not text:
        return [d.name for d in DIMENSIONS]
    chosen = {dimension(part).name for part in text.split(",") if part.strip()}
    return [d.name for d in DIMENSIONS if d.name in chosen]
