"""VBench compatibility: VBench's prompt subsets and sampling rules, its result files and its aggregate score.

``dimensions``  the 16 dimensions, VBench's normalisation and weights, the vbench-lite output scoring each
``layout``      per-dimension video lists of a VBench folder (indices 0-4), missing and extra videos
``aggregate``   Total, Quality and Semantic (``scripts/cal_final_score.py``), only from complete groups
``results_io``  ``<dimension>_eval_results.json`` written and VBench results folders read
``runs``        VBench numbers as ``results.json`` entries; a VBench results folder imported as a run
``score``       ``vbench-lite score --mode vbench``

See docs/vbench.md for what is identical to VBench and what is a substitute.
"""
