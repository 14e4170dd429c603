from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from vbench_lite.generators.base import FLOAT_RANGE_SLACK, Generator, as_clip, build_generator, parse_generator_args
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
    assert set(DEFECTS) == {"none", "flicker", "freeze", "shuffle", "wrong_color", "noise", "blur", "drop", "compress",
                            "color_shift", "jitter", "remove_object"}  # each tested in test_video_defects.py


def test_defect_strength_zero_is_clean():
    assert np.array_equal(_gen("noise", strength=0.0).frames, _gen().frames)


def test_bad_synthetic_args():
    with pytest.raises(VbenchError, match="unknown defect"):
        SyntheticGenerator(defect="melt")
    with pytest.raises(VbenchError, match="unknown argument 'colour' for generator 'synthetic'"):
        build_generator("synthetic", {"colour": "red"})


# -- a typo in --generator-args (issue 12 item 13) ----------------------------------------------------------------
def test_generator_arg_typo_lists_the_valid_arguments_and_the_closest(tmp_path):
    cases = [
        ("folder", {"pth": str(tmp_path)}, "unknown argument 'pth' (did you mean 'path'?) for generator 'folder'; "
                                           "valid arguments: path, base_seed, max_side"),
        ("command", {"argv": "x {out}", "timout": "3"},
         "unknown argument 'timout' (did you mean 'timeout'?) for generator 'command'; "
         "valid arguments: argv, timeout, ext, cwd"),
        ("python", {"calable": "m:f"}, "unknown argument 'calable' (did you mean 'callable'?) for generator "
                                       "'python'; valid arguments: callable, fps, fn, pass"),
        ("synthetic", {"defect": "blur", "zz": "1"}, "unknown argument 'zz' for generator 'synthetic'; "
                                                     "valid arguments: defect, strength, fps"),
    ]
    for name, args, message in cases:
        with pytest.raises(VbenchError) as info:
            build_generator(name, args)
        assert str(info.value) == f"--generator-args: {message}"  # one line, no Python internals


def test_a_bad_argument_value_is_one_line():
    with pytest.raises(VbenchError) as info:
        build_generator("synthetic", {"fps": "fast"})
    assert str(info.value) == ("--generator-args: bad arguments {'fps': 'fast'} for generator 'synthetic': "
                               "could not convert string to float: 'fast'")


class AnyArgsGenerator(Generator):
    """A user's adapter taking any ``**kwargs``: its names cannot be checked for it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)


def test_adapters_taking_any_argument_are_not_second_guessed():
    gen = build_generator(f"{__name__}:AnyArgsGenerator", {"whatever": "1"})
    assert gen.args == {"whatever": "1"}


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


def test_placeholders_in_the_prompt_arrive_verbatim(gen_script, tmp_path):
    argv = (f"{sys.executable} {gen_script} --prompt {{prompt}} --seed {{seed}} --frames {{num_frames}} "
            "--out {out} --tag {prompt_id}-{seed}x{width}")
    gen = build_generator("command", {"argv": argv, "ext": "mkv"})
    text = "a {seed} cat at {out} saying {prompt} {nope} {{seed}}"
    prompt = Prompt(id="braces", text=text)
    built = gen.build_argv(prompt, seed=7, out=tmp_path / "o.mkv", num_frames=3, size=(16, 24))
    assert built[3] == text and built[5] == "7" and built[-1] == "braces-7x24"
    clip = gen.generate(prompt, seed=7, num_frames=3, size=(16, 16))
    assert int(clip.frames[0, 0, 0, 0]) == len(text)  # the program saw exactly the prompt's characters


def test_command_output_lives_in_the_work_dir(tmp_path):
    script = tmp_path / "where.py"
    script.write_text(textwrap.dedent("""
        import sys, numpy as np
        from vbench_lite.types import Clip
        from vbench_lite.video_io import write_video
        write_video(sys.argv[1], Clip(np.zeros((2, 8, 8, 3), np.uint8)), lossless=True)
        open(sys.argv[2], "w").write(sys.argv[1])
    """))
    record = tmp_path / "out.txt"
    gen = build_generator("command", {"argv": f"{sys.executable} {script} {{out}} {record}", "ext": "mkv"})
    gen.work_dir = tmp_path / "run" / "tmp"
    gen.generate(Prompt(id="p", text="p"), seed=0, num_frames=2, size=(8, 8))
    out = Path(record.read_text())
    assert out.parent.parent == gen.work_dir and not out.parent.exists()  # used there, then removed


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as dead: it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_killing_the_parent_kills_the_command(tmp_path):
    child, parent, pidfile = tmp_path / "child.py", tmp_path / "parent.py", tmp_path / "child.pid"
    child.write_text("import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    parent.write_text(textwrap.dedent(f"""
        from vbench_lite.generators.base import build_generator
        from vbench_lite.types import Prompt
        gen = build_generator("command", {{"argv": {f"{sys.executable} {child} {pidfile} {{out}}"!r}}})
        gen.generate(Prompt(id="p", text="p"), seed=0, num_frames=2, size=(8, 8))
    """))
    repo = Path(__file__).resolve().parents[2]  # the parent imports this checkout, not an installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(parent)], cwd=repo, env=env)
    child_pid = None
    try:
        deadline = time.monotonic() + 60
        while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
            assert proc.poll() is None, "the parent ended before starting the command"
            time.sleep(0.05)
        child_pid = int(pidfile.read_text())
        assert _alive(child_pid)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9: no Python cleanup runs in the parent
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid), "the command outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        if child_pid is not None and _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_a_timeout_kills_the_whole_process_group(tmp_path):
    script, pidfile = tmp_path / "spawn.py", tmp_path / "grandchild.pid"
    script.write_text(textwrap.dedent(f"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pidfile)!r}, "w").write(str(p.pid))
        time.sleep(60)
    """))
    gen = build_generator("command", {"argv": f"{sys.executable} {script} {{out}}", "timeout": "3"})
    with pytest.raises(VbenchError, match="timed out after 3s"):
        gen.generate(Prompt(id="p", text="p"), seed=0, num_frames=2, size=(8, 8))
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(grandchild)
    if alive:
        os.kill(grandchild, signal.SIGKILL)
    assert not alive, "the command's own child survived the timeout"


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


