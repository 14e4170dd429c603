"""Options and steps shared by the generate, score and run commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vbench_lite.types import SCORE_MAX_SIDE, VbenchError

DEFAULT_METRICS = "clip,fvd,temporal"


def parse_size(text: str) -> tuple[int, int]:
    """``"64"`` or ``"64x96"`` (height x width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 64 or 64x96, got {text!r}") from exc
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 8:
        raise argparse.ArgumentTypeError(f"size must be HxW with sides >= 8, got {text!r}")
    return parts[0], parts[1]


def add_generation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generator", required=True, help="adapter name (folder, command, python, synthetic, reference) "
                   "or module:attr")
    p.add_argument("--generator-args", default="", help="k=v,k=v passed to the adapter")
    p.add_argument("--suite", default=None, help="prompt suite name or file (default: standard)")
    p.add_argument("--samples", type=int, default=1, help="clips per prompt (default 1)")
    p.add_argument("--seed", type=int, default=0, help="base seed; sample i gets seed+i")
    p.add_argument("--frames", type=int, default=16, help="frames per clip (default 16)")
    p.add_argument("--size", type=parse_size, default=(64, 64), help="HxW of generated clips (default 64x64)")
    p.add_argument("--lossless", action="store_true", help="store clips as lossless RGB H.264 (.mkv)")
    p.add_argument("--limit", type=int, default=None, help="only the first N prompts of the suite")


