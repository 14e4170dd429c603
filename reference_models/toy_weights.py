"""Config and weights of the toy vision models (``toy_detector``, ``toy_action``): one reader for both.

Each toy ships a JSON architecture config and a ``.safetensors`` file beside its code; a bad file is one line naming
it (the toy's own ``ValueError`` subclass), and a missing shipped file warns and leaves the seeded random weights.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from torch import nn


def read_config(path: Path, what: str, expected: Mapping[str, Sequence[str]], error: type[ValueError]) -> dict:
    """The JSON config at ``path``; each key of ``expected`` must list exactly the names this code knows."""
    try:
        cfg = json.loads(Path(path).read_text())
        for key, names in expected.items():
            if tuple(cfg[key]) != tuple(names):
                raise error(f"{path}: {key} differ from this code's {key.upper()}")
        return cfg
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, error):
            raise
        raise error(f"{path}: not a {what} config ({type(exc).__name__}: {exc})") from None


def load_weights(model: nn.Module, path: str | Path | None, shipped: Path, name: str, error: type[ValueError],
                 if_random: str) -> nn.Module:
    """``model`` in eval mode with the weights of ``path`` (``None``: the ``shipped`` file), its ``weights_sha256``
    and ``weights_path`` set. Without a shipped file it warns ``if_random`` and keeps the random weights."""
    from safetensors.torch import load_file

    weights = Path(path) if path is not None else shipped
    if path is None and not weights.is_file():
        warnings.warn(f"{weights} is missing: {if_random}", stacklevel=3)
        return model.eval()
    try:
        state = load_file(str(weights))
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except Exception as exc:  # safetensors raises its own error type; any failure is one line naming the file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"{weights}: not a {name} weights file ({first})") from None
    model.weights_sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
    model.weights_path = weights
    return model.eval()


__all__ = ["load_weights", "read_config"]
