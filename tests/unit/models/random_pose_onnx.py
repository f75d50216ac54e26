"""Tiny randomly initialised top-down pose models, built with the ``onnx`` helper API, in the two
output layouts the ONNX backend reads: SimCC (RTMPose: ``simcc_x`` (1, 17, 2W), ``simcc_y``
(1, 17, 2H)) and heatmaps ((1, 17, H/4, W/4)). Random weights: the keypoints mean nothing, the
inference code (warp, normalise, run, decode, unwarp) is what the tests exercise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

W, H = 192, 256


def _tensor(name: str, arr: np.ndarray):  # type: ignore[no-untyped-def]
    from onnx import numpy_helper

    return numpy_helper.from_array(arr.astype(np.float32), name)


def simcc_model(path: Path, seed: int = 0) -> Path:
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16]),  # (1,3,16,12)
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),  # (1, 576)
        helper.make_node("Gemm", ["flat", "wx", "bx"], ["gx"]),
        helper.make_node("Gemm", ["flat", "wy", "by"], ["gy"]),
        helper.make_node("Reshape", ["gx", "sx"], ["simcc_x"]),
        helper.make_node("Reshape", ["gy", "sy"], ["simcc_y"]),
    ]
    feat = 3 * (H // 16) * (W // 16)
    inits = [
        _tensor("wx", rng.normal(0, 0.05, (feat, 17 * 2 * W))), _tensor("bx", rng.normal(0, 0.05, 17 * 2 * W)),
        _tensor("wy", rng.normal(0, 0.05, (feat, 17 * 2 * H))), _tensor("by", rng.normal(0, 0.05, 17 * 2 * H)),
        helper.make_tensor("sx", TensorProto.INT64, [3], [1, 17, 2 * W]),
        helper.make_tensor("sy", TensorProto.INT64, [3], [1, 17, 2 * H]),
    ]
    graph = helper.make_graph(
        nodes, "random_simcc_pose", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [1, 17, 2 * W]),
         helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [1, 17, 2 * H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def heatmap_model(path: Path, seed: int = 0) -> Path:
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["conv"], kernel_shape=[4, 4], strides=[4, 4]),  # (1,17,64,48)
        helper.make_node("Sigmoid", ["conv"], ["heatmaps"]),
    ]
    inits = [_tensor("w", rng.normal(0, 0.02, (17, 3, 4, 4))), _tensor("b", rng.normal(0, 0.1, 17))]
    graph = helper.make_graph(
        nodes, "random_heatmap_pose", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, [1, 17, H // 4, W // 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def random_depth_anything(path: Path, seed: int = 0) -> Path:
    """A randomly initialised small Depth Anything (DINOv2 backbone, 4 layers, width 32) saved as a
    transformers checkpoint folder. The head's last weights are drawn larger and its bias set to 1 so
    the random map is positive and varies (the default init gives values near 1e-7, often 0)."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                            patch_size=14, image_size=98, out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, neck_hidden_sizes=[16, 32, 32, 32], fusion_hidden_size=16,
                                 head_hidden_size=8, reassemble_hidden_size=32, patch_size=14)
    torch.manual_seed(seed)
    model = DepthAnythingForDepthEstimation(config).eval()
    with torch.no_grad():
        model.head.conv3.weight.normal_(0, 1.0)
        model.head.conv3.bias.fill_(1.0)
    model.save_pretrained(str(path))
    return path
