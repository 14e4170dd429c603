"""The model table (vbench_lite/lab/attention_models.json, model_costs.py) against published figures, hand
closed forms for the new schema (causal VAE frames, joint text tokens, exact MLP width) and the roofline time."""

from __future__ import annotations

import json

import pytest

from vbench_lite.cli import main
from vbench_lite.lab.model_costs import DEFAULT_DEVICE, load_model_configs, model_cost, published_checks
from vbench_lite.types import VbenchError

#: Written down from the papers independently of the JSON (quantity, value): the JSON must cite these numbers,
#: and our count must land within 3% of them. 3%: the papers count class tokens, biases and norms we leave out
#: (ViViT: +1 class token of 3137, about 0.9%), and round to 3-4 significant digits.
PAPER_FIGURES = {
    "vit-b-16": ("macs", 17.5e9),  # Swin Table 1(a), DeiT-B 224
    "vit-b-16-384": ("macs", 55.4e9),  # Swin Table 1(a)
    "vit-l-16-384": ("macs", 190.7e9),  # Swin Table 1(a)
    "dit-xl-4": ("macs", 29.1e9),  # DiT Table 1
    "dit-xl-2": ("macs", 118.6e9),  # DiT Sec. 5.1
    "dit-xl-2-512": ("macs", 524.6e9),  # DiT Sec. 5.1
    "vivit-b-spatiotemporal": ("macs", 455.2e9),  # ViViT Table 2
    "vivit-b-factorised-encoder": ("macs", 284.4e9),
    "vivit-b-factorised-self-attention": ("macs", 372.3e9),
    "vivit-b-factorised-dot-product": ("macs", 277.1e9),
    "timesformer": ("macs", 0.59e12),  # TimeSformer Table 4, 3 views
    "timesformer-hr": ("macs", 5.11e12),
    "timesformer-l": ("macs", 7.14e12),
    "mochi-1": ("tokens", 44520),  # genmoai/models README
}
LINEAGE = ["vit-b-16", "vit-l-16-384", "dit-xl-2", "vivit-b-spatiotemporal", "timesformer", "vdt-l-2", "latte-xl-2",
           "open-sora-stdit-xl-2", "cogvideox-5b", "hunyuanvideo", "wan2.1-14b", "mochi-1", "ltx-video",
           "sora-style-minute"]


def test_every_system_of_the_lineage_is_in_the_table():
    configs = load_model_configs()
    assert set(LINEAGE) <= set(configs)
    for name in LINEAGE:
        # every configuration names where its numbers come from: a paper section/table or a config file
        assert any(key in s for s in configs[name].sources for key in ("Table", "Sec.", ".py", "docs/")), name


@pytest.mark.parametrize("model", sorted(PAPER_FIGURES))
def test_model_table_matches_the_cited_paper_within_3_percent(model):
    quantity, value = PAPER_FIGURES[model]
    (check,) = published_checks([model])
    assert check["quantity"] == quantity and check["published"] == pytest.approx(value, rel=1e-12)
    assert "Table" in check["source"] or "Sec." in check["source"] or "README" in check["source"]
    assert abs(check["ours"] / value - 1) < 0.03, check


def test_published_figures_are_not_inherited_by_variants():
    assert published_checks(["vivit-l-spatiotemporal", "wan2.1-1.3b"]) == []
    assert {c["model"] for c in published_checks()} == set(PAPER_FIGURES)


def test_dit_xl_2_equals_its_closed_form():
    N, C, L = 256, 1152, 28
    per_layer = 24 * N * C * C + 4 * C * N * N + 2 * C * 6 * C  # qkv+proj+MLP, core, adaLN on one row
    extra = 2 * N * 16 * C + 2 * C * 2 * C + 2 * N * C * 32 + 2 * 256 * C + 2 * C * C  # embed, final, t-embed
    assert model_cost(load_model_configs()["dit-xl-2"]).total_flops == L * per_layer + extra


@pytest.mark.parametrize("model,grid", [("cogvideox-5b", (13, 30, 45)), ("hunyuanvideo", (33, 45, 80)),
                                        ("wan2.1-14b", (21, 45, 80)), ("wan2.1-1.3b", (21, 30, 52)),
                                        ("mochi-1", (28, 30, 53)), ("ltx-video", (16, 16, 24))])
def test_causal_vae_token_grids(model, grid):
    assert load_model_configs()[model].token_grid == grid  # T -> 1 + (T - 1) / stride, then / patch


def test_joint_text_tokens_join_full_attention_and_mlp():
    cost = model_cost(load_model_configs()["cogvideox-5b"])
    n, C = 13 * 30 * 45 + 226, 3072
    assert cost.parts["attention_core"] == 42 * 4 * C * n * n
    assert cost.parts["mlp"] == 42 * 16 * n * C * C and cost.parts["attention_projections"] == 42 * 8 * n * C * C


def test_exact_mlp_width_of_wan():
    cost = model_cost(load_model_configs()["wan2.1-1.3b"])
    assert cost.parts["mlp"] == 30 * 4 * (21 * 30 * 52) * 1536 * 8960


def test_attention_time_is_the_roofline_bound_per_layer():
    # DiT-XL/2 per layer: 4*C*N^2 FLOPs against 4*N*C*2 bf16 bytes; memory-bound at intensity N/2 = 128 < ridge 186
    N, C = 256, 1152
    flops, moved = 4 * C * N * N, 4 * N * C * 2
    expected = 28 * max(flops / DEFAULT_DEVICE["peak_flops_per_s"], moved / DEFAULT_DEVICE["bandwidth_bytes_per_s"])
    assert model_cost(load_model_configs()["dit-xl-2"]).attention_seconds() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(28 * moved / 4.21e12)


def test_bad_published_entry_is_a_one_line_error(tmp_path):
    data = json.loads(load_model_configs.__globals__["MODELS_FILE"].read_text())
    data["models"]["dit-xl-2"]["published"] = [{"quantity": "speed", "value": 1, "source": "x"}]
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    with pytest.raises(VbenchError, match=r"models.json: model 'dit-xl-2': a published figure needs quantity") as e:
        load_model_configs(path)
    assert "\n" not in str(e.value)


def test_models_command_prints_time_and_published_checks(capsys):
    assert main(["attention", "models", "--models", "dit-xl-2,mochi-1", "--published"]) == 0
    out = capsys.readouterr().out
    assert "attn time" in out and "44,520+256" in out and "118.6 Gflops" in out and "(+0.02%)" in out
