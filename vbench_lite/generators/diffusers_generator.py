"""``diffusers``: any text-to-video (or image-to-video) diffusers pipeline as a generator.

    --generator diffusers --generator-args model=THUDM/CogVideoX-2b,steps=50,guidance=6,dtype=bf16
    --generator diffusers --generator-args model=./my-finetune,scheduler=DPMSolverMultistepScheduler,batch=4

``model`` is a folder written by ``save_pretrained`` or a Hugging Face hub id found in the local cache
(``allow_download=true`` lets it download; ``revision`` picks a branch, tag or commit). Loading rules (safetensors
only unless ``allow_pickle=true``; weights hashed once and remembered) live in
:mod:`vbench_lite.generators.diffusers_loading`. The clip shape is the run's ``--frames`` and ``--size HxW``;
``steps`` and ``guidance`` default to the pipeline's own defaults. Every other argument is listed in
:data:`ARGUMENTS`; ``call.NAME=VALUE`` passes any further keyword to the pipeline call (values read as JSON when
they parse: ``call.max_sequence_length=226``, ``call.use_dynamic_cfg=true``).

Seeds. The noise of clip (prompt, sample) comes from a CPU ``torch.Generator`` seeded with a stable hash of the
prompt id and the sample seed (:func:`noise_seed`), one generator per clip passed as diffusers' list of generators,
so a clip never depends on its batch, its rank, or the device (CPU generators draw the same numbers everywhere).

Batches. ``batch=N`` makes up to N clips per pipeline call. The pipeline tells the adapter which clips it is about
to ask for (:meth:`DiffusersGenerator.plan`); a call for the first of them makes the next N in one batch and keeps
the others until they are asked for. Batched and one-at-a-time clips agree up to float rounding of batched kernels
(at most one grey level in the tests).

Image-to-video pipelines (a call with a required ``image``) take the image from the prompt's ``image`` field (a
path, relative to the working folder); a prompt without one fails with one line.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from vbench_lite.generators.base import Generator, as_clip, unknown_arguments_error
from vbench_lite.generators.diffusers_loading import (
    hash_weights,
    import_diffusers,
    load_pipeline,
    resolve_model,
    set_scheduler,
    weights_files,
)
from vbench_lite.types import Clip, Prompt, VbenchError

DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16", "half": "float16",
          "fp32": "float32", "float32": "float32", "auto": "auto"}
OFFLOAD = ("none", "model", "sequential")
OUTPUT_TYPES = ("np", "pil", "pt")
#: Frame rates of the clips a model family was trained on (class name prefix -> fps); anything else plays at 8 fps
#: unless ``fps=`` says otherwise. Only the playback rate of the written file: scoring reads frames, not seconds.
FAMILY_FPS = {"CogVideoX": 8.0, "LTX": 24.0, "Wan": 16.0, "HunyuanVideo": 24.0, "Mochi": 30.0, "Latte": 8.0,
              "AnimateDiff": 8.0, "Allegro": 15.0}
_I2V_NAME = re.compile(r"image.?to.?video|i2v|img2vid|stablevideodiffusion", re.IGNORECASE)
CALL_PREFIX = "call."
#: Arguments that change how clips are made but not which clips: left out of :meth:`describe` (which a resumed run
#: must match), so a run killed by an out-of-memory error resumes with ``batch=1`` or ``cpu_offload=model``. They
#: are recorded in :meth:`provenance` with everything else.
EXECUTION_ONLY = ("batch", "cpu_offload", "vae_slicing", "device")
ARGUMENTS = ("model", "revision", "variant", "pipeline", "steps", "guidance", "negative_prompt", "dtype", "device",
             "scheduler", "batch", "cpu_offload", "vae_tiling", "vae_slicing", "fps", "output_type", "allow_download",
             "allow_pickle")


def parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise VbenchError(f"diffusers generator: {name} must be true or false, got {value!r}")


def parse_call_value(text: str) -> Any:
    """``call.k=v`` values: JSON when they parse (numbers, true/false, null, lists), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def noise_seed(prompt_id: str, seed: int) -> int:
    """The seed of a clip's noise: a stable hash of the prompt id and the sample seed (63 bits)."""
    digest = hashlib.sha256(f"diffusers|{prompt_id}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def default_device(device: str) -> str:
    """``auto`` -> this rank's GPU (``cuda:LOCAL_RANK``) when CUDA is available, else ``cpu``."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


class DiffusersGenerator(Generator):
    """A diffusers pipeline behind ``generate(prompt, *, seed, num_frames, size)`` (see the module docstring)."""

    name = "diffusers"
    extra_arguments = None  # ``call.*`` names are open-ended: checked here, against the pipeline's signature

    def __init__(self, **args: str) -> None:
        unknown = [k for k in args if k not in ARGUMENTS and not k.startswith(CALL_PREFIX)]
        if unknown:
            raise unknown_arguments_error(self.name, unknown, [*ARGUMENTS, "call.NAME"])
        if not args.get("model"):
            raise VbenchError("diffusers generator: give --generator-args model=HUB_ID_OR_FOLDER")
        a = dict(args)
        try:
            self.steps = int(a["steps"]) if a.get("steps") else None
            self.guidance = float(a["guidance"]) if a.get("guidance") else None
            self.batch = int(a.get("batch", 1))
            self.fps_arg = float(a["fps"]) if a.get("fps") else None
        except ValueError as exc:
            raise VbenchError(f"diffusers generator: bad number in arguments ({exc})") from exc
        if (self.steps is not None and self.steps < 1) or self.batch < 1 or (self.fps_arg or 1) <= 0:
            raise VbenchError("diffusers generator: steps and batch must be >= 1 and fps > 0")
        dtype = str(a.get("dtype", "auto")).lower()
        if dtype not in DTYPES:
            raise VbenchError(f"diffusers generator: dtype must be bf16, fp16, fp32 or auto, got {dtype!r}")
        self.offload = a.get("cpu_offload", "none") or "none"
        if self.offload not in OFFLOAD:
            raise VbenchError(f"diffusers generator: cpu_offload must be one of {', '.join(OFFLOAD)}, "
                              f"got {self.offload!r}")
        self.output_type = a.get("output_type", "np")
        if self.output_type not in OUTPUT_TYPES:
            raise VbenchError(f"diffusers generator: output_type must be one of {', '.join(OUTPUT_TYPES)}")
        self.allow_download = parse_bool("allow_download", a.get("allow_download", False))
        self.allow_pickle = parse_bool("allow_pickle", a.get("allow_pickle", False))
        vae_tiling = parse_bool("vae_tiling", a.get("vae_tiling", False))
        vae_slicing = parse_bool("vae_slicing", a.get("vae_slicing", False))
        self.negative_prompt = a.get("negative_prompt") or None
        self.call_kwargs = {k[len(CALL_PREFIX):]: parse_call_value(v) for k, v in a.items()
                            if k.startswith(CALL_PREFIX)}
        # results.json records every argument as given, plus the resolved values in provenance()
        super().__init__(**a)

        _, torch = import_diffusers()
        self.device = default_device(a.get("device", "auto") or "auto")
        if dtype == "auto":
            dtype = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.dtype = DTYPES[dtype]
        variant = a.get("variant") or None
        self.folder, self.source = resolve_model(a["model"], a.get("revision") or None,
                                                 allow_download=self.allow_download, allow_pickle=self.allow_pickle,
                                                 variant=variant)
        files = weights_files(self.folder, self.allow_pickle)  # refuses pickles before anything is read
        self.weights_sha256 = hash_weights(self.folder, files)
        self.pipe = load_pipeline(self.folder, torch_dtype=getattr(torch, self.dtype), allow_pickle=self.allow_pickle,
                                  variant=variant, pipeline_class=a.get("pipeline") or None)
        if a.get("scheduler"):
            set_scheduler(self.pipe, a["scheduler"])
        self._place(vae_tiling, vae_slicing)
        self._inspect_call()
        family = next((fps for prefix, fps in FAMILY_FPS.items() if type(self.pipe).__name__.startswith(prefix)), 8.0)
        self.fps = self.fps_arg or family
        self._plan: list[tuple[Prompt, int]] = []
        self._ready: dict[tuple[str, int], Any] = {}  # clips (or errors) made in a batch, not yet asked for

    # -- setup ---------------------------------------------------------------------------------------------------
    def _place(self, vae_tiling: bool, vae_slicing: bool) -> None:
        pipe = self.pipe
        if self.offload != "none" and not self.device.startswith("cuda"):
            raise VbenchError(f"diffusers generator: cpu_offload={self.offload} needs a CUDA device "
                              f"(device is {self.device})")
        try:
            if self.offload == "model":
                pipe.enable_model_cpu_offload(device=self.device)
            elif self.offload == "sequential":
                pipe.enable_sequential_cpu_offload(device=self.device)
            else:
                pipe.to(self.device)
        except (ImportError, RuntimeError, ValueError) as exc:  # accelerate missing, a bad device name...
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VbenchError(f"diffusers generator: cannot place the pipeline on {self.device}: {first}") from exc
        vae = getattr(pipe, "vae", None)
        for flag, method in ((vae_tiling, "enable_tiling"), (vae_slicing, "enable_slicing")):
            if flag:
                if vae is None or not hasattr(vae, method):
                    raise VbenchError(f"diffusers generator: this pipeline's VAE has no {method}()")
                getattr(vae, method)()

    def _inspect_call(self) -> None:
        """Read the pipeline's call signature once: which names it takes, and whether it wants an image."""
        params = inspect.signature(self.pipe.__call__).parameters
        self.params = params
        self.frames_param = next((n for n in ("num_frames", "video_length") if n in params), None)
        if self.frames_param is None:
            raise VbenchError(f"{self.folder}: {type(self.pipe).__name__} takes no frame count "
                              "(num_frames); it is not a video pipeline")
        image = params.get("image")
        self.needs_image = image is not None and (image.default is inspect.Parameter.empty
                                                  or bool(_I2V_NAME.search(type(self.pipe).__name__)))
        for arg, name in (("steps", "num_inference_steps"), ("guidance", "guidance_scale"),
                          ("negative_prompt", "negative_prompt")):
            if getattr(self, arg) is not None and name not in params:
                raise VbenchError(f"diffusers generator: {type(self.pipe).__name__} takes no {name}, so {arg}= "
                                  "cannot be used (pass the pipeline's own name with call.NAME=VALUE)")
        # Only named parameters: a pipeline's **kwargs swallows deprecated names silently, so a typo would too.
        named = [k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        bad = [k for k in self.call_kwargs if k not in named]
        if bad:
            raise unknown_arguments_error(self.name, [CALL_PREFIX + k for k in bad], [CALL_PREFIX + k for k in named])

    # -- the run tells us what comes next ------------------------------------------------------------------------
    def plan(self, requests: list[tuple[Prompt, int]], *, num_frames: int, size: tuple[int, int]) -> None:
        """The (prompt, seed) pairs the pipeline will ask for, in order (it skips the clips already on disk)."""
        self._plan = list(requests)
        self._ready.clear()

    def generate(self, prompt: Prompt, *, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        key = (prompt.id, seed)
        if key in self._ready:
            out = self._ready.pop(key)
        else:
            chunk = self._next_chunk(prompt, seed)
            try:
                clips = self.make_clips(chunk, num_frames=num_frames, size=size)
            except VbenchError as exc:
                clips = [exc] * len(chunk)
            for (p, s), clip in zip(chunk[1:], clips[1:]):
                self._ready[(p.id, s)] = clip
            out = clips[0]
        if isinstance(out, BaseException):
            raise out
        return out

    def _next_chunk(self, prompt: Prompt, seed: int) -> list[tuple[Prompt, int]]:
        """This request and up to ``batch - 1`` planned ones after it that are not made yet."""
        chunk = [(prompt, seed)]
        keys = [(p.id, s) for p, s in self._plan]
        if self.batch > 1 and (prompt.id, seed) in keys:
            start = keys.index((prompt.id, seed)) + 1
            for p, s in self._plan[start:]:
                if len(chunk) == self.batch:
                    break
                if (p.id, s) not in self._ready and (not self.needs_image or p.fields.get("image")):
                    chunk.append((p, s))
        return chunk

    # -- one pipeline call ---------------------------------------------------------------------------------------
    def make_clips(self, requests: list[tuple[Prompt, int]], *, num_frames: int,
                   size: tuple[int, int]) -> list[Clip]:
        """One pipeline call for several (prompt, seed) pairs; one uint8 clip each, in order."""
        import torch

        self._check_frames(num_frames)
        kwargs: dict[str, Any] = {self.frames_param: num_frames}
        kwargs.update({k: v for k, v in (("height", size[0]), ("width", size[1])) if k in self.params})
        if "prompt" in self.params:
            kwargs["prompt"] = [p.text for p, _ in requests]
        if self.needs_image:
            kwargs["image"] = [self._image(p) for p, _ in requests]
        if self.steps is not None:
            kwargs["num_inference_steps"] = self.steps
        if self.guidance is not None:
            kwargs["guidance_scale"] = self.guidance
        if self.negative_prompt:
            kwargs["negative_prompt"] = [self.negative_prompt] * len(requests)
        if "output_type" in self.params:
            kwargs["output_type"] = self.output_type
        kwargs["generator"] = [torch.Generator("cpu").manual_seed(noise_seed(p.id, s)) for p, s in requests]
        kwargs.update(self.call_kwargs)
        try:
            with torch.inference_mode():
                out = self.pipe(**kwargs)
        except torch.OutOfMemoryError as exc:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise VbenchError(
                f"diffusers generator: out of GPU memory making {len(requests)} clip(s) of {num_frames} frames at "
                f"{size[0]}x{size[1]} with {self.args['model']} in {self.dtype} on {self.device}; try batch=1, "
                "cpu_offload=model, vae_tiling=true,vae_slicing=true, dtype=bf16, or a smaller --size/--frames"
            ) from exc
        except (ValueError, TypeError) as exc:  # diffusers' check_inputs: sizes not divisible by 8/16, ...
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise VbenchError(f"diffusers generator: {type(self.pipe).__name__} refused {num_frames} frames of "
                              f"{size[0]}x{size[1]}: {first}") from exc
        frames = out.frames if hasattr(out, "frames") else out[0]
        return [self._to_clip(frames[i], p, s, num_frames, size) for i, (p, s) in enumerate(requests)]

    def _temporal_factor(self) -> int | None:
        """How many frames one latent frame decodes to (diffusers spells the attribute three ways)."""
        for attr in ("vae_scale_factor_temporal", "vae_temporal_compression_ratio", "vae_temporal_scale_factor"):
            k = getattr(self.pipe, attr, None)
            if isinstance(k, int):
                return k
        return None

    def _check_frames(self, num_frames: int) -> None:
        """Video VAEs that compress time by k decode 1 + k*m frames: refuse other counts before running."""
        k = self._temporal_factor()
        if isinstance(k, int) and k > 1 and (num_frames - 1) % k:
            below = num_frames - (num_frames - 1) % k
            raise VbenchError(f"diffusers generator: {type(self.pipe).__name__} makes 1 + {k}*m frames; "
                              f"--frames {num_frames} is not one (use --frames {below} or {below + k})")

    def _image(self, prompt: Prompt):
        from PIL import Image

        path = prompt.fields.get("image")
        if not path:
            raise VbenchError(f"prompt {prompt.id}: {type(self.pipe).__name__} is an image-to-video pipeline and "
                              "this prompt has no image (add an 'image' path to the prompt's fields)")
        try:
            with Image.open(Path(path).expanduser()) as img:
                return img.convert("RGB")
        except OSError as exc:
            raise VbenchError(f"prompt {prompt.id}: cannot read its image {path}: {exc}") from exc

    def _to_clip(self, item: Any, prompt: Prompt, seed: int, num_frames: int, size: tuple[int, int]) -> Clip:
        """One video of a pipeline's output (PIL list, numpy or torch array) -> a uint8 clip of the asked shape."""
        source = f"diffusers:{prompt.id}:{seed}"
        if isinstance(item, (list, tuple)) and item and hasattr(item[0], "convert"):  # PIL images
            item = np.stack([np.asarray(im.convert("RGB")) for im in item])
        clip = as_clip(item, source, self.fps)
        if clip.num_frames != num_frames:
            k = self._temporal_factor()
            hint = f" (its VAE makes 1 + {k}*m frames)" if isinstance(k, int) and k > 1 else ""
            raise VbenchError(f"{source}: {type(self.pipe).__name__} made {clip.num_frames} frames when "
                              f"{num_frames} were asked; this model does not support --frames {num_frames}{hint}")
        if clip.size != tuple(size):
            raise VbenchError(f"{source}: {type(self.pipe).__name__} made {clip.size[0]}x{clip.size[1]} frames when "
                              f"{size[0]}x{size[1]} were asked (--size)")
        return clip

    # -- records -------------------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {k: v for k, v in self.args.items() if k not in EXECUTION_ONLY}}

    def provenance(self) -> dict[str, Any]:
        import diffusers

        pipe = self.pipe
        out: dict[str, Any] = dict(self.source)
        out.update({
            "pipeline": type(pipe).__name__, "diffusers": diffusers.__version__,
            "scheduler": {"class": type(pipe.scheduler).__name__,
                          "config": {k: v for k, v in dict(pipe.scheduler.config).items()
                                     if isinstance(v, (int, float, str, bool, type(None), list))}},
            "dtype": self.dtype, "device": self.device, "cpu_offload": self.offload, "fps": self.fps,
            "steps": self.steps if self.steps is not None else "pipeline default",
            "guidance": self.guidance if self.guidance is not None else "pipeline default",
            "batch": self.batch, "call_kwargs": self.call_kwargs, "image_to_video": self.needs_image,
            "noise": "one CPU torch.Generator per clip, seeded by sha256('diffusers|<prompt id>|<seed>')",
            "weights_sha256": self.weights_sha256, "args": dict(self.args),
        })
        return out


__all__ = ["ARGUMENTS", "DiffusersGenerator", "noise_seed"]