# -- what a generator returns is validated (issue 12 item 13) -----------------------------------------------------
def test_as_clip_float_rule_is_exact_inside_zero_one():
    levels = np.arange(256, dtype=np.float64) / 255.0  # every grey level k/255 must come back as exactly k
    frames = np.broadcast_to(levels[None, :, None, None], (2, 256, 1, 3)).astype(np.float32)
    clip = as_clip(frames, "t", fps=5)
    assert clip.fps == 5 and clip.frames.dtype == np.uint8
    assert np.array_equal(clip.frames[0, :, 0, 0], np.arange(256))
    slack = as_clip(np.full((1, 2, 2, 3), 1.0 + FLOAT_RANGE_SLACK / 2), "t")  # float slack is clipped to 255
    assert int(slack.frames.min()) == 255
    chw = np.zeros((3, 3, 4, 5), np.uint8)  # (T, 3, H, W): channels first is recognised
    chw[:, 0] = 200
    assert as_clip(chw, "t").frames.shape == (3, 4, 5, 3) and int(as_clip(chw, "t").frames[..., 0].min()) == 200
    ints = as_clip(np.full((1, 2, 2, 3), 255, np.int64), "t")  # integers in 0..255 convert exactly
    assert int(ints.frames.max()) == 255 and ints.frames.dtype == np.uint8


@pytest.mark.parametrize("frames, message", [
    (np.full((2, 4, 4, 3), np.nan, np.float32), "the generator returned 96 NaN or infinite values"),
    (np.full((2, 4, 4, 3), np.inf), "the generator returned 96 NaN or infinite values"),
    (np.full((2, 4, 4, 3), 128.0), r"float frames must lie in \[0, 1\], got values in \[128, 128\]"),  # [0, 255]
    (np.full((2, 4, 4, 3), -0.5), r"float frames must lie in \[0, 1\], got values in \[-0.5, -0.5\]"),  # [-1, 1]
    (np.full((2, 4, 4, 3), 256, np.int32), r"integer frames must lie in 0..255, got values in \[256, 256\]"),
    (np.ones((2, 4, 4, 3), bool), "frames must be uint8, integers in 0..255 or floats in \\[0, 1\\], got bool"),
    (np.zeros((2, 4, 4, 4), np.uint8), "expected 3 colour channels"),
    (np.zeros((4, 4, 3), np.uint8), "expected frames"),
    (np.zeros((0, 4, 4, 3), np.uint8), "expected frames"),
    ("a video", "expected frames"),
])
def test_as_clip_refuses_what_would_be_a_silent_wrong_clip(frames, message):
    with pytest.raises(VbenchError, match=f"^src: {message}"):
        as_clip(frames, "src")


def test_as_clip_checks_the_requested_shape():
    clip = Clip(np.zeros((3, 4, 5, 3), np.uint8))
    assert as_clip(clip, "s", num_frames=3, size=(4, 5)) is clip
    with pytest.raises(VbenchError, match=r"returned 3 frames of 4x5 but 16 frames of 4x5 were asked"):
        as_clip(clip, "s", num_frames=16, size=(4, 5))
    with pytest.raises(VbenchError, match=r"returned 3 frames of 4x5 but 3 frames of 8x8 were asked"):
        as_clip(clip, "s", num_frames=3, size=(8, 8))


