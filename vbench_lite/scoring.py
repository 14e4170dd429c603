"""What `score` scores and how each clip's features are extracted and cached (the pipeline's first half).

``collect_videos`` matches videos to prompts; ``extract_all`` decodes each video once, runs every metric's
``extract`` in batches and caches the features per clip and metric, atomically, keyed by the metric's cache key and
the decode settings (``feature_dir``) and checked against the video's sha256 (and, for text metrics, the prompt
text's) stored in each file, so a killed run never recomputes them and a changed input never reuses them. A clip
that fails (decode, or one metric's extract) is a one-line :class:`Failure`; the rest of the batch is kept.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metrics.base import VideoMetric
from vbench_lite.prompts import Suite
from vbench_lite.results import atomic_write_bytes, sha256_file
from vbench_lite.stages import StageTimes
from vbench_lite.types import SCORE_MAX_SIDE, Clip, Prompt, VbenchError, prompt_id_for_text, text_sha256
from vbench_lite.video_io import find_videos, parse_video_name, read_video


@dataclass
class VideoItem:
    """One video to score: its prompt, sample index and file."""

    prompt: Prompt
    sample: int
    path: Path

    @property
    def key(self) -> str:
        return f"{self.prompt.id}/{self.sample}"


@dataclass
class Failure:
    path: str
    error: str
    prompt_id: str | None = None
    sample: int | None = None
    stage: str = "score"  # generate | decode | metric:<name> | match

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _progress_bar(total: int, desc: str, enabled: bool = True):
    """One bar on stderr (clips done, clips/s, ETA), advanced as clips finish rather than as they are queued, so
    that the rate and the ETA are true when clips are extracted in batches. Off when stderr is not a terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="clip", disable=None if enabled else True, file=sys.stderr,
                dynamic_ncols=True, leave=True)  # left on screen: the final count and rate stay readable


# -- finding what to score --------------------------------------------------------------------------------------
def _norm_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def collect_videos(root: str | Path, suite: Suite | None) -> tuple[list[VideoItem], list[Failure]]:
    """Videos under ``root`` matched to prompts.

    ``<prompt_id>/<i>.<ext>`` takes the suite's prompt of that id; an id the suite does not have gives an ad-hoc
    prompt with no text (scored by metrics that need no text; text metrics fail it, one line per clip). VBench-style
    ``<prompt text>-<i>.<ext>`` is matched by text (case and spacing ignored) and, when the suite has no such prompt,
    scored with an ad-hoc prompt of that text whose id is unique for the exact text (``prompt_id_for_text``). A
    folder name that is not a safe file name is refused for that video only.
    """
    root = Path(root)
    # Exact texts win over the case/spacing-folded ones: VBench's "A fantasy landscape" and "a fantasy landscape"
    # are two prompts with two sets of files.
    by_text = {**{_norm_text(p.text): p for p in suite.prompts}, **{p.text: p for p in suite.prompts}} if suite else {}
    by_id = {p.id: p for p in suite.prompts} if suite else {}
    # A suite made from a `file,prompt` CSV names each video file itself (sample i of a prompt is files[i]).
    by_file = {file: (p, i) for p in (suite.prompts if suite else [])
               for i, file in enumerate(p.fields.get("files", []))}
    items: list[VideoItem] = []
    failures: list[Failure] = []
    seen: set[tuple[str, int]] = set()
    for path in find_videos(root):
        relative = path.relative_to(root).as_posix()
        if relative in by_file:
            prompt, sample = by_file[relative]
        else:
            key, sample, style = parse_video_name(path, root)
            try:
                prompt = _prompt_for(key, style, by_id, by_text, suite)
            except VbenchError as exc:
                failures.append(Failure(str(path), f"{path}: {exc}", None, sample, "match"))
                continue
        if (prompt.id, sample) in seen:
            failures.append(Failure(str(path), f"{path}: a second video for prompt {prompt.id!r} sample {sample}",
                                    prompt.id, sample, "match"))
            continue
        seen.add((prompt.id, sample))
        items.append(VideoItem(prompt, sample, path))
    items.sort(key=lambda it: (it.prompt.id, it.sample))
    return items, failures


