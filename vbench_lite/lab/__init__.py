"""Harnesses around the reference models: training and evaluating the video DiT and the toy CLIP, and measuring
the cost of attention strategies (latency, memory, FLOPs). They use the metrics and generators, so they live above
both; the charts and tables of their results are drawn by :mod:`reports`."""
