"""Object detectors and box colours for VBench's detection dimensions (object_class, multiple_objects, color,
spatial_relationship); the rules themselves are in ``metrics/functional/vbench_semantic.py``.

VBench runs GRiT (a detectron2 dense captioner fetched from several places at run time). We use detectors a user
loads by name from one library:

* ``model=owlv2`` (default): ``transformers.Owlv2ForObjectDetection``, public name
  ``google/owlv2-base-patch16-ensemble`` (zoo ``owlv2-base-ensemble``; ``vbench-lite weights fetch owlv2-base-ensemble``
  saves model + processor). Open vocabulary: the text queries are the prompt's object names, as
  ``"a photo of a {object}"`` (the query form of OWL-ViT's and transformers' examples). OWLv2's processor pads each
  frame to a square (bottom/right) and resizes it to 960; its boxes are relative to the padded square, so
  ``post_process_object_detection`` scales them by ``max(H, W)`` and we clip them to the frame: boxes in frame
  pixels. Each box takes its best query as label; boxes scoring at most ``score_threshold`` are dropped (default 0.1:
  the default of transformers' ``Owlv2Processor.post_process_object_detection`` and of its OWLv2 example; OWLv2's
  sigmoid class scores are not calibrated like GRiT's 0.5 confidence, so GRiT's threshold does not carry over), then
  per-label NMS at IoU ``nms_iou`` (0.5, ``ROI_HEADS.NMS_THRESH_TEST`` of VBench's
  ``vbench/third_party/grit_src/configs/Base.yaml``) leaves one box per object.
* ``model=vbench-toy-detector``: the toy detector trained only on the synthetic world (shape label, colour head,
  box); its numbers are labelled toy.

Weights load, never downloading, from ``weights=PATH`` (a ``save_pretrained`` folder or its ``model.safetensors``),
the zoo folder, or the transformers offline cache of the public name; ``allow_download=true`` fetches into the zoo.
The tokenizer saved in the folder is used when present; otherwise OWLv2's CLIP BPE is built from open_clip's copy of
the same vocabulary (start 49406, end 49407, pad 0, context 16).

Colour of a box (the color dimension): ``color_method=clip`` crops the box and asks a CLIP (default OpenAI ViT-B/32
through open_clip, VBench's own CLIP) which of ``"a {colour} {object}"`` fits best, over VBench's colour words
(``vbench/color.py``) plus any asked colour outside them. VBench reads the colour from GRiT's caption of the box; a
zero-shot CLIP on the box is the closest captioner-free reading (a detector-only model has no colour). With the toy
detector, ``color_method=auto`` uses its own colour head (trained on exactly the world's colours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metrics.pretrained_folders import load_pretrained, resolve_pretrained_folder
from vbench_lite.model_zoo import OWLV2_BASE_ENSEMBLE
from vbench_lite.types import VbenchError

TOY_DETECTOR = "vbench-toy-detector"
DETECTORS = ("owlv2", TOY_DETECTOR)
OWLV2_PUBLIC_NAME = "google/owlv2-base-patch16-ensemble"
QUERY_TEMPLATE = "a photo of a {}"
DEFAULT_THRESHOLDS = {"owlv2": 0.1, TOY_DETECTOR: 0.5}
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


@dataclass
class Detection:
    label: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    score: float
    color: str = ""


def resolve_owlv2(weights: str | None, metric: str, allow_download: bool = False) -> tuple[Path, Path]:
    """``(folder from_pretrained reads, model.safetensors to hash)``, without network unless ``allow_download``."""
    return resolve_pretrained_folder(OWLV2_BASE_ENSEMBLE, weights, metric, allow_download)


def open_clip_token_ids(texts: Sequence[str], context_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """CLIP BPE ids as OWLv2's tokenizer gives them (``padding="max_length"``, truncation keeping the end token),
    from open_clip's copy of the vocabulary; the attention mask covers start .. end."""
    from open_clip.tokenizer import SimpleTokenizer

    ids = SimpleTokenizer(context_length=context_length)(list(texts))  # long texts: cut, last id = end token
    eot = ids.argmax(dim=-1, keepdim=True)  # 49407 is the largest id
    mask = (torch.arange(context_length)[None, :] <= eot).long()
    return ids.long(), mask


