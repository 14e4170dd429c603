"""Small readable models: the Kinetics-400 I3D, attention strategies, the reference video DiT, toy CLIP."""
