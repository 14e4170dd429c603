"""vbench-lite: an open evaluation and benchmarking suite for generated video."""

__version__ = "0.1.0"

from vbench_lite.types import Clip, Prompt, VbenchError

__all__ = ["Clip", "Prompt", "VbenchError", "__version__"]