def _prompt_for(key: str, style: str, by_id: dict[str, Prompt], by_text: dict[str, Prompt],
                suite: Suite | None) -> Prompt:
    if style == "id":
        if key in by_id:
            return by_id[key]
        # The folder names a prompt we do not know: its id is all we have, so it carries no text.
        where = f"suite {suite.name!r}" if suite else "no suite"
        return Prompt(id=key, text=key, category="unknown",
                      fields={"matched_by": "folder name", "no_text": True, "not_in": where})
    prompt = by_text.get(key) or by_text.get(_norm_text(key))
    if prompt is not None:
        return prompt
    return Prompt(id=prompt_id_for_text(key), text=key, category="unknown", fields={"matched_by": "file name"})


# -- per-clip features, cached ------------------------------------------------------------------------------------
@dataclass
class ScoreSettings:
    max_frames: int = 128
    max_side: int = SCORE_MAX_SIDE  # shared with `fvd-stats`: the decode rule is part of the FVD protocol
    batch_size: int = 8
    seed: int = 0
    #: Decode worker processes (None: :func:`vbench_lite.streaming.default_workers`; 0: decode in process). Not in
    #: :meth:`to_dict`: it changes the speed, never a number (tests/vbench_lite/test_scoring.py).
    workers: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "workers"}

    def resolved_workers(self) -> int:
        from vbench_lite.streaming import default_workers

        return default_workers() if self.workers is None else max(0, int(self.workers))

    def decode_args(self) -> dict[str, Any]:
        return {"max_frames": self.max_frames, "max_side": self.max_side}

    def decode(self) -> dict[str, Any]:
        """How every video is decoded before any metric sees it: part of every feature cache key."""
        return {"policy": "first", "max_frames": self.max_frames, "max_side": self.max_side}


def feature_dir(out_dir: Path, metric: VideoMetric, settings: ScoreSettings) -> Path:
    """Where a metric's per-clip features live: keyed by the metric's own key (model, weights, settings) and the
    decode settings, so a 16-frame run's features are never reused for a 128-frame request. The prompt text of
    ``uses_text`` metrics is checked per file (see :func:`load_features`)."""
    key = metric.cache_key()
    blob = json.dumps({"metric": key, "decode": settings.decode()}, sort_keys=True)
    # The key's own prefix, not the metric's name: metrics that share features (fvd_inf reads fvd's I3D features)
    # share the folder.
    return out_dir / "features" / f"{key.rsplit('-', 1)[0]}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _feature_path(folder: Path, item: VideoItem) -> Path:
    return folder / item.prompt.id / f"{item.sample}.npz"


@dataclass
class _Cached:
    features: dict[str, np.ndarray]
    notes: list[str]


