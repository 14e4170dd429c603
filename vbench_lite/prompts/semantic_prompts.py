"""The standard suite's per-dimension subsets for VBench's semantic dimensions, written for vbench-lite.

VBench scores these dimensions on their own prompt lists (``prompts/prompts_per_dimension/*.txt``); ours follow the
same idea with our own texts, five per category and dimension (40 each), each with the field its metric reads
(see :func:`vbench_lite.prompt_fields.semantic_targets`):

====================  ===================================================================================
dimension             prompt and field
====================  ===================================================================================
object_class          one COCO-class object in a simple scene, ``objects: [name]`` (the name in the text)
human_action          a Kinetics-400 action, ``action``: the exact label (every word of it in the text)
scene                 a place, ``scene``: a Places365 scene name, "_" and "/" read as spaces (VBench's
                      ``scene`` info, e.g. "bakery shop"), every word of it in the text
temporal_style        "<scene>, <style>" with one of VBench's ten temporal styles, ``temporal_style``: the
                      style (each style four times)
overall_consistency   varied prompts, no field: VBench compares the clip with the whole text
====================  ===================================================================================

``build_standard`` appends each category's list after its other prompts, so no earlier prompt's id changes.
"""

from __future__ import annotations

from typing import Any

from vbench_lite.prompts.vocabulary import CATEGORIES, TEMPORAL_STYLES


def one_object(text: str, name: str) -> dict[str, Any]:
    return {"text": text, "dimensions": ["object_class"], "fields": {"objects": [name]}}


def action(text: str, label: str) -> dict[str, Any]:
    return {"text": text, "dimensions": ["human_action"], "fields": {"action": label}}


def place(text: str, scene: str) -> dict[str, Any]:
    return {"text": text, "dimensions": ["scene"], "fields": {"scene": scene}}


def overall(text: str) -> dict[str, Any]:
    return {"text": text, "dimensions": ["overall_consistency"], "fields": {}}


def styled_in_time(category: str, scenes: tuple[str, ...]) -> list[dict[str, Any]]:
    """``"<scene>, <style>"`` for each scene: category k takes styles 5k .. 5k+4 (mod 10), so that across the eight
    categories every one of VBench's ten temporal styles is asked four times."""
    k = CATEGORIES.index(category)
    out = []
    for j, scene in enumerate(scenes):
        style = TEMPORAL_STYLES[(5 * k + j) % len(TEMPORAL_STYLES)]
        out.append({"text": f"{scene}, {style}", "dimensions": ["temporal_style"],
                    "fields": {"temporal_style": style}})
    return out


