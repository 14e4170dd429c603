"""Generator adapters: one per file, all behind :class:`vbench_lite.generators.base.Generator`."""

from vbench_lite.generators.base import Generator, build_generator, parse_generator_args

__all__ = ["Generator", "build_generator", "parse_generator_args"]