def misbehaving_generator(prompt, *, seed, num_frames, size):
    """One misbehaviour per prompt text, and a good clip for 'fine'."""
    if prompt == "exit":
        raise SystemExit(3)
    if prompt == "nan":
        return np.full((num_frames, *size, 3), np.nan, np.float32)
    if prompt == "wide":
        return np.zeros((num_frames, size[0], size[1] * 2, 3), np.uint8)
    if prompt == "bug":
        raise ZeroDivisionError("division by zero\nsecond line")
    return np.full((num_frames, *size, 3), 0.5, np.float32)


def _suite(*texts):
    from vbench_lite.prompts.suite import Suite

    return Suite(name="t", version="1", prompts=[Prompt(id=t, text=t) for t in texts])


def test_generation_failures_are_per_clip_and_one_line(tmp_path):
    from vbench_lite.pipeline import GenerationSettings, generate
    from vbench_lite.video_io import read_video

    gen = build_generator("python", {"callable": f"{__name__}:misbehaving_generator"})
    suite = _suite("exit", "nan", "wide", "bug", "fine")
    made, skipped, failures = generate(gen, suite, tmp_path, GenerationSettings(num_frames=2, size=(8, 8),
                                                                                lossless=True), progress=False)
    assert (made, skipped) == (1, 0)
    errors = {f.prompt_id: f.error for f in failures}
    assert errors == {
        "exit": "the generator called sys.exit(3)",
        "nan": f"{__name__}:misbehaving_generator:nan: the generator returned 384 NaN or infinite values",
        "wide": "python:wide:0: the generator returned 2 frames of 8x16 but 2 frames of 8x8 were asked "
                "(--frames/--size)",
        "bug": "ZeroDivisionError: division by zero",
    }
    assert all(f.stage == "generate" for f in failures)
    fine = read_video(tmp_path / "clips" / "fine" / "0.mkv")
    assert np.array_equal(fine.frames, np.full((2, 8, 8, 3), 128, np.uint8))  # 0.5 * 255 = 127.5 rounds to even


def test_a_killed_runs_scratch_folder_is_emptied_on_the_next_run(tmp_path):
    from vbench_lite.pipeline import GenerationSettings, generate

    leftover = tmp_path / "tmp" / "vbench-lite-cmd-abc" / "clip.mp4"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a video")
    gen = build_generator("python", {"callable": f"{__name__}:misbehaving_generator"})
    generate(gen, _suite("fine"), tmp_path, GenerationSettings(num_frames=2, size=(8, 8)), progress=False)
    assert not leftover.parent.exists() and (tmp_path / "tmp").is_dir()
    assert gen.work_dir == tmp_path / "tmp"


# -- run prints each failure once (issue 12 item 19) ---------------------------------------------------------------
def picky_generator(prompt, *, seed, num_frames, size):
    for word in ("black", "gray"):  # the synthetic suite's first prompts: left/black, right/gray, up/navy
        if word in prompt:
            raise ValueError(f"no {word} today")
    return np.zeros((num_frames, *size, 3), np.uint8)


def _run_picky(out, limit):
    from vbench_lite.cli import main

    return main(["run", "--generator", "python", "--generator-args", f"callable={__name__}:picky_generator",
                 "--suite", "synthetic", "--limit", str(limit), "--frames", "2", "--size", "16",
                 "--metrics", "brightness", "--no-progress", "--no-report", "--out", str(out)])


def test_run_prints_generation_failures_once(tmp_path, capsys):
    assert _run_picky(tmp_path / "run", 3) == 1
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert printed.count("no black today") == 1 and printed.count("no gray today") == 1, printed
    assert "generated 1 clips, 0 already present, 2 failed" in captured.out


def test_run_prints_generation_failures_once_when_scoring_cannot_start(tmp_path, capsys):
    assert _run_picky(tmp_path / "run", 1) == 2  # nothing generated: score refuses the empty run folder
    captured = capsys.readouterr()
    assert captured.err.count("no black today") == 1, captured.err
    assert "not a run folder" in captured.err


@pytest.mark.parametrize("options, message", [
    (["--metrics", "brightness,brigthness"], "--metrics: unknown metric 'brigthness'"),
    (["--metrics", "fvd", "--reference", "{tmp}/missing.npz"], "missing.npz"),
    (["--metrics", "brightness", "--metric-args", "clip.frames=8"], "--metric-args: clip.frames"),
])
def test_run_checks_score_options_before_generating(tmp_path, capsys, options, message):
    from vbench_lite.cli import main

    out = tmp_path / "run"
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    rc = main(["run", "--generator", "python", "--generator-args", f"callable={__name__}:picky_generator",
               "--suite", "synthetic", "--limit", "3", "--frames", "2", "--size", "16", "--no-progress",
               "--no-report", "--out", str(out), *options])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()  # nothing generated, not even the run manifest
