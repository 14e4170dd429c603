"""Frames per second of CLIP frame scoring: batched vs one frame at a time, float32 vs bfloat16, measured in one run.

    python benchmarks/bench_clip.py                                  # the offline toy CLIP (default model)
    python benchmarks/bench_clip.py --model ViT-B-32 --random-weights  # ViT-B-32's cost, random weights
    python benchmarks/bench_clip.py --model ViT-B-32 --pretrained FILE

Each row embeds synthetic 64 x 64 frames (resized to the model's input size) and scores them against their
prompts; the time is the best of ``--repeats`` runs after a warm-up. The agreement columns compare each variant's
frame-prompt cosines with batched float32 (max absolute difference).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _timing import best_time  # benchmarks/ is the script folder, first on sys.path


def _random_weights(model: str):
    import open_clip

    from metrics.clip_model import LoadedClip

    torch.manual_seed(0)
    net = open_clip.create_model(model).eval()
    cfg = net.visual.preprocess_cfg
    size = cfg["size"] if isinstance(cfg["size"], int) else cfg["size"][0]
    return LoadedClip(model=net, tokenizer=open_clip.get_tokenizer(model), name=model, pretrained="random",
                      weights_path="", weights_sha256="random", image_size=int(size), mean=tuple(cfg["mean"]),
                      std=tuple(cfg["std"]))


def _frames_and_prompts(n_frames: int):
    from vbench_lite.generators.synthetic import SyntheticGenerator, synthetic_suite_prompts

    prompts = synthetic_suite_prompts()
    gen = SyntheticGenerator()
    frames, texts = [], []
    for i in range(0, n_frames, 16):
        prompt = prompts[(i // 16 * 7) % len(prompts)]
        clip = gen.generate(prompt, seed=0, num_frames=16, size=(64, 64))
        take = min(16, n_frames - i)
        frames.append(clip.frames[:take])
        texts += [prompt.text] * take
    return np.concatenate(frames), texts


def main(argv: list[str] | None = None) -> int:
    from metrics.clip_model import ClipEncoder, load_clip
    from reference_models.toy_clip import MODEL_NAME

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=MODEL_NAME)
    parser.add_argument("--pretrained", default=None)
    parser.add_argument("--random-weights", action="store_true", help="time the architecture with random weights")
    parser.add_argument("--frames", type=int, default=256, help="frames per batched run")
    parser.add_argument("--single-frames", type=int, default=64, help="frames in the one-at-a-time loop")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    frames, texts = _frames_and_prompts(args.frames)
    few = min(args.single_frames, len(frames))

    def fresh():
        return _random_weights(args.model) if args.random_weights else load_clip(args.model, args.pretrained)

    text_encoder = ClipEncoder(fresh())
    text_emb = text_encoder.encode_texts(texts)  # (N, D), float32 reference prompts

    def cosines(encoder: ClipEncoder, x: np.ndarray) -> torch.Tensor:
        return (encoder.encode_frames(x) * text_emb[: len(x)]).sum(dim=1)

    variants = [("batched float32", "float32", args.batch_size, frames),
                ("one-at-a-time float32", "float32", 1, frames[:few]),
                ("batched bfloat16", "bfloat16", args.batch_size, frames),
                ("one-at-a-time bfloat16", "bfloat16", 1, frames[:few])]
    rows = []
    reference = None
    for label, dtype, batch, x in variants:
        encoder = ClipEncoder(fresh(), dtype=dtype, batch_size=batch)
        seconds, cos = best_time(lambda enc=encoder, x=x: cosines(enc, x), args.repeats)
        if reference is None:
            reference = cos
        diff = float((cos - reference[: len(cos)]).abs().max())
        rows.append((label, len(x), len(x) / seconds, diff))

    print(f"model {args.model} ({'random weights' if args.random_weights else args.pretrained or 'default weights'}), "
          f"input {text_encoder.loaded.image_size}px, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'variant':<26}{'frames':>8}{'frames/s':>12}{'max |dcos|':>14}")
    for label, n, fps, diff in rows:
        print(f"{label:<26}{n:>8}{fps:>12.1f}{diff:>14.2e}")
    speed = {label: fps for label, _, fps, _ in rows}
    print(f"batched / one-at-a-time (float32):  {speed['batched float32'] / speed['one-at-a-time float32']:.2f}x")
    print(f"bfloat16 / float32 (batched):       {speed['batched bfloat16'] / speed['batched float32']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
