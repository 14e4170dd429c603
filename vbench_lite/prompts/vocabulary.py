"""The tag vocabulary of our suites: dimensions, categories, camera moves and spatial relations.

The builtin suite files repeat these (``dimensions`` with a one-line meaning each, ``categories``) so that a suite
file is self-describing; the build scripts copy them from here.
"""

from __future__ import annotations

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
}

#: the categories of the ``standard`` suite
CATEGORIES: tuple[str, ...] = (
    "animals", "architecture", "food", "humans", "lifestyle", "plants", "scenery", "vehicles",
)

#: values of ``fields["camera"]``
CAMERA_MOVES: tuple[str, ...] = (
    "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "orbit", "static",
)

#: values of ``fields["relation"]``: object 0 is <relation> object 1
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below", "in front of", "behind")

#: VBench dimension names that mean one of ours (imported suites are tagged with ours)
VBENCH_DIMENSION_ALIASES: dict[str, str] = {
    "temporal_flickering": "temporal_flicker",
    "motion_smoothness": "motion",
}

#: spellings of a spatial relation in imported files -> our relation name
RELATION_ALIASES: dict[str, str] = {
    "on the left of": "left of",
    "to the left of": "left of",
    "left of": "left of",
    "on the right of": "right of",
    "to the right of": "right of",
    "right of": "right of",
    "on the top of": "above",
    "on top of": "above",
    "above": "above",
    "on the bottom of": "below",
    "under": "below",
    "beneath": "below",
    "below": "below",
    "in front of": "in front of",
    "behind": "behind",
}

#: dimension -> the ``fields`` keys a prompt tagged with it must carry in our builtin suites
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "multiple_objects": ("objects",),
    "color": ("colors", "objects"),
    "spatial_relationship": ("objects", "relation"),
    "camera_motion": ("camera",),
    "appearance_style": ("style",),
    "motion": ("motion",),
}
