"""The reference video DiT: config table, shapes, reshapes against loops, conditioning, sampler closed forms,
measured FLOPs against the analytic cost model, strategy equivalences, and the shipped checkpoints' index."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from reference_models.rectified_flow import flow_loss, from_uint8_frames, sample, shift_time, to_uint8_frames
from reference_models.video_dit import VideoDiT, build_model, condition_fields, condition_ids, sincos_3d
from reference_models.video_dit_config import VideoDiTConfig, config_by_name, load_config_table
from vbench_lite.types import Prompt

STRATEGIES = ("full", "spatial", "temporal", "divided", "window")
MICRO = "VDiT-Micro"


def _prompt(text: str) -> Prompt:
    from vbench_lite.types import slugify

    return Prompt(id=slugify(text), text=text)


def _inputs(cfg: VideoDiTConfig, batch: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cfg.channels, cfg.frames, *cfg.size, generator=g)
    t = torch.rand(batch, generator=g)
    cond = torch.randint(0, 3, (batch, len(condition_fields(cfg))), generator=g)
    return x, t, cond


def _randomise_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give the zero-initialised (adaLN-Zero) layers random values, so outputs depend on every part."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


# -- configs ----------------------------------------------------------------------------------------------------
def test_config_table_names_and_token_grids():
    table = load_config_table()
    assert {"VDiT-T", "VDiT-S", "VDiT-B"} <= set(table)
    for name in table:
        cfg = config_by_name(name)
        t, h, w = cfg.token_grid
        assert (t * cfg.tubelet[0], h * cfg.tubelet[1], w * cfg.tubelet[2]) == (cfg.frames, *cfg.size)
        assert cfg.num_tokens == t * h * w
    tiny = config_by_name("vdit-t", strategy="timesformer")  # names and aliases are resolved
    assert tiny.name == "VDiT-T" and tiny.strategy == "divided"


def test_config_round_trips_through_json():
    cfg = config_by_name("VDiT-T", strategy="window")
    again = VideoDiTConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("bad", [{"tubelet": (3, 4, 4)}, {"dim": 100, "heads": 3}, {"strategy": "nope"},
                                 {"prediction": "eps"}, {"time_shift": 0.0}])
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        config_by_name("VDiT-T", **bad)
    with pytest.raises(ValueError, match="unknown video DiT config"):
        config_by_name("VDiT-XXL")
    with pytest.raises(ValueError, match="unknown config fields"):
        VideoDiTConfig.from_dict({"name": "x", "colour": 1})


# -- shapes and reshapes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_forward_shape_every_strategy(strategy):
    for name in (MICRO, "VDiT-T"):
        model = build_model(name, strategy=strategy).eval()
        x, t, cond = _inputs(model.config, batch=2)
        with torch.no_grad():
            out = model(x, t, cond)
        assert out.shape == x.shape and torch.isfinite(out).all()


def test_wrong_input_shape_is_refused():
    model = build_model(MICRO)
    with pytest.raises(ValueError, match="expected clips"):
        model(torch.zeros(1, 3, 5, 8, 8), torch.zeros(1), torch.zeros(1, 7, dtype=torch.long))


def test_patchify_matches_a_loop_over_tubelets():
    model = build_model(MICRO)
    cfg = model.config
    pt, ph, pw = cfg.tubelet
    x = torch.randn(1, 3, cfg.frames, *cfg.size)
    tokens = model.patchify(x)  # (1, T', S, C)
    Tt, Ht, Wt = cfg.token_grid
    weight = model.patch_embed.weight.detach()  # (C, 3, pt, ph, pw)
    for t in range(Tt):
        for h in range(Ht):
            for w in range(Wt):
                tube = x[0, :, t * pt:(t + 1) * pt, h * ph:(h + 1) * ph, w * pw:(w + 1) * pw]
                expected = (weight * tube).sum(dim=(1, 2, 3, 4)) + model.patch_embed.bias.detach()
                torch.testing.assert_close(tokens[0, t, h * Wt + w], expected, rtol=1e-5, atol=1e-5)


def test_unpatchify_places_each_value_where_a_loop_says():
    model = build_model(MICRO)
    cfg = model.config
    pt, ph, pw = cfg.tubelet
    Tt, Ht, Wt = cfg.token_grid
    values = torch.randn(2, Tt, Ht * Wt, pt * ph * pw * 3)
    clip = model.unpatchify(values)
    assert clip.shape == (2, 3, cfg.frames, *cfg.size)
    for b in range(2):
        for t in range(cfg.frames):
            for y in range(cfg.size[0]):
                for x in range(cfg.size[1]):
                    token = values[b, t // pt, (y // ph) * Wt + x // pw]
                    offset = ((t % pt) * ph * pw + (y % ph) * pw + x % pw) * 3
                    torch.testing.assert_close(clip[b, :, t, y, x], token[offset:offset + 3])


def test_position_embedding_separates_every_token():
    emb = sincos_3d(64, (4, 3, 5))
    assert emb.shape == (1, 4, 15, 64)
    flat = emb.reshape(-1, 64)
    distances = torch.cdist(flat, flat) + torch.eye(len(flat)) * 10
    assert distances.min() > 1e-3


def test_uint8_round_trip():
    frames = torch.randint(0, 256, (2, 4, 8, 8, 3), dtype=torch.uint8)
    x = from_uint8_frames(frames)
    assert x.shape == (2, 3, 4, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(to_uint8_frames(x), frames)


# -- conditioning -----------------------------------------------------------------------------------------------
def test_condition_ids_of_structured_prompts():
    cfg = config_by_name("VDiT-T")
    vocab = cfg.vocab
    one = condition_ids(_prompt("a red circle moving left on a navy background"), cfg)
    assert one == [vocab["background"].index("navy") + 1, vocab["color"].index("red") + 1,
                   vocab["shape"].index("circle") + 1, vocab["motion"].index("left") + 1, 0, 0, 0]
    a = condition_ids(_prompt("a red circle and a blue square moving up on a black background"), cfg)
    b = condition_ids(_prompt("a blue circle and a red square moving up on a black background"), cfg)
    assert a != b and sorted(a) == sorted(b)  # same words, other binding: different ids
    assert a[4:] == [vocab["color"].index("blue") + 1, vocab["shape"].index("square") + 1,
                     vocab["motion"].index("up") + 1]
    assert condition_ids(_prompt("a cat playing the piano"), cfg) == [0] * 7  # unknown text: the null token


def test_scene_embedding_binds_objects_to_slots():
    model = _randomise_(build_model("VDiT-T")).eval()
    cfg = model.config
    a = torch.tensor([condition_ids(_prompt("a red circle and a blue square moving up on a black background"), cfg)])
    b = torch.tensor([condition_ids(_prompt("a blue circle and a red square moving up on a black background"), cfg)])
    assert not torch.allclose(model.scene_embed(a), model.scene_embed(b))


def test_initial_network_output_is_zero():
    """adaLN-Zero and a zero final layer: an untrained network outputs exactly 0 (x0_hat = 0, so v = x / t)."""
    model = build_model(MICRO).eval()
    x, t, cond = _inputs(model.config)
    with torch.no_grad():
        assert torch.count_nonzero(model(x, t, cond)) == 0
        torch.testing.assert_close(model.velocity(x, t, cond), x / t[:, None, None, None, None])


def test_condition_changes_the_output():
    model = _randomise_(build_model(MICRO)).eval()
    x, t, cond = _inputs(model.config, batch=1)
    with torch.no_grad():
        assert not torch.allclose(model(x, t, cond), model(x, t, torch.zeros_like(cond)))


# -- objective and sampler --------------------------------------------------------------------------------------
class _Oracle(torch.nn.Module):
    """Knows the target clip ``c``: the exact rectified-flow velocity of the straight path is ``(x - c) / t``."""

    def __init__(self, target: torch.Tensor, cond_scale: float = 1.0, time_shift: float = 8.0) -> None:
        super().__init__()
        self.target, self.cond_scale = target, cond_scale
        self.config = SimpleNamespace(time_shift=time_shift)

    def velocity(self, x, t, cond):
        v = (x - self.target) / t.clamp_min(1e-6)[:, None, None, None, None]
        has_cond = (cond != 0).any(dim=1).float()[:, None, None, None, None]
        return v * (1 + (self.cond_scale - 1) * has_cond)


@pytest.mark.parametrize("steps", [1, 3, 16])
@pytest.mark.parametrize("time_shift", [1.0, 8.0])
def test_euler_sampler_is_exact_on_straight_paths(steps, time_shift):
    target = torch.rand(2, 3, 4, 8, 8) * 2 - 1
    noise = torch.randn(2, 3, 4, 8, 8)
    cond = torch.ones(2, 7, dtype=torch.long)
    out = sample(_Oracle(target, time_shift=time_shift), cond, noise, steps=steps)
    torch.testing.assert_close(out, target, rtol=0, atol=1e-5)


@pytest.mark.parametrize("eta", [0.5, 1.0])
def test_stochastic_sampler_closed_form_with_an_exact_model(eta):
    """With the exact x0 every step lands on ``(1 - s) x0 + s (sqrt(1 - eta^2) eps + eta z)``, ``eps`` the noise
    the path started from (the exact model recovers it) and ``z`` the clip's next draw; the last step gives x0."""
    target = torch.rand(2, 3, 4, 8, 8) * 2 - 1
    cond = torch.ones(2, 7, dtype=torch.long)
    seeds = (11, 12)
    draw = [torch.Generator().manual_seed(s) for s in seeds]
    noise = torch.stack([torch.randn(3, 4, 8, 8, generator=g) for g in draw])
    z = torch.stack([torch.randn(3, 4, 8, 8, generator=g) for g in draw])  # each clip's first step noise
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    _ = [torch.randn(3, 4, 8, 8, generator=g) for g in gens]  # the generators continue after the initial noise
    states = []  # the state at the start of each of two steps (levels 1 -> 0.5 -> 0)

    class Probe(_Oracle):
        def velocity(self, x, t, cond):
            states.append(x.clone())
            return super().velocity(x, t, cond)

    out = sample(Probe(target, time_shift=1.0), cond, noise, steps=2, eta=eta, generators=gens)
    expected_mid = 0.5 * target + 0.5 * (math.sqrt(1 - eta**2) * noise + eta * z)
    torch.testing.assert_close(states[1], expected_mid, rtol=0, atol=1e-5)
    torch.testing.assert_close(out, target, rtol=0, atol=1e-5)