class Owlv2Detector:
    """OWLv2 from a local folder; ``detect(frames, queries)`` -> per frame a list of :class:`Detection`."""

    name = "owlv2"

    def __init__(self, weights: str | None, metric: str, *, device: str, allow_download: bool, batch_size: int,
                 score_threshold: float, nms_iou: float) -> None:
        from transformers import Owlv2ForObjectDetection, Owlv2ImageProcessor

        from metrics.video_encoders import file_sha256

        folder, file = resolve_owlv2(weights, metric, allow_download)
        self.model = model = load_pretrained(Owlv2ForObjectDetection, folder, f"OWLv2 weights for {metric}", device)
        self.device, self.batch_size = device, batch_size
        self.score_threshold, self.nms_iou = score_threshold, nms_iou
        self.weights_path, self.weights_sha256 = str(file), file_sha256(file)
        size = int(model.config.vision_config.image_size)
        if any((folder / f).is_file() for f in ("preprocessor_config.json", "processor_config.json")):
            self.processor = Owlv2ImageProcessor.from_pretrained(str(folder))
        else:  # OWLv2's preprocessing has no learned part: its defaults at the model's input size
            self.processor = Owlv2ImageProcessor(size={"height": size, "width": size})
        self.context_length = int(model.config.text_config.max_position_embeddings)
        self.tokenizer = None
        if any((folder / f).is_file() for f in TOKENIZER_FILES):
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)

    def describe(self) -> dict[str, Any]:
        return {"detector": self.name, "query_template": QUERY_TEMPLATE, "tokenizer": "folder" if self.tokenizer
                else "open_clip CLIP BPE", "image_size": int(self.processor.size.height)}

    def token_ids(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        if self.tokenizer is None:
            return open_clip_token_ids(texts, self.context_length)
        enc = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.context_length,
                             return_tensors="pt")
        return enc["input_ids"].long(), enc["attention_mask"].long()

    @torch.inference_mode()
    def detect(self, frames: np.ndarray, queries: Sequence[str]) -> list[list[Detection]]:
        from metrics.hardware import tf32_policy

        ids, mask = self.token_ids([QUERY_TEMPLATE.format(q) for q in queries])
        h, w = frames.shape[1:3]
        out: list[list[Detection]] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = [torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1) for f in
                     frames[start:start + self.batch_size]]
            pixels = self.processor(images=chunk, return_tensors="pt")["pixel_values"]
            n = len(chunk)
            with tf32_policy(self.device, False):
                outputs = self.model(input_ids=ids.repeat(n, 1).to(self.device),
                                     attention_mask=mask.repeat(n, 1).to(self.device),
                                     pixel_values=pixels.to(self.device))
            outputs.logits, outputs.pred_boxes = outputs.logits.float().cpu(), outputs.pred_boxes.float().cpu()
            results = self.processor.post_process_object_detection(outputs, threshold=self.score_threshold,
                                                                   target_sizes=[(h, w)] * n)
            for res in results:
                labels = [queries[int(i)] for i in res["labels"]]
                out.append(finish(res["boxes"], res["scores"], labels, [""] * len(labels), h, w, self.nms_iou))
        return out


class ToyDetectorBackend:
    """The synthetic world's toy detector (reference_models/toy_detector): shape labels, colours, boxes."""

    name = TOY_DETECTOR

    def __init__(self, weights: str | None, metric: str, *, device: str, score_threshold: float,
                 nms_iou: float, **_: Any) -> None:
        from reference_models.toy_detector import ToyDetectorError, load_toy_detector

        if weights and not Path(weights).is_file():
            raise VbenchError(f"{weights}: toy detector weights for {metric} not found")
        try:
            self.model = load_toy_detector(weights).to(device)
        except ToyDetectorError as exc:
            raise VbenchError(str(exc)) from None
        self.score_threshold, self.nms_iou = score_threshold, nms_iou
        self.weights_path = str(getattr(self.model, "weights_path", weights))
        self.weights_sha256 = str(getattr(self.model, "weights_sha256", "random-init"))

    def describe(self) -> dict[str, Any]:
        return {"detector": self.name}

    def detect(self, frames: np.ndarray, queries: Sequence[str]) -> list[list[Detection]]:
        h, w = frames.shape[1:3]
        out = []
        for dets in self.model.detect(frames, score_threshold=self.score_threshold):
            boxes = torch.tensor([list(d.box) for d in dets], dtype=torch.float64).reshape(-1, 4)
            scores = torch.tensor([float(d.score) for d in dets], dtype=torch.float64)
            out.append(finish(boxes, scores, [d.label for d in dets], [d.color for d in dets], h, w, self.nms_iou))
        return out