SEMANTIC: dict[str, list[dict[str, Any]]] = {
    "animals": [
        one_object("a dog lying on a porch in the afternoon sun", "dog"),
        one_object("a cat sitting on top of a garden wall", "cat"),
        one_object("a horse grazing alone in a green paddock", "horse"),
        one_object("an elephant walking along a dusty riverbank", "elephant"),
        one_object("a giraffe standing in an open grassland", "giraffe"),
        action("a man walking the dog along a leafy street", "walking the dog"),
        action("a tourist riding a camel across golden dunes", "riding camel"),
        action("an old woman feeding birds in a city square", "feeding birds"),
        action("a stable hand grooming a horse in its stall", "grooming horse"),
        action("a farmer milking a cow in a wooden barn", "milking cow"),
        place("a quiet stable with fresh hay on the floor", "stable"),
        place("a wide pasture on a misty morning", "pasture"),
        place("a small pet shop lined with cages and tanks", "pet shop"),
        place("a dusty corral on a cattle ranch", "corral"),
        place("a watering hole on the savanna at midday", "watering hole"),
        *styled_in_time("animals", (
            "a herd of wild horses running across a plain", "a cat playing with a ball of yarn",
            "a swan gliding across a misty lake", "a team of huskies pulling a sled through snow",
            "a family of ducks waddling along a riverbank")),
        overall("a panda eating bamboo in a snowy forest"),
        overall("a fox cub chasing fireflies at dusk"),
        overall("an octopus changing color as it crawls over rocks"),
        overall("a goldfish swimming in a bowl on a desk in a busy office"),
        overall("a raccoon washing an apple in a stream"),
    ],
    "architecture": [
        one_object("an empty bench in a quiet stone courtyard", "bench"),
        one_object("a fire hydrant on the corner of an old brick street", "fire hydrant"),
        one_object("a stop sign at a quiet village crossroads", "stop sign"),
        one_object("a traffic light over an empty city intersection", "traffic light"),
        one_object("a parking meter beside a row of townhouses", "parking meter"),
        action("a mason laying bricks for a new garden wall", "laying bricks"),
        action("two neighbours building a shed in a backyard", "building shed"),
        action("a window washer cleaning windows on a high-rise", "cleaning windows"),
        action("a worker plastering a wall in an old house", "plastering"),
        action("a roofer climbing a ladder against a farmhouse", "climbing ladder"),
        place("a castle on a rocky hill above a river", "castle"),
        place("a palace with a long reflecting pool", "palace"),
        place("a sunlit courtyard with a stone well", "courtyard"),
        place("a wooden pagoda among tall pine trees", "pagoda"),
        place("a skyscraper towering over a busy avenue", "skyscraper"),
        *styled_in_time("architecture", (
            "an old stone bridge over a quiet river", "a busy city square surrounded by old buildings",
            "a wooden windmill on a grassy dike", "a glass tower reflecting the evening clouds",
            "a narrow street of painted houses in a fishing village")),
        overall("a lighthouse glowing through a storm at night"),
        overall("an ancient temple overgrown by the jungle"),
        overall("a futuristic city floating above the clouds"),
        overall("a treehouse with rope bridges in a redwood forest"),
        overall("an old library with ladders reaching a painted ceiling"),
    ],
    "food": [
        one_object("a pizza fresh out of the oven on a wooden peel", "pizza"),
        one_object("a slice of cake on a porcelain plate", "cake"),
        one_object("a donut on a paper napkin", "donut"),
        one_object("a sandwich cut in half on a cutting board", "sandwich"),
        one_object("a bunch of bananas hanging at a market stall", "banana"),
        action("a cook making pizza in a busy pizzeria", "making pizza"),
        action("a man flipping a pancake in a frying pan", "flipping pancake"),
        action("a girl cutting a watermelon on a picnic table", "cutting watermelon"),
        action("a chef scrambling eggs in a cast-iron skillet", "scrambling eggs"),
        action("a sushi chef making sushi at a wooden counter", "making sushi"),
        place("a bakery shop with fresh loaves in the window", "bakery shop"),
        place("a crowded food court at lunchtime", "food court"),
        place("a busy restaurant kitchen during dinner service", "restaurant kitchen"),
        place("a quiet sushi bar with a long wooden counter", "sushi bar"),
        place("an old-fashioned ice cream parlor on a summer day", "ice cream parlor"),
        *styled_in_time("food", (
            "a chef drizzling sauce over a plate of pasta", "a bowl of fruit on a rustic kitchen table",
            "coffee being poured into a white mug", "a baker kneading dough on a floured counter",
            "steam rising from a pot of boiling noodles")),
        overall("a tiny kitchen where mice bake a loaf of bread"),
        overall("a dumpling being folded by quick hands"),
        overall("a chocolate fountain at a wedding party"),
        overall("a street vendor grilling corn at night"),
        overall("a stack of waffles melting under a scoop of ice cream"),
    ],
    "humans": [
        one_object("a person walking alone along a foggy beach", "person"),
        one_object("a hiker's backpack resting against a rock", "backpack"),
        one_object("an open umbrella lying on a wet pavement", "umbrella"),
        one_object("a leather handbag on a cafe chair", "handbag"),
        one_object("a pair of skis propped against a wooden hut", "skis"),
        action("a person riding a bike along a canal path", "riding a bike"),
        action("a young man playing guitar on a park bench", "playing guitar"),
        action("a clown juggling balls in a circus ring", "juggling balls"),
        action("a girl skipping rope on a school playground", "skipping rope"),
        action("an old man practicing tai chi in a misty park", "tai chi"),
        place("a classroom full of students at their desks", "classroom"),
        place("a grand ballroom with crystal chandeliers", "ballroom"),
        place("a locker room after a football match", "locker room"),
        place("a beauty salon with a row of mirrors", "beauty salon"),
        place("a waiting room with rows of plastic chairs", "waiting room"),
        *styled_in_time("humans", (
            "a girl spinning in a field of tall grass", "a runner sprinting along a track",
            "an old woman laughing with her friends at a cafe", "a drummer playing on a dark stage",
            "a boy jumping off a pier into the sea")),
        overall("an astronaut planting a flag on a dusty desert planet"),
        overall("a grandfather teaching his grandson to fish on a pier"),
        overall("a crowd of people dancing in the rain at a festival"),
        overall("a knight riding through a burning village"),
        overall("a scientist mixing glowing liquids in a laboratory"),
    ],
    "lifestyle": [
        one_object("a laptop open on a kitchen counter", "laptop"),
        one_object("a couch in a bright and tidy living room", "couch"),
        one_object("a neatly made bed in a small guest room", "bed"),
        one_object("a tv mounted on a bare wall", "tv"),
        one_object("a clock hanging in an empty hallway", "clock"),
        action("a woman folding clothes on a laundry table", "folding clothes"),
        action("a man washing dishes at a kitchen sink", "washing dishes"),
        action("a student reading a book in a deep armchair", "reading book"),
        action("a hotel maid making the bed in a bright room", "making bed"),
        action("a woman doing yoga on a living room mat", "yoga"),
        place("a bedroom with a wide window and linen curtains", "bedroom"),
        place("a living room with wooden beams and a wool rug", "living room"),
        place("a kitchen with copper pots hanging over an island", "kitchen"),
        place("a bathroom with patterned tiles and a round mirror", "bathroom"),
        place("a home office with a desk facing the garden", "home office"),
        *styled_in_time("lifestyle", (
            "a cup of tea steaming on a windowsill", "a family having dinner around a candlelit table",
            "a cat napping on a sunny sofa", "a desk covered with open notebooks and pens",
            "raindrops running down a kitchen window")),
        overall("a robot butler serving coffee in a sunny apartment"),
        overall("a child building a pillow fort in the living room"),
        overall("a cat knocking a glass off a kitchen counter"),
        overall("an old record player filling a room with music"),
        overall("a birthday party in a small backyard with balloons"),
    ],
    "plants": [
        one_object("a potted plant on a sunny windowsill", "potted plant"),
        one_object("a vase of fresh tulips on a side table", "vase"),
        one_object("a head of broccoli growing in a vegetable bed", "broccoli"),
        one_object("a carrot pulled fresh from the dark soil", "carrot"),
        one_object("an apple hanging from a branch in the autumn sun", "apple"),
        action("a gardener watering plants on a sunny balcony", "watering plants"),
        action("volunteers planting trees on a bare hillside", "planting trees"),
        action("an arborist trimming trees along a quiet avenue", "trimming trees"),
        action("a farm worker picking fruit in an orchard", "picking fruit"),
        action("a florist arranging flowers in a tall glass jar", "arranging flowers"),
        place("a botanical garden with winding gravel paths", "botanical garden"),
        place("a vegetable garden with neat rows of lettuce", "vegetable garden"),
        place("a vineyard on rolling hills in late summer", "vineyard"),
        place("an orchard of cherry trees in bloom", "orchard"),
        place("a bamboo forest with a narrow path", "bamboo forest"),
        *styled_in_time("plants", (
            "a field of sunflowers swaying in the wind", "a weeping willow beside a pond",
            "a forest of tall pines in the morning mist", "wildflowers covering a mountain meadow",
            "a vine-covered wall in an old garden")),
        overall("a giant mushroom forest glowing at night"),
        overall("a seed sprouting and growing into a tree"),
        overall("a field of tulips being harvested by hand"),
        overall("a cactus blooming in the desert after rain"),
        overall("vines slowly covering an abandoned car"),
    ],
    "scenery": [
        one_object("a boat drifting on a calm lake at sunrise", "boat"),
        one_object("a kite flying high over a windy beach", "kite"),
        one_object("a surfboard standing upright in the sand", "surfboard"),
        one_object("a bird perched on a rock by the sea", "bird"),
        one_object("a snowboard lying in fresh powder on a mountainside", "snowboard"),
        action("a person paragliding over a green mountain valley", "paragliding"),
        action("a man windsurfing across a choppy bay", "windsurfing"),
        action("a climber rock climbing on a sunlit granite cliff", "rock climbing"),
        action("a girl ice skating on a frozen mountain lake", "ice skating"),
        action("a tourist snorkeling above a shallow coral reef", "snorkeling"),
        place("a beach at low tide under a pale sky", "beach"),
        place("a glacier flowing down between dark peaks", "glacier"),
        place("a volcano smoking above a barren plain", "volcano"),
        place("a canyon carved by a winding river", "canyon"),
        place("the tundra stretching flat to the horizon in autumn", "tundra"),
        *styled_in_time("scenery", (
            "a thunderstorm rolling over a wheat field", "waves breaking on a rocky shore",
            "a snowy mountain pass at dawn", "a desert canyon at sunset", "a lake surrounded by autumn forest")),
        overall("a meteor shower over a quiet mountain lake"),
        overall("a sandstorm sweeping over an abandoned town"),
        overall("an iceberg drifting under the midnight sun"),
        overall("lava flowing into the ocean at night"),
        overall("a rainbow appearing after a storm over a fishing village"),
    ],
    "vehicles": [
        one_object("a car driving along an empty country road", "car"),
        one_object("a train crossing a wide open plain", "train"),
        one_object("a truck parked outside a warehouse", "truck"),
        one_object("a bicycle leaning against a lamppost", "bicycle"),
        one_object("an airplane flying above the clouds", "airplane"),
        action("a woman driving a car along a coastal highway", "driving car"),
        action("a teenager riding a scooter down a city sidewalk", "riding scooter"),
        action("a mechanic changing a wheel at the side of a road", "changing wheel"),
        action("two friends pushing a broken-down car along a country road", "pushing car"),
        action("a farmer driving a tractor across a muddy field", "driving tractor"),
        place("a gas station on an empty desert road at night", "gas station"),
        place("a half-empty parking lot outside a shopping center", "parking lot"),
        place("a highway winding through green hills", "highway"),
        place("a harbor crowded with fishing boats", "harbor"),
        place("a train station platform in the early morning", "train station platform"),
        *styled_in_time("vehicles", (
            "a freight train rumbling through a mountain valley", "a sailboat racing across a windy bay",
            "a taxi driving through a rainy city at night", "a vintage airplane flying over farmland",
            "a bicycle courier riding through city traffic")),
        overall("a hot air balloon festival at sunrise"),
        overall("a submarine exploring a deep ocean trench"),
        overall("a steam train crossing a snowy bridge at night"),
        overall("a rowboat drifting through a flooded forest"),
        overall("a food truck serving a long queue at lunchtime"),
    ],
}