def test_stochastic_sampler_is_batch_invariant_with_per_clip_generators():
    model = build_model("VDiT-Micro").eval()
    torch.manual_seed(0)
    for p in model.final.parameters():  # a non-zero output, so the sampler's path depends on the model
        torch.nn.init.normal_(p, std=0.1)
    cfg = model.config
    cond = torch.tensor([[1] + [0] * 6, [2] + [0] * 6])
    noise = torch.randn(2, 3, cfg.frames, *cfg.size)
    both = sample(model, cond, noise, steps=3, eta=1.0,
                  generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    for i, s in enumerate((1, 2)):
        alone = sample(model, cond[i:i + 1], noise[i:i + 1], steps=3, eta=1.0,
                       generators=[torch.Generator().manual_seed(s)])
        torch.testing.assert_close(both[i:i + 1], alone, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="eta"):
        sample(model, cond, noise, steps=3, eta=1.5)
    with pytest.raises(ValueError, match="generators"):
        sample(model, cond, noise, steps=3, eta=1.0, generators=[torch.Generator()])


def test_sampler_visits_the_shifted_noise_levels():
    seen = []

    class Recorder(_Oracle):
        def velocity(self, x, t, cond):
            seen.append(float(t[0]))
            return super().velocity(x, t, cond)

    sample(Recorder(torch.zeros(1, 3, 4, 8, 8), time_shift=8.0), torch.ones(1, 7, dtype=torch.long),
           torch.randn(1, 3, 4, 8, 8), steps=4)
    expected = [8 * u / (1 + 7 * u) for u in (1.0, 0.75, 0.5, 0.25)]
    assert seen == pytest.approx(expected)
    assert shift_time(torch.tensor([0.0, 1.0]), 8.0).tolist() == [0.0, 1.0]


def test_guidance_extrapolates_between_conditional_and_null():
    """With v_cond = 2 v and v_null = v, guidance g gives (1 + g) v; one Euler step from t=1 moves by -(1 + g) v."""
    target = torch.zeros(1, 3, 4, 8, 8)
    noise = torch.ones(1, 3, 4, 8, 8)
    cond = torch.ones(1, 7, dtype=torch.long)
    for g in (1.0, 2.5):
        out = sample(_Oracle(target, cond_scale=2.0), cond, noise, steps=1, guidance=g)
        expected = noise - (1 + g if g != 1.0 else 2.0) * noise
        torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("prediction", ["x0", "velocity"])
def test_flow_loss_is_zero_for_the_truth_and_matches_a_direct_computation(prediction):
    cfg = replace(config_by_name(MICRO), prediction=prediction)
    x0 = torch.rand(3, 3, cfg.frames, *cfg.size) * 2 - 1
    t = torch.tensor([0.01, 0.5, 0.9])
    cond = torch.zeros(3, 7, dtype=torch.long)

    class Truth(VideoDiT):  # recovers eps = (x_t - (1 - t) x0) / t from the known x0
        def forward(self, x, tt, c):
            if prediction == "x0":
                return x0.clone()
            tb = tt[:, None, None, None, None]
            return (x - (1 - tb) * x0) / tb - x0

    loss = flow_loss(Truth(cfg), x0, cond, generator=torch.Generator().manual_seed(0), t=t, t_floor=0.05)
    assert float(loss) < 1e-10
    model = _randomise_(VideoDiT(cfg)).eval()
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    got = flow_loss(model, x0, cond, generator=g1, t=t, t_floor=0.05)
    eps = torch.randn(x0.shape, generator=g2)
    tb = t[:, None, None, None, None]
    out = model((1 - tb) * x0 + tb * eps, t, cond)
    if prediction == "velocity":
        expected = ((out - (eps - x0)) ** 2).mean()
    else:  # ||x0_hat - x0||^2 / max(t, floor)^2
        expected = (((out - x0) / tb.clamp_min(0.05)) ** 2).mean()
    torch.testing.assert_close(got, expected)


def test_weighted_flow_loss_closed_forms():
    model = _randomise_(build_model(MICRO)).eval()
    cfg = model.config
    x0 = torch.rand(2, 3, cfg.frames, *cfg.size) * 2 - 1
    cond = torch.zeros(2, 7, dtype=torch.long)
    t = torch.tensor([0.3, 0.8])

    def loss(weight):
        return flow_loss(model, x0, cond, generator=torch.Generator().manual_seed(1), t=t, weight=weight)

    plain = loss(None)
    torch.testing.assert_close(loss(torch.ones(2, 1, cfg.frames, *cfg.size)), plain)
    torch.testing.assert_close(loss(torch.full((2, 1, cfg.frames, *cfg.size), 7.0)), plain)  # scale-free
    only_first = torch.zeros(2, 1, cfg.frames, *cfg.size)
    only_first[0] = 1.0  # all weight on clip 0: its own loss
    torch.testing.assert_close(loss(only_first), flow_loss(model, x0[:1], cond[:1], t=t[:1],
                                                           generator=torch.Generator().manual_seed(1)))


def test_foreground_mask_marks_pixels_unlike_the_background():
    from reference_models.rectified_flow import foreground_mask

    x0 = torch.full((1, 3, 2, 8, 8), -0.9)
    x0[0, 0, 1, 2:4, 5:7] = 0.8  # a red patch in frame 1
    x0[0, :, 0, 0, 0] = -0.88  # a pixel within the tolerance
    mask = foreground_mask(x0)
    assert mask.shape == (1, 1, 2, 8, 8) and mask.sum() == 4 and mask[0, 0, 1, 2:4, 5:7].all()


def test_velocity_of_an_x0_model_points_from_the_prediction_to_the_sample():
    model = _randomise_(build_model(MICRO)).eval()
    x, t, cond = _inputs(model.config)
    with torch.no_grad():
        x0_hat = model(x, t, cond)
        torch.testing.assert_close(model.velocity(x, t, cond), (x - x0_hat) / t[:, None, None, None, None])


# -- FLOPs --------------------------------------------------------------------------------------------------------
def _analytic_forward_flops(cfg: VideoDiTConfig) -> int:
    """Matmul FLOPs of one forward (batch 1) from the attention engineer's cost model plus our embed/head layers."""
    from metrics.attention_cost import block_plan

    T, H, W = cfg.token_grid
    N, C = cfg.num_tokens, cfg.dim
    tube = cfg.tubelet[0] * cfg.tubelet[1] * cfg.tubelet[2] * cfg.channels
    window = {"window": cfg.window} if cfg.strategy == "window" else {}
    block = block_plan(cfg.strategy, T, H, W, C, cfg.heads, mlp_ratio=cfg.mlp_ratio, **window).matmul_flops
    per_block = block + 2 * C * 6 * C  # + adaLN modulation (one conditioning row)
    embed = 2 * N * tube * C + 2 * 256 * C + 2 * C * C  # tubelet conv + timestep MLP
    head = 2 * C * 2 * C + 2 * N * C * tube  # final adaLN + output linear
    return cfg.depth * per_block + embed + head


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_measured_flops_equal_the_analytic_count(strategy):
    from vbench_lite.lab.strategy_cost import forward_flops

    model = build_model("VDiT-T", strategy=strategy).eval()
    assert forward_flops(model)["total"] == _analytic_forward_flops(model.config)


def test_flops_grow_full_divided_spatial_temporal_at_the_shipped_config():
    from vbench_lite.lab.strategy_cost import forward_flops

    flops = {s: forward_flops(build_model("VDiT-T", strategy=s).eval()) for s in STRATEGIES}
    total = {s: f["total"] for s, f in flops.items()}
    assert total["full"] > total["divided"] > total["spatial"] > total["temporal"]
    core = {s: f["attention_core"] for s, f in flops.items()}
    assert core["full"] > core["divided"] > core["spatial"] > core["window"] > core["temporal"] > 0


# -- strategy equivalences ----------------------------------------------------------------------------------------
def test_window_covering_the_whole_clip_equals_full_attention():
    full = _randomise_(build_model("VDiT-T", strategy="full")).eval()
    cfg = full.config
    window = build_model("VDiT-T", strategy="window", window=cfg.token_grid).eval()
    window.load_state_dict(full.state_dict())
    larger = build_model("VDiT-T", strategy="window", window=(64, 64, 64)).eval()  # clipped to the grid
    larger.load_state_dict(full.state_dict())
    x, t, cond = _inputs(cfg)
    with torch.no_grad():
        reference = full(x, t, cond)
        torch.testing.assert_close(window(x, t, cond), reference, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(larger(x, t, cond), reference, rtol=1e-4, atol=1e-5)
        small = build_model("VDiT-T", strategy="window").eval()
        small.load_state_dict(full.state_dict())
        assert not torch.allclose(small(x, t, cond), reference, atol=1e-3)


def test_spatial_model_treats_frames_independently_and_temporal_model_places():
    """Changing one frame (token row) changes only that frame under spatial attention; changing one place
    changes only that place under temporal attention (with tubelets, 'frame' = tubelet slice)."""
    for strategy in ("spatial", "temporal"):
        model = _randomise_(build_model(MICRO, strategy=strategy)).eval()
        cfg = model.config
        x, t, cond = _inputs(cfg, batch=1)
        y = x.clone()
        y[:, :, : cfg.tubelet[0], : cfg.tubelet[1], : cfg.tubelet[2]] += 1.0  # token (0, 0, 0) only
        with torch.no_grad():
            diff = (model(x, t, cond) - model(y, t, cond)).abs()
        pt, ph, pw = cfg.tubelet
        changed = diff.amax(dim=(0, 1)) > 1e-6  # (T, H, W)
        assert changed[:pt, :ph, :pw].all()
        if strategy == "spatial":
            assert not changed[pt:].any()  # other frames untouched
        else:
            assert not changed[:, ph:, :].any() and not changed[:, :, pw:].any()  # other places untouched


def test_batched_forward_equals_one_by_one():
    model = _randomise_(build_model(MICRO, strategy="divided")).eval()
    x, t, cond = _inputs(model.config, batch=3)
    with torch.no_grad():
        batched = model(x, t, cond)
        single = torch.cat([model(x[i:i + 1], t[i:i + 1], cond[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5)


def test_bfloat16_model_stays_close_to_float32():
    model = _randomise_(build_model(MICRO), seed=1).eval()
    x, t, cond = _inputs(model.config, batch=2)
    with torch.no_grad():
        ref = model(x, t, cond)
        low = model.to(torch.bfloat16)(x.to(torch.bfloat16), t, cond).float()
    assert ((low - ref).norm() / ref.norm()) < 0.05


# -- training pieces ----------------------------------------------------------------------------------------------
def test_batch_order_is_seeded_and_covers_each_epoch():
    from reference_models.video_dit_training import batch_order

    a = batch_order(10, 4, 5, torch.Generator().manual_seed(1))
    b = batch_order(10, 4, 5, torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert all(len(set(x.tolist())) == 4 for x in a)
    assert sorted(torch.cat(a).tolist()[:8]) == sorted(set(torch.cat(a).tolist()[:8]))


def test_learning_rate_schedule_closed_form():
    from reference_models.video_dit_training import learning_rate

    assert learning_rate(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert learning_rate(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert learning_rate(10, 100, 1.0, 10) == pytest.approx(1.0)
    assert learning_rate(55, 100, 1.0, 10) == pytest.approx(0.55)
    assert learning_rate(100, 100, 1.0, 10) == pytest.approx(0.1)


def test_a_few_training_steps_lower_the_loss_and_save_a_loadable_checkpoint(tmp_path):
    from reference_models.video_dit_checkpoint import save_checkpoint
    from vbench_lite.generators.reference import load_checkpoint
    from vbench_lite.lab.train_video_dit import train

    cfg = replace(config_by_name(MICRO), depth=1)
    model, record = train(cfg, steps=30, batch_size=8, lr=3e-3, warmup=5, weight_decay=0.0, ema_decay=0.9,
                          cond_dropout=0.1, seeds_per_prompt=1, seed=0, log=lambda *_: None)
    assert record["steps"] == 30 and record["training_clips"] == 208
    assert record["loss_curve_every"] == 3 and len(record["loss_curve"]) == 10
    assert record["loss_curve"][0] > record["loss_curve"][-1]
    path = save_checkpoint(model, tmp_path / "micro.safetensors", record)
    loaded, meta = load_checkpoint(path)
    assert json.loads(meta["training"])["steps"] == 30
    x, t, cond = _inputs(cfg)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, cond), model(x, t, cond))


def test_pixel_frechet_is_zero_for_identical_sets_and_grows_with_noise():
    from vbench_lite.lab.checkpoint_eval import clip_features, pixel_frechet

    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (12, 8, 32, 32, 3), dtype=np.uint8)
    same = pixel_frechet(clips, clips)
    assert abs(same["pixel_fd"]) < 1e-8 and abs(same["motion_fd"]) < 1e-8
    feats = clip_features(clips)
    assert feats.shape == (12 * 8, 192)
    # a box average of one 4x4 box by hand
    np.testing.assert_allclose(feats[0, :3], clips[0, 0, :4, :4].reshape(-1, 3).mean(0) / 255.0)


# -- shipped checkpoints ------------------------------------------------------------------------------------------
CHECKPOINTS = Path(__file__).resolve().parents[2] / "reference_models" / "checkpoints"


def test_every_shipped_checkpoint_is_indexed_with_its_sha256():
    files = sorted(CHECKPOINTS.glob("*.safetensors"))
    assert {f.stem for f in files} >= {f"vdit-t-{s}" for s in STRATEGIES}
    index = (CHECKPOINTS / "CHECKPOINTS.md").read_text()
    listed = dict(re.findall(r"\| `([a-z0-9-]+)` \|.*\| `([0-9a-f]{64})` \|", index))
    for f in files:
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        assert listed.get(f.stem) == digest, f"{f.name}: sha256 differs from CHECKPOINTS.md"
        assert f.stat().st_size < 8 * 1024 * 1024


# -- quality versus cost (vbench_lite/lab/strategy_cost.py, reports/quality_cost.py) -----------------------------------
def test_strategy_cost_table_counts_per_clip_flops_and_times_sampling():
    from vbench_lite.lab.strategy_cost import forward_flops, strategy_cost_table

    rows = strategy_cost_table(MICRO, ["full", "temporal"], steps=3, min_run_time=0.05)
    assert [r["strategy"] for r in rows] == ["full", "temporal"]
    for row in rows:
        model = build_model(MICRO, strategy=row["strategy"])
        assert row["forward_flops"] == forward_flops(model)["total"]
        assert row["flops_per_clip"] == 3 * row["forward_flops"]
        assert row["params"] == model.num_params and row["tokens"] == model.config.num_tokens
        assert row["latency_ms_per_clip"] > 0
    guided = strategy_cost_table(MICRO, ["full"], steps=3, guidance=2.0, measure_latency=False)[0]
    assert guided["flops_per_clip"] == 2 * rows[0]["flops_per_clip"] and guided["latency_ms_per_clip"] is None


def test_quality_cost_table_joins_runs_and_costs_and_plots(tmp_path):
    from reports.quality_cost import plot_quality_vs_cost, quality_cost_table

    costs = [{"strategy": s, "config": "VDiT-T", "gflops_per_clip": g, "latency_ms_per_clip": ms}
             for s, g, ms in [("full", 3.0, 90.0), ("spatial", 2.0, 60.0), ("temporal", 1.5, 50.0)]]
    results = {
        "full": {"metrics": {"fvd": {"value": 100.0, "ci95": [90, 110], "higher_is_better": False},
                             "clip": {"value": 0.3}}},
        "spatial": {"fvd": 150.0, "clip": 0.25},  # an already flat mapping
        "window": {"metrics": {"fvd": {"value": None}}},  # a failed metric, and a strategy with no cost row
    }
    df = quality_cost_table(results, costs)
    assert list(df.index) == ["full", "spatial", "temporal", "window"]
    assert df.loc["full", "fvd"] == 100.0 and df.loc["spatial", "clip"] == 0.25
    assert np.isnan(df.loc["temporal", "fvd"]) and np.isnan(df.loc["window", "gflops_per_clip"])
    assert df.attrs["higher_is_better"] == {"fvd": False}  # only what the runs state
    path = plot_quality_vs_cost(df, tmp_path / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    one_row = plot_quality_vs_cost(df, tmp_path / "fvd.png", quality="fvd")
    with Image.open(path) as both, Image.open(one_row) as single:  # default: fvd, and no clip_similarity here
        assert both.size == single.size
    two_rows = plot_quality_vs_cost(df, tmp_path / "two.png", quality=["fvd", "clip"])
    with Image.open(two_rows) as two, Image.open(one_row) as single:
        assert two.size[0] == single.size[0] and two.size[1] > 1.8 * single.size[1]
    with pytest.raises(ValueError, match="no quality column"):
        plot_quality_vs_cost(df, tmp_path / "x.png", quality="psnr")


def test_quality_cost_for_runs_reads_results_and_the_config_from_run_folders(tmp_path):
    from vbench_lite.lab.strategy_cost import quality_cost_for_runs

    runs = {}
    for strategy, value in (("full", 10.0), ("temporal", 30.0)):
        run = tmp_path / strategy
        run.mkdir()
        (run / "results.json").write_text(json.dumps({"metrics": {"fvd": {"value": value}}}))
        (run / "run.json").write_text(json.dumps({"generator_provenance": {"model": MICRO}}))
        runs[strategy] = run
    baseline = tmp_path / "baseline"  # an untrained full-attention run: its costs are those of "full"
    baseline.mkdir()
    (baseline / "results.json").write_text(json.dumps({"metrics": {"fvd": {"value": 99.0}}}))
    (baseline / "run.json").write_text(json.dumps({"generator_provenance": {"model": MICRO, "strategy": "full"}}))
    df = quality_cost_for_runs({**runs, "untrained": baseline}, measure_latency=False)
    assert list(df.index) == ["full", "temporal", "untrained"] and set(df["config"]) == {MICRO}
    assert df.loc["temporal", "fvd"] == 30.0 and df.loc["full", "forward_flops"] > df.loc["temporal", "forward_flops"]
    assert df.loc["untrained", "fvd"] == 99.0
    assert df.loc["untrained", "forward_flops"] == df.loc["full", "forward_flops"]


def test_from_pretrained_loads_a_shipped_checkpoint_and_refuses_bad_files_in_one_line(tmp_path):
    from reference_models.video_dit_checkpoint import CheckpointError, shipped_checkpoints

    model, meta = VideoDiT.from_pretrained(shipped_checkpoints()["vdit-t-full"])
    assert not model.training and model.config.strategy == "full" and json.loads(meta["config"])["name"] == "VDiT-T"
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(CheckpointError, match="checkpoint not found") as info:
        VideoDiT.from_pretrained(missing)
    assert isinstance(info.value, ValueError) and str(info.value).startswith(str(missing))
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot read the checkpoint") as info:
        VideoDiT.from_pretrained(garbage)
    assert "\n" not in str(info.value)
