"""``python -m vbench_lite.prompts.build_standard``: write ``suites/standard.json`` from the prompts authored here.

Every prompt below and in :mod:`vbench_lite.prompts.semantic_prompts` was written for vbench-lite. Each category has
the same mix, so per-dimension scores are not dominated by one kind of content:

====================  =====  ==========================================================================
kind                  each   dimensions
====================  =====  ==========================================================================
action                11     subject_consistency, motion (+ dynamic_degree when the motion is large/fast)
still scene           5      temporal_flicker, background_consistency
camera move           6      camera_motion, background_consistency (the move's phrase is appended)
several objects       5      multiple_objects
colours               5      color
spatial relation      5      spatial_relationship (left of, right of, above, below: VBench's four)
visual style          5      appearance_style, subject_consistency (the style's phrase is appended)
one object            5      object_class (a COCO class)           \
human action          5      human_action (a Kinetics-400 label)    |  VBench's per-dimension subsets,
place                 5      scene (a Places365 scene name)         |  semantic_prompts.py, after the
temporal style        5      temporal_style (VBench's ten styles)   |  kinds above in each category
anything              5      overall_consistency                   /
====================  =====  ==========================================================================

The composition is deterministic (phrase variants are picked by position), so the same code always writes the same
file; the build refuses to change the prompts of a released version (see ``_build.build_main``). Version 2.0.0 added
the last five kinds and replaced the eight depth relations ("in front of", "behind": no 2-D rule judges them) by
left/right/above/below prompts.
"""

from __future__ import annotations

import sys
from typing import Any

from vbench_lite.prompt_fields import kinetics400_labels
from vbench_lite.prompts._build import build_main
from vbench_lite.prompts.drafts import assign_ids
from vbench_lite.prompts.semantic_prompts import SEMANTIC
from vbench_lite.prompts.vocabulary import (
    CAMERA_MOVES,
    CATEGORIES,
    COCO_CLASSES,
    DIMENSIONS,
    RELATIONS,
    TEMPORAL_STYLES,
)
from vbench_lite.types import Prompt

NAME = "standard"
DESCRIPTION = ("536 prompts written for vbench-lite: 8 categories x 67 prompts, each tagged with the dimensions it "
               "probes (subject and background consistency, motion, dynamic degree, multiple objects, colour, "
               "spatial relations, camera motion, appearance style, temporal flicker, object class, human action, "
               "scene, temporal style, overall consistency) with structured fields.")

#: camera move -> phrasings appended to a scene (picked in turn)
CAMERA_PHRASES: dict[str, tuple[str, ...]] = {
    "pan_left": ("the camera pans slowly to the left", "slow pan to the left"),
    "pan_right": ("the camera pans to the right", "a steady pan to the right"),
    "tilt_up": ("the camera tilts up", "the camera slowly tilts upward"),
    "tilt_down": ("the camera tilts down", "the camera slowly tilts downward"),
    "zoom_in": ("the camera slowly zooms in", "a gentle zoom in"),
    "zoom_out": ("the camera zooms out", "a slow zoom out to a wide view"),
    "orbit": ("the camera orbits around it", "the camera circles around the scene"),
    "static": ("static camera, no camera movement", "filmed from a fixed tripod, the camera does not move"),
}

#: style -> phrasings appended to a subject (picked in turn)
STYLE_PHRASES: dict[str, tuple[str, ...]] = {
    "watercolor painting": ("as a watercolor painting", "painted in loose watercolor"),
    "oil painting": ("as a thick oil painting", "in the style of a classical oil painting"),
    "pixel art": ("as retro pixel art", "in 16-bit pixel art"),
    "black and white film": ("on grainy black and white film", "in black and white film"),
    "claymation": ("as a stop-motion claymation", "in claymation style"),
    "woodblock print": ("as a Japanese woodblock print", "in the style of an ukiyo-e woodblock print"),
    "pencil sketch": ("as a pencil sketch", "drawn as a rough pencil sketch"),
    "neon cyberpunk": ("in neon cyberpunk style", "lit in glowing cyberpunk neon"),
    "anime": ("in anime style", "as a hand-drawn anime scene"),
    "low-poly 3d render": ("as a low-poly 3D render", "in low-poly 3D style"),
    "vintage film": ("as a faded 1970s home movie", "on warm vintage film stock"),
}

