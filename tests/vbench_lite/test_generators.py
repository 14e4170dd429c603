from __future__ import annotations

import itertools
import sys
import textwrap

import numpy as np
import pytest

from vbench_lite.generators.base import build_generator, parse_generator_args
from vbench_lite.generators.synthetic import (
    DEFECTS,
    SyntheticGenerator,
    render_scene,
    scene_from_prompt,
    synthetic_suite_prompts,
)
from vbench_lite.registry import GENERATORS
from vbench_lite.types import Clip, Prompt, VbenchError
from vbench_lite.video_io import write_video

PROMPT = Prompt(id="a-red-circle-moving-right-on-a-black-background",
                text="a red circle moving right on a black background")


def _gen(defect="none", **kw):
    return SyntheticGenerator(defect=defect, **kw).generate(PROMPT, seed=3, num_frames=12, size=(48, 64))


# -- registry and args ------------------------------------------------------------------------------------------
def test_registry_lists_builtin_adapters():
    assert {"folder", "command", "python", "synthetic"} <= set(GENERATORS.names())
    with pytest.raises(VbenchError, match="unknown generator 'nope'"):
        GENERATORS.get("nope")


def test_parse_generator_args():
    assert parse_generator_args("a=1,b=x=y, c=") == {"a": "1", "b": "x=y", "c": ""}
    assert parse_generator_args(r"argv=echo 1\,2") == {"argv": "echo 1,2"}
    with pytest.raises(VbenchError):
        parse_generator_args("novalue")


# -- synthetic --------------------------------------------------------------------------------------------------
def test_synthetic_is_deterministic_per_seed():
    a, b = _gen(), _gen()
    assert np.array_equal(a.frames, b.frames)
    other = SyntheticGenerator().generate(PROMPT, seed=4, num_frames=12, size=(48, 64))
    assert not np.array_equal(a.frames, other.frames)
    assert a.frames.shape == (12, 48, 64, 3) and a.fps == 8.0


def test_synthetic_renders_the_prompt():
    clip = _gen()
    f = clip.frames.astype(int)
    red = (f[..., 0] > 150) & (f[..., 1] < 90) & (f[..., 2] < 90)
    assert red.any(axis=(1, 2)).all()  # the red object is in every frame
    xs = [np.nonzero(red[t])[1].mean() for t in range(12)]
    assert all(a < b for a, b in itertools.pairwise(xs))  # moving right the whole clip, no bounce yet
    assert ((f[0] == 10).all(-1) | red[0]).mean() > 0.95  # black background (10, 10, 10) but anti-aliased edges


def test_text_and_fields_give_the_same_scene():
    for p in synthetic_suite_prompts()[::7]:
        assert scene_from_prompt(Prompt(id=p.id, text=p.text)) == scene_from_prompt(p)


def test_unrenderable_prompt():
    with pytest.raises(VbenchError, match="cannot render"):
        SyntheticGenerator().generate(Prompt(id="cat", text="a cat"), seed=0, num_frames=4, size=(32, 32))


def test_defects_do_what_they_say():
    clean = _gen().frames.astype(np.float64)
    freeze = _gen("freeze").frames
    assert all(np.array_equal(freeze[0], f) for f in freeze)
    flicker = _gen("flicker").frames.astype(np.float64)
    assert abs(flicker[1].mean() - clean[1].mean()) > 20 and np.array_equal(flicker[0], clean[0])
    shuffle = _gen("shuffle").frames
    assert sorted(map(bytes, shuffle)) == sorted(map(bytes, clean.astype(np.uint8)))
    assert not np.array_equal(shuffle, clean)
    noise = _gen("noise").frames.astype(np.float64)
    assert 20 < np.abs(noise - clean).mean() < 60  # sigma 60, half of it clipped on a black background
    blur = _gen("blur").frames.astype(np.float64)
    assert np.abs(np.diff(blur, axis=2)).mean() < np.abs(np.diff(clean, axis=2)).mean()
    wrong = _gen("wrong_color").frames.astype(int)
    assert not ((wrong[..., 0] > 150) & (wrong[..., 1] < 90) & (wrong[..., 2] < 90)).any()
    assert set(DEFECTS) == {"none", "flicker", "freeze", "shuffle", "wrong_color", "noise", "blur"}


def test_defect_strength_zero_is_clean():
    assert np.array_equal(_gen("noise", strength=0.0).frames, _gen().frames)


def test_bad_synthetic_args():
    with pytest.raises(VbenchError, match="unknown defect"):
        SyntheticGenerator(defect="melt")
    with pytest.raises(VbenchError, match="unknown arguments"):
        build_generator("synthetic", {"colour": "red"})


def test_objects_bounce_and_stay_in_frame():
    scene = scene_from_prompt(PROMPT)
    frames = render_scene(scene, seed=0, num_frames=80, size=(32, 32), rng_key="x")
    red = (frames[..., 0] > 150) & (frames[..., 1] < 90)
    assert red.any(axis=(1, 2)).all()


