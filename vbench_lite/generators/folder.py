"""``folder``: pre-generated videos, as ``<prompt_id>/<i>.<ext>`` or VBench-style ``<prompt text>-<i>.<ext>``.

Sample ``i`` of a prompt is the video numbered ``seed - base_seed`` (so ``--seed 0`` reads 0, 1, 2...).
The clip is returned as decoded; ``num_frames``/``size`` are not forced on pre-made videos.
"""

from __future__ import annotations

from pathlib import Path

from vbench_lite.generators.base import Generator
from vbench_lite.types import Clip, Prompt, VbenchError
from vbench_lite.video_io import find_videos, parse_video_name, read_video


class FolderGenerator(Generator):
    name = "folder"
    honours_shape = False  # videos made elsewhere are scored as they are (see the module docstring)

    def __init__(self, path: str | None = None, base_seed: str | int = 0, max_side: str | int = 1024) -> None:
        if not path:
            raise VbenchError("folder generator: give --generator-args path=DIR")
        super().__init__(path=str(path), base_seed=int(base_seed), max_side=int(max_side))
        self.root = Path(path)
        if not self.root.is_dir():
            raise VbenchError(f"{self.root}: not a directory")
        self.base_seed = int(base_seed)
        self.max_side = int(max_side)
        self._index: dict[tuple[str, int], Path] | None = None

    def _lookup(self) -> dict[tuple[str, int], Path]:
        if self._index is None:
            index: dict[tuple[str, int], Path] = {}
            for path in find_videos(self.root):
                key, sample, style = parse_video_name(path, self.root)
                norm = key if style == "id" else " ".join(key.casefold().split())
                index.setdefault((norm, sample), path)
            self._index = index
        return self._index

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        sample = seed - self.base_seed
        index = self._lookup()
        path = index.get((prompt.id, sample)) or index.get((" ".join(prompt.text.casefold().split()), sample))
        if path is None:
            raise VbenchError(f"{self.root}: no video for prompt {prompt.id!r} sample {sample} "
                              f"(expected {prompt.id}/{sample}.mp4 or '{prompt.text}-{sample}.mp4')")
        return read_video(path, max_side=self.max_side)
