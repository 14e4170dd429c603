"""Writing tiny clips as a folder of lossless videos (a reference set for the distribution metrics' tests)."""

from __future__ import annotations

from pathlib import Path

from vbench_lite.video_io import write_video


def write_clips(folder: Path, clips) -> Path:
    for i, clip in enumerate(clips):
        write_video(folder / f"{i}.mp4", clip, lossless=True)
    return folder
