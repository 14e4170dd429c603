"""The offline toy detector: a tiny CenterNet-style CNN trained only on vbench-lite's synthetic world.

It finds the world's shapes (:data:`LABELS`) in a frame and says each one's colour (:data:`COLORS`), box and score,
so the semantic metrics (``object_class``, ``multiple_objects``, ``color``, ``spatial_relationship``) run offline in
the demo and the tests with real signal. It knows nothing but coloured shapes on plain backgrounds; on real video its
detections mean nothing (use a real open-vocabulary detector for that). ``MODEL_CARD.md`` says how it was trained
and how well it does on held-out renders; retrain with ``python -m vbench_lite.lab.train_toy_detector``.

Architecture (``vbench-toy-detector.json``): every frame is resized to 64 x 64 (bilinear, antialiased), a 6-layer
CNN maps it to a 16 x 16 grid (stride 4) and 1 x 1 heads predict per cell a centre heatmap per shape (sigmoid),
colour logits, the box centre's offset from the cell and the box size. Detections are the local maxima of the
heatmap (3 x 3 max pooling, as CenterNet does instead of NMS) above a score threshold; boxes are mapped back to input
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reference_models import toy_weights

TOY_DETECTOR = "vbench-toy-detector"
LABELS: tuple[str, ...] = ("circle", "square", "triangle", "diamond")
COLORS: tuple[str, ...] = ("red", "green", "blue", "yellow", "orange", "purple", "cyan", "white")
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_PATH = PACKAGE_DIR / f"{TOY_DETECTOR}.json"
WEIGHTS_PATH = PACKAGE_DIR / f"{TOY_DETECTOR}.safetensors"
MODEL_CARD_PATH = PACKAGE_DIR / "MODEL_CARD.md"
#: What ``weights_sha256`` says for a model built without trained weights (seeded, so still deterministic).
RANDOM_INIT = "random-init-seed0"
#: Frames per forward pass in :meth:`ToyDetector.detect` (memory stays small for long clips).
_CHUNK = 64


@dataclass(frozen=True)
class ToyDetection:
    """One detected object: ``label`` a shape name, ``color`` a colour name, ``box`` (x0, y0, x1, y1) in the input
    frame's pixels, ``score`` in [0, 1]."""

    label: str
    color: str
    box: tuple[float, float, float, float]
    score: float


class ToyDetectorError(ValueError):
    """A weights file or config that cannot be loaded (one line naming the file)."""


def resize_frames(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, size, size)`` in [0, 1] (bilinear, antialiased; on the CPU, so the
    numbers do not depend on the device the network runs on)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True))


