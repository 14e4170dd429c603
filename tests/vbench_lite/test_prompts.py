"""Prompt suites: the builtin files, their hashes, the importers, bad files and the ``prompts`` command."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from vbench_lite.cli import main
from vbench_lite.prompts import (
    CAMERA_MOVES,
    CATEGORIES,
    DIMENSIONS,
    RELATIONS,
    Suite,
    build_standard,
    build_synthetic,
    builtin_suite_path,
    import_csv,
    import_text,
    import_vbench_json,
    list_suites,
    load_suite,
    prompts_sha256,
)
from vbench_lite.prompts._build import build_main
from vbench_lite.prompts.vocabulary import REQUIRED_FIELDS
from vbench_lite.types import Prompt, VbenchError, is_safe_id, prompt_id_for_text, slugify

#: (suite, version) -> sha256 of every released builtin suite. A changed hash needs a new version (and a new line).
RELEASED = {
    ("standard", "1.0.0"): "f76dc8529e3db0def65e6c343bb87af9d7f039d78aaf3529fdeb6cfe2f132b99",
    ("synthetic", "1.0.0"): "193753b0d46a1fc40f36b7109661d02841788f4a2624a9937cf0343c336d9a37",
    ("synthetic", "1.0.1"): "fbe8523e91e1a5f2e727943e0f1f437b3b9926c4d6d880ecaa44a5fca9ba8204",  # + relation
    # + VBench's semantic subsets (object class, action, scene, temporal style, overall consistency), no depth relations
    ("standard", "2.0.0"): "dce9414b9c02f5afd848ec6277f7ea362666a63827c112b990fb9fc74ee6da2b",
    ("synthetic", "1.1.0"): "243ad6b0ee943aeed5acdb0189824321cf56f17ef4da3bca20a146d23c12e903",  # + action, scene
}


@pytest.fixture(scope="module")
def standard() -> Suite:
    return load_suite("standard")


def _spec_sha256(prompt_dicts: list[dict]) -> str:
    """The hash as the package docstring defines it, computed from the raw file's dicts."""
    blob = json.dumps(prompt_dicts, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


# -- the builtin suites --------------------------------------------------------------------------------------------
def test_builtin_suites_are_listed():
    assert list_suites() == ["standard", "synthetic", "vbench"]  # vbench: VBench's own file, imported on load


def test_standard_counts_categories_and_dimension_coverage(standard):
    assert len(standard) >= 300
    per_category = Counter(p.category for p in standard)
    assert sorted(per_category) == sorted(CATEGORIES) and len(per_category) == 8
    mean = len(standard) / 8
    assert all(0.8 * mean <= n <= 1.2 * mean for n in per_category.values()), per_category
    per_dimension = Counter(d for p in standard for d in p.dimensions)
    assert set(per_dimension) == set(DIMENSIONS)
    assert min(per_dimension.values()) >= 20, per_dimension
    assert all(p.dimensions for p in standard)
    assert standard.dimension_meanings == DIMENSIONS and standard.categories == list(CATEGORIES)


@pytest.mark.parametrize("name", ["standard", "synthetic"])
def test_ids_are_unique_slugs_and_safe_file_names(name, tmp_path):
    suite = load_suite(name)
    ids = suite.ids()
    assert len(set(ids)) == len(ids)
    for p in suite:
        assert is_safe_id(p.id) and "/" not in p.id and "\\" not in p.id
        base = slugify(p.text)
        assert p.id == base or (p.id.startswith(base + "-") and p.id[len(base) + 1:].isdigit())
    for prompt_id in ids:  # the file system agrees
        (tmp_path / prompt_id).mkdir()
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(ids)


def test_standard_fields_match_the_dimensions_and_the_text(standard):
    cameras = Counter()
    for p in standard:
        text = p.text.lower()
        for dim in p.dimensions:
            for key in REQUIRED_FIELDS.get(dim, ()):
                assert p.fields.get(key), f"{p.id}: {dim} needs fields[{key!r}]"
        f = p.fields
        if "color" in p.dimensions:
            assert len(f["colors"]) == len(f["objects"]) >= 1
            assert all(c in text for c in f["colors"]), p.text
        if "multiple_objects" in p.dimensions:
            assert len(f["objects"]) >= 2
        if "spatial_relationship" in p.dimensions:
            assert len(f["objects"]) == 2 and f["relation"] in RELATIONS
            assert any(phrase in text for phrase in build_standard.RELATION_PHRASES[f["relation"]]), p.text
            first, second = f["objects"]
            assert text.index(first) < text.index(second), p.text  # objects[0] is <relation> objects[1]
        for obj in f.get("objects", []):
            assert obj in text, (p.text, obj)
        if "motion" in p.dimensions:
            assert f["motion"] in text, p.text
        if "camera_motion" in p.dimensions:
            assert f["camera"] in CAMERA_MOVES
            cameras[f["camera"]] += 1
            assert any(text.endswith(ph.lower()) for ph in build_standard.CAMERA_PHRASES[f["camera"]]), p.text
        if "appearance_style" in p.dimensions:
            assert any(text.endswith(ph.lower()) for ph in build_standard.STYLE_PHRASES[f["style"]]), p.text
    assert set(cameras) == set(CAMERA_MOVES) and min(cameras.values()) >= 4, cameras


def test_standard_texts_are_distinct_and_clean(standard):
    texts = [p.text for p in standard]
    assert len({t.lower() for t in texts}) == len(texts)
    assert all(t == t.strip() and "  " not in t and len(t.split()) >= 4 for t in texts)


@pytest.mark.parametrize("name", ["standard", "synthetic"])
def test_recorded_sha256_is_the_canonical_hash_and_versions_are_pinned(name):
    path = builtin_suite_path(name)
    raw = json.loads(path.read_text(encoding="utf-8"))
    suite = load_suite(name)
    assert suite.sha256 == _spec_sha256(raw["prompts"])  # the spec's formula on the file's own dicts
    assert raw["sha256"] == suite.recorded_sha256 == suite.sha256, f"{path} edited without rebuilding"
    assert RELEASED.get((name, suite.version)) == suite.sha256, (
        f"{name} {suite.version} changed its prompts: bump the version and add it to RELEASED")
    assert suite.source == "builtin"
    assert suite.describe() == {"name": name, "version": raw["version"], "sha256": suite.sha256,
                                "n_prompts": len(raw["prompts"])}


def test_sha256_changes_with_one_character_and_ignores_file_layout(standard, tmp_path):
    prompts = [dataclasses.replace(p) for p in standard.prompts]
    base = prompts_sha256(prompts)
    assert base == standard.sha256
    k = random.Random(0).randrange(len(prompts))
    edited = list(prompts)
    edited[k] = dataclasses.replace(prompts[k], text=prompts[k].text[:-1] + "X")
    assert prompts_sha256(edited) != base
    retagged = list(prompts)
    retagged[k] = dataclasses.replace(prompts[k], dimensions=prompts[k].dimensions[:-1])
    assert prompts_sha256(retagged) != base
    assert prompts_sha256(prompts[::-1]) != base  # order is part of the suite
    # Same prompts, different layout, key order, name and description: same hash.
    raw = json.loads(builtin_suite_path("standard").read_text(encoding="utf-8"))
    shuffled = {"prompts": [dict(reversed(list(p.items()))) for p in raw["prompts"]], "version": "x",
                "name": "renamed", "description": "other words"}
    (tmp_path / "relaid.json").write_text(json.dumps(shuffled, indent=4), encoding="utf-8")
    assert load_suite(str(tmp_path / "relaid.json")).sha256 == base
    # The file's text with one character changed loads with a different hash.
    text = builtin_suite_path("standard").read_text(encoding="utf-8")
    at = text.index('"text": "') + len('"text": "')
    (tmp_path / "one_char.json").write_text(text[:at] + "A" + text[at + 1:], encoding="utf-8")
    changed = load_suite(str(tmp_path / "one_char.json"))
    assert changed.sha256 != base and changed.recorded_sha256 == base


def test_subsets_have_their_own_hash(standard):
    head = dataclasses.replace(standard, prompts=standard.prompts[:3])  # what --limit does
    assert len(head) == 3 and head.sha256 == prompts_sha256(standard.prompts[:3]) != standard.sha256
    animals = standard.select(category="animals")
    assert len(animals) == 67 and {p.category for p in animals} == {"animals"}
    assert animals.name == "standard[category=animals]"
    colour_food = standard.select(category="food", dimension="color")
    assert len(colour_food) == 5 and all("color" in p.dimensions for p in colour_food)


def test_suite_api(standard):
    first = standard.prompts[0]
    assert standard.get(first.id) is first
    with pytest.raises(VbenchError, match="not in suite 'standard'"):
        standard.get("no-such-prompt")
    assert list(standard) == standard.prompts and len(standard) == len(standard.prompts)
    with pytest.raises(VbenchError, match="appears twice"):
        Suite(name="dup", version="1", prompts=[first, first])


def test_build_scripts_reproduce_the_shipped_files():
    assert build_standard.main(["--check"]) == 0
    assert build_synthetic.main(["--check"]) == 0


def test_synthetic_file_equals_the_synthetic_world():
    from vbench_lite.generators.synthetic import synthetic_suite_prompts

    shipped = load_suite("synthetic")
    expected = synthetic_suite_prompts()
    assert [p.to_dict() for p in shipped] == [p.to_dict() for p in expected]
    assert all(p.fields["action"] and p.fields["scene"] for p in shipped)  # the semantic dimensions' fields


def test_every_synthetic_prompt_renders():
    from vbench_lite.generators.synthetic import SyntheticGenerator, scene_from_prompt

    suite = load_suite("synthetic")
    generator = SyntheticGenerator()
    for p in suite:
        scene = scene_from_prompt(p)
        # the text alone describes the same scene as the structured fields
        assert scene_from_prompt(Prompt(id=p.id, text=p.text)) == scene, p.text
        clip = generator.generate(p, seed=0, num_frames=2, size=(16, 16))
        assert clip.frames.shape == (2, 16, 16, 3)


def test_build_refuses_to_change_a_released_version(tmp_path, capsys):
    out = tmp_path / "synthetic.json"
    out.write_text(builtin_suite_path("synthetic").read_text(encoding="utf-8"), encoding="utf-8")

    def changed():
        prompts = build_synthetic.make_prompts()
        return [dataclasses.replace(prompts[0], text=prompts[0].text + " "), *prompts[1:]]

    args = ("synthetic", "d", ["synthetic"], {}, changed)
    assert build_main(*args, ["--out", str(out)]) == 2
    assert "pass --version" in capsys.readouterr().err
    assert build_main(*args, ["--out", str(out), "--version", "1.0.2"]) == 0
    rebuilt = load_suite(str(out))
    assert rebuilt.version == "1.0.2" and rebuilt.recorded_sha256 == rebuilt.sha256 != load_suite("synthetic").sha256


# -- importers -----------------------------------------------------------------------------------------------------
def _hashed(slug: str, text: str) -> str:
    """The id of a text whose slug does not spell it: slug, '_', 8 hex digits of sha256(text) (computed here)."""
    return f"{slug}_{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def test_import_vbench_json(tmp_path):
    items = [
        {"prompt_en": "a red bicycle", "dimension": ["color"], "auxiliary_info": {"color": {"color": "red"}}},
        {"prompt_en": "a bicycle on the left of a car, front view", "dimension": ["spatial_relationship"],
         "auxiliary_info": {"spatial_relationship": {"spatial_relationship": {
             "object_a": "bicycle", "object_b": "car", "relationship": "on the left of"}}}},
        {"prompt_en": "a goose and a duck", "dimension": ["multiple_objects", "temporal_flickering"],
         "auxiliary_info": {"multiple_objects": {"object": "goose and duck"}}},
        {"prompt_en": "a lake at dawn, pixel art", "dimension": ["appearance_style"],
         "auxiliary_info": {"appearance_style": {"appearance_style": "pixel art"}}},
        {"prompt_en": "A red bicycle!", "dimension": []},
    ]
    path = tmp_path / "vbench_prompts.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    suite = import_vbench_json(path)
    assert (suite.name, suite.version, suite.source) == ("vbench_prompts", "import", str(path))
    # a slug that does not spell the text exactly gets the text's hash: "A red bicycle!" no longer takes the id
    # "a-red-bicycle-2", which depended on the order of the file
    assert suite.ids() == ["a-red-bicycle", _hashed("a-bicycle-on-the-left-of-a-car-front-view",
                                                    "a bicycle on the left of a car, front view"),
                           "a-goose-and-a-duck", _hashed("a-lake-at-dawn-pixel-art", "a lake at dawn, pixel art"),
                           _hashed("a-red-bicycle", "A red bicycle!")]
    red, spatial, pair, styled, _ = suite.prompts
    assert red.fields["colors"] == ["red"] and red.fields["objects"] == ["bicycle"]
    assert spatial.fields["objects"] == ["bicycle", "car"] and spatial.fields["relation"] == "left of"
    assert pair.fields["objects"] == ["goose", "duck"]
    assert pair.dimensions == ["multiple_objects", "temporal_flicker"]  # VBench's name mapped to ours
    assert pair.fields["vbench_dimensions"] == ["multiple_objects", "temporal_flickering"]
    assert styled.fields["style"] == "pixel art"
    assert suite.sha256 == prompts_sha256(suite.prompts) == load_suite(str(path)).sha256


def test_import_vbench_json_merges_repeated_prompts_and_keeps_case_variants(tmp_path):
    # issue 17 (a) and (b): VBench_full_info.json lists "The bund Shanghai, oil painting" twice (appearance_style, then
    # overall_consistency/aesthetic_quality/imaging_quality) and has "A fantasy landscape" and "a fantasy landscape"
    items = [
        {"prompt_en": "The bund Shanghai, oil painting", "dimension": ["appearance_style"],
         "auxiliary_info": {"appearance_style": {"appearance_style": "oil painting"}}},
        {"prompt_en": "A fantasy landscape", "dimension": ["overall_consistency"]},
        {"prompt_en": "The bund Shanghai, oil painting", "dimension": ["overall_consistency", "temporal_flickering"]},
        {"prompt_en": "a fantasy landscape", "dimension": ["aesthetic_quality"]},
    ]
    path = tmp_path / "VBench_full_info.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    suite = load_suite(str(path))
    assert [p.text for p in suite] == ["The bund Shanghai, oil painting", "A fantasy landscape",
                                       "a fantasy landscape"]
    bund, upper, lower = suite.prompts
    assert bund.dimensions == ["appearance_style", "overall_consistency", "temporal_flicker"]
    assert bund.fields["vbench_dimensions"] == ["appearance_style", "overall_consistency", "temporal_flickering"]
    assert bund.fields["style"] == "oil painting" and bund.fields["vbench_entries"] == 2
    assert upper.id == _hashed("a-fantasy-landscape", "A fantasy landscape") and lower.id == "a-fantasy-landscape"
    assert (upper.dimensions, lower.dimensions) == (["overall_consistency"], ["aesthetic_quality"])


def test_import_vbench_json_plain_strings(tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(["a kite over a beach", "  a kite over a beach ", "a boat"]), encoding="utf-8")
    suite = load_suite(str(path))
    assert [p.text for p in suite] == ["a kite over a beach", "a kite over a beach", "a boat"]
    assert suite.ids() == ["a-kite-over-a-beach", "a-kite-over-a-beach-2", "a-boat"]
    assert all(p.category == "uncategorized" and p.dimensions == [] for p in suite)


def test_import_text(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("# my prompts\n\na cat on a roof\n   \n  # indented comment\na dog in the rain  \n"
                    "a cat on a roof\n", encoding="utf-8")
    suite = import_text(path)
    assert [p.text for p in suite] == ["a cat on a roof", "a dog in the rain", "a cat on a roof"]
    assert suite.ids() == ["a-cat-on-a-roof", "a-dog-in-the-rain", "a-cat-on-a-roof-2"]
    assert suite.name == "mine" and suite.version == "import" and all(p.dimensions == [] for p in suite)
    # VBench's per-dimension files are named after the dimension; the name tags every prompt
    flicker = tmp_path / "temporal_flickering.txt"
    flicker.write_text("a still pond\n", encoding="utf-8")
    assert load_suite(str(flicker)).prompts[0].dimensions == ["temporal_flicker"]


def test_import_csv(tmp_path):
    path = tmp_path / "team.csv"
    rows = [["ID", "Prompt", "category", "dimensions", "owner"],
            ["", "a fox in the snow", "animals", "color; motion", "ana"],
            ["shots/cliff-01", "a cliff at dusk", "scenery", "camera_motion|temporal_flickering", ""],
            ["café-crème", "a cup of coffee", "", "", ""],
            ["", "a fox in the snow", "animals", "", ""],
            ["", "", "", "", ""]]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    suite = import_csv(path)
    assert suite.ids() == ["a-fox-in-the-snow", _hashed("shots-cliff-01", "shots/cliff-01"),
                           _hashed("cafe-creme", "café-crème"), "a-fox-in-the-snow-2"]
    fox, cliff, coffee, _ = suite.prompts
    assert fox.category == "animals" and fox.dimensions == ["color", "motion"] and fox.fields == {"owner": "ana"}
    assert cliff.dimensions == ["camera_motion", "temporal_flicker"]
    assert cliff.fields == {"original_id": "shots/cliff-01"}
    assert coffee.fields == {"original_id": "café-crème"} and coffee.category == "uncategorized"
    assert load_suite(str(path)).sha256 == suite.sha256


@pytest.mark.parametrize("texts", [("猫が走る", "犬が走る"), ("a cat, running", "a cat running!"),
                                   ("a cat running", "a-cat-running"), ("A cat", "a cat"), ("x" * 200, "x" * 201)])
def test_text_ids_are_unique_stable_and_safe(texts):
    ids = [prompt_id_for_text(t) for t in texts]
    assert ids[0] != ids[1], ids
    assert ids == [prompt_id_for_text(t) for t in texts]  # a pure function of the text
    assert all(is_safe_id(i) and len(i) <= 80 for i in ids), ids
    for text, prompt_id in zip(texts, ids):
        slug = slugify(text)
        if slug.replace("-", " ") == text:  # the slug spells the text: kept bare, as before
            assert prompt_id == slug
        else:
            assert prompt_id.endswith("_" + hashlib.sha256(text.encode()).hexdigest()[:8]), prompt_id
    assert prompt_id_for_text("猫が走る") == "prompt_" + hashlib.sha256("猫が走る".encode()).hexdigest()[:8]


def test_imported_ids_do_not_depend_on_the_order_of_the_file(tmp_path):
    forward, backward = tmp_path / "f.txt", tmp_path / "b.txt"
    forward.write_text("a cat, running\na cat running!\n猫が走る\n犬が走る\n", encoding="utf-8")
    backward.write_text("犬が走る\n猫が走る\na cat running!\na cat, running\n", encoding="utf-8")
    ids_f = {p.text: p.id for p in import_text(forward)}
    ids_b = {p.text: p.id for p in import_text(backward)}
    assert ids_f == ids_b and len(set(ids_f.values())) == 4


def test_builtin_build_keeps_plain_slugs():
    # the builtin suites' ids are stored in shipped files: the build rule stays slug + "-2" in file order
    drafts = [{"text": "a cat, running"}, {"text": "a cat running!"}]
    from vbench_lite.prompts.drafts import assign_ids

    assert [p.id for p in assign_ids(drafts, where="t", plain_slugs=True)] == ["a-cat-running", "a-cat-running-2"]
    assert [p.id for p in assign_ids(drafts, where="t")] == [prompt_id_for_text(d["text"]) for d in drafts]


def test_csv_text_column_may_be_called_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text\na lighthouse in fog\n", encoding="utf-8")
    assert load_suite(str(path)).prompts[0].text == "a lighthouse in fog"


def test_explicit_safe_ids_win_over_generated_ones(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("prompt,id\na boat,\nanother boat,a-boat\n", encoding="utf-8")
    assert import_csv(path).ids() == ["a-boat-2", "a-boat"]


# -- bad files -----------------------------------------------------------------------------------------------------
BAD_FILES = {
    "invalid.json": ('[\n  "a cat",\n  "a dog"\n  "a cow"\n]\n', "invalid JSON at line 4"),
    "empty.json": ("", "empty file"),
    "blank.txt": ("\n  \n", "empty file"),
    "comments.txt": ("# only a comment\n\n", "no prompts"),
    "empty.csv": ("", "empty file"),
    "header_only.csv": ("text,category\n", "no prompts"),
    "no_text.csv": ("id,category\nx,animals\n", "no 'text' or 'prompt' column (columns: id, category)"),
    "empty_prompt.csv": ("prompt,category\na cat,animals\n,animals\n", "line 3: empty prompt"),
    "bad_fields.csv": ('text,fields\na cat,"{oops"\n', "line 2: 'fields' is not valid JSON"),
    "twice.csv": ("id,text\nsame,a cat\nsame,a dog\n", "id 'same' is used twice"),
    "empty_item.json": ('[{"prompt_en": "a cat"}, {"prompt_en": "  "}]', "item 1: empty prompt"),
    "number_item.json": ("[1, 2]", "item 0: expected a string or an object"),
    "bad_dims.json": ('[{"prompt_en": "a cat", "dimension": [1]}]', "'dimension' must be a list of strings"),
    "no_name.json": ('{"prompts": [{"id": "a", "text": "a"}]}', "missing 'name', 'version'"),
    "no_prompts.json": ('{"name": "x", "version": "1", "prompts": []}', "the suite has no prompts"),
    "untagged.json": ('{"name": "x", "version": "1", "dimensions": {"color": "c"}, '
                      '"prompts": [{"id": "a", "text": "a cat", "dimensions": ["speed"]}]}',
                      "dimension 'speed' is not declared"),
    "no_text.json": ('{"name": "x", "version": "1", "prompts": [{"id": "a"}]}', "prompt 0: empty prompt"),
    "scalar.json": ("42", "expected a JSON list of prompts"),
    "suite.yaml": ("name: x\n", "unknown suite file type '.yaml'"),
}


@pytest.mark.parametrize("file_name", sorted(BAD_FILES))
def test_bad_files_give_one_line_naming_the_file(file_name, tmp_path, capsys):
    content, problem = BAD_FILES[file_name]
    path = tmp_path / file_name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(VbenchError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message
    assert main(["prompts", "--suite", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and problem in err


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(VbenchError, match="no such file"):
        load_suite(str(tmp_path / "nope.csv"))
    with pytest.raises(VbenchError, match="nosuchsuite: no builtin suite or file of that name"):
        load_suite("nosuchsuite")
    for importer in (import_csv, import_text, import_vbench_json):
        with pytest.raises(VbenchError, match="no such file"):
            importer(tmp_path / "nope.txt")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("a cat\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(VbenchError, match=r"not UTF-8 text \(bad byte at line 2\)"):
        load_suite(str(latin))
    with pytest.raises(VbenchError, match="is a folder"):
        load_suite(str(tmp_path))


# -- the command ---------------------------------------------------------------------------------------------------
def test_cli_table(standard, capsys):
    assert main(["prompts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"suite standard version {standard.version} sha256 {standard.sha256} prompts {len(standard)}"
    header, rows = out[1], out[2:]
    assert header.split() == ["id", "category", "dimensions", "text"] and len(rows) == len(standard)
    text_at = header.index("text")
    for p, row in zip(standard, rows):
        assert row.startswith(p.id + " ") and row[text_at:] == p.text  # aligned columns


def test_cli_table_filtered(standard, capsys):
    assert main(["prompts", "--category", "plants", "--dimension", "camera_motion"]) == 0
    out = capsys.readouterr().out.splitlines()
    chosen = [p for p in standard if p.category == "plants" and "camera_motion" in p.dimensions]
    assert out[0].startswith("suite standard[category=plants,dimension=camera_motion] ")
    assert out[0].endswith(f"prompts {len(chosen)}") and standard.sha256 in out[1]
    assert [r.split()[0] for r in out[3:]] == [p.id for p in chosen]


def test_cli_csv_round_trips_through_the_importer(standard, capsys, tmp_path):
    assert main(["prompts", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(standard) and list(rows[0]) == ["id", "category", "dimensions", "text", "fields"]
    assert rows[0]["id"] == standard.prompts[0].id and rows[0]["dimensions"] == ";".join(standard.prompts[0].dimensions)
    path = tmp_path / "standard_copy.csv"
    path.write_text(text, encoding="utf-8")
    assert import_csv(path).sha256 == standard.sha256  # same prompts, same hash


def test_cli_json_is_the_suite_file(standard, capsys, tmp_path):
    assert main(["prompts", "--suite", "standard", "--format", "json"]) == 0
    text = capsys.readouterr().out
    data = json.loads(text)
    assert data == standard.to_dict()
    path = tmp_path / "copy.json"
    path.write_text(text, encoding="utf-8")
    copy = load_suite(str(path))
    assert copy.describe() == standard.describe() and copy.recorded_sha256 == standard.sha256
    assert main(["prompts", "--format", "json", "--dimension", "appearance_style"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["prompts"]) == 40 and data["selected_from"] == standard.describe()


def test_cli_list_and_other_suites(capsys, tmp_path):
    assert main(["prompts", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "version", "prompts", "sha256"]
    assert [line.split()[0] for line in lines[1:]] == ["standard", "synthetic", "vbench"]
    assert lines[2].split()[1:3] == [load_suite("synthetic").version, str(len(load_suite("synthetic")))]
    path = tmp_path / "few.txt"
    path.write_text("a swan on a lake\n", encoding="utf-8")
    assert main(["prompts", "--suite", str(path), "--format", "csv"]) == 0
    assert "a-swan-on-a-lake,uncategorized,,a swan on a lake," in capsys.readouterr().out


def test_cli_unknown_filter_is_a_usage_error(capsys):
    assert main(["prompts", "--category", "robots"]) == 2
    assert "--category 'robots': not a category of suite 'standard'" in capsys.readouterr().err
    assert main(["prompts", "--suite", "synthetic", "--dimension", "camera_motion"]) == 2
    assert "no prompt of suite 'synthetic' has it" in capsys.readouterr().err


def test_package_docstring_documents_format_and_hash():
    import vbench_lite.prompts as package

    doc = package.__doc__
    for word in ("sha256", "sort_keys=True", "ensure_ascii=False", "fields", "version", "import"):
        assert word in doc
    assert Path(builtin_suite_path("standard")).name == "standard.json"
