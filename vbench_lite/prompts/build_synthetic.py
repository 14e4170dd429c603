"""``python -m vbench_lite.prompts.build_synthetic``: write ``suites/synthetic.json`` from the synthetic world.

The prompts come from :func:`vbench_lite.generators.synthetic.synthetic_suite_prompts` (semantic fields included);
a test checks that the shipped file equals that, so rebuild (with ``--version``)
whenever the synthetic world changes.
"""

from __future__ import annotations

import sys

from vbench_lite.prompts._build import build_main
from vbench_lite.prompts.vocabulary import DIMENSIONS
from vbench_lite.types import Prompt

NAME = "synthetic"
DESCRIPTION = ("Coloured shapes moving on plain backgrounds, rendered exactly by the synthetic generator: every "
               "colour x shape x motion once, plus two-object scenes. Metrics have known answers on it.")
CATEGORIES = ["synthetic"]


def make_prompts() -> list[Prompt]:
    from vbench_lite.generators.synthetic import synthetic_suite_prompts

    return synthetic_suite_prompts()


def dimension_meanings() -> dict[str, str]:
    used = {d for p in make_prompts() for d in p.dimensions}
    return {d: meaning for d, meaning in DIMENSIONS.items() if d in used}


def main(argv: list[str] | None = None) -> int:
    return build_main(NAME, DESCRIPTION, CATEGORIES, dimension_meanings(), make_prompts, argv)


if __name__ == "__main__":
    sys.exit(main())
