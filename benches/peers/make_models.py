#!/usr/bin/env python3
"""Writes the ONNX models the peer benchmark runs, with their inputs.

    python3 benches/peers/make_models.py [--out DIR] [--force]

For every case NAME it writes `DIR/NAME.onnx` (NCHW, opset 13, float32) and
`DIR/NAME.input.npy` (float32 NCHW, uniform in [-1, 1]), and `DIR/manifest.json`, which lists
the cases with their input/output shapes and MFLOP (2 x the multiply-adds of Conv and Gemm).

The cases:

- every layer of the standard set of `sepconv bench` (src/bench.rs), with the same names and
  definitions: depthwise 3x3 pad 1 (`dw_*`), pointwise 1x1 (`pw_*`), grouped 3x3 pad 1
  (`gc_*`), each one Conv node with bias; the separable ones as two depthwise Conv nodes,
  1xk (pad k/2, no bias) then kx1 (pad k/2, bias except for `sep_blur_1x1024_k15`).
  No activation.
- `mobilenet_v1` and `mobilenet_v2`: MobileNetV1 1.0/224 and MobileNetV2 1.0/224 (the
  architectures of the papers / torchvision), BatchNorm already folded: every Conv has a bias,
  followed by Relu (V1) or Clip(0, 6) with min/max as initializer inputs (V2), Add for the
  residuals, GlobalAveragePool, Flatten, Gemm (transB=1) to 1000 classes.
- `mobilenet_v3_small`, `mobilenet_v3_large`, `efficientnet_lite0`, `shufflenet_v2`
  (x1.0), `pp_lcnet` (x1.0) and `squeezenet1_1`: the published networks at 224x224 (every
  family's standard resolution), 1000 classes, from tests/fixtures/families.py (the builders of
  the test fixtures, at full width and depth): laid out as torch.onnx / paddle2onnx export them,
  with a symbolic batch "N", BatchNorm NOT folded (statistics calibrated on random images),
  HardSwish / HardSigmoid (opset 14) or Clip, squeeze-and-excitation, Split / Concat and the
  channel shuffle with the exporter's Shape -> Gather -> Unsqueeze -> Concat shape arithmetic.
  Their weights are normal * gain / sqrt(fan_in) (families.py), not He-scaled as above.

Weights are He-scaled (normal * sqrt(2 / fan_in)), biases normal * 0.05, all drawn from a
numpy generator seeded with a fixed seed and the case's name, so a case's files do not depend
on which other cases are generated. Nothing is downloaded.

The generator is skipped when `manifest.json` already records the same GENERATOR_VERSION and
every listed file exists (use --force to regenerate). Bump GENERATOR_VERSION whenever the
models or inputs change.
"""

import argparse
import json
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

GENERATOR_VERSION = 2
SEED = 0x5E9C_0224
OPSET = 13
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out", "models")


# ---------------------------------------------------------------------------------------------
# Case definitions (mirror STANDARD_LAYERS in src/bench.rs)
# ---------------------------------------------------------------------------------------------


def standard_layers():
    """The standard layer set of `sepconv bench`, in its order: (name, kind, params)."""
    layers = []
    for c, hw, s in [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1),
                     (384, 14, 1), (576, 14, 1), (960, 7, 1)]:
        layers.append((f"dw_c{c}_{hw}_s{s}", "dw", dict(c=c, hw=hw, stride=s)))
    for cin, cout, hw in [(32, 16, 112), (144, 24, 56), (192, 32, 28), (384, 64, 14),
                          (576, 96, 14), (960, 320, 7), (320, 1280, 7)]:
        layers.append((f"pw_{cin}x{cout}_{hw}", "pw", dict(cin=cin, cout=cout, hw=hw)))
    for c, g, hw in [(128, 4, 56), (256, 8, 28), (64, 32, 56)]:
        layers.append((f"gc_c{c}_g{g}_{hw}", "gc", dict(c=c, groups=g, hw=hw)))
    layers.append(("sep_dw_c64_56_k7", "sep", dict(c=64, hw=56, k=7, bias=True)))
    layers.append(("sep_blur_1x1024_k15", "sep", dict(c=1, hw=1024, k=15, bias=False)))
    return layers


