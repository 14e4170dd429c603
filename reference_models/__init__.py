"""Small readable models: the Kinetics-400 I3D, attention strategies, the reference video DiT (config, model,
rectified flow, checkpoint files, training loop), the toy CLIP, and the synthetic world they are trained on.

This package imports no other package of ours (``tests/reference_models/test_standalone.py`` checks it): what a
model needs from the evaluation suite is passed in, and the harnesses that train and evaluate the models with the
metrics live in :mod:`vbench_lite.lab`.
"""