#: relation -> how a prompt's text may say it (checked by the tests)
RELATION_PHRASES: dict[str, tuple[str, ...]] = {
    "left of": ("to the left of",),
    "right of": ("to the right of",),
    "above": ("above", "on top of", "over"),
    "below": ("below", "beneath", "under"),
}


# -- the kinds of prompt -------------------------------------------------------------------------------------------
def act(text: str, motion: str, fast: bool = False) -> dict[str, Any]:
    dims = ["subject_consistency", "motion"] + (["dynamic_degree"] if fast else [])
    return {"text": text, "dimensions": dims, "fields": {"motion": motion}}


def still(text: str) -> dict[str, Any]:
    return {"text": text, "dimensions": ["temporal_flicker", "background_consistency"], "fields": {}}


def cam(scene: str, camera: str) -> dict[str, Any]:
    return {"text": scene, "dimensions": ["camera_motion", "background_consistency"], "fields": {"camera": camera}}


def objs(text: str, *objects: str) -> dict[str, Any]:
    return {"text": text, "dimensions": ["multiple_objects"], "fields": {"objects": list(objects)}}


def col(text: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    """``pairs``: (colour, object) as both appear in the text."""
    return {"text": text, "dimensions": ["color"],
            "fields": {"colors": [c for c, _ in pairs], "objects": [o for _, o in pairs]}}


def rel(text: str, first: str, relation: str, second: str) -> dict[str, Any]:
    """``first`` is ``relation`` ``second``."""
    return {"text": text, "dimensions": ["spatial_relationship"],
            "fields": {"objects": [first, second], "relation": relation}}


def sty(subject: str, style: str) -> dict[str, Any]:
    return {"text": subject, "dimensions": ["appearance_style", "subject_consistency"], "fields": {"style": style}}


# -- the prompts, by category --------------------------------------------------------------------------------------
ANIMALS = [
    act("a golden retriever bounding through tall summer grass", "bounding", fast=True),
    act("a heron wading slowly through shallow marsh water", "wading"),
    act("a squirrel darting up the trunk of an oak tree", "darting", fast=True),
    act("a sea turtle gliding over a coral reef", "gliding"),
    act("a horse galloping along a wet beach at low tide", "galloping", fast=True),
    act("a tabby cat stretching and yawning on a wooden floor", "stretching"),
    act("a flock of starlings swirling over a winter field", "swirling", fast=True),
    act("a snail crawling along a mossy stone", "crawling"),
    act("a kangaroo hopping across red desert sand", "hopping", fast=True),
    act("an elephant spraying water over its back with its trunk", "spraying"),
    act("a hummingbird hovering beside a bright trumpet flower", "hovering"),
    still("a barn owl perched motionless on a fence post at dusk"),
    still("a lizard basking on a warm rock, completely still"),
    still("a sleeping fox curled up in a hollow of dry leaves"),
    still("a frog sitting still on a lily pad in a quiet pond"),
    still("an old tortoise resting in the shade of a shrub"),
    cam("a herd of zebras grazing on an open savanna", "pan_right"),
    cam("a pod of dolphins swimming in clear blue water", "tilt_down"),
    cam("a giraffe standing beside an acacia tree", "tilt_up"),
    cam("a lion resting on a rocky outcrop", "zoom_in"),
    cam("a colony of penguins on a snowy shore", "zoom_out"),
    cam("a grizzly bear fishing in a rushing river", "orbit"),
    objs("a goat and a chicken wandering around a farmyard", "goat", "chicken"),
    objs("a parrot and a monkey sitting on the same branch", "parrot", "monkey"),
    objs("a rabbit and a hedgehog nibbling clover in a garden", "rabbit", "hedgehog"),
    objs("a cow, a sheep and a horse standing by a wooden gate", "cow", "sheep", "horse"),
    objs("a butterfly and a bee visiting the same flower", "butterfly", "bee"),
    col("a red fox trotting across fresh white snow", ("red", "fox"), ("white", "snow")),
    col("a blue macaw perched on a green branch", ("blue", "macaw"), ("green", "branch")),
    col("a black cat sitting on an orange cushion", ("black", "cat"), ("orange", "cushion")),
    col("a pink flamingo standing in a shallow lagoon", ("pink", "flamingo")),
    col("a white horse wearing a red saddle blanket", ("white", "horse"), ("red", "saddle blanket")),
    rel("a dog sitting to the left of a wooden kennel", "dog", "left of", "kennel"),
    rel("a cat sitting to the right of a sleeping puppy", "cat", "right of", "puppy"),
    rel("an eagle flying above a herd of bison", "eagle", "above", "bison"),
    rel("a crab hiding beneath a piece of driftwood on the sand", "crab", "below", "driftwood"),
    rel("a rabbit sitting to the right of a tree stump", "rabbit", "right of", "tree stump"),
    sty("a fox walking through a snowy forest", "watercolor painting"),
    sty("a whale breaching the surface of the ocean", "woodblock print"),
    sty("an owl turning its head on a branch", "pencil sketch"),
    sty("a pack of wolves howling on a hilltop", "pixel art"),
    sty("a koala climbing a eucalyptus tree", "claymation"),
]

ARCHITECTURE = [
    act("a revolving door turning at the entrance of a glass office tower", "turning"),
    act("a drawbridge slowly rising over a canal", "rising"),
    act("water cascading down the steps of a marble fountain in a plaza", "cascading", fast=True),
    act("the sails of an old windmill spinning in a strong wind", "spinning", fast=True),
    act("a glass elevator gliding up the outside of a skyscraper", "gliding"),
    act("a tower crane lifting steel beams onto a half-built apartment block", "lifting"),
    act("flags fluttering on the towers of a stone castle", "fluttering", fast=True),
    act("a wrecking ball swinging into an old brick wall", "swinging", fast=True),
    act("the beam of a lighthouse sweeping across the dark sea", "sweeping"),
    act("curtains billowing out of the open windows of a seaside villa", "billowing"),
    act("a garage door rolling up in front of a suburban house", "rolling up"),
    still("an empty cathedral nave with light falling through tall windows"),
    still("a row of whitewashed houses on a quiet hillside at noon"),
    still("an abandoned factory hall with rusted beams, nothing moving"),
    still("a stone arch bridge reflected in a perfectly calm river"),
    still("a minimalist concrete house in a windless desert landscape"),
    cam("a gothic cathedral facade with carved stone saints", "tilt_up"),
    cam("a long colonnade of white marble columns", "pan_left"),
    cam("a spiral staircase winding down through a tall stairwell", "tilt_down"),
    cam("a pagoda with five tiered roofs in a temple garden", "orbit"),
    cam("a cliffside monastery above a deep valley", "zoom_out"),
    cam("an ornate wooden door of an old townhouse", "zoom_in"),
    objs("a lighthouse and a small keeper's cottage on a grassy cliff", "lighthouse", "cottage"),
    objs("a chapel and a bell tower on a village green", "chapel", "bell tower"),
    objs("a wooden barn and a tall grain silo under a cloudy sky", "barn", "silo"),
    objs("a fountain, a statue and a bench in a city park", "fountain", "statue", "bench"),
    objs("a footbridge and a waterwheel beside an old mill", "footbridge", "waterwheel"),
    col("a yellow house with a blue front door", ("yellow", "house"), ("blue", "door")),
    col("a red brick lighthouse with a white lantern room", ("red", "lighthouse"), ("white", "lantern room")),
    col("a pink stucco hotel with green shutters", ("pink", "hotel"), ("green", "shutters")),
    col("a white chapel with a blue dome on a hilltop", ("white", "chapel"), ("blue", "dome")),
    col("an orange suspension bridge over a gray bay", ("orange", "bridge"), ("gray", "bay")),
    rel("a stone well to the left of a small cottage", "well", "left of", "cottage"),
    rel("a tall clock tower to the right of a domed town hall", "clock tower", "right of", "town hall"),
    rel("a weathervane turning above the roof of a barn", "weathervane", "above", "barn"),
    rel("a cellar door below a wide front porch", "cellar door", "below", "porch"),
    rel("a fountain to the left of a museum entrance", "fountain", "left of", "museum entrance"),
    sty("a medieval castle on a hill", "oil painting"),
    sty("a city of glass towers at night", "neon cyberpunk"),
    sty("a temple gate in the rain", "anime"),
    sty("a brutalist apartment block under a heavy sky", "black and white film"),
    sty("a tiny village of thatched cottages", "low-poly 3d render"),
]

FOOD = [
    act("pancake batter poured onto a hot griddle", "poured"),
    act("a chef tossing vegetables in a flaming wok", "tossing", fast=True),
    act("honey dripping slowly from a wooden dipper", "dripping"),
    act("a pot of tomato soup bubbling on the stove", "bubbling"),
    act("popcorn kernels bursting in a glass popper", "bursting", fast=True),
    act("a whisk swirling melted chocolate in a glass bowl", "swirling"),
    act("fresh pasta dough rolled flat with a wooden pin", "rolled"),
    act("a knife slicing through a ripe watermelon", "slicing"),
    act("espresso streaming into a small cup", "streaming"),
    act("oranges tumbling out of a paper bag onto a table", "tumbling", fast=True),
    act("a splash of milk hitting a bowl of cereal", "splash", fast=True),
    still("a loaf of sourdough bread cooling on a wire rack"),
    still("a still life of pears and grapes on a linen tablecloth"),
    still("a plate of sushi arranged on a slate board"),
    still("a jar of pickled vegetables on a sunlit pantry shelf"),
    still("a wedge of aged cheese beside a glass of wine on a dark table"),
    cam("a long banquet table laid with roasted dishes", "pan_right"),
    cam("a tall layered birthday cake with lit candles", "orbit"),
    cam("a bowl of ramen with a soft-boiled egg", "zoom_in"),
    cam("a market stall piled high with spices", "pan_left"),
    cam("a stack of fluffy pancakes topped with berries", "tilt_down"),
    cam("a picnic spread on a blanket in a meadow", "zoom_out"),
    objs("a croissant and a cup of coffee on a cafe table", "croissant", "cup of coffee"),
    objs("a burger and a basket of fries on a diner counter", "burger", "fries"),
    objs("a teapot, a scone and a small jar of jam on a tray", "teapot", "scone", "jar of jam"),
    objs("a bowl of rice and a pair of chopsticks beside a basket of dumplings", "bowl of rice", "chopsticks",
         "dumplings"),
    objs("a pizza and a bottle of olive oil on a wooden board", "pizza", "bottle of olive oil"),
    col("a red apple on a green ceramic plate", ("red", "apple"), ("green", "plate")),
    col("a purple eggplant next to a yellow bell pepper", ("purple", "eggplant"), ("yellow", "bell pepper")),
    col("a blue bowl full of orange tangerines", ("blue", "bowl"), ("orange", "tangerines")),
    col("a pink macaron on a black saucer", ("pink", "macaron"), ("black", "saucer")),
    col("a brown loaf of rye bread on a white cutting board", ("brown", "bread"), ("white", "cutting board")),
    rel("a salt shaker to the left of a pepper grinder", "salt shaker", "left of", "pepper grinder"),
    rel("a bowl of olives to the right of a baguette", "olives", "right of", "baguette"),
    rel("a sprig of mint on top of a scoop of vanilla ice cream", "mint", "above", "ice cream"),
    rel("a basket of eggs beneath a shelf of preserves", "eggs", "below", "shelf"),
    rel("a cup of coffee to the left of a plate of croissants", "cup of coffee", "left of", "croissants"),
    sty("a bowl of cherries on a table", "oil painting"),
    sty("a steaming bowl of noodles at a night market stall", "anime"),
    sty("a stack of glazed donuts", "neon cyberpunk"),
    sty("a loaf of bread coming out of a brick oven", "vintage film"),
    sty("a strawberry dipped in melted chocolate", "claymation"),
]

HUMANS = [
    act("a woman jogging along a riverside path at sunrise", "jogging", fast=True),
    act("an old man feeding pigeons from a park bench", "feeding"),
    act("a child jumping into a swimming pool", "jumping", fast=True),
    act("a ballet dancer spinning on one foot", "spinning", fast=True),
    act("a carpenter sawing a plank in a workshop", "sawing"),
    act("a surfer riding a breaking wave", "riding", fast=True),
    act("a street musician playing the violin on a corner", "playing"),
    act("a girl blowing soap bubbles in a backyard", "blowing"),
    act("a rock climber pulling herself up a sheer cliff", "pulling"),
    act("a boy kicking a football across a dusty field", "kicking", fast=True),
    act("a grandmother knitting in a rocking chair", "knitting"),
    still("a man sitting perfectly still in meditation on a mountain ledge"),
    still("a woman asleep in a hammock in the shade"),
    still("a portrait of an elderly fisherman gazing at the camera, motionless"),
    still("a mime frozen in a pose on an empty stage"),
    still("a toddler asleep on a sofa under a knitted blanket"),
    cam("a crowd gathered in a town square for an open-air concert", "static"),
    cam("a marathon runner crossing the finish line", "static"),
    cam("a bride and groom standing under a floral arch", "zoom_in"),
    cam("a team of rowers on a misty lake", "pan_right"),
    cam("a yoga class on a rooftop at dawn", "zoom_out"),
    cam("a street performer juggling fire at night", "orbit"),
    objs("a father and a daughter flying a kite on a beach", "father", "daughter", "kite"),
    objs("a woman walking a dog and carrying an umbrella", "woman", "dog", "umbrella"),
    objs("a man with a guitar and a small dog sitting on a porch step", "man", "guitar", "dog"),
    objs("two old men playing chess with a clock beside the board", "men", "chess", "clock"),
    objs("a painter standing at an easel with a palette in hand", "painter", "easel", "palette"),
    col("a woman in a yellow raincoat holding a red umbrella", ("yellow", "raincoat"), ("red", "umbrella")),
    col("a man wearing a green sweater and a gray scarf", ("green", "sweater"), ("gray", "scarf")),
    col("a girl with a purple backpack waiting at a bus stop", ("purple", "backpack")),
    col("a cyclist in a white helmet and a black jersey", ("white", "helmet"), ("black", "jersey")),
    col("a chef in a blue apron plating a dessert", ("blue", "apron")),
    rel("a boy standing to the left of an old man at a bus stop", "boy", "left of", "old man"),
    rel("a woman sitting to the right of a large potted fern", "woman", "right of", "fern"),
    rel("a kite flying high above a girl running on a hill", "kite", "above", "girl"),
    rel("a sleeping baby beneath a hanging mobile", "baby", "below", "mobile"),
    rel("a drone hovering above a group of hikers", "drone", "above", "hikers"),
    sty("a couple dancing the tango in a dim hall", "black and white film"),
    sty("a boy throwing a paper airplane", "pencil sketch"),
    sty("a samurai walking through a bamboo grove", "woodblock print"),
    sty("a farmer harvesting wheat with a scythe", "oil painting"),
    sty("a skateboarder doing a trick in an empty pool", "vintage film"),
]

LIFESTYLE = [
    act("a washing machine spinning a load of colorful laundry", "spinning", fast=True),
    act("a ceiling fan turning slowly in a sunlit bedroom", "turning"),
    act("a record rotating on a turntable in a cozy living room", "rotating"),
    act("a kettle whistling and puffing steam on a gas stove", "puffing"),
    act("the pages of an open book fluttering in a breeze by a window", "fluttering", fast=True),
    act("hands typing quickly on a laptop keyboard", "typing", fast=True),
    act("a robot vacuum cleaner gliding across a wooden floor", "gliding"),
    act("candle flames flickering on a dinner table", "flickering"),
    act("a person folding towels on a bed", "folding"),
    act("a bowling ball knocking down pins at a bowling alley", "knocking down", fast=True),
    act("a porch swing rocking gently in the evening breeze", "rocking"),
    still("a tidy reading nook with an armchair, a lamp and a stack of books"),
    still("a made bed with white linen in a quiet hotel room"),
    still("a home office desk with a closed laptop and a potted succulent"),
    still("a row of shoes neatly lined up by the front door"),
    still("an empty bathroom with a clawfoot tub in soft morning light"),
    cam("a cozy living room with a fireplace and a bookshelf", "pan_right"),
    cam("a kitchen counter crowded with jars and utensils", "pan_left"),
    cam("a tall bookshelf filled with novels and plants", "tilt_up"),
    cam("a dressing table with perfume bottles and a round mirror", "zoom_in"),
    cam("a sunlit balcony with two chairs and a small table", "static"),
    cam("a messy teenager's bedroom with posters on the walls", "tilt_down"),
    objs("a laptop, a notebook and a mug of tea on a desk", "laptop", "notebook", "mug"),
    objs("a pair of sneakers and a basketball by a locker", "sneakers", "basketball"),
    objs("a guitar and a record player in the corner of a living room", "guitar", "record player"),
    objs("a suitcase and a straw hat on a hotel bed", "suitcase", "hat"),
    objs("a yoga mat, a water bottle and a pair of dumbbells on a wooden floor", "yoga mat", "water bottle",
         "dumbbells"),
    col("a green velvet armchair next to a white bookshelf", ("green", "armchair"), ("white", "bookshelf")),
    col("a red kettle on a black stovetop", ("red", "kettle"), ("black", "stovetop")),
    col("a pink alarm clock on a blue nightstand", ("pink", "alarm clock"), ("blue", "nightstand")),
    col("an orange towel hanging on a gray tiled wall", ("orange", "towel"), ("gray", "wall")),
    col("a yellow sofa with purple cushions", ("yellow", "sofa"), ("purple", "cushions")),
    rel("a table lamp to the left of a framed photograph on a desk", "lamp", "left of", "photograph"),
    rel("a potted cactus to the right of a stack of magazines", "cactus", "right of", "magazines"),
    rel("a round clock hanging above a fireplace", "clock", "above", "fireplace"),
    rel("a pair of slippers under a bed", "slippers", "below", "bed"),
    rel("a framed mirror above a wooden dresser", "mirror", "above", "dresser"),
    sty("a family eating breakfast at a kitchen table", "watercolor painting"),
    sty("a man reading a newspaper in an armchair", "pencil sketch"),
    sty("friends playing a board game on the floor", "claymation"),
    sty("a late-night study desk lit by a single lamp", "anime"),
    sty("a tiny apartment kitchen in the morning", "low-poly 3d render"),
]

PLANTS = [
    act("a field of wheat rippling in the wind", "rippling"),
    act("a sunflower turning slowly toward the sun, time-lapse", "turning"),
    act("cherry blossom petals falling from a branch", "falling"),
    act("a palm tree thrashing in a tropical storm", "thrashing", fast=True),
    act("a fern frond slowly unfurling, time-lapse", "unfurling"),
    act("dandelion seeds blowing off a seed head in a gust", "blowing", fast=True),
    act("a tulip bud opening into full bloom, time-lapse", "opening"),
    act("autumn leaves swirling down from a maple tree", "swirling", fast=True),
    act("tall reeds swaying at the edge of a lake", "swaying"),
    act("a bamboo grove bending in a gusty wind", "bending", fast=True),
    act("ivy creeping across a brick wall, time-lapse", "creeping"),
    still("a bonsai tree on a wooden stand in a quiet room"),
    still("a single rose in a glass vase on a windowsill"),
    still("a saguaro cactus in the desert on a windless afternoon"),
    still("moss covering the roots of an ancient tree in a silent forest"),
    still("a potted orchid in soft, even light"),
    cam("a giant redwood tree in a misty forest", "tilt_up"),
    cam("a lavender field stretching to the horizon", "pan_left"),
    cam("a lotus flower floating on a dark pond", "zoom_in"),
    cam("a tangled mangrove forest along a river", "pan_right"),
    cam("a lone oak tree in the middle of a meadow", "orbit"),
    cam("a greenhouse full of hanging plants", "static"),
    objs("a rose bush and a wooden trellis in a cottage garden", "rose bush", "trellis"),
    objs("a cactus and an aloe plant in clay pots on a windowsill", "cactus", "aloe"),
    objs("a pumpkin vine and a scarecrow in a vegetable patch", "pumpkin", "scarecrow"),
    objs("daisies, poppies and cornflowers growing together in a meadow", "daisies", "poppies", "cornflowers"),
    objs("a mushroom and a fern on a mossy log", "mushroom", "fern"),
    col("rows of purple lavender under a blue sky", ("purple", "lavender"), ("blue", "sky")),
    col("a red maple tree above a carpet of orange leaves", ("red", "maple tree"), ("orange", "leaves")),
    col("a single yellow tulip in a bed of white tulips", ("yellow", "tulip"), ("white", "tulips")),
    col("a pink lotus among green lily pads", ("pink", "lotus"), ("green", "lily pads")),
    col("a blue hydrangea bush beside a brown wooden fence", ("blue", "hydrangea"), ("brown", "fence")),
    rel("a sunflower to the left of a tall corn stalk", "sunflower", "left of", "corn stalk"),
    rel("a small fern to the right of a large boulder", "fern", "right of", "boulder"),
    rel("a cluster of mushrooms beneath a fallen log", "mushrooms", "below", "log"),
    rel("hanging wisteria above a garden bench", "wisteria", "above", "bench"),
    rel("a potted fern below a hanging basket of petunias", "fern", "below", "basket of petunias"),
    sty("a cherry tree in full blossom", "woodblock print"),
    sty("a bouquet of wildflowers in a jug", "oil painting"),
    sty("a venus flytrap snapping shut", "pixel art"),
    sty("a tangled jungle canopy", "watercolor painting"),
    sty("a dandelion growing from a crack in the pavement", "black and white film"),
]

SCENERY = [
    act("waves crashing against a rocky coastline", "crashing", fast=True),
    act("a waterfall plunging into a misty gorge", "plunging", fast=True),
    act("clouds drifting over a mountain ridge", "drifting"),
    act("fog rolling across a valley at dawn", "rolling"),
    act("a river flowing past smooth boulders in a canyon", "flowing"),
    act("lightning striking over a dark prairie", "striking", fast=True),
    act("snow falling softly on a pine forest", "falling"),
    act("the northern lights rippling over a frozen lake", "rippling"),
    act("sand blowing across the crest of a dune", "blowing"),
    act("a geyser erupting in a steaming volcanic basin", "erupting", fast=True),
    act("the tide creeping up a wide sandy beach", "creeping"),
    still("a glassy mountain lake reflecting snowy peaks on a windless morning"),
    still("a salt flat under a clear sky stretching to the horizon"),
    still("a quiet snow-covered village at night under a full moon"),
    still("sandstone cliffs at noon in a silent canyon"),
    still("a misty field with a wooden fence, nothing stirring"),
    cam("a mountain range at sunset", "pan_right"),
    cam("a tropical beach with clear shallow water", "pan_left"),
    cam("terraced rice fields on a steep hillside", "zoom_out"),
    cam("a volcanic crater holding a steaming lake", "static"),
    cam("a deep canyon seen from its rim", "tilt_down"),
    cam("a star-filled night sky over the desert", "tilt_up"),
    objs("a rainbow and a waterfall in a green valley", "rainbow", "waterfall"),
    objs("a sailboat and a small island on a calm sea", "sailboat", "island"),
    objs("a windmill and a flock of sheep on rolling hills", "windmill", "sheep"),
    objs("a full moon and a lone pine tree on a ridge", "moon", "pine tree"),
    objs("a hot air balloon and a flock of birds over a canyon", "hot air balloon", "birds"),
    col("a red sky over a dark blue sea at dusk", ("red", "sky"), ("blue", "sea")),
    col("a green valley beneath white snowy peaks", ("green", "valley"), ("white", "peaks")),
    col("orange sand dunes under a pink evening sky", ("orange", "sand dunes"), ("pink", "sky")),
    col("a yellow field of rapeseed under a gray stormy sky", ("yellow", "field"), ("gray", "sky")),
    col("a black volcanic beach with white surf", ("black", "beach"), ("white", "surf")),
    rel("a full moon above a snowy mountain peak", "moon", "above", "mountain peak"),
    rel("a small cabin to the left of a frozen lake", "cabin", "left of", "lake"),
    rel("a lone tree to the right of a winding river", "tree", "right of", "river"),
    rel("a lone pine to the left of a small waterfall", "pine", "left of", "waterfall"),
    rel("a village nestled below a towering cliff", "village", "below", "cliff"),
    sty("a stormy sea with towering waves", "oil painting"),
    sty("a mountain village at dusk", "watercolor painting"),
    sty("an empty desert highway stretching to the horizon", "vintage film"),
    sty("a waterfall in a jungle clearing", "pixel art"),
    sty("a snowy forest under the northern lights", "anime"),
]

VEHICLES = [
    act("a race car speeding around a tight corner", "speeding", fast=True),
    act("a steam locomotive puffing across a stone viaduct", "puffing"),
    act("a sailboat heeling in a strong breeze", "heeling"),
    act("a jet taking off from a runway", "taking off", fast=True),
    act("a motorcycle weaving through heavy traffic", "weaving", fast=True),
    act("a tram gliding down a hilly street", "gliding"),
    act("a helicopter lifting off from a rooftop helipad", "lifting off"),
    act("a speedboat skimming across a lake, leaving a long wake", "skimming", fast=True),
    act("a tractor plowing a muddy field", "plowing"),
    act("a hot air balloon rising slowly over farmland", "rising"),
    act("a monster truck bouncing over a dirt ramp", "bouncing", fast=True),
    still("a vintage car parked on an empty street at dawn"),
    still("a rowboat tied to a dock on a still lake"),
    still("a rusty pickup truck abandoned in a field of weeds"),
    still("a row of bicycles parked outside a library"),
    still("an airplane parked in a quiet hangar"),
    cam("a container ship in a busy harbor", "zoom_out"),
    cam("a convertible parked by a coastal road", "orbit"),
    cam("a freight train stretching across a plain", "pan_left"),
    cam("a city bus waiting at a stop in the rain", "static"),
    cam("a rocket standing on a launch pad", "tilt_up"),
    cam("a cable car crossing a deep gorge", "tilt_down"),
    objs("a bus and a taxi waiting at a traffic light", "bus", "taxi"),
    objs("a sailboat and a kayak on a calm bay", "sailboat", "kayak"),
    objs("a motorcycle and a scooter parked on a cobbled street", "motorcycle", "scooter"),
    objs("a tractor, a trailer and a pickup truck in a farmyard", "tractor", "trailer", "pickup truck"),
    objs("a seaplane and a fishing boat moored at a wooden jetty", "seaplane", "fishing boat"),
    col("a red double-decker bus on a rainy street", ("red", "bus")),
    col("a yellow taxi next to a black limousine", ("yellow", "taxi"), ("black", "limousine")),
    col("a green tractor pulling a blue trailer", ("green", "tractor"), ("blue", "trailer")),
    col("a white sailboat with an orange sail", ("white", "sailboat"), ("orange", "sail")),
    col("a purple motorcycle parked beside a pink scooter", ("purple", "motorcycle"), ("pink", "scooter")),
    rel("a scooter to the left of a delivery van", "scooter", "left of", "delivery van"),
    rel("a taxi to the right of a city bus", "taxi", "right of", "bus"),
    rel("a helicopter hovering above a cargo ship", "helicopter", "above", "cargo ship"),
    rel("a canoe passing under a wooden footbridge", "canoe", "below", "footbridge"),
    rel("a bicycle to the right of a parked car", "bicycle", "right of", "car"),
    sty("a vintage car driving along a coastal road", "vintage film"),
    sty("a steam train crossing a bridge", "watercolor painting"),
    sty("a spaceship landing in a desert", "low-poly 3d render"),
    sty("a fleet of fishing boats at sea", "woodblock print"),
    sty("a motorcycle racing down a city street at night", "neon cyberpunk"),
]

BY_CATEGORY: dict[str, list[dict[str, Any]]] = {
    "animals": ANIMALS, "architecture": ARCHITECTURE, "food": FOOD, "humans": HUMANS,
    "lifestyle": LIFESTYLE, "plants": PLANTS, "scenery": SCENERY, "vehicles": VEHICLES,
}


# -- composition ---------------------------------------------------------------------------------------------------
def _compose(draft: dict[str, Any], turn: int) -> str:
    """The final text: camera and style prompts get their phrase, the variant picked by ``turn``."""
    fields = draft["fields"]
    if "camera" in fields:
        phrases = CAMERA_PHRASES[fields["camera"]]
        return f"{draft['text']}, {phrases[turn % len(phrases)]}"
    if "style" in fields:
        phrases = STYLE_PHRASES[fields["style"]]
        return f"{draft['text']}, {phrases[turn % len(phrases)]}"
    return draft["text"]


def make_prompts() -> list[Prompt]:
    """The standard suite, category by category; phrase variants alternate per camera move and per style."""
    assert list(BY_CATEGORY) == list(CATEGORIES)
    turns: dict[str, int] = {}
    drafts = []
    for category, entries in BY_CATEGORY.items():
        for entry in entries + SEMANTIC[category]:
            key = entry["fields"].get("camera") or entry["fields"].get("style") or ""
            text = _compose(entry, turns.get(key, 0))
            turns[key] = turns.get(key, 0) + 1
            drafts.append({"id": None, "text": text, "category": category, "dimensions": list(entry["dimensions"]),
                           "fields": {k: (list(v) if isinstance(v, list) else v) for k, v in entry["fields"].items()}})
    texts = [d["text"].lower() for d in drafts]
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    if repeated:
        raise ValueError(f"prompts written twice: {repeated}")
    for d in drafts:
        unknown = [x for x in d["dimensions"] if x not in DIMENSIONS]
        f = d["fields"]
        if unknown or f.get("camera", "static") not in CAMERA_MOVES or f.get("relation", "above") not in RELATIONS \
                or f.get("action", "yoga") not in kinetics400_labels() \
                or f.get("temporal_style", "zoom in") not in TEMPORAL_STYLES \
                or ("object_class" in d["dimensions"] and not set(f["objects"]) <= set(COCO_CLASSES)):
            raise ValueError(f"prompt {d['text']!r}: unknown tag or field value")
    return assign_ids(drafts, where=NAME, plain_slugs=True)  # shipped ids never change


def main(argv: list[str] | None = None) -> int:
    return build_main(NAME, DESCRIPTION, list(CATEGORIES), dict(DIMENSIONS), make_prompts, argv)


if __name__ == "__main__":
    sys.exit(main())
