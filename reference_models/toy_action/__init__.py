"""The offline toy action classifier: a tiny CNN that tells the synthetic world's motions apart.

It classifies a clip into :data:`ACTIONS` (the world's motions: moving left / right / up / down / diagonally, staying
still), so ``human_action`` runs offline in the demo and the tests with real signal. It was trained only on
vbench-lite's synthetic world (coloured shapes moving on plain backgrounds); on real video its answers mean nothing
(use a real Kinetics-400 classifier for that). ``MODEL_CARD.md`` says how it was trained and how well it does on
held-out renders; retrain with ``python -m vbench_lite.lab.train_toy_action``.

Architecture (``vbench-toy-action.json``): 8 frames sampled uniformly over the clip, each resized to 32 x 32
(bilinear, antialiased); the input is the 8 frames and their 7 successive differences stacked as channels
(45 x 32 x 32: the differences show where edges moved). Four conv layers, global average and max pooling, a linear
layer to 6 logits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reference_models import toy_weights

TOY_ACTION = "vbench-toy-action"
ACTIONS: tuple[str, ...] = ("moving left", "moving right", "moving up", "moving down", "moving diagonally",
                            "staying still")
PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_PATH = PACKAGE_DIR / f"{TOY_ACTION}.json"
WEIGHTS_PATH = PACKAGE_DIR / f"{TOY_ACTION}.safetensors"
MODEL_CARD_PATH = PACKAGE_DIR / "MODEL_CARD.md"
RANDOM_INIT = "random-init-seed0"


class ToyActionError(ValueError):
    """A weights file or config that cannot be loaded (one line naming the file)."""


def sample_indices(num_frames: int, n: int) -> np.ndarray:
    """``n`` frame indices spread uniformly over ``[0, num_frames - 1]`` (rounded; repeats when the clip is short)."""
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    return np.rint(np.linspace(0, num_frames - 1, n)).astype(int)


def resize_frames(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 ``(T, H, W, 3)`` -> float ``(T, 3, size, size)`` in [0, 1] (bilinear, antialiased; CPU)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def stack_input(x: torch.Tensor) -> torch.Tensor:
    """Resized frames ``(N, F, 3, S, S)`` in [0, 1] -> the network input ``(N, 3 (2F - 1), S, S)``: the frames and
    their successive differences as channels."""
    diffs = (x[:, 1:] - x[:, :-1]) * 4.0  # scaled up: a moving edge changes few pixels, and by less than 1
    return torch.cat([x.flatten(1, 2), diffs.flatten(1, 2)], dim=1)


class ToyActionClassifier(nn.Module):
    """``forward(x (N, 3 (2F - 1), S, S)) -> (N, len(ACTIONS))`` logits; :meth:`classify` takes uint8 frames."""

    def __init__(self, input_size: int = 32, num_frames: int = 8, widths: tuple[int, ...] = (32, 64, 64, 64),
                 strides: tuple[int, ...] = (1, 2, 2, 1)):
        super().__init__()
        self.input_size, self.num_frames = int(input_size), int(num_frames)
        layers, cin = [], 3 * (2 * self.num_frames - 1)
        for w, s in zip(widths, strides):
            layers += [nn.Conv2d(cin, w, 3, stride=s, padding=1), nn.ReLU(inplace=True)]
            cin = w
        self.backbone = nn.Sequential(*layers)
        self.fc = nn.Linear(2 * cin, len(ACTIONS))
        self.weights_sha256 = RANDOM_INIT
        self.weights_path: Path | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x)
        return self.fc(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1))

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` -> the float input ``(1, 3 (2F - 1), S, S)`` on the model's device
        (:func:`resize_frames` of the sampled frames, then :func:`stack_input`)."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
        picked = frames[sample_indices(len(frames), self.num_frames)]
        x = resize_frames(picked, self.input_size).to(self._device())
        return stack_input(x[None])

    @torch.no_grad()
    def classify(self, frames: np.ndarray) -> np.ndarray:
        """Probabilities over :data:`ACTIONS` (float64, shape ``(6,)``) for one uint8 clip ``(T, H, W, 3)``."""
        return self.classify_batch([frames])[0]

    @torch.no_grad()
    def classify_batch(self, clips: list[np.ndarray]) -> np.ndarray:
        """Probabilities ``(N, 6)`` for N clips (any sizes and lengths): the same numbers as one clip at a time."""
        if not clips:
            return np.zeros((0, len(ACTIONS)))
        x = torch.cat([self.preprocess(c) for c in clips])
        return torch.softmax(self(x).float(), dim=1).cpu().double().numpy()

    def _device(self) -> torch.device:
        return next(self.parameters()).device


def read_config(path: Path = CONFIG_PATH) -> dict:
    """The architecture config (``vbench-toy-action.json``)."""
    return toy_weights.read_config(path, "toy action", {"actions": ACTIONS}, ToyActionError)


def build(cfg: dict | None = None) -> ToyActionClassifier:
    """A randomly initialised classifier of the config's architecture (seed 0, so two builds are equal)."""
    cfg = cfg if cfg is not None else read_config()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ToyActionClassifier(cfg["input_size"], cfg["num_frames"], tuple(cfg["widths"]), tuple(cfg["strides"]))


def load_toy_action_classifier(path: str | Path | None = None) -> ToyActionClassifier:
    """The classifier in eval mode with the shipped weights (``path=None``) or a ``.safetensors`` file of the same
    architecture. Without shipped weights it warns and returns the seeded random initialisation."""
    return toy_weights.load_weights(build(), path, WEIGHTS_PATH, TOY_ACTION, ToyActionError,
                                    "the toy action classifier has random weights (its answers mean nothing)")


__all__ = ["ACTIONS", "TOY_ACTION", "ToyActionClassifier", "ToyActionError", "load_toy_action_classifier",
           "sample_indices"]
