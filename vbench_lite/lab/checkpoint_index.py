"""``reference_models/checkpoints/CHECKPOINTS.md`` and ``preview.png``: the index of the shipped DiT checkpoints.

Written by ``python -m vbench_lite.lab.train_video_dit --write-index [--preview]`` from each checkpoint's metadata,
``fvd.json`` and samples of every checkpoint; the hand-written notes at the end of the file are kept.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from reference_models.video_dit_checkpoint import CHECKPOINT_DIR
from vbench_lite.generators.reference import ReferenceGenerator
from vbench_lite.lab.checkpoint_eval import EVAL_SEED, evaluation_prompts, render_clips
from vbench_lite.results import sha256_file

INDEX_HEADER = """# Reference video DiT checkpoints

Written by `python -m vbench_lite.lab.train_video_dit --write-index` from each checkpoint's metadata (the same
JSON block that is inside the safetensors file: model config and training record). Load one with
`--generator reference --generator-args checkpoint=NAME` (NAME as below) or a path; the generator checks nothing
against this table, but `tests/reference_models/test_video_dit.py` checks that every sha256 here matches its file.

Model: rectified-flow video DiT (`reference_models/video_dit.py`, config VDiT-T in `dit_configs/vdit.json`): native
clips of 16 frames at 32x32, tubelets 4x4x4 (a 4x8x8 grid of 256 tokens), width 64, 4 blocks, x0-prediction;
trained on the exact synthetic renderer (all suite prompts, training render seeds 100000 and up; every smaller seed
is held out). Weights are the EMA weights in float32. The same command on the same machine and torch version gives
the same bytes (single-threaded, seeded); other machines may differ in the last bits.

"""


#: CHECKPOINTS.md from this heading on is written by hand (how the recipe was chosen): :func:`write_index` keeps it.
NOTES_HEADING = "## How the recipe was chosen"
FVD_FILE = "fvd.json"
PREVIEW_FILE = "preview.png"


def write_index(directory: str | Path = CHECKPOINT_DIR) -> Path:
    """Rewrite ``CHECKPOINTS.md``: one row per ``*.safetensors`` with its training facts and sha256, plus the FVD
    table of ``fvd.json`` (written by ``python -m vbench_lite.lab.strategy_cost --fvd ...``) when present,
    and keeps the hand-written notes (from :data:`NOTES_HEADING` on) of the file it replaces."""
    from safetensors import safe_open

    directory = Path(directory)
    rows = ["| name | strategy | params | steps | seed | wall time | final loss | pixel FD (untrained) | "
            "motion FD (untrained) | sha256 |", "|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    for path in sorted(directory.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            params = sum(math.prod(fh.get_slice(k).get_shape()) for k in fh.keys())
        config = json.loads(meta.get("config", "{}"))
        training = json.loads(meta.get("training", "{}"))
        ev, base = training.get("eval", {}), training.get("eval_untrained", {})
        rows.append(
            f"| `{path.stem}` | {config.get('strategy', '?')} | {params:,} | {training.get('steps', '?')} | "
            f"{training.get('seed', '?')} | {training.get('wall_time_s', '?')} s | {training.get('final_loss', '?')}"
            f" | {ev.get('pixel_fd', '?')} ({base.get('pixel_fd', '?')}) | {ev.get('motion_fd', '?')} "
            f"({base.get('motion_fd', '?')}) | `{sha256_file(path)}` |")
        commands.append(f"- `{path.stem}`: `{training.get('command', '?')}`")
    text = (INDEX_HEADER + "\n".join(rows) + "\n\nPixel FD / motion FD: `checkpoint_eval.pixel_frechet` of 52 "
            f"generated clips (every 4th suite prompt, noise seed {EVAL_SEED}, 16 Euler steps) against the exact "
            "renderer at the same held-out seed; in brackets the untrained model of the same config (adaLN-Zero: "
            "it predicts x0 = 0, so its clips are uniform mid-grey). Lower is better. Wall time was measured on a "
            "shared 2-core machine with other jobs running.\n\n## Training commands\n\nAs recorded in each "
            "checkpoint's metadata (the script is now `python -m vbench_lite.lab.train_video_dit`, same options):\n\n"
            + "\n".join(commands) + "\n")
    fvd_path = directory / FVD_FILE
    if fvd_path.exists():
        fvd = json.loads(fvd_path.read_text())
        lines = ["| checkpoint | FVD |", "|---|---|"]
        lines += [f"| `{name}` | {value:.1f} |" for name, value in fvd["fvd"].items()]
        text += ("\n## FVD against the exact renderer\n\n" + "\n".join(lines) + "\n\n" + fvd.get("note", "") + "\n")
    if (directory / PREVIEW_FILE).exists():
        text += (f"\n## Preview\n\n![samples]({PREVIEW_FILE})\n\nEach group: the exact renderer (top), then every "
                 "shipped checkpoint in the order of the table (the `reference` generator's default sampler: 32 "
                 "steps, eta 1), same prompt, every other frame. Written by "
                 "`python -m vbench_lite.lab.train_video_dit --write-index --preview`.\n")
    out = directory / "CHECKPOINTS.md"
    old = out.read_text() if out.exists() else ""
    if NOTES_HEADING in old:
        text += "\n" + old[old.index(NOTES_HEADING):]
    out.write_text(text)
    return out


def write_preview(directory: str | Path = CHECKPOINT_DIR, *, prompt_stride: int = 26, seed: int = EVAL_SEED) -> Path:
    """A PNG of a few held-out samples of every checkpoint (the ``reference`` generator's default sampler) under
    the exact renderer's clip of the same prompt."""
    import cv2

    directory = Path(directory)
    generators = [ReferenceGenerator(checkpoint=str(p)) for p in sorted(directory.glob("*.safetensors"))]
    prompts = evaluation_prompts(stride=prompt_stride)
    reference = render_clips(prompts, [seed] * len(prompts), generators[0].config)
    generated = [g.sample_frames(prompts, [seed] * len(prompts)) for g in generators]  # the generator's sampler
    rows = [clip for k in range(len(prompts)) for clip in [reference[k], *(g[k] for g in generated)]]
    out = directory / PREVIEW_FILE
    cv2.imwrite(str(out), preview_grid(rows, scale=2)[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out


def preview_grid(rows: list[np.ndarray], *, every: int = 2, scale: int = 2, gap: int = 2) -> np.ndarray:
    """One image of several clips: each clip uint8 ``(T, H, W, 3)`` is a row of every ``every``-th frame."""
    tiles = []
    for clip in rows:
        frames = clip[::every].repeat(scale, axis=1).repeat(scale, axis=2)  # (T', sH, sW, 3), nearest upscaling
        sep = np.full((frames.shape[1], gap, 3), 255, np.uint8)
        tiles.append(np.concatenate([x for f in frames for x in (f, sep)][:-1], axis=1))  # (sH, row width, 3)
        tiles.append(np.full((gap, tiles[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=0)