def add_score_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", default=None,
                   help=f"comma-separated metrics (default {DEFAULT_METRICS}; without --reference, fvd is left out "
                   "and results.json says so)")
    p.add_argument("--metric-args", action="append", default=[], metavar="METRIC.KEY=VALUE",
                   help="settings of a metric, e.g. clip.frames=8 or fvd.dtype=float32 (repeatable)")
    p.add_argument("--reference", default=None, help="reference videos (DIR) or statistics (STATS.npz) for FVD/KVD")
    p.add_argument("--max-frames", type=int, default=128, help="decode at most this many frames a video")
    p.add_argument("--max-side", type=int, default=SCORE_MAX_SIDE,
                   help=f"downscale frames larger than this at decode (default {SCORE_MAX_SIDE}; 0: full size)")
    p.add_argument("--batch-size", type=int, default=8, help="clips per extraction batch")
    add_workers_option(p, "clips ahead of the models")
    add_device_option(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_workers_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--workers``: decode processes (``vbench_lite.streaming``), shared by score, run and fvd-stats."""
    p.add_argument("--workers", type=int, default=None,
                   help=f"processes decoding and preprocessing {what} (default: from the CPU count; 0: in this "
                   "process); never changes a number")


def check_workers(workers: int | None) -> None:
    if workers is not None and workers < 0:
        raise VbenchError(f"--workers must be 0 (decode in process) or more, got {workers}")


def device_name(text: str) -> str:
    """``--device``: ``cpu``, ``cuda`` or ``cuda:N`` (checked against the machine when the metrics are built)."""
    value = text.strip().lower()
    if value in ("cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")


def add_device_option(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument("--device", type=device_name, default=None, metavar="cpu|cuda",
                   help=help or "where every model metric runs (default: cuda when available); a metric's own "
                   "--metric-args NAME.device=... wins")


def check_device(device: str | None) -> None:
    """``--device cuda`` on a machine where torch sees no GPU is a usage error, said before anything runs."""
    if not device or device == "cpu":
        return
    import torch

    index = int(device.partition(":")[2] or 0)
    if not torch.cuda.is_available() or index >= torch.cuda.device_count():
        seen = torch.cuda.device_count() if torch.cuda.is_available() else "no"
        raise VbenchError(f"--device {device}: torch sees {seen} CUDA device(s) here; use --device cpu")


def metric_names(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise VbenchError("--metrics: no metric named")
    return names


def requested_metrics(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The metrics to score and those left out with the reason: ``(names, {name: why})``.

    The default list leaves out metrics that need ``--reference`` when none is given (said on the console and in
    results.json ``skipped_metrics``); asking for one by name without a reference is a usage error.
    """
    explicit = getattr(args, "metrics", None)
    names = _unique_names(metric_names(explicit or DEFAULT_METRICS))
    if getattr(args, "reference", None):
        return names, {}
    skipped: dict[str, str] = {}
    for name in list(names):
        plugin = _metric_plugin(name) if explicit else None
        needs = plugin.needs_reference if plugin is not None else name in REFERENCE_METRICS
        if not needs:
            continue
        if explicit:
            raise VbenchError(f"--metrics {name}: needs --reference (a folder of reference videos or the STATS.npz "
                              f"written by `vbench-lite fvd-stats`)")
        names.remove(name)
        skipped[name] = "not computed: no --reference given (a folder of reference videos or a STATS.npz)"
    return names, skipped


#: Metrics of the default list that need ``--reference`` (checked without importing them).
REFERENCE_METRICS = ("fvd",)


def validate_score_args(args: argparse.Namespace) -> None:
    """Refuse score options that would fail only after minutes of decoding, in seconds and before any video is
    read: unknown metric names, ``--metric-args`` for a metric not asked for or with a setting the plug-in does not
    have (checked without loading models), a ``--reference`` that does not exist or is neither a folder nor an
    ``.npz`` archive, and frame/batch counts below 1. Raises one-line :class:`VbenchError` (the CLI exits 2).

    ``score`` calls it first thing; ``run`` calls it before generating anything.
    """
    # Cheap checks first; importing the plug-ins (torch, open_clip) takes a few seconds.
    names = _unique_names(metric_names(getattr(args, "metrics", None) or DEFAULT_METRICS))
    for name in names:
        _check_metric_name(name)
    requested_metrics(args)
    check_device(getattr(args, "device", None))
    check_workers(getattr(args, "workers", None))
    for option in ("max_frames", "batch_size"):
        value = getattr(args, option, 1)
        if value is not None and value < 1:
            raise VbenchError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
    max_side = getattr(args, "max_side", 0)
    if max_side is not None and max_side < 0:
        raise VbenchError(f"--max-side must be a number of pixels, or 0 for full size; got {max_side}")
    reference = getattr(args, "reference", None)
    if reference:
        check_reference_path(reference)
    check_metric_args(names, getattr(args, "metric_args", None))


def check_metric_args(names: list[str], metric_args: list[str] | None) -> dict[str, dict[str, str]]:
    """``--metric-args`` only for metrics in ``names`` and only with settings each metric has (checked against its
    typed settings without loading a model); returns the parsed arguments. Used by score, run and calibrate."""
    from vbench_lite.pipeline import parse_metric_args

    parsed = parse_metric_args(metric_args)
    for name, settings in parsed.items():
        if name not in names:
            raise VbenchError(f"--metric-args: {name}.{next(iter(settings))}=... is for metric {name!r}, which is not "
                              f"in --metrics ({', '.join(names)})")
    plugins = {name: _metric_plugin(name) for name in names}
    for name, settings in parsed.items():
        if plugins[name] is not None:
            plugins[name].check_settings(settings)
    return parsed


def check_metric_names(text: str) -> list[str]:
    """The names of ``--metrics``: each once and each a metric (or ``module:attr`` metric class), else one line."""
    names = _unique_names(metric_names(text))
    for name in names:
        _check_metric_name(name)
    return names


def _unique_names(names: list[str]) -> list[str]:
    for i, name in enumerate(names):
        if name in names[:i]:
            raise VbenchError(f"--metrics: {name!r} is named twice")
    return names


def _check_metric_name(name: str) -> None:
    """A builtin metric's name, or ``module:Class`` (imported later): anything else is a typo."""
    import difflib

    from vbench_lite.registry import METRICS

    if name not in METRICS and ":" not in name:
        close = difflib.get_close_matches(name, METRICS.names(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise VbenchError(f"--metrics: unknown metric {name!r} ({hint}known: {', '.join(METRICS.names())}, or "
                          "module:Class)")


def _metric_plugin(name: str):
    """The plug-in class of ``name`` (importing its module, not building it: no model is loaded), or ``None`` for a
    builtin metric whose module cannot be imported (a missing optional dependency): that is not a usage error, and
    the pipeline reports the metric as unavailable while scoring the others."""
    from metrics.base import VideoMetric
    from vbench_lite.registry import METRICS

    try:
        cls = METRICS.get(name)
    except VbenchError as exc:
        if name in METRICS:
            return None
        raise VbenchError(f"--metrics: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, VideoMetric)):
        raise VbenchError(f"--metrics: {name!r} is not a metric plug-in (a subclass of metrics.base.VideoMetric)")
    return cls


def check_reference_path(reference: str) -> None:
    """``--reference`` must be a folder of videos or a readable ``.npz`` archive (what ``fvd-stats`` writes)."""
    import zipfile

    path = Path(reference)
    if path.is_dir():
        return
    if not path.exists():
        raise VbenchError(f"--reference {path}: no such file or folder (give a folder of reference videos or the "
                          "STATS.npz written by `vbench-lite fvd-stats`)")
    hint = "a folder of reference videos or the STATS.npz written by `vbench-lite fvd-stats`"
    try:
        ok = zipfile.is_zipfile(path)
        if ok:
            with zipfile.ZipFile(path) as archive:
                ok = any(n.endswith(".npy") for n in archive.namelist())
    except OSError as exc:
        raise VbenchError(f"--reference {path}: cannot read ({exc.strerror or exc})") from None
    except zipfile.BadZipFile:
        ok = False
    if not ok:
        raise VbenchError(f"--reference {path}: not an .npz archive of statistics (expected {hint})")


def limit_suite(suite, limit: int | None):
    if limit is None:
        return suite
    if limit < 1:
        raise VbenchError("--limit must be at least 1")
    from dataclasses import replace

    return replace(suite, prompts=suite.prompts[:limit])


def report_failures(failures, out=None, most: int = 20) -> None:
    out = out or sys.stderr  # looked up at call time: sys.stderr may have been replaced since import
    for f in failures[:most]:
        print(f"vbench-lite: failed: {f.error}", file=out)
    if len(failures) > most:
        print(f"vbench-lite: ... and {len(failures) - most} more failures (see results.json)", file=out)


def out_folder(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise VbenchError(f"{out}: exists and is not a folder")
    return out