# The families of tests/fixtures/families.py at their published size: case name -> family.
FAMILY_MODELS = {
    "mobilenet_v3_small": "mobilenet_v3_small",
    "mobilenet_v3_large": "mobilenet_v3_large",
    "efficientnet_lite0": "efficientnet_lite0",
    "shufflenet_v2": "shufflenet_v2",
    "pp_lcnet": "pp_lcnet",
    "squeezenet1_1": "squeezenet1_1",
}
FAMILY_RESOLUTION = 224
MODEL_NAMES = ["mobilenet_v1", "mobilenet_v2"] + list(FAMILY_MODELS)


def all_case_names():
    return [name for name, _, _ in standard_layers()] + MODEL_NAMES


# ---------------------------------------------------------------------------------------------
# Graph builder
# ---------------------------------------------------------------------------------------------


class GraphBuilder:
    """Collects the nodes and initializers of one single-input, single-output graph."""

    def __init__(self, name):
        self.name = name
        self.rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
        self.nodes = []
        self.inits = []
        self.names = set()

    def fresh(self, base):
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, name, **attrs):
        return self._emit(op, inputs, self.fresh(name), attrs)

    def _emit(self, op, inputs, unique_name, attrs):
        out = unique_name + ":out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=unique_name, **attrs))
        return out

    def he(self, shape, fan_in):
        return (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def small(self, n):
        return (self.rng.standard_normal(n) * 0.05).astype(np.float32)

    def conv(self, x, cin, cout, kernel, stride=1, groups=1, pads=None, bias=True, name="conv"):
        """Conv with OIHW weights; `kernel` is (kh, kw); pads default to k//2 on each side."""
        kh, kw = kernel
        if pads is None:
            pads = [kh // 2, kw // 2, kh // 2, kw // 2]
        name = self.fresh(name)
        fan_in = cin // groups * kh * kw
        inputs = [x, self.init(name + ".weight", self.he((cout, cin // groups, kh, kw), fan_in))]
        if bias:
            inputs.append(self.init(name + ".bias", self.small(cout)))
        attrs = dict(kernel_shape=[kh, kw], strides=[stride, stride], pads=pads, group=groups)
        return self._emit("Conv", inputs, name, attrs)

    def relu(self, x, name):
        return self.node("Relu", [x], name)

    def relu6(self, x, name):
        lo = self.init(self.fresh(name + ".min"), np.array(0.0, dtype=np.float32))
        hi = self.init(self.fresh(name + ".max"), np.array(6.0, dtype=np.float32))
        return self.node("Clip", [x, lo, hi], name)

    def classifier(self, x, channels, classes=1000):
        x = self.node("GlobalAveragePool", [x], "pool")
        x = self.node("Flatten", [x], "flatten", axis=1)
        w = self.init("logits.weight", self.he((classes, channels), channels))
        b = self.init("logits.bias", self.small(classes))
        return self.node("Gemm", [x, w, b], "logits", alpha=1.0, beta=1.0, transB=1)

    def model(self, input_shape, output):
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
            initializer=self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="sepconv benches/peers/make_models.py")
        model.ir_version = 8
        model = shape_inference.infer_shapes(model, strict_mode=True)
        onnx.checker.check_model(model, full_check=True)
        return model


def build_layer(name, kind, p):
    """One standard layer as a one- (or two-, for separable) node model."""
    b = GraphBuilder(name)
    if kind == "dw":
        shape = [1, p["c"], p["hw"], p["hw"]]
        y = b.conv("input", p["c"], p["c"], (3, 3), stride=p["stride"], groups=p["c"], name="dw")
    elif kind == "pw":
        shape = [1, p["cin"], p["hw"], p["hw"]]
        y = b.conv("input", p["cin"], p["cout"], (1, 1), name="pw")
    elif kind == "gc":
        shape = [1, p["c"], p["hw"], p["hw"]]
        y = b.conv("input", p["c"], p["c"], (3, 3), groups=p["groups"], name="gc")
    elif kind == "sep":
        c, k = p["c"], p["k"]
        shape = [1, c, p["hw"], p["hw"]]
        y = b.conv("input", c, c, (1, k), groups=c, bias=False, name="row")
        y = b.conv(y, c, c, (k, 1), groups=c, bias=p["bias"], name="col")
    else:
        raise ValueError(kind)
    return b.model(shape, y), shape


def build_mobilenet_v1():
    """MobileNetV1 1.0/224: stem 3x3/2 -> 32, 13 x (dw 3x3 + Relu, pw + Relu), pool, 1024 -> 1000."""
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
    b = GraphBuilder("mobilenet_v1")
    x = b.relu(b.conv("input", 3, 32, (3, 3), stride=2, name="stem"), "stem/relu")
    c = 32
    for i, (out_c, s) in enumerate(blocks):
        x = b.relu(b.conv(x, c, c, (3, 3), stride=s, groups=c, name=f"block{i}/dw"), f"block{i}/dw/relu")
        x = b.relu(b.conv(x, c, out_c, (1, 1), name=f"block{i}/pw"), f"block{i}/pw/relu")
        c = out_c
    return b.model([1, 3, 224, 224], b.classifier(x, c)), [1, 3, 224, 224]


def build_mobilenet_v2():
    """MobileNetV2 1.0/224 (torchvision's layout): stem 3x3/2 -> 32, 17 inverted residuals,
    1x1 -> 1280, pool, 1280 -> 1000; ReLU6 as Clip(0, 6)."""
    stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1)]
    b = GraphBuilder("mobilenet_v2")
    x = b.relu6(b.conv("input", 3, 32, (3, 3), stride=2, name="stem"), "stem/relu6")
    c, block = 32, 0
    for t, out_c, repeats, first_stride in stages:
        for r in range(repeats):
            s = first_stride if r == 0 else 1
            hidden = c * t
            y = x
            if t != 1:
                y = b.relu6(b.conv(y, c, hidden, (1, 1), name=f"block{block}/expand"),
                            f"block{block}/expand/relu6")
            y = b.relu6(b.conv(y, hidden, hidden, (3, 3), stride=s, groups=hidden,
                               name=f"block{block}/dw"), f"block{block}/dw/relu6")
            y = b.conv(y, hidden, out_c, (1, 1), name=f"block{block}/project")
            if s == 1 and c == out_c:
                y = b.node("Add", [x, y], f"block{block}/add")
            x, c = y, out_c
            block += 1
    x = b.relu6(b.conv(x, c, 1280, (1, 1), name="head"), "head/relu6")
    return b.model([1, 3, 224, 224], b.classifier(x, 1280)), [1, 3, 224, 224]


def build_family(name):
    """A network of tests/fixtures/families.py at full size, 224x224, batch "N" (symbolic)."""
    sys.dont_write_bytecode = True  # no __pycache__ in tests/fixtures
    fixtures = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "fixtures")
    if fixtures not in sys.path:
        sys.path.insert(0, fixtures)
    import families  # needs onnxruntime too (BN calibration)

    seed = (SEED ^ zlib.crc32(name.encode())) & 0x7FFF_FFFF
    model, in_shape = families.build(FAMILY_MODELS[name], resolution=FAMILY_RESOLUTION, classes=1000,
                                     seed=seed, calibration_seed=seed + 1, calibration_batch=4)
    model.producer_name = "sepconv benches/peers/make_models.py (tests/fixtures/families.py)"
    return model, in_shape


def build_case(name):
    """(model, input shape) of one case."""
    if name in FAMILY_MODELS:
        return build_family(name)
    if name == "mobilenet_v1":
        return build_mobilenet_v1()
    if name == "mobilenet_v2":
        return build_mobilenet_v2()
    for layer_name, kind, params in standard_layers():
        if layer_name == name:
            return build_layer(name, kind, params)
    raise KeyError(f"unknown case {name}")


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------


def _shapes(model):
    shapes = {}
    for vi in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        if dims and all(d > 0 for d in dims):
            shapes[vi.name] = dims
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def with_batch_1(model):
    """A copy of model with a symbolic batch fixed to 1 and ONNX shape inference run."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi in list(m.graph.input[:1]) + list(m.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:
            dims[0].dim_value = 1
    return shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)


def _shapes_by_running(model):
    """Shapes of every node's inputs and outputs at batch 1, from one ONNX Runtime run (ONNX
    shape inference cannot follow the shape arithmetic of ShuffleNet's channel shuffle)."""
    import onnxruntime as ort

    m = with_batch_1(model)
    known = {o.name for o in m.graph.output}
    for node in m.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        for name in [node.input[0], node.output[0]]:
            if name not in known:
                m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
                known.add(name)
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {m.graph.input[0].name: np.zeros(dims, np.float32)})
    shapes = {o.name: list(v.shape) for o, v in zip(sess.get_outputs(), outs)}
    for init in m.graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def count_macs(model):
    """Multiply-adds of the Conv, Gemm and MatMul nodes (shapes from ONNX shape inference, or
    from one ONNX Runtime run where it cannot tell them; at batch 1)."""
    shapes = _shapes(with_batch_1(model))
    if any(n.op_type in ("Conv", "Gemm", "MatMul") and n.output[0] not in shapes for n in model.graph.node):
        shapes = _shapes_by_running(model)
    macs = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            w = shapes[node.input[1]]  # [out_c, in_c/groups, kh, kw]
            macs += int(np.prod(out)) * w[1] * w[2] * w[3]
        elif node.op_type == "Gemm":
            a = shapes[node.input[0]]
            out = shapes[node.output[0]]
            macs += int(np.prod(out)) * a[1]
        elif node.op_type == "MatMul":
            w = shapes[node.input[1]]  # [in, out]
            macs += int(np.prod(shapes[node.output[0]])) * w[0]
    return macs


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def make_input(name, shape):
    rng = np.random.default_rng([SEED + 1, zlib.crc32(name.encode())])
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def write_case(name, out_dir):
    """Writes NAME.onnx and NAME.input.npy; returns the manifest entry."""
    model, in_shape = build_case(name)
    out_vi = with_batch_1(model).graph.output[0]
    out_shape = [d.dim_value for d in out_vi.type.tensor_type.shape.dim]
    model_path = os.path.join(out_dir, name + ".onnx")
    input_path = os.path.join(out_dir, name + ".input.npy")
    onnx.save_model(model, model_path)
    np.save(input_path, make_input(name, in_shape))
    macs = count_macs(model)
    ops = sorted({n.op_type for n in model.graph.node})
    return {
        "name": name,
        "kind": "model" if name in MODEL_NAMES else "layer",
        "model": os.path.basename(model_path),
        "input": os.path.basename(input_path),
        "input_shape": in_shape,
        "output_shape": out_shape,
        "macs": macs,
        "mflop": 2 * macs / 1e6,
        "nodes": len(model.graph.node),
        "ops": ops,
        "params": int(sum(int(np.prod(i.dims)) for i in model.graph.initializer)),
    }


def manifest_path(out_dir):
    return os.path.join(out_dir, "manifest.json")


def up_to_date(out_dir):
    """Whether out_dir holds every case from this generator version."""
    try:
        with open(manifest_path(out_dir)) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if manifest.get("generator_version") != GENERATOR_VERSION:
        return False
    names = [c["name"] for c in manifest.get("cases", [])]
    if names != all_case_names():
        return False
    return all(os.path.exists(os.path.join(out_dir, c[k]))
               for c in manifest["cases"] for k in ("model", "input"))


def generate(out_dir, force=False, log=print):
    """Generates every case into out_dir unless it is up to date; returns the manifest."""
    if not force and up_to_date(out_dir):
        log(f"models: up to date in {out_dir} (generator version {GENERATOR_VERSION})")
        with open(manifest_path(out_dir)) as f:
            return json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for name in all_case_names():
        entry = write_case(name, out_dir)
        log(f"models: wrote {name}: {entry['mflop']:.2f} MFLOP, {entry['nodes']} nodes, "
            f"input {entry['input_shape']}, output {entry['output_shape']}")
        cases.append(entry)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "opset": OPSET,
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "cases": cases,
    }
    tmp = manifest_path(out_dir) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, manifest_path(out_dir))
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = ap.parse_args(argv)
    generate(args.out, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