def finish(boxes: torch.Tensor, scores: torch.Tensor, labels: Sequence[str], colors: Sequence[str], h: int, w: int,
           nms_iou: float) -> list[Detection]:
    """Boxes clipped to the frame, those left without area dropped (a box wholly in OWLv2's square padding shows
    nothing of the frame: it is no detection of an object in the video), per-label NMS at ``nms_iou``, best score
    first (ties: detection order)."""
    from torchvision.ops import batched_nms

    boxes = boxes.double().reshape(-1, 4).clone()
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    scores = scores.double().reshape(-1)
    inside = ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).tolist()
    if not all(inside):
        rows = [i for i, ok in enumerate(inside) if ok]
        boxes, scores = boxes[rows], scores[rows]
        labels, colors = [labels[i] for i in rows], [colors[i] for i in rows]
    if not len(labels):
        return []
    codes = {name: i for i, name in enumerate(dict.fromkeys(labels))}
    keep = batched_nms(boxes, scores, torch.tensor([codes[x] for x in labels]), nms_iou) if nms_iou < 1 \
        else torch.arange(len(labels))
    order = sorted(keep.tolist(), key=lambda i: (-float(scores[i]), i))
    return [Detection(labels[i], tuple(float(v) for v in boxes[i]), float(scores[i]), colors[i]) for i in order]


def build_detector(kind: str, weights: str | None, metric: str, **kwargs: Any) -> Owlv2Detector | ToyDetectorBackend:
    if kind == "owlv2":
        return Owlv2Detector(weights, metric, **kwargs)
    if kind == TOY_DETECTOR:
        return ToyDetectorBackend(weights, metric, **kwargs)
    raise VbenchError(f"{metric}: unknown detector {kind!r} (known: {', '.join(DETECTORS)})")


class ClipBoxColors:
    """Zero-shot colour of a box crop: the best of ``"a {colour} {object}"`` under a CLIP (open_clip)."""

    def __init__(self, model: str, pretrained: str | None, weights: str | None, metric: str, *, device: str,
                 allow_download: bool) -> None:
        from metrics.clip_model import ClipEncoder
        from metrics.video_text import load_vbench_clip

        loaded = load_vbench_clip(metric, model, pretrained, weights, allow_download=allow_download, device=device,
                                  weights_setting="clip_weights")
        self.encoder = ClipEncoder(loaded, device=device, batch_size=1)

    @property
    def name(self) -> str:
        return self.encoder.loaded.name

    @property
    def weights_sha256(self) -> str:
        return self.encoder.loaded.weights_sha256

    def color(self, frame: np.ndarray, box: Sequence[float], obj: str, candidates: Sequence[str]) -> str:
        """The candidate colour CLIP prefers for the box's crop; "" for a box under one pixel wide or high."""
        x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
        x1, y1 = int(np.ceil(box[2])), int(np.ceil(box[3]))
        crop = frame[max(y0, 0):y1, max(x0, 0):x1]
        if crop.shape[0] < 1 or crop.shape[1] < 1:
            return ""
        image = self.encoder.encode_frames(np.ascontiguousarray(crop)[None])  # (1, D) unit rows
        texts = self.encoder.encode_texts([f"a {c} {obj}" for c in candidates])
        return candidates[int(torch.argmax(image @ texts.T))]


def detections_to_arrays(per_frame: Sequence[Sequence[Detection]], positions: Sequence[Sequence[int]],
                         words: list[str]) -> dict[str, np.ndarray]:
    """Flat arrays of the detections of each detected frame, repeated at every sampled position that frame fills:
    ``frame`` (position in the sampled list), ``label`` and ``color`` (indices into ``words``, which grows with
    every new name; colour -1 for none), ``box`` and ``score``. Names are stored as indices because the features
    must be numeric arrays (the cache files and the shared tester compare them as numbers)."""
    def code(word: str) -> int:
        if not word:
            return -1
        if word not in words:
            words.append(word)
        return words.index(word)

    rows = [(t, d) for dets, pos in zip(per_frame, positions) for t in pos for d in dets]
    rows.sort(key=lambda r: r[0])  # stable: each frame's detections keep their order
    return {"frame": np.asarray([t for t, _ in rows], dtype=np.int64),
            "label": np.asarray([code(d.label) for _, d in rows], dtype=np.int64),
            "box": np.asarray([d.box for _, d in rows], dtype=np.float64).reshape(-1, 4),
            "score": np.asarray([d.score for _, d in rows], dtype=np.float32),
            "color": np.asarray([code(d.color) for _, d in rows], dtype=np.int64)}


__all__ = ["DETECTORS", "OWLV2_PUBLIC_NAME", "TOY_DETECTOR", "ClipBoxColors", "Detection", "Owlv2Detector",
           "ToyDetectorBackend", "build_detector", "detections_to_arrays", "open_clip_token_ids", "resolve_owlv2"]