def load_features(path: Path, source_sha: str, text_sha: str | None) -> _Cached | None:
    """The cached features if they came from this video (and, for text metrics, this prompt text), else None."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data.get("__source_sha256", "")) != source_sha:
                return None
            if text_sha is not None and str(data.get("__text_sha256", "")) != text_sha:
                return None
            notes = json.loads(str(data["__decode_notes"])) if "__decode_notes" in data.files else []
            return _Cached({k: data[k] for k in data.files if not k.startswith("__")}, [str(n) for n in notes])
    except Exception:  # a damaged cache file is recomputed, never trusted
        return None


def save_features(path: Path, features: dict[str, np.ndarray], source_sha: str, text_sha: str | None,
                   notes: Sequence[str]) -> None:
    meta = {"__source_sha256": np.array(source_sha), "__decode_notes": np.array(json.dumps(list(notes)))}
    if text_sha is not None:
        meta["__text_sha256"] = np.array(text_sha)
    buf = io.BytesIO()
    np.savez(buf, **meta, **{k: np.asarray(v) for k, v in features.items()})
    atomic_write_bytes(path, buf.getvalue())


def _text_sha(metric: VideoMetric, prompt: Prompt) -> str | None:
    return text_sha256(metric.prompt_key(prompt)) if metric.uses_text else None


def _no_text_error(item: VideoItem, metric: VideoMetric) -> str:
    return (f"{item.path}: {metric.name} needs the prompt text, and folder {item.prompt.id!r} names no prompt of "
            f"{item.prompt.fields.get('not_in', 'the suite')} (give --suite a file with this id, or name the file "
            "'<prompt text>-<i>.<ext>')")


def extract_all(items: list[VideoItem], metrics: list[VideoMetric], out_dir: Path, settings: ScoreSettings, *,
                progress: bool = True, stages: StageTimes | None = None
                ) -> tuple[dict[str, dict[str, dict[str, np.ndarray]]], list[Failure], dict[str, list[str]]]:
    """Per-clip features of every metric, from the cache where possible; the rest streamed through
    :mod:`vbench_lite.streaming` (``settings.workers`` processes decode and preprocess each clip once, ahead of
    the models, in order) and extracted a batch of ``settings.batch_size`` clips at a time.

    Returns ``({metric: {item.key: features}}, failures, {item.key: decode notes})``; ``stages`` collects the
    seconds spent per stage.
    """
    from vbench_lite.streaming import ClipJobs, stream, torch_threads

    stages = stages if stages is not None else StageTimes()
    features: dict[str, dict[str, dict[str, np.ndarray]]] = {m.name: {} for m in metrics}
    failures: list[Failure] = []
    notes: dict[str, list[str]] = {}
    folders = {m.name: feature_dir(out_dir, m, settings) for m in metrics}
    bar = _progress_bar(len(items), "score", progress)
    # (item, video sha256, names of the metrics that still need its features). Names, not metric objects: a
    # torchmetrics Metric's == builds a compositional metric (always truthy), so `metric in list` is never safe.
    todo: list[tuple[VideoItem, str, set[str]]] = []
    with stages.timed("cache"):
        for item in items:
            entry = _cached_or_todo(item, metrics, folders, features, failures, notes)
            if entry is None:
                bar.update(1)
            else:
                todo.append(entry)
    preparers = {m.name: p for m in metrics if (p := m.preparer()) is not None}
    jobs = ClipJobs([it.path for it, _, _ in todo], [need for _, _, need in todo], preparers, settings.decode_args(),
                    read=read_video)  # this module's name, looked up now: tests stand in for the decoder
    by_name = {m.name: m for m in metrics}
    # No pinning here: a metric stacks its clips' payloads into one batch, and pins that (FVD's extractor does).
    for batch in stream(jobs, batch_size=settings.batch_size, workers=settings.resolved_workers()):
        clips: dict[str, Clip] = {}
        prepared: dict[str, dict[str, Any]] = {}
        for dec in batch:
            item = todo[dec.index][0]
            for stage, seconds in dec.seconds.items():
                stages.add(stage, seconds)
            if dec.clip is None:
                failures.append(Failure(str(item.path), str(dec.error), item.prompt.id, item.sample, "decode"))
                continue
            clips[item.key] = dec.clip
            prepared[item.key] = dec.prepared
            notes[item.key] = list(dec.clip.notes)
        for metric in metrics:
            mine = [(todo[d.index][0], todo[d.index][1]) for d in batch
                    if metric.name in todo[d.index][2] and todo[d.index][0].key in clips]
            if mine:
                with stages.timed(f"model:{metric.name}"), torch_threads(_threads_for(by_name[metric.name])):
                    _extract_batch(by_name[metric.name], mine, clips, prepared, folders[metric.name], features,
                                   failures, notes)
        bar.update(len(batch))
    bar.close()
    return features, failures, notes


def _threads_for(metric: VideoMetric) -> int | None:
    """Torch intra-op threads for ``metric``'s model in the main process: its ``model_threads`` (1 for small
    models, whose ops are too short to share between threads on a busy machine; docs/fvd.md), else torch's
    default. The same with and without decode workers, so the features stay the same bytes."""
    threads = getattr(metric, "model_threads", None)
    return int(threads) if threads else None


def _cached_or_todo(item: VideoItem, metrics: list[VideoMetric], folders: dict[str, Path],
                    features: dict[str, dict[str, dict[str, np.ndarray]]], failures: list[Failure],
                    notes: dict[str, list[str]]) -> tuple[VideoItem, str, set[str]] | None:
    """Cached features of ``item`` added to ``features``; ``(item, sha256, metrics still needed)`` or None."""
    try:
        sha = sha256_file(item.path) if item.path.is_file() else _folder_sha(item.path)
    except OSError as exc:
        failures.append(Failure(str(item.path), f"{item.path}: cannot read ({exc})", item.prompt.id,
                                item.sample, "decode"))
        return None
    need: set[str] = set()
    for metric in metrics:
        if metric.uses_text and not item.prompt.has_text:
            failures.append(Failure(str(item.path), _no_text_error(item, metric), item.prompt.id, item.sample,
                                    f"metric:{metric.name}"))
            continue
        cached = load_features(_feature_path(folders[metric.name], item), sha, _text_sha(metric, item.prompt))
        if cached is None:
            need.add(metric.name)
        else:
            features[metric.name][item.key] = cached.features
            notes.setdefault(item.key, cached.notes)
    return (item, sha, need) if need else None


def _extract_batch(metric: VideoMetric, todo: list[tuple[VideoItem, str]], clips: dict[str, Clip],
                   prepared: dict[str, dict[str, Any]], folder: Path,
                   features: dict[str, dict[str, dict[str, np.ndarray]]], failures: list[Failure],
                   notes: dict[str, list[str]]) -> None:
    """``metric``'s features of the decoded clips in ``todo``, saved to the cache and added to ``features``."""
    from vbench_lite.streaming import PrepError

    def fail(it: VideoItem, exc: BaseException) -> None:
        failures.append(Failure(str(it.path), f"{it.path}: {metric.name}: {one_line(exc)}", it.prompt.id,
                                it.sample, f"metric:{metric.name}"))

    def run(part: list[tuple[VideoItem, str]]) -> list[dict[str, np.ndarray]]:
        part_clips, part_prompts = [clips[it.key] for it, _ in part], [it.prompt for it, _ in part]
        payloads = [prepared[it.key].get(metric.name) for it, _ in part]
        if metric.name in prepared[part[0][0].key]:
            return metric.extract_prepared(part_clips, part_prompts, payloads)
        return metric.extract(part_clips, part_prompts)

    ready = []
    for it, sha in todo:  # a clip its preparer refused fails here, one line, like a failed extract
        payload = prepared[it.key].get(metric.name)
        if isinstance(payload, PrepError):
            fail(it, payload.error)
        else:
            ready.append((it, sha))
    if not ready:
        return
    try:
        outputs = run(ready)
        if len(outputs) != len(ready):  # a metric that drops a clip would make it vanish without a failure line
            raise RuntimeError(f"{metric.name} returned {len(outputs)} feature sets for {len(ready)} clips")
        pairs = list(zip(ready, outputs))
    except Exception:
        # One bad clip must not fail the batch: retry one at a time to find it.
        pairs = []
        for it, sha in ready:
            try:
                pairs.append(((it, sha), run([(it, sha)])[0]))
            except Exception as exc:
                fail(it, exc)
    for (it, sha), feats in pairs:
        save_features(_feature_path(folder, it), feats, sha, _text_sha(metric, it.prompt), notes.get(it.key, []))
        features[metric.name][it.key] = feats


def one_line(exc: BaseException) -> str:
    """A user-facing line for an exception: a VbenchError's message, else the type name and the message."""
    text = str(exc) if isinstance(exc, VbenchError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def _folder_sha(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file():
            h.update(f.name.encode())
            h.update(sha256_file(f).encode())
    return h.hexdigest()
