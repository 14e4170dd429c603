"""The tag vocabulary of our suites: dimensions, categories, camera moves, spatial relations, temporal styles.

The builtin suite files repeat these (``dimensions`` with a one-line meaning each, ``categories``) so that a suite
file is self-describing; the build scripts copy them from here. Semantic metrics read a prompt's targets through
:func:`vbench_lite.prompt_fields.semantic_targets`, never from these tables.
"""

from __future__ import annotations

from vbench_lite.prompt_fields import RELATION_SPELLINGS
from vbench_lite.prompt_fields import RELATIONS as _RELATIONS

#: dimension tag -> what a prompt with that tag probes
DIMENSIONS: dict[str, str] = {
    "subject_consistency": "the main subject keeps its identity and look from the first frame to the last",
    "background_consistency": "the background and setting stay the same place throughout the clip",
    "motion": "the named motion happens and looks smooth and physically plausible (fields.motion names it)",
    "dynamic_degree": "the prompt asks for large, fast motion, so a nearly frozen clip is a failure",
    "multiple_objects": "every named object appears together in the same frames (fields.objects)",
    "color": "each named object has the named colour (fields.colors paired with fields.objects)",
    "spatial_relationship": "two objects stand in the named relation (fields.objects, fields.relation)",
    "camera_motion": "the camera moves as asked (fields.camera: pan, tilt, zoom, orbit or static)",
    "appearance_style": "the whole clip is rendered in the named visual style (fields.style)",
    "temporal_flicker": "a static scene: nothing should change, so any brightness or texture flicker is an error",
    "object_class": "the one named object (a COCO class, fields.objects) is visible in the frames",
    "human_action": "the named action (a Kinetics-400 class, fields.action) is what happens in the clip",
    "scene": "the clip shows the named place (a Places365-style scene name, fields.scene)",
    "temporal_style": "the clip has the named temporal look, e.g. slow motion or a camera pan (fields.temporal_style);"
                      " scored against the whole prompt, as VBench does",
    "overall_consistency": "the clip as a whole matches the whole prompt text (no field needed)",
}

#: the categories of the ``standard`` suite
CATEGORIES: tuple[str, ...] = (
    "animals", "architecture", "food", "humans", "lifestyle", "plants", "scenery", "vehicles",
)

#: values of ``fields["camera"]``
CAMERA_MOVES: tuple[str, ...] = (
    "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "orbit", "static",
)

#: values of ``fields["relation"]``: object 0 is <relation> object 1. VBench's four, judged on box centres
#: (``vbench/spatial_relationship.py``); depth ("in front of", "behind") has no such rule, so no prompt of ours asks it.
RELATIONS: tuple[str, ...] = _RELATIONS

#: VBench's temporal styles: ``vbench/temporal_style.py`` scores a clip against the whole prompt "<scene>, <style>"
#: (VBench_full_info.json's 100 temporal_style prompts are 10 scenes x these 10); ``fields.temporal_style`` names the
#: style part, and the standard suite uses the same ten.
TEMPORAL_STYLES: tuple[str, ...] = (
    "in super slow motion", "zoom in", "zoom out", "pan left", "pan right", "tilt up", "tilt down",
    "with an intense shaking effect", "featuring a steady and smooth perspective", "racking focus",
)

#: The 80 COCO object classes (VBench's object_class prompts use 79 of them, all but "mouse"): the names
#: ``fields.objects`` holds for object_class prompts.
COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant",
    "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
    "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",
    "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet",
    "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)

#: VBench dimension names that mean one of ours (imported suites are tagged with ours)
VBENCH_DIMENSION_ALIASES: dict[str, str] = {
    "temporal_flickering": "temporal_flicker",
    "motion_smoothness": "motion",
}

#: spellings of a spatial relation in imported files -> our relation name (VBench writes "on the left of" ...)
RELATION_ALIASES: dict[str, str] = dict(RELATION_SPELLINGS)

#: dimension -> the ``fields`` keys a prompt tagged with it must carry in our builtin suites
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "multiple_objects": ("objects",),
    "color": ("colors", "objects"),
    "spatial_relationship": ("objects", "relation"),
    "camera_motion": ("camera",),
    "appearance_style": ("style",),
    "motion": ("motion",),
    "object_class": ("objects",),
    "human_action": ("action",),
    "scene": ("scene",),
    "temporal_style": ("temporal_style",),
}