# -- folder -----------------------------------------------------------------------------------------------------
def test_folder_adapter_both_namings(tmp_path):
    clip = _gen()
    write_video(tmp_path / PROMPT.id / "1.mkv", clip, lossless=True)
    write_video(tmp_path / "A Blue Square Staying Still On A Gray Background-0.mkv", clip, lossless=True)
    gen = build_generator("folder", {"path": str(tmp_path)})
    out = gen.generate(PROMPT, seed=1, num_frames=16, size=(64, 64))
    assert np.array_equal(out.frames, clip.frames)
    other = Prompt(id="x", text="a blue square staying still on a gray background")
    assert gen.generate(other, seed=0, num_frames=16, size=(64, 64)).num_frames == 12
    with pytest.raises(VbenchError, match="no video for prompt"):
        gen.generate(PROMPT, seed=5, num_frames=16, size=(64, 64))


def test_folder_adapter_needs_a_folder(tmp_path):
    with pytest.raises(VbenchError, match="not a directory"):
        build_generator("folder", {"path": str(tmp_path / "missing")})


# -- command ----------------------------------------------------------------------------------------------------
@pytest.fixture
def gen_script(tmp_path):
    script = tmp_path / "gen.py"
    script.write_text(textwrap.dedent("""
        import sys, json, numpy as np
        from vbench_lite.types import Clip
        from vbench_lite.video_io import write_video
        args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
        if args["--prompt"] == "fail":
            sys.exit("generator crashed on purpose")
        if args["--prompt"] == "hang":
            import time; time.sleep(30)
        # the prompt arrives as one argument, byte for byte: encode its length in the pixels
        n = len(args["--prompt"])
        frames = np.full((int(args["--frames"]), 16, 16, 3), n, np.uint8)
        write_video(args["--out"], Clip(frames), lossless=True)
        open(args["--out"] + ".argv.json", "w").write(json.dumps(sys.argv[1:]))
    """))
    return script


def test_command_adapter_passes_prompt_as_one_argument(gen_script, tmp_path):
    argv = f"{sys.executable} {gen_script} --prompt {{prompt}} --seed {{seed}} --frames {{num_frames}} --out {{out}}"
    gen = build_generator("command", {"argv": argv, "ext": "mkv"})
    nasty = Prompt(id="nasty", text="a cat; rm -rf / && echo $HOME `id` \"quoted\" 'single'")
    built = gen.build_argv(nasty, seed=7, out=tmp_path / "o.mkv", num_frames=3, size=(16, 16))
    assert built[3] == nasty.text and built[5] == "7"
    clip = gen.generate(nasty, seed=7, num_frames=3, size=(16, 16))
    assert clip.num_frames == 3 and int(clip.frames[0, 0, 0, 0]) == len(nasty.text)


def test_command_adapter_errors(gen_script):
    argv = f"{sys.executable} {gen_script} --prompt {{prompt}} --frames 2 --out {{out}}"
    gen = build_generator("command", {"argv": argv, "timeout": "2"})
    with pytest.raises(VbenchError, match="exited 1 .*crashed on purpose"):
        gen.generate(Prompt(id="f", text="fail"), seed=0, num_frames=2, size=(16, 16))
    with pytest.raises(VbenchError, match="timed out after 2s"):
        gen.generate(Prompt(id="h", text="hang"), seed=0, num_frames=2, size=(16, 16))
    with pytest.raises(VbenchError, match="must contain {out}"):
        build_generator("command", {"argv": "echo {prompt}"})
    missing = build_generator("command", {"argv": "/no/such/program {out}"})
    with pytest.raises(VbenchError, match="program not found"):
        missing.generate(Prompt(id="p", text="p"), seed=0, num_frames=2, size=(16, 16))


# -- python -----------------------------------------------------------------------------------------------------
def float_chw_generator(prompt, *, seed, num_frames, size):
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.rand(num_frames, 3, size[0], size[1], generator=g)


def uint8_prompt_generator(prompt, *, seed, num_frames, size):
    assert isinstance(prompt, Prompt)
    return Clip(np.full((num_frames, size[0], size[1], 3), seed, np.uint8), fps=4)


def test_python_adapter_float_chw():
    gen = build_generator("python", {"callable": f"{__name__}:float_chw_generator"})
    clip = gen.generate(PROMPT, seed=1, num_frames=4, size=(8, 10))
    assert clip.frames.shape == (4, 8, 10, 3) and clip.frames.dtype == np.uint8
    again = gen.generate(PROMPT, seed=1, num_frames=4, size=(8, 10))
    assert np.array_equal(clip.frames, again.frames)


def test_python_adapter_prompt_object():
    gen = build_generator("python", {"callable": f"{__name__}:uint8_prompt_generator", "pass": "prompt"})
    assert int(gen.generate(PROMPT, seed=9, num_frames=2, size=(4, 4)).frames.max()) == 9


def test_python_adapter_bad_target():
    with pytest.raises(VbenchError, match="cannot import"):
        build_generator("python", {"callable": "no_such_module_xyz:fn"})
    with pytest.raises(VbenchError, match="give --generator-args callable"):
        build_generator("python", {})
