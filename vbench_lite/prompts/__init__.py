"""Prompt suites: versioned, hashed lists of prompts, shipped as data, plus importers for other people's files.

Builtin suites
--------------
``standard``   536 prompts written for vbench-lite in 8 categories (animals, architecture, food, humans,
               lifestyle, plants, scenery, vehicles), each tagged with the dimensions it probes, with 40-prompt
               subsets for VBench's semantic dimensions (``semantic_prompts.py``). Built by
               ``python -m vbench_lite.prompts.build_standard`` from phrase lists authored in those modules.
``synthetic``  the prompts the synthetic world renders exactly (``vbench_lite.generators.synthetic``) with their
               semantic fields (``action``, ``scene``), written by ``python -m vbench_lite.prompts.build_synthetic``.
``vbench``     VBench's own ``VBench_full_info.json``, imported on load.

``load_suite("standard")``, ``load_suite("my_prompts.csv")``, ``list_suites()``; on the command line
``vbench-lite prompts --suite standard --format table|csv|json [--category C] [--dimension D]``. A per-dimension
subset, as VBench evaluates each dimension on its own prompt list: ``suite.select(dimension="object_class")`` or
``--dimension object_class``.

The suite file format
---------------------
A suite is one JSON object (``vbench_lite/prompts/suites/<name>.json``)::

    {
      "name": "standard",
      "version": "1.0.0",
      "description": "...",
      "sha256": "<hex digest of the canonical prompt list, see below>",
      "dimensions": {"motion": "one-line meaning", ...},      # the tag vocabulary
      "categories": ["animals", ...],
      "prompts": [
        {"id": "a-red-fox-trotting-across-fresh-snow", "text": "a red fox trotting across fresh snow",
         "category": "animals", "dimensions": ["color", "motion"],
         "fields": {"colors": ["red"], "objects": ["fox"], "motion": "trotting"}},
        ...
      ]
    }

``id`` is a stable slug that is safe as a file name. The builtin suites' ids are ``vbench_lite.types.slugify`` of
the text (``-2``, ``-3`` on collisions), frozen in their files; a suite file without ids, an imported file or a
video named by its prompt text gets ``vbench_lite.types.prompt_id_for_text`` (the slug, plus 8 hex digits of the
text's sha256 unless the slug spells the text exactly), so that ids are unique for any text. A prompt's
``dimensions`` must be declared in ``dimensions`` and its ``category`` in ``categories`` when the file declares
them. ``fields`` carry what a dimension needs to be scored (semantic metrics read them through
``vbench_lite.prompt_fields.semantic_targets``, which also reads the synthetic world's ``objects`` of
``{"shape", "color", "motion"}``):

=====================  ===========================================================================
dimension              fields
=====================  ===========================================================================
multiple_objects       ``objects``: the nouns that must all appear
color                  ``colors`` and ``objects`` (``colors[i]`` is the colour of ``objects[i]``)
spatial_relationship   ``objects`` (two) and ``relation``: objects[0] is <relation> objects[1]
                       (left of, right of, above, below; VBench's "on the left of" ... are read too)
camera_motion          ``camera``: pan_left, pan_right, tilt_up, tilt_down, zoom_in, zoom_out, orbit, static
appearance_style       ``style``
motion                 ``motion``: the verb of the motion asked for
object_class           ``objects``: the one object (a COCO class name in the standard suite)
human_action           ``action``: a Kinetics-400 label (``kinetics400_labels.txt``), or the synthetic
                       world's "moving left" ... "staying still"
scene                  ``scene``: a place ("alley", "bakery shop"; synthetic: "black background")
temporal_style         ``temporal_style``: the style part of "<scene>, <style>" (VBench's ten styles)
overall_consistency    none: the whole text
=====================  ===========================================================================

The hash
--------
A suite's ``sha256`` is taken of its prompts only, in order, in a canonical form::

    json.dumps([p.to_dict() for p in prompts], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    encoded as UTF-8

so whitespace, key order and the name/description of the file do not change it, while any change to a prompt's
id, text, category, tags or fields does. It is computed at load time and recorded in ``results.json`` with the
suite's name and version; a builtin file also records it, and a test checks the recorded value equals the
computed one and that each released version keeps its hash: edit a builtin suite only together with a version bump.
A subset (``--limit``, ``--category``) has its own hash.

Imported files
--------------
``.json`` in VBench's shape (a list of ``{"prompt_en", "dimension", "auxiliary_info"}`` or of strings), ``.txt``
(one prompt a line, ``#`` comments) and ``.csv`` (``text``/``prompt`` column; optional ``id``, ``category``,
``dimensions`` separated by ``;`` or ``|``, ``fields`` as JSON). Imported suites are named after the file stem, have
version ``"import"``, and are hashed the same way.
"""

from vbench_lite.prompts.importers import import_csv, import_text, import_vbench_json
from vbench_lite.prompts.library import builtin_suite_path, list_suites, load_suite
from vbench_lite.prompts.suite import Suite, canonical_prompts_json, prompts_sha256, write_suite
from vbench_lite.prompts.vocabulary import (
    CAMERA_MOVES,
    CATEGORIES,
    COCO_CLASSES,
    DIMENSIONS,
    RELATIONS,
    TEMPORAL_STYLES,
)

__all__ = [
    "CAMERA_MOVES", "CATEGORIES", "COCO_CLASSES", "DIMENSIONS", "RELATIONS", "TEMPORAL_STYLES", "Suite",
    "builtin_suite_path", "canonical_prompts_json", "import_csv", "import_text", "import_vbench_json", "list_suites",
    "load_suite", "prompts_sha256", "write_suite",
]