class ToyDetector(nn.Module):
    """``forward(pixels (N, 3, S, S) in [0, 1]) -> (N, C, S/4, S/4)`` raw head outputs; :meth:`detect` decodes them.

    Output channels, in order: ``len(LABELS)`` heatmap logits, ``len(COLORS)`` colour logits, 2 centre offsets
    (x, y: box centre minus the cell's top-left corner, in cells, unbounded so a peak one cell off still places the
    box right), 2 box sizes (w, h, as a fraction of the input side, sigmoid).
    """

    def __init__(self, input_size: int = 64, widths: tuple[int, ...] = (16, 32, 64, 64, 64, 64),
                 strides: tuple[int, ...] = (1, 2, 2, 1, 1, 1)):
        super().__init__()
        if len(widths) != len(strides):
            raise ValueError("widths and strides must have the same length")
        self.input_size = int(input_size)
        self.stride = int(np.prod(strides))
        layers, cin = [], 3
        for w, s in zip(widths, strides):
            layers.append(_conv(cin, w, s))
            cin = w
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2d(cin, len(LABELS) + len(COLORS) + 4, 1)
        # CenterNet's prior: heatmap logits start near p = 0.1 so the focal loss does not explode on step one.
        with torch.no_grad():
            self.head.bias[: len(LABELS)].fill_(-2.19)
        self.weights_sha256 = RANDOM_INIT
        self.weights_path: Path | None = None

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(pixels))

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, S, S)`` in [0, 1] on the model's device."""
        return resize_frames(frames, self.input_size).to(self._device())

    @torch.no_grad()
    def detect(self, frames: np.ndarray, score_threshold: float = 0.5) -> list[list[ToyDetection]]:
        """Detections for every frame of uint8 ``(T, H, W, 3)``: one list per frame, best score first."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
        h, w = frames.shape[1:3]
        out: list[list[ToyDetection]] = []
        for start in range(0, len(frames), _CHUNK):
            raw = self(self.preprocess(frames[start:start + _CHUNK])).float().cpu()
            out.extend(decode(raw, (h, w), score_threshold))
        return out

    def _device(self) -> torch.device:
        return next(self.parameters()).device


def decode(raw: torch.Tensor, frame_size: tuple[int, int], score_threshold: float) -> list[list[ToyDetection]]:
    """Head outputs ``(N, C, G, G)`` -> detections in pixels of a ``frame_size`` = (H, W) frame.

    A cell is a detection when its best shape probability is the maximum of its 3 x 3 neighbourhood (CenterNet's
    peak extraction) and at least ``score_threshold``; the shape is that best class, the colour the argmax of the
    colour logits at the cell."""
    nl, nc = len(LABELS), len(COLORS)
    grid = raw.shape[-1]
    heat = torch.sigmoid(raw[:, :nl])
    score, label = heat.max(dim=1)  # (N, G, G)
    peak = score == F.max_pool2d(score[:, None], 3, stride=1, padding=1)[:, 0]
    color = raw[:, nl:nl + nc].argmax(dim=1)
    offset = raw[:, nl + nc:nl + nc + 2]
    size = torch.sigmoid(raw[:, nl + nc + 2:nl + nc + 4])
    h, w = frame_size
    result: list[list[ToyDetection]] = []
    for n in range(raw.shape[0]):
        ys, xs = torch.nonzero(peak[n] & (score[n] >= score_threshold), as_tuple=True)
        dets = []
        for y, x in zip(ys.tolist(), xs.tolist()):
            cx = (x + float(offset[n, 0, y, x])) / grid
            cy = (y + float(offset[n, 1, y, x])) / grid
            bw, bh = float(size[n, 0, y, x]), float(size[n, 1, y, x])
            box = (max(0.0, (cx - bw / 2) * w), max(0.0, (cy - bh / 2) * h),
                   min(float(w), (cx + bw / 2) * w), min(float(h), (cy + bh / 2) * h))
            dets.append(ToyDetection(LABELS[int(label[n, y, x])], COLORS[int(color[n, y, x])], box,
                                     float(score[n, y, x])))
        result.append(sorted(dets, key=lambda d: -d.score))
    return result


def read_config(path: Path = CONFIG_PATH) -> dict:
    """The architecture config (``vbench-toy-detector.json``): input size, widths, strides, labels, colours."""
    return toy_weights.read_config(path, "toy detector", {"labels": LABELS, "colors": COLORS}, ToyDetectorError)


def build(cfg: dict | None = None) -> ToyDetector:
    """A randomly initialised detector of the config's architecture (seed 0, so two builds are equal)."""
    cfg = cfg if cfg is not None else read_config()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ToyDetector(cfg["input_size"], tuple(cfg["widths"]), tuple(cfg["strides"]))


def load_toy_detector(path: str | Path | None = None) -> ToyDetector:
    """The detector in eval mode with the shipped weights (``path=None``) or a ``.safetensors`` file of the same
    architecture. Without shipped weights it warns and returns the seeded random initialisation."""
    return toy_weights.load_weights(build(), path, WEIGHTS_PATH, TOY_DETECTOR, ToyDetectorError,
                                    "the toy detector has random weights (its detections mean nothing)")


__all__ = ["COLORS", "LABELS", "TOY_DETECTOR", "ToyDetection", "ToyDetector", "ToyDetectorError", "decode",
           "load_toy_detector"]
