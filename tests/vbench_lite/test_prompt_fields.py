"""The semantic targets of prompts (vbench_lite/prompt_fields.py) and the suites' semantic subsets that feed them:
both field layouts, missing fields, relation spellings, colour pairing, prompts without text; the standard,
synthetic and VBench suites give every prompt of a semantic dimension complete targets."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from vbench_lite.cli import main
from vbench_lite.prompt_fields import (
    RELATION_SPELLINGS,
    RELATIONS,
    SEMANTIC_DIMENSIONS,
    SemanticTargets,
    in_subset,
    kinetics400_labels,
    normalise_relation,
    semantic_targets,
)
from vbench_lite.prompts import load_suite
from vbench_lite.prompts.importers import import_vbench_json, vbench_action, vbench_color_object, vbench_temporal_style
from vbench_lite.prompts.vocabulary import COCO_CLASSES, TEMPORAL_STYLES
from vbench_lite.types import Prompt


def _p(fields: dict, text: str = "a prompt") -> Prompt:
    return Prompt(id="p", text=text, fields=fields)


# -- semantic_targets on hand-made fields ---------------------------------------------------------------------------
def test_plain_layout():
    t = semantic_targets(_p({"objects": ["Dog", " wooden  kennel "], "colors": ["brown", None],
                             "relation": "on the left of", "action": "Walking the dog", "scene": "Alley",
                             "style": "Van Gogh style", "temporal_style": "Zoom in"}))
    assert t == SemanticTargets(objects=("dog", "wooden kennel"), colors=("brown", None), relation="left of",
                                action="walking the dog", scene="alley", style="van gogh style",
                                temporal_style="zoom in")
    assert t.colored_objects == (("dog", "brown"),)


def test_synthetic_layout_takes_names_and_colours_from_the_scene_objects():
    fields = {"objects": [{"shape": "circle", "color": "red", "motion": "left"},
                          {"shape": "square", "color": "blue", "motion": "left"}],
              "background": "black", "colors": ["red", "blue"], "relation": "above", "action": "moving left",
              "scene": "black background"}
    t = semantic_targets(_p(fields))
    assert t.objects == ("circle", "square") and t.colors == ("red", "blue") and t.relation == "above"
    assert (t.action, t.scene) == ("moving left", "black background")
    # the listed colours win over the objects' own (a scene file may state them only there)
    t = semantic_targets(_p({**fields, "colors": ["green"]}))
    assert t.colors == ("green", "blue")
    t = semantic_targets(_p({"objects": [{"shape": "circle"}]}))
    assert t.objects == ("circle",) and t.colors == (None,) and t.colored_objects == ()


def test_missing_fields_are_empty_or_none():
    assert semantic_targets(_p({})) == SemanticTargets()
    t = semantic_targets(_p({"objects": "bicycle", "colors": "red", "action": "", "scene": "  ", "style": 3}))
    assert t.objects == ("bicycle",) and t.colors == ("red",)  # a single string is a one-item list
    assert t.action is None and t.scene is None and t.style is None and t.temporal_style is None
    t = semantic_targets(_p({"objects": ["", None, "cat"], "relation": "left of"}))
    assert t.objects == ("cat",) and t.relation is None  # a relation needs two objects


@pytest.mark.parametrize("spelling, ours", sorted(RELATION_SPELLINGS.items()))
def test_every_relation_spelling(spelling, ours):
    assert ours in RELATIONS
    assert normalise_relation(spelling) == normalise_relation(f"  {spelling.upper()} ") == ours
    t = semantic_targets(_p({"objects": ["a", "b"], "relation": spelling}))
    assert t.relation == ours


@pytest.mark.parametrize("spelling", ["in front of", "behind", "near", "", None, 3])
def test_unknown_relations_have_no_target(spelling):
    assert normalise_relation(spelling) is None
    assert semantic_targets(_p({"objects": ["a", "b"], "relation": spelling})).relation is None


def test_colours_pair_with_objects_by_position():
    t = semantic_targets(_p({"objects": ["apple", "plate", "table"], "colors": ["red", "green"]}))
    assert t.colors == ("red", "green", None) and t.colored_objects == (("apple", "red"), ("plate", "green"))
    t = semantic_targets(_p({"objects": ["apple"], "colors": ["red", "green"]}))  # a colour with no object: dropped
    assert t.colors == ("red",)
    assert semantic_targets(_p({"colors": ["red"]})).colored_objects == ()  # no object to carry it


def test_prompts_without_text_have_no_targets():
    fields = {"no_text": True, "objects": ["dog"], "colors": ["red"], "action": "yoga", "scene": "alley"}
    assert semantic_targets(_p(fields, text="some-id")) == SemanticTargets()


def test_kinetics400_labels_are_vbenchs_400_in_its_order():
    labels = kinetics400_labels()
    assert len(labels) == len(set(labels)) == 400 and all(lab == lab.lower() for lab in labels)
    # VBench's UMT head order (pretrained/umt_model/kinetics_400_categroies.txt), not alphabetical
    assert labels[:4] == ("riding a bike", "marching", "dodgeball", "playing cymbals")
    assert labels[-1] == "playing badminton" and "passing american football (not in game)" in labels
    meta = pytest.importorskip("torchvision.models._meta")
    assert set(labels) == {lab.lower() for lab in meta._KINETICS400_CATEGORIES}


# -- the suites -----------------------------------------------------------------------------------------------------
def _complete(dim: str, t: SemanticTargets) -> bool:
    """What each semantic metric needs from a prompt (as the common brief of issue 16 defines applicability)."""
    return {"object_class": len(t.objects) == 1, "multiple_objects": len(t.objects) >= 2,
            "color": bool(t.colored_objects) and all(t.colors),
            "spatial_relationship": len(t.objects) == 2 and t.relation in RELATIONS,
            "human_action": t.action is not None, "scene": t.scene is not None,
            "appearance_style": t.style is not None, "temporal_style": t.temporal_style is not None,
            "overall_consistency": True}.get(dim, True)


def _incomplete(suite) -> list[str]:
    return [f"{p.id}: {d}" for p in suite for d in p.dimensions if not _complete(d, semantic_targets(p))]


SEMANTIC = ("object_class", "multiple_objects", "color", "spatial_relationship", "human_action", "scene",
            "appearance_style", "temporal_style", "overall_consistency")


def test_standard_semantic_subsets():
    suite = load_suite("standard")
    assert not _incomplete(suite)
    per_dim = Counter(d for p in suite for d in p.dimensions)
    assert {d: per_dim[d] for d in SEMANTIC} == dict.fromkeys(SEMANTIC, 40)
    for dim in ("object_class", "human_action", "scene", "temporal_style", "overall_consistency"):
        subset = suite.select(dimension=dim)
        assert Counter(p.category for p in subset) == dict.fromkeys(suite.categories, 5), dim
        assert all(p.dimensions == [dim] for p in subset), dim  # one subset per dimension, as VBench's lists
    styles = Counter()
    for p in suite:
        t, text = semantic_targets(p), p.text.lower()
        if "object_class" in p.dimensions:
            assert t.objects[0] in COCO_CLASSES and t.objects[0] in text, p.text
        if "human_action" in p.dimensions:  # an exact Kinetics-400 label, each of its words in the text
            assert t.action in kinetics400_labels() and all(w in text.split() for w in t.action.split()), p.text
        if "scene" in p.dimensions:  # VBench's scene rule wants every word of the scene in the caption
            assert all(w in text.split() for w in t.scene.split()), p.text
        if "temporal_style" in p.dimensions:
            assert text.endswith(f", {t.temporal_style}") and t.temporal_style in TEMPORAL_STYLES, p.text
            styles[t.temporal_style] += 1
    assert styles == dict.fromkeys(TEMPORAL_STYLES, 4)
    assert len({t.objects[0] for p in suite.select(dimension="object_class") for t in [semantic_targets(p)]}) == 40


def test_synthetic_semantic_fields():
    toy_action = pytest.importorskip("reference_models.toy_action")
    suite = load_suite("synthetic")
    assert not _incomplete(suite)
    for p in suite:
        t, f = semantic_targets(p), p.fields
        assert t.action in toy_action.ACTIONS and t.action.endswith(f["motion"])
        assert t.scene == f"{f['background']} background" and f["background"] in p.text
        assert ("object_class" in p.dimensions) == (len(t.objects) == 1)
        assert {"human_action", "scene", "overall_consistency"} <= set(p.dimensions)
    per_dim = Counter(d for p in suite for d in p.dimensions)
    assert per_dim["object_class"] == 192 and per_dim["spatial_relationship"] == 16 and per_dim["scene"] == 208
    assert {semantic_targets(p).action for p in suite} == set(toy_action.ACTIONS)  # every class is asked


def test_vbench_full_info_gives_every_semantic_prompt_complete_targets():
    suite = load_suite("vbench")
    assert not _incomplete(suite)
    per_dim = Counter(d for p in suite for d in p.dimensions if d in SEMANTIC)
    # VBench_full_info.json's counts (two appearance_style prompts are listed again for overall_consistency and
    # merged into one prompt each, so they count once per dimension)
    assert per_dim == {"object_class": 79, "multiple_objects": 82, "color": 85, "spatial_relationship": 84,
                       "human_action": 100, "scene": 86, "appearance_style": 90, "temporal_style": 100,
                       "overall_consistency": 93}
    by_text = {p.text: semantic_targets(p) for p in suite}
    assert by_text["A person is petting animal (not cat)"].action == "petting animal (not cat)"
    assert by_text["an orange bicycle"].colored_objects == (("bicycle", "orange"),)
    assert by_text["The bund Shanghai, racking focus"].temporal_style == "racking focus"
    assert by_text["a bicycle on the left of a car, front view"] == SemanticTargets(
        objects=("bicycle", "car"), colors=(None, None), relation="left of")
    assert by_text["alley"].scene == "alley" and by_text["a person"].objects == ("person",)
    vbench_objects = {semantic_targets(p).objects[0] for p in suite if "object_class" in p.dimensions}
    assert set(COCO_CLASSES) - vbench_objects == {"mouse"} and len(COCO_CLASSES) == 80
    assert {semantic_targets(p).temporal_style for p in suite if "temporal_style" in p.dimensions} == set(
        TEMPORAL_STYLES)


def test_vbench_rules_for_fields_without_auxiliary_info(tmp_path):
    # vbench/human_action.py reads the label off "<prompt>-<i>.mp4": lower case, before "-", after "person is "
    assert vbench_action("A person is riding a bike") == "riding a bike"
    assert vbench_action("A person is high-fiving") == "high"  # VBench's "-" split cuts it: not a label
    assert vbench_action("Someone swimming") == "someone swimming"
    # vbench/color.py: drop "a ", "an " and the colour word
    assert vbench_color_object("an orange bicycle", "orange") == "bicycle"
    assert vbench_color_object("a pink car", "pink") == "car"
    assert vbench_temporal_style("A shark, in super slow motion") == "in super slow motion"
    assert vbench_temporal_style("A shark, Camera Shakes.") == "camera shakes"
    items = [{"prompt_en": "A person is riding a bike", "dimension": ["human_action"]},
             {"prompt_en": "A person is high-fiving", "dimension": ["human_action"]},
             {"prompt_en": "a cat, zoom out", "dimension": ["temporal_style"]},
             {"prompt_en": "a cat, zoom in", "dimension": ["overall_consistency"]}]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    bike, high, zoom_out, zoom_in = import_vbench_json(path).prompts
    assert bike.fields == {"action": "riding a bike"}
    assert high.fields == {}  # not a Kinetics-400 label: no target, the metric says "not applicable"
    assert zoom_out.fields == {"temporal_style": "zoom out"} and zoom_in.fields == {}
    # VBench's prompts_per_dimension/human_action.txt: the file's name gives the tag, the text the label
    (tmp_path / "human_action.txt").write_text("A person is yoga\nA person is high-fiving\n", encoding="utf-8")
    yoga, high = load_suite(str(tmp_path / "human_action.txt")).prompts
    assert yoga.dimensions == high.dimensions == ["human_action"]
    assert semantic_targets(yoga).action == "yoga" and semantic_targets(high).action is None


def test_prompts_command_lists_a_dimension_subset(capsys):
    assert main(["prompts", "--dimension", "human_action", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["prompts"]) == 40 and all("human_action" in p["dimensions"] for p in data["prompts"])
    assert data["name"] == "standard[dimension=human_action]"
    assert main(["prompts", "--suite", "synthetic", "--dimension", "object_class", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 192


def test_semantic_subsets_follow_the_tags_and_untagged_prompts_belong_everywhere():
    """VBench scores each semantic dimension on its own prompts: a prompt tagged with a semantic dimension belongs
    to the subsets it names only; one with no semantic tag (a plain file, a quality-only tag) to every subset."""
    from vbench_lite.prompts import load_suite
    from vbench_lite.types import Prompt

    color = Prompt(id="c", text="a red car", dimensions=["color", "subject_consistency"],
                   fields={"objects": ["car"], "colors": ["red"]})
    assert [d for d in SEMANTIC_DIMENSIONS if in_subset(color, d)] == ["color"]
    plain = Prompt(id="p", text="a red car", fields={"objects": ["car"]})
    assert all(in_subset(plain, d) for d in SEMANTIC_DIMENSIONS)  # no tag at all: its fields decide
    motion = Prompt(id="m", text="a red car", dimensions=["motion"], fields={"objects": ["car"]})
    assert not any(in_subset(motion, d) for d in SEMANTIC_DIMENSIONS)  # tagged: only the subsets it names
    with pytest.raises(ValueError, match="not a semantic dimension"):
        in_subset(color, "motion")
    standard = load_suite("standard").prompts
    assert {d: sum(in_subset(p, d) and bool(semantic_targets(p).objects) for p in standard)
            for d in ("object_class", "multiple_objects")} == {"object_class": 40, "multiple_objects": 40}
    assert sum(in_subset(p, "overall_consistency") for p in standard) == 40  # VBench's subset, not every prompt
