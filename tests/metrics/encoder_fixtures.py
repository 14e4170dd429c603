"""Random-init ``transformers`` video encoders of the exact architectures cd_fvd and jedi load, in tiny sizes, saved
with ``save_pretrained`` (the layout ``from_pretrained`` reads offline): the metrics load them through their own path.

The tiny configs keep every architectural choice of the real ones (VideoMAE-v2: mean pooling + fc_norm, q/v biases,
tubelets of 2, sinusoid positions; V-JEPA 2: RoPE, the attentive pooler) and shrink only widths, depths and sizes.
"""

from __future__ import annotations

from pathlib import Path

import torch

#: Frames and side of the tiny encoders (tests/metrics/tester.py's tiny clips have 10 frames of 32 x 32).
TINY_FRAMES, TINY_SIZE = 10, 32


def tiny_videomae(folder: Path, seed: int = 0, **overrides) -> Path:
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    torch.manual_seed(seed)
    cfg = {"image_size": TINY_SIZE, "patch_size": 16, "num_frames": TINY_FRAMES, "tubelet_size": 2,
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
           "qv_bias": True, "use_mean_pooling": True, "layer_norm_eps": 1e-6, "num_labels": 5, **overrides}
    model = VideoMAEForVideoClassification(VideoMAEConfig(**cfg)).eval()
    model.save_pretrained(folder)
    return folder


def tiny_vjepa2(folder: Path, seed: int = 0, **overrides) -> Path:
    from transformers import VJEPA2Config, VJEPA2ForVideoClassification

    torch.manual_seed(seed)
    cfg = {"crop_size": TINY_SIZE, "patch_size": 16, "frames_per_clip": TINY_FRAMES, "tubelet_size": 2,
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "mlp_ratio": 2.0,
           "num_pooler_layers": 1, "pred_hidden_size": 16, "pred_num_attention_heads": 2, "pred_num_hidden_layers": 1,
           "num_labels": 5, **overrides}
    model = VJEPA2ForVideoClassification(VJEPA2Config(**cfg)).eval()
    model.save_pretrained(folder)
    return folder
