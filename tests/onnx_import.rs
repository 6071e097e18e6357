//! ONNX importer tests, at the IR level (the graph runtime is tested elsewhere):
//!
//! - every fixture of `tests/fixtures/` (written by `make_fixtures.py` with ONNX Runtime's
//!   outputs) is loaded and its IR checked: ops, shapes, attributes, and the OIHW → OHWI weight
//!   conversion against the `NAME.weights.npy` the script saved;
//! - a small NHWC interpreter (below, test-only) evaluates each imported [`Model`] with the
//!   `sepconv::kernels::reference` kernels and plain loops, and its output must match ONNX
//!   Runtime's within [`TOLERANCE`] (max abs diff, on outputs of magnitude ~1–10);
//! - malformed or unsupported models must give the specific [`OnnxError`] variant, naming the
//!   node or tensor, and never panic.

use std::path::{Path, PathBuf};

use prost::Message;
use sepconv::dispatch::Isa;
use sepconv::graph::{
    Batch, BatchNormSpec, ConvSpec, DenseSpec, Graph, GraphOptions, Layout, Model, NearestRounding, OpSpec,
    PadSpec, PoolKind, PoolSpec, ResizeCoord, ResizeMode, ResizeSpec, ValueId,
};
use sepconv::kernels::reference::{self, DenseShape, GlobalPoolShape};
use sepconv::kernels::{Activation, Conv2dGeometry, PadMode, Padding2d};
use sepconv::onnx::proto::tensor_proto::{DataLocation, DataType};
use sepconv::onnx::proto::tensor_shape_proto::dimension::Value as DimValue;
use sepconv::onnx::proto::type_proto::Value as TypeValue;
use sepconv::onnx::proto::{self, ModelProto};
use sepconv::onnx::{ImportOptions, OnnxError, load_model, load_model_file, load_model_with};
use sepconv::tensor::Shape4;

/// Max abs difference allowed between the interpreter's output and ONNX Runtime's.
const TOLERANCE: f32 = 1e-4;

// -------------------------------------------------------------------------------------------
// Fixtures and .npy
// -------------------------------------------------------------------------------------------

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file)
}

fn load(name: &str) -> Model {
    load_model_file(&fixture(&format!("{name}.onnx"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("{name}.onnx"))).unwrap()
}

/// A float32 array from a `.npy` file.
struct Npy {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// Minimal `.npy` reader: version 1.0, `<f4`, C order.
fn read_npy(path: &Path) -> Npy {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}: not a .npy file", path.display());
    assert_eq!((bytes[6], bytes[7]), (1, 0), "{}: only .npy version 1.0 is supported", path.display());
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{}: not little-endian f32: {header}", path.display());
    assert!(header.contains("'fortran_order': False"), "{}: not C order: {header}", path.display());
    let shape_start = header.find("'shape': (").unwrap() + "'shape': (".len();
    let shape_end = shape_start + header[shape_start..].find(')').unwrap();
    let shape: Vec<usize> = header[shape_start..shape_end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let body = &bytes[10 + header_len..];
    let count: usize = shape.iter().product();
    assert_eq!(body.len(), count * 4, "{}: data length", path.display());
    let data = body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Npy { shape, data }
}

fn npy(name: &str, what: &str) -> Npy {
    read_npy(&fixture(&format!("{name}.{what}.npy")))
}

// -------------------------------------------------------------------------------------------
// Test-only NHWC interpreter
// -------------------------------------------------------------------------------------------

/// A value while interpreting: NHWC shape and data.
#[derive(Clone)]
struct Val {
    shape: Shape4,
    data: Vec<f32>,
}

fn nchw_to_nhwc(s: Shape4, nchw: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; nchw.len()];
    for n in 0..s.n {
        for c in 0..s.c {
            for y in 0..s.h {
                for x in 0..s.w {
                    out[((n * s.h + y) * s.w + x) * s.c + c] = nchw[((n * s.c + c) * s.h + y) * s.w + x];
                }
            }
        }
    }
    out
}

fn nhwc_to_nchw(s: Shape4, nhwc: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; nhwc.len()];
    for n in 0..s.n {
        for c in 0..s.c {
            for y in 0..s.h {
                for x in 0..s.w {
                    out[((n * s.c + c) * s.h + y) * s.w + x] = nhwc[((n * s.h + y) * s.w + x) * s.c + c];
                }
            }
        }
    }
    out
}

fn resolve_padding(
    p: PadSpec,
    s: Shape4,
    k: (usize, usize),
    st: (usize, usize),
    d: (usize, usize),
) -> Padding2d {
    match p {
        PadSpec::Explicit(p) => p,
        PadSpec::Auto(mode) => Padding2d::for_mode(mode, s.h, s.w, k.0, k.1, st.0, st.1, d.0, d.1).unwrap(),
    }
}

fn conv(x: &Val, spec: &ConvSpec) -> Val {
    let s = x.shape;
    let padding = resolve_padding(spec.padding, s, spec.kernel, spec.stride, spec.dilation);
    let g = Conv2dGeometry {
        batch: s.n,
        in_h: s.h,
        in_w: s.w,
        in_c: s.c,
        out_c: spec.out_c,
        kernel_h: spec.kernel.0,
        kernel_w: spec.kernel.1,
        stride_h: spec.stride.0,
        stride_w: spec.stride.1,
        dilation_h: spec.dilation.0,
        dilation_w: spec.dilation.1,
        padding,
        groups: spec.groups,
    };
    let d = g.validate().unwrap();
    let mut data = vec![0.0; d.output_len];
    reference::conv2d(&g, &x.data, &spec.weights, spec.bias.as_deref(), spec.activation, &mut data).unwrap();
    Val { shape: Shape4::new(s.n, d.out_h, d.out_w, spec.out_c), data }
}

fn batch_norm(x: &Val, bn: &BatchNormSpec) -> Val {
    let c = x.shape.c;
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % c;
            let inv = 1.0 / (f64::from(bn.var[ch]) + f64::from(bn.epsilon)).sqrt();
            ((f64::from(v) - f64::from(bn.mean[ch])) * inv * f64::from(bn.scale[ch]) + f64::from(bn.bias[ch]))
                as f32
        })
        .collect();
    Val { shape: x.shape, data }
}

fn pool(x: &Val, spec: &PoolSpec) -> Val {
    let s = x.shape;
    let (kh, kw) = spec.kernel;
    let (sh, sw) = spec.stride;
    let p = resolve_padding(spec.padding, s, spec.kernel, spec.stride, (1, 1));
    let oh = (s.h + p.top + p.bottom - kh) / sh + 1;
    let ow = (s.w + p.left + p.right - kw) / sw + 1;
    let mut data = Vec::with_capacity(s.n * oh * ow * s.c);
    for n in 0..s.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for c in 0..s.c {
                    let (mut max, mut sum, mut count) = (f32::NEG_INFINITY, 0.0f64, 0usize);
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let (py, px) = (oy * sh + ky, ox * sw + kx);
                            if py < p.top || py >= p.top + s.h || px < p.left || px >= p.left + s.w {
                                continue;
                            }
                            let v = x.data[((n * s.h + py - p.top) * s.w + px - p.left) * s.c + c];
                            max = max.max(v);
                            sum += f64::from(v);
                            count += 1;
                        }
                    }
                    data.push(match spec.kind {
                        PoolKind::Max => max,
                        PoolKind::Avg { count_include_pad: true } => (sum / (kh * kw) as f64) as f32,
                        PoolKind::Avg { count_include_pad: false } => (sum / count as f64) as f32,
                    });
                }
            }
        }
    }
    Val { shape: Shape4::new(s.n, oh, ow, s.c), data }
}

/// Flatten in NCHW order: `N×H×W×C → N×1×1×(C·H·W)`.
fn flatten(x: &Val) -> Val {
    let s = x.shape;
    let features = s.c * s.h * s.w;
    let per_image = Shape4::new(1, s.h, s.w, s.c);
    let mut data = Vec::with_capacity(x.data.len());
    for n in 0..s.n {
        data.extend(nhwc_to_nchw(per_image, &x.data[n * features..(n + 1) * features]));
    }
    Val { shape: Shape4::new(s.n, 1, 1, features), data }
}

/// Softmax over the channels, in f64.
fn softmax(x: &Val) -> Val {
    let mut data = Vec::with_capacity(x.data.len());
    for row in x.data.chunks(x.shape.c) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        data.extend(e.iter().map(|&v| (v / sum) as f32));
    }
    Val { shape: x.shape, data }
}

fn dense(x: &Val, spec: &DenseSpec) -> Val {
    let s = x.shape;
    assert_eq!((s.h, s.w), (1, 1), "dense on a non-flat value {s}");
    let shape = DenseShape { batch: s.n, in_features: s.c, out_features: spec.out_features };
    let mut data = vec![0.0; s.n * spec.out_features];
    reference::dense(&shape, &x.data, &spec.weights, spec.bias.as_deref(), spec.activation, &mut data)
        .unwrap();
    Val { shape: Shape4::new(s.n, 1, 1, spec.out_features), data }
}

fn concat(inputs: &[&Val]) -> Val {
    let s0 = inputs[0].shape;
    let c: usize = inputs.iter().map(|v| v.shape.c).sum();
    let mut data = Vec::with_capacity(s0.n * s0.h * s0.w * c);
    for px in 0..s0.n * s0.h * s0.w {
        for v in inputs {
            assert_eq!((v.shape.n, v.shape.h, v.shape.w), (s0.n, s0.h, s0.w));
            data.extend_from_slice(&v.data[px * v.shape.c..(px + 1) * v.shape.c]);
        }
    }
    Val { shape: Shape4 { c, ..s0 }, data }
}

/// ONNX `Resize` (the formulas of the ONNX reference implementation, written per output
/// element): the source coordinate of every output row and column, then the nearest pixel
/// or the bilinear blend of the four around it (coordinates clamped to the image).
fn resize(x: &Val, spec: &ResizeSpec) -> Val {
    let s = x.shape;
    let src = |o: usize, n: usize, m: usize, scale: f32| -> f32 {
        let o = o as f32;
        match spec.coord {
            ResizeCoord::HalfPixel => (o + 0.5) / scale - 0.5,
            ResizeCoord::PytorchHalfPixel => {
                if m > 1 {
                    (o + 0.5) / scale - 0.5
                } else {
                    0.0
                }
            }
            ResizeCoord::AlignCorners => {
                if m > 1 {
                    o * (n as f32 - 1.0) / (m as f32 - 1.0)
                } else {
                    0.0
                }
            }
            ResizeCoord::Asymmetric => o / scale,
        }
    };
    let at = |n: usize, y: usize, xx: usize, c: usize| x.data[((n * s.h + y) * s.w + xx) * s.c + c];
    let (oh, ow) = (spec.out_h, spec.out_w);
    let mut data = Vec::with_capacity(s.n * oh * ow * s.c);
    for n in 0..s.n {
        for oy in 0..oh {
            let fy = src(oy, s.h, oh, spec.scale_h);
            for ox in 0..ow {
                let fx = src(ox, s.w, ow, spec.scale_w);
                for c in 0..s.c {
                    let v = match spec.mode {
                        ResizeMode::Nearest(r) => {
                            let pick = |f: f32, len: usize| {
                                let half = f - f.floor() == 0.5;
                                let i = match r {
                                    NearestRounding::RoundPreferFloor if half => f.floor(),
                                    NearestRounding::RoundPreferCeil if half => f.ceil(),
                                    NearestRounding::Floor => f.floor(),
                                    NearestRounding::Ceil => f.ceil(),
                                    _ => f.round(),
                                };
                                (i.max(0.0) as usize).min(len - 1)
                            };
                            at(n, pick(fy, s.h), pick(fx, s.w), c)
                        }
                        ResizeMode::Linear => {
                            let fy = fy.clamp(0.0, (s.h - 1) as f32);
                            let fx = fx.clamp(0.0, (s.w - 1) as f32);
                            let (y0, x0) = (fy.floor() as usize, fx.floor() as usize);
                            let (y1, x1) = ((y0 + 1).min(s.h - 1), (x0 + 1).min(s.w - 1));
                            let (dy, dx) = (fy - y0 as f32, fx - x0 as f32);
                            (1.0 - dy) * ((1.0 - dx) * at(n, y0, x0, c) + dx * at(n, y0, x1, c))
                                + dy * ((1.0 - dx) * at(n, y1, x0, c) + dx * at(n, y1, x1, c))
                        }
                    };
                    data.push(v);
                }
            }
        }
    }
    Val { shape: Shape4 { h: oh, w: ow, ..s }, data }
}

/// Evaluates `model` on an NCHW input; returns the output value (NHWC).
fn interpret(model: &Model, input: &Npy) -> Val {
    assert_eq!(input.shape, model.input_shape.to_nchw_dims().to_vec(), "input shape");
    let mut values: Vec<Option<Val>> = vec![None; model.value_names.len()];
    values[model.input] =
        Some(Val { shape: model.input_shape, data: nchw_to_nhwc(model.input_shape, &input.data) });
    for node in &model.nodes {
        let get =
            |id: ValueId| values[id].as_ref().unwrap_or_else(|| panic!("{}: value {id} unset", node.name));
        let x = get(node.inputs[0]);
        let out = match &node.op {
            OpSpec::Conv(spec) => conv(x, spec),
            OpSpec::Softmax => softmax(x),
            OpSpec::ChannelShuffle { groups } => {
                let (c, g) = (x.shape.c, *groups);
                let mut data = x.data.clone();
                for (dst, src) in data.chunks_mut(c).zip(x.data.chunks(c)) {
                    for (k, &v) in src.iter().enumerate() {
                        dst[(k % (c / g)) * g + k / (c / g)] = v;
                    }
                }
                Val { shape: x.shape, data }
            }
            OpSpec::SliceChannels { start, len } => {
                let data = x.data.chunks(x.shape.c).flat_map(|px| px[*start..start + len].to_vec()).collect();
                Val { shape: Shape4 { c: *len, ..x.shape }, data }
            }
            OpSpec::BatchNorm(bn) => batch_norm(x, bn),
            OpSpec::Activation(act) => {
                let mut y = x.clone();
                reference::activation_in_place(*act, &mut y.data).unwrap();
                y
            }
            OpSpec::Add(act) => {
                let b = get(node.inputs[1]);
                assert_eq!(x.shape, b.shape, "{}: add shapes", node.name);
                let mut data = vec![0.0; x.data.len()];
                reference::add(&x.data, &b.data, *act, &mut data).unwrap();
                Val { shape: x.shape, data }
            }
            OpSpec::Mul(act) => {
                // The scale has x's shape or one value per image and channel.
                let b = get(node.inputs[1]);
                let (c, per_image) = (x.shape.c, x.shape.h * x.shape.w);
                let data = (0..x.data.len())
                    .map(|i| {
                        let j = if b.shape == x.shape { i } else { i / (per_image * c) * c + i % c };
                        act.apply(x.data[i] * b.data[j])
                    })
                    .collect();
                Val { shape: x.shape, data }
            }
            OpSpec::GlobalAvgPool => {
                let s = x.shape;
                let mut data = vec![0.0; s.n * s.c];
                let shape = GlobalPoolShape { batch: s.n, pixels: s.h * s.w, channels: s.c };
                reference::global_avg_pool(&shape, &x.data, &mut data).unwrap();
                Val { shape: Shape4::new(s.n, 1, 1, s.c), data }
            }
            OpSpec::Pool(spec) => pool(x, spec),
            OpSpec::Flatten => flatten(x),
            OpSpec::Dense(spec) => dense(x, spec),
            OpSpec::Concat => {
                let inputs: Vec<&Val> = node.inputs.iter().map(|&id| get(id)).collect();
                concat(&inputs)
            }
            OpSpec::PRelu { slope } => {
                let c = x.shape.c;
                let data = x
                    .data
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| if v < 0.0 { v * slope[i % c] } else { v })
                    .collect();
                Val { shape: x.shape, data }
            }
            OpSpec::Resize(spec) => resize(x, spec),
            OpSpec::ConcatSpatial { width } => {
                // Element (n, y, x, c) of the output from the input whose block holds y (or x).
                let inputs: Vec<&Val> = node.inputs.iter().map(|&id| get(id)).collect();
                let s0 = inputs[0].shape;
                let total: usize = inputs.iter().map(|v| if *width { v.shape.w } else { v.shape.h }).sum();
                let shape = if *width { Shape4 { w: total, ..s0 } } else { Shape4 { h: total, ..s0 } };
                let mut data = Vec::with_capacity(shape.n * shape.h * shape.w * shape.c);
                for n in 0..shape.n {
                    for yy in 0..shape.h {
                        for xx in 0..shape.w {
                            let (mut pos, mut k) = (if *width { xx } else { yy }, 0);
                            while pos >= if *width { inputs[k].shape.w } else { inputs[k].shape.h } {
                                pos -= if *width { inputs[k].shape.w } else { inputs[k].shape.h };
                                k += 1;
                            }
                            let v = inputs[k];
                            let (iy, ix) = if *width { (yy, pos) } else { (pos, xx) };
                            for c in 0..shape.c {
                                data.push(v.data[((n * v.shape.h + iy) * v.shape.w + ix) * v.shape.c + c]);
                            }
                        }
                    }
                }
                Val { shape, data }
            }
            OpSpec::Pad { pads, value } => {
                let s = x.shape;
                let (h, w) = (s.h + pads.top + pads.bottom, s.w + pads.left + pads.right);
                let mut data = vec![*value; s.n * h * w * s.c];
                for n in 0..s.n {
                    for y in 0..s.h {
                        for xx in 0..s.w {
                            for c in 0..s.c {
                                let to = ((n * h + y + pads.top) * w + xx + pads.left) * s.c + c;
                                data[to] = x.data[((n * s.h + y) * s.w + xx) * s.c + c];
                            }
                        }
                    }
                }
                Val { shape: Shape4 { h, w, ..s }, data }
            }
        };
        assert!(values[node.output].is_none(), "{}: value {} defined twice", node.name, node.output);
        values[node.output] = Some(out);
    }
    values[model.output].take().expect("output value not computed")
}

/// Loads fixture `name`, runs it on its input and compares with ONNX Runtime's output.
fn check_against_ort(name: &str) {
    let mut model = load(name);
    let expected = npy(name, "output");
    let input = npy(name, "input");
    // A symbolic batch runs the stored input's batch.
    if matches!(model.batch, Batch::Symbolic { .. }) {
        model.input_shape.n = input.shape[0];
    }
    let out = interpret(&model, &input);
    let actual = match expected.shape[..] {
        [n, c, h, w] => {
            assert_eq!(out.shape, Shape4::from_nchw_dims(n, c, h, w), "{name}: output shape");
            nhwc_to_nchw(out.shape, &out.data)
        }
        [n, f] => {
            assert_eq!(out.shape, Shape4::new(n, 1, 1, f), "{name}: output shape");
            out.data
        }
        _ => panic!("{name}: unexpected output rank {:?}", expected.shape),
    };
    assert_eq!(actual.len(), expected.data.len());
    let max_diff = actual.iter().zip(&expected.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let max_mag = expected.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max_mag > 0.1, "{name}: ORT output is suspiciously small ({max_mag})");
    eprintln!("{name}: max diff {max_diff:e}, max |y| {max_mag}");
    assert!(
        max_diff <= TOLERANCE,
        "{name}: max |sepconv - ORT| = {max_diff} > {TOLERANCE} (max |y| {max_mag})"
    );
}

// -------------------------------------------------------------------------------------------
// IR helpers
// -------------------------------------------------------------------------------------------

fn ops(model: &Model) -> Vec<&'static str> {
    model
        .nodes
        .iter()
        .map(|n| match &n.op {
            OpSpec::Conv(_) => "Conv",
            OpSpec::BatchNorm(_) => "BatchNorm",
            OpSpec::Activation(_) => "Activation",
            OpSpec::Add(_) => "Add",
            OpSpec::Mul(_) => "Mul",
            OpSpec::GlobalAvgPool => "GlobalAvgPool",
            OpSpec::Pool(_) => "Pool",
            OpSpec::Flatten => "Flatten",
            OpSpec::Dense(_) => "Dense",
            OpSpec::Concat => "Concat",
            OpSpec::Softmax => "Softmax",
            OpSpec::ChannelShuffle { .. } => "ChannelShuffle",
            OpSpec::SliceChannels { .. } => "SliceChannels",
            OpSpec::Pad { .. } => "Pad",
            OpSpec::PRelu { .. } => "PRelu",
            OpSpec::Resize(_) => "Resize",
            OpSpec::ConcatSpatial { .. } => "ConcatSpatial",
        })
        .collect()
}

fn conv_spec(model: &Model, i: usize) -> &ConvSpec {
    match &model.nodes[i].op {
        OpSpec::Conv(c) => c,
        other => panic!("node {i} is {other:?}, not a Conv"),
    }
}

fn activation(model: &Model, i: usize) -> Activation {
    match &model.nodes[i].op {
        OpSpec::Activation(a) => *a,
        other => panic!("node {i} is {other:?}, not an activation"),
    }
}

/// Every OHWI weight of `spec` equals the OIHW weight the fixture script saved for it.
fn assert_ohwi_matches(spec: &ConvSpec, name: &str) {
    let oihw = npy(name, "weights");
    let [o, i, kh, kw] = oihw.shape[..] else { panic!("{name}: weights rank") };
    assert_eq!((o, spec.kernel), (spec.out_c, (kh, kw)));
    assert_eq!(spec.weights.len(), oihw.data.len());
    for oc in 0..o {
        for y in 0..kh {
            for x in 0..kw {
                for ic in 0..i {
                    assert_eq!(
                        spec.weights[((oc * kh + y) * kw + x) * i + ic],
                        oihw.data[((oc * i + ic) * kh + y) * kw + x],
                        "{name}: weight [o {oc}][y {y}][x {x}][i {ic}]"
                    );
                }
            }
        }
    }
}

fn check_common(model: &Model, input: Shape4) {
    assert_eq!(model.layout, Layout::Nchw);
    assert_eq!(model.input, 0);
    assert_eq!(model.value_names[0], "input");
    assert_eq!(model.input_shape, input);
    // Values numbered in definition order: node k defines value k + 1, reading earlier values.
    for (k, node) in model.nodes.iter().enumerate() {
        assert_eq!(node.output, k + 1, "{}", node.name);
        assert!(node.inputs.iter().all(|&i| i <= k), "{}", node.name);
    }
    assert_eq!(model.value_names.len(), model.nodes.len() + 1);
    assert_eq!(model.output, model.nodes.len());
}

// -------------------------------------------------------------------------------------------
// Fixtures: IR and numbers
// -------------------------------------------------------------------------------------------

#[test]
fn dw_same_ir() {
    let m = load("dw_same");
    check_common(&m, Shape4::new(1, 9, 9, 8));
    assert_eq!(ops(&m), ["Conv"]);
    let c = conv_spec(&m, 0);
    assert_eq!(m.nodes[0].name, "dw");
    assert_eq!((c.out_c, c.groups, c.kernel, c.stride, c.dilation), (8, 8, (3, 3), (2, 2), (1, 1)));
    assert_eq!(c.padding, PadSpec::Auto(PadMode::SameUpper));
    assert_eq!(c.bias.as_ref().map(Vec::len), Some(8));
    assert_eq!(c.activation, Activation::None);
    assert_ohwi_matches(c, "dw_same");
    check_against_ort("dw_same");
}

#[test]
fn grouped_ir() {
    let m = load("grouped");
    check_common(&m, Shape4::new(1, 7, 8, 8));
    assert_eq!(ops(&m), ["Conv"]);
    let c = conv_spec(&m, 0);
    assert_eq!((c.out_c, c.groups, c.kernel, c.stride, c.dilation), (12, 4, (3, 3), (1, 1), (1, 2)));
    assert_eq!(c.padding, PadSpec::Explicit(Padding2d { top: 1, left: 0, bottom: 2, right: 1 }));
    assert_eq!(c.weights.len(), 12 * 3 * 3 * 2);
    assert_ohwi_matches(c, "grouped"); // weights stored as float_data, not raw_data
    check_against_ort("grouped");
}

#[test]
fn pw_clip_ir() {
    let m = load("pw_clip");
    check_common(&m, Shape4::new(1, 5, 5, 16));
    assert_eq!(ops(&m), ["Conv", "Activation"]);
    let c = conv_spec(&m, 0);
    assert_eq!((c.out_c, c.groups, c.kernel), (24, 1, (1, 1)));
    assert_eq!(c.padding, PadSpec::Explicit(Padding2d::ZERO));
    assert_eq!(activation(&m, 1), Activation::Relu6);
    assert_ohwi_matches(c, "pw_clip");
    check_against_ort("pw_clip");
}

#[test]
fn ir_block_ir() {
    let m = load("ir_block");
    check_common(&m, Shape4::new(1, 8, 8, 8));
    assert_eq!(
        ops(&m),
        ["Conv", "BatchNorm", "Activation", "Conv", "BatchNorm", "Activation", "Conv", "BatchNorm", "Add"]
    );
    assert_eq!((conv_spec(&m, 0).out_c, conv_spec(&m, 0).groups), (24, 1));
    let dw = conv_spec(&m, 3);
    assert_eq!((dw.out_c, dw.groups, dw.weights.len()), (24, 24, 24 * 9));
    assert_eq!(dw.padding, PadSpec::Explicit(Padding2d::uniform(1)));
    assert_eq!(conv_spec(&m, 6).out_c, 8);
    let OpSpec::BatchNorm(bn) = &m.nodes[1].op else { panic!() };
    assert_eq!(
        (bn.scale.len(), bn.bias.len(), bn.mean.len(), bn.var.len(), bn.epsilon),
        (24, 24, 24, 24, 1e-5)
    );
    assert!(bn.var.iter().all(|&v| v > 0.0));
    assert_eq!(m.nodes[8].op, OpSpec::Add(Activation::None));
    assert_eq!(m.nodes[8].inputs, [0, 8]); // the block input and the projection's BN
    check_against_ort("ir_block");
}

#[test]
fn mobilenet_tiny_ir() {
    let m = load("mobilenet_tiny");
    check_common(&m, Shape4::new(1, 32, 32, 3));
    assert_eq!(m.name, "mobilenet_tiny");
    let o = ops(&m);
    assert_eq!(o.iter().filter(|&&op| op == "Conv").count(), 1 + 3 + 3 + 1);
    assert_eq!(o.iter().filter(|&&op| op == "BatchNorm").count(), 1 + 3 + 3 + 1);
    assert_eq!(o.iter().filter(|&&op| op == "Add").count(), 1);
    assert_eq!(o[o.len() - 3..], ["GlobalAvgPool", "Flatten", "Dense"]);
    let stem = conv_spec(&m, 0);
    assert_eq!((stem.out_c, stem.stride, stem.bias.is_none()), (16, (2, 2), true));
    assert_eq!(stem.padding, PadSpec::Explicit(Padding2d::uniform(1)));
    assert_ohwi_matches(stem, "mobilenet_tiny");
    let OpSpec::BatchNorm(bn) = &m.nodes[1].op else { panic!() };
    assert_eq!(bn.epsilon, 1e-3);
    // The second block's depthwise conv has stride 2.
    let strided: Vec<_> = m
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            OpSpec::Conv(c) if c.stride == (2, 2) => Some(c.groups),
            _ => None,
        })
        .collect();
    assert_eq!(strided, [1, 64]);
    let OpSpec::Dense(fc) = &m.nodes.last().unwrap().op else { panic!() };
    assert_eq!((fc.out_features, fc.weights.len(), fc.bias.as_ref().map(Vec::len)), (10, 640, Some(10)));
    assert_eq!(m.nodes.last().unwrap().name, "fc");
    check_against_ort("mobilenet_tiny");
}

#[test]
fn maxpool_ir() {
    let m = load("maxpool");
    check_common(&m, Shape4::new(1, 9, 9, 4));
    assert_eq!(ops(&m), ["Conv", "Pool"]);
    let OpSpec::Pool(p) = &m.nodes[1].op else { panic!() };
    let padding = PadSpec::Explicit(Padding2d { top: 1, left: 0, bottom: 1, right: 2 });
    assert_eq!(*p, PoolSpec { kind: PoolKind::Max, kernel: (3, 3), stride: (2, 2), padding });
    check_against_ort("maxpool");
}

#[test]
fn avgpool_ir() {
    for (name, include) in [("avgpool_excl_pad", false), ("avgpool_incl_pad", true)] {
        let m = load(name);
        check_common(&m, Shape4::new(1, 8, 7, 5));
        assert_eq!(ops(&m), ["Pool"]);
        let OpSpec::Pool(p) = &m.nodes[0].op else { panic!() };
        assert_eq!(p.kind, PoolKind::Avg { count_include_pad: include }, "{name}");
        assert_eq!(
            (p.kernel, p.stride, p.padding),
            ((3, 3), (2, 2), PadSpec::Explicit(Padding2d::uniform(1)))
        );
        check_against_ort(name);
    }
    // The two differ at the borders, so the comparison above tells the flags apart.
    let (a, b) = (npy("avgpool_excl_pad", "output"), npy("avgpool_incl_pad", "output"));
    assert_ne!(a.data, b.data);
}

#[test]
fn concat_ir() {
    let m = load("concat");
    check_common(&m, Shape4::new(1, 6, 5, 4));
    assert_eq!(ops(&m), ["Conv", "Activation", "Conv", "Concat"]);
    assert_eq!(activation(&m, 1), Activation::Relu);
    assert_eq!(m.nodes[3].inputs, [2, 0, 3]);
    check_against_ort("concat");
}

#[test]
fn pads_ir() {
    let m = load("pads");
    assert_eq!(
        ops(&m),
        ["Pad", "Conv", "Activation", "Pad", "Conv", "Pad", "Conv", "Pad", "Conv", "Add", "Pad", "Pool"]
    );
    check_against_ort("pads");
    let m = load("pads_opset18_axes");
    assert_eq!(ops(&m), ["Pad", "Conv"]);
    check_against_ort("pads_opset18_axes");
}

/// Per-channel PRelu slopes ([C, 1, 1], [1, C, 1, 1], and [F] on 2-D features) import as
/// `PRelu` nodes; a [C, 1, 1] slope equal in every channel is a LeakyRelu. A slope with
/// different values in a shape that is not per channel, and a non-finite slope, are refused
/// naming the node and the slope.
#[test]
fn prelu_channels_ir() {
    let m = load("prelu_channels");
    assert_eq!(
        ops(&m),
        [
            "Conv",
            "BatchNorm",
            "PRelu",
            "Conv",
            "PRelu",
            "Conv",
            "Activation",
            "GlobalAvgPool",
            "Flatten",
            "Dense",
            "PRelu"
        ]
    );
    assert_eq!(activation(&m, 6), Activation::LeakyRelu { alpha: 0.2 });
    let OpSpec::PRelu { slope } = &m.nodes[4].op else { panic!() };
    assert_eq!(slope, &[0.25, -0.5, 0.0, 1.5, 0.1, -0.1, 0.7, 0.01]);
    check_against_ort("prelu_channels");

    let mut m = decode("prelu_channels");
    initializer(&mut m, "dw_slope").dims = vec![1, 1, 1, 8];
    assert_names(
        &import(&m).unwrap_err(),
        &["\"dw_prelu\"", "\"dw_slope\"", "[1, 1, 1, 8]", "one per channel"],
    );
    let mut m = decode("prelu_channels");
    let t = initializer(&mut m, "dw_slope");
    let mut bytes = t.raw_data.take().unwrap();
    bytes[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    t.raw_data = Some(bytes);
    assert_names(&import(&m).unwrap_err(), &["\"dw_prelu\"", "\"dw_slope\"", "NaN", "finite"]);
}

/// `Resize` in each supported coordinate transform and mode imports with the scales ONNX
/// uses (given, or `out / in` for sizes, the batch of a shape-arithmetic size kept symbolic)
/// and matches ORT; what sepconv does not run is refused naming the node and the attribute.
#[test]
fn resize_ir() {
    let m = load("resize");
    assert_eq!(ops(&m), ["Conv", "Resize", "Resize", "Conv", "Resize", "Resize", "Resize", "Resize"]);
    assert!(matches!(m.batch, Batch::Symbolic { .. }), "{:?}", m.batch);
    let specs: Vec<ResizeSpec> = m
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            OpSpec::Resize(s) => Some(s),
            _ => None,
        })
        .collect();
    let spec = |out_h, out_w, scale_h, scale_w, mode, coord| ResizeSpec {
        out_h,
        out_w,
        scale_h,
        scale_w,
        mode,
        coord,
    };
    let near = ResizeMode::Nearest;
    assert_eq!(
        specs,
        [
            spec(10, 12, 2.0, 2.0, near(NearestRounding::Floor), ResizeCoord::Asymmetric),
            spec(7, 9, 0.7, 0.75, ResizeMode::Linear, ResizeCoord::PytorchHalfPixel),
            spec(3, 4, 0.5, 0.5, ResizeMode::Linear, ResizeCoord::AlignCorners),
            spec(5, 6, 1.7, 1.7, ResizeMode::Linear, ResizeCoord::HalfPixel),
            spec(3, 4, 0.6, 0.8, near(NearestRounding::RoundPreferCeil), ResizeCoord::HalfPixel),
            spec(6, 5, 2.0, 1.25, near(NearestRounding::RoundPreferFloor), ResizeCoord::HalfPixel),
        ]
    );
    check_against_ort("resize");

    let string = |name: &str, s: &str| proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::String as i32),
        s: Some(s.as_bytes().to_vec()),
        ..Default::default()
    };
    let int = |name: &str, i: i64| proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Int as i32),
        i: Some(i),
        ..Default::default()
    };
    let refused = |edit: &dyn Fn(&mut proto::NodeProto), parts: &[&str]| {
        let mut m = decode("resize");
        edit(node(&mut m, "up_half_pixel"));
        assert_names(&import(&m).unwrap_err(), parts);
    };
    let set = |a: proto::AttributeProto| {
        move |n: &mut proto::NodeProto| {
            n.attribute.retain(|x| x.name != a.name);
            n.attribute.push(a.clone());
        }
    };
    refused(&set(string("mode", "cubic")), &["\"up_half_pixel\"", "mode", "cubic"]);
    refused(&set(string("coordinate_transformation_mode", "tf_crop_and_resize")), &["tf_crop_and_resize"]);
    refused(
        &set(string("coordinate_transformation_mode", "tf_half_pixel_for_nearest")),
        &["tf_half_pixel_for_nearest"],
    );
    let mut m = decode("resize");
    set(string("nearest_mode", "stochastic"))(node(&mut m, "to_6x5"));
    assert_names(&import(&m).unwrap_err(), &["\"to_6x5\"", "nearest_mode", "stochastic"]);
    refused(&set(int("antialias", 1)), &["\"up_half_pixel\"", "antialias"]);
    refused(&set(int("exclude_outside", 1)), &["exclude_outside"]);
    refused(&set(string("keep_aspect_ratio_policy", "not_larger")), &["keep_aspect_ratio_policy"]);
    refused(
        &|n: &mut proto::NodeProto| n.input.truncate(2),
        &["\"up_half_pixel\"", "neither scales nor sizes"],
    );
    let mut m = decode("resize");
    let t = initializer(&mut m, "x17");
    t.raw_data = Some([1.0f32, 2.0, 1.7, 1.7].iter().flat_map(|v| v.to_le_bytes()).collect());
    assert_names(&import(&m).unwrap_err(), &["\"up_half_pixel\"", "batch or the channels"]);
    let mut m = decode("resize");
    node(&mut m, "to_6x5").input.push("hw79".into());
    assert_names(&import(&m).unwrap_err(), &["\"to_6x5\"", "both scales and sizes"]);
}

/// `Concat` along H (axis 2) and W (axis -1) of 4-D values imports as `ConcatSpatial` and
/// matches ORT; the batch axis and inputs that differ outside the axis are refused naming the
/// node.
#[test]
fn concat_spatial_ir() {
    let m = load("concat_spatial");
    assert_eq!(ops(&m), ["Conv", "Conv", "ConcatSpatial", "Conv", "Conv", "ConcatSpatial", "Activation"]);
    assert_eq!(m.nodes[2].op, OpSpec::ConcatSpatial { width: false });
    assert_eq!(m.nodes[5].op, OpSpec::ConcatSpatial { width: true });
    check_against_ort("concat_spatial");
    let axis = |name: &str, a: i64| {
        let mut m = decode("concat_spatial");
        node(&mut m, name).attribute[0].i = Some(a);
        import(&m)
    };
    assert_names(&axis("cat_h", 0).unwrap_err(), &["\"cat_h\"", "axis = 0"]);
    // Along W the H extents (6 and 3) differ.
    assert_names(&axis("cat_h", 3).unwrap_err(), &["\"cat_h\"", "differ outside the width axis"]);
}

#[test]
fn matmul_ir() {
    let m = load("matmul");
    check_common(&m, Shape4::new(1, 3, 4, 2));
    assert_eq!(ops(&m), ["Conv", "Flatten", "Dense"]);
    let OpSpec::Dense(d) = &m.nodes[2].op else { panic!() };
    assert_eq!((d.out_features, d.weights.len(), d.bias.is_none()), (7, 7 * 36, true));
    check_against_ort("matmul");
}

#[test]
fn reshape_ir() {
    let m = load("reshape");
    check_common(&m, Shape4::new(1, 4, 4, 3));
    assert_eq!(ops(&m), ["Conv", "Flatten", "Dense"]);
    let OpSpec::Dense(d) = &m.nodes[2].op else { panic!() };
    assert_eq!((d.out_features, d.weights.len(), d.bias.as_ref().map(Vec::len)), (5, 5 * 16, Some(5)));
    check_against_ort("reshape");
}

#[test]
fn clip_inputs_opset11_ir() {
    let m = load("clip_inputs_opset11");
    check_common(&m, Shape4::new(1, 4, 4, 3));
    assert_eq!(ops(&m), ["Conv", "Activation", "Conv", "Activation", "Activation"]);
    assert_eq!(activation(&m, 1), Activation::Clamp { min: -1.0, max: 2.5 });
    assert_eq!(activation(&m, 3), Activation::Relu);
    assert_eq!(activation(&m, 4), Activation::Clamp { min: f32::NEG_INFINITY, max: 1.5 });
    check_against_ort("clip_inputs_opset11");
}

#[test]
fn clip_attrs_opset10_is_refused() {
    let err = load_model_file(&fixture("clip_attrs_opset10.onnx")).unwrap_err();
    assert!(matches!(err, OnnxError::UnsupportedOpset { version: 10 }), "{err:?}");
    assert!(err.to_string().contains("opset 10"), "{err}");
}

// -------------------------------------------------------------------------------------------
// Bad inputs
// -------------------------------------------------------------------------------------------

fn decode(name: &str) -> ModelProto {
    ModelProto::decode(fixture_bytes(name).as_slice()).unwrap()
}

fn import(m: &ModelProto) -> Result<Model, OnnxError> {
    load_model(&m.encode_to_vec())
}

fn graph(m: &mut ModelProto) -> &mut proto::GraphProto {
    m.graph.as_mut().unwrap()
}

fn node<'a>(m: &'a mut ModelProto, name: &str) -> &'a mut proto::NodeProto {
    graph(m).node.iter_mut().find(|n| n.name() == name).unwrap()
}

fn initializer<'a>(m: &'a mut ModelProto, name: &str) -> &'a mut proto::TensorProto {
    graph(m).initializer.iter_mut().find(|t| t.name() == name).unwrap()
}

fn input_dim(m: &mut ModelProto, i: usize) -> &mut proto::tensor_shape_proto::Dimension {
    let input = &mut graph(m).input[0];
    let Some(TypeValue::TensorType(t)) = input.r#type.as_mut().unwrap().value.as_mut() else { panic!() };
    &mut t.shape.as_mut().unwrap().dim[i]
}

fn output_dim(m: &mut ModelProto, i: usize) -> &mut proto::tensor_shape_proto::Dimension {
    let output = &mut graph(m).output[0];
    let Some(TypeValue::TensorType(t)) = output.r#type.as_mut().unwrap().value.as_mut() else { panic!() };
    &mut t.shape.as_mut().unwrap().dim[i]
}

/// Makes dimension `i` of the graph input and output symbolic (`None`: no value at all).
fn make_symbolic(m: &mut ModelProto, i: usize, symbol: Option<&str>) {
    input_dim(m, i).value = symbol.map(|p| DimValue::DimParam(p.into()));
    output_dim(m, i).value = symbol.map(|p| DimValue::DimParam(format!("out_{p}")));
}

/// Asserts that the message names every one of `parts`.
fn assert_names(err: &OnnxError, parts: &[&str]) {
    let msg = err.to_string();
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} does not name {p:?}");
    }
}

#[test]
fn garbage_bytes_are_a_decode_error() {
    let err = load_model(&[0xff; 32]).unwrap_err();
    assert!(matches!(err, OnnxError::Decode(_)), "{err:?}");
    assert_names(&err, &["protobuf"]);
    // Bytes that happen to parse as unknown fields decode to an empty model, still refused.
    assert!(load_model(b"").is_err());
    assert!(load_model(b"\x08\x07").is_err());
}

#[test]
fn truncated_model_is_a_decode_error() {
    let bytes = fixture_bytes("mobilenet_tiny");
    let err = load_model(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, OnnxError::Decode(_)), "{err:?}");
}

#[test]
fn corrupted_models_never_panic() {
    let bytes = fixture_bytes("ir_block");
    for len in (0..bytes.len()).step_by(37) {
        let _ = load_model(&bytes[..len]);
    }
    for pos in (0..bytes.len()).step_by(11) {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= flip;
            let _ = load_model(&b);
        }
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let err = load_model_file(&fixture("no_such_model.onnx")).unwrap_err();
    assert!(matches!(err, OnnxError::Io { .. }), "{err:?}");
    assert_names(&err, &["no_such_model.onnx"]);
}

#[test]
fn unknown_op_names_the_node() {
    let mut m = decode("mobilenet_tiny");
    node(&mut m, "stem").op_type = Some("FancyConv".into());
    let err = import(&m).unwrap_err();
    assert!(
        matches!(&err, OnnxError::UnsupportedOp { node, op_type, .. } if node == "stem" && op_type == "FancyConv"),
        "{err:?}"
    );
    assert_names(&err, &["\"stem\"", "FancyConv"]);

    let mut m = decode("dw_same");
    node(&mut m, "dw").domain = Some("com.example".into());
    let err = import(&m).unwrap_err();
    assert!(matches!(err, OnnxError::UnsupportedOp { .. }), "{err:?}");
    assert_names(&err, &["\"dw\"", "com.example"]);
}

#[test]
fn non_f32_initializer_names_the_tensor() {
    let mut m = decode("dw_same");
    let w = initializer(&mut m, "dw.weight");
    let values: Vec<f64> = w.raw_data.as_ref().unwrap().chunks_exact(4).map(|_| 0.5).collect();
    w.data_type = Some(DataType::Double as i32);
    w.raw_data = Some(values.iter().flat_map(|v| v.to_le_bytes()).collect());
    let err = import(&m).unwrap_err();
    assert!(
        matches!(&err, OnnxError::Tensor { tensor, node, .. } if tensor == "dw.weight" && node == "dw"),
        "{err:?}"
    );
    assert_names(&err, &["\"dw\"", "\"dw.weight\"", "DOUBLE"]);
}

#[test]
fn raw_data_of_the_wrong_length_names_the_tensor() {
    let mut m = decode("dw_same");
    initializer(&mut m, "dw.bias").raw_data.as_mut().unwrap().truncate(30);
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::Tensor { tensor, .. } if tensor == "dw.bias"), "{err:?}");
    assert_names(&err, &["\"dw.bias\"", "raw_data has 30 bytes"]);

    // float_data of the wrong count (the grouped fixture stores its weights that way).
    let mut m = decode("grouped");
    initializer(&mut m, "gconv.weight").float_data.pop();
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::Tensor { tensor, .. } if tensor == "gconv.weight"), "{err:?}");
    assert_names(&err, &["float_data"]);
}

#[test]
fn external_data_names_the_tensor() {
    let mut m = decode("dw_same");
    let w = initializer(&mut m, "dw.weight");
    w.data_location = Some(DataLocation::External as i32);
    w.raw_data = None;
    w.external_data.push(proto::StringStringEntryProto {
        key: Some("location".into()),
        value: Some("weights.bin".into()),
    });
    let err = import(&m).unwrap_err();
    assert!(
        matches!(&err, OnnxError::ExternalData { tensor, node, .. } if tensor == "dw.weight" && node == "dw")
    );
    assert_names(&err, &["\"dw.weight\"", "EXTERNAL"]);
}

#[test]
fn a_symbolic_batch_binds_to_1_and_stays_open() {
    for symbol in [Some("DynamicDimension.0"), None] {
        let mut m = decode("dw_same");
        make_symbolic(&mut m, 0, symbol);
        let model = import(&m).unwrap();
        assert_eq!(model.input_shape, Shape4::new(1, 9, 9, 8));
        assert_eq!(model.batch, Batch::Symbolic { name: symbol.unwrap_or("").into() });
        // The nodes are the same as the static model's.
        assert_eq!(model.nodes, load("dw_same").nodes);
        // The input shape option can bind it to another batch.
        let opts = ImportOptions::default().with_input_shape([3, 8, 9, 9]);
        let model = load_model_with(&m.encode_to_vec(), &opts).unwrap();
        assert_eq!(model.input_shape, Shape4::new(3, 9, 9, 8));
        assert!(matches!(model.batch, Batch::Symbolic { .. }));
    }
    // A static batch is fixed, by the graph input; a symbolic one by an output that
    // declares a number for it.
    let model = load("dw_same");
    assert_eq!(model.batch, Batch::Fixed { by: "graph input \"input\"".into() });
    let mut m = decode("dw_same");
    input_dim(&mut m, 0).value = Some(DimValue::DimParam("N".into()));
    assert_eq!(import(&m).unwrap().batch, Batch::Fixed { by: "graph output \"dw_out\"".into() });
    let opts = ImportOptions::default().with_input_shape([3, 8, 9, 9]);
    let err = load_model_with(&m.encode_to_vec(), &opts).unwrap_err();
    assert!(matches!(&err, OnnxError::Output { name, .. } if name == "dw_out"), "{err:?}");
}

#[test]
fn other_symbolic_dims_need_an_input_shape() {
    let mut m = decode("dw_same");
    make_symbolic(&mut m, 2, Some("height"));
    make_symbolic(&mut m, 3, None);
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::Input { name, .. } if name == "input"), "{err:?}");
    assert_names(&err, &["\"input\"", "dimension 2", "symbolic", "height", "--input-shape"]);

    // Given sizes bind them (9×9 as the fixture; 11×13 also runs: SAME_UPPER pads).
    for (h, w) in [(9, 9), (11, 13)] {
        let opts = ImportOptions::default().with_input_shape([1, 8, h, w]);
        let model = load_model_with(&m.encode_to_vec(), &opts).unwrap();
        assert_eq!(model.input_shape, Shape4::new(1, h, w, 8));
        assert!(matches!(model.batch, Batch::Fixed { .. }));
    }
    // A given size must agree with a static dim, and none may be 0.
    let opts = ImportOptions::default().with_input_shape([1, 4, 9, 9]);
    let err = load_model_with(&m.encode_to_vec(), &opts).unwrap_err();
    assert_names(&err, &["\"input\"", "dimension 1 is 8", "says 4"]);
    let opts = ImportOptions::default().with_input_shape([1, 8, 0, 9]);
    let err = load_model_with(&m.encode_to_vec(), &opts).unwrap_err();
    assert_names(&err, &["\"input\"", "0 in dimension 2"]);
}

#[test]
fn a_reshape_that_spells_out_the_batch_fixes_it() {
    // `reshape` flattens with the target [1, -1]: with a symbolic batch it imports (batch 1),
    // but the batch is then fixed by that node.
    let mut m = decode("reshape");
    make_symbolic(&mut m, 0, Some("N"));
    let model = import(&m).unwrap();
    assert_eq!(model.batch, Batch::Fixed { by: "node \"reshape\" (Reshape to [1, -1])".into() });
    // With [-1, 16] or [0, -1] it stays open.
    for target in [[-1i64, 16], [0, -1]] {
        let mut m = decode("reshape");
        make_symbolic(&mut m, 0, Some("N"));
        let t = initializer(&mut m, "flat_shape");
        t.int64_data = target.to_vec();
        let model = import(&m).unwrap();
        assert_eq!(model.batch, Batch::Symbolic { name: "N".into() }, "{target:?}");
    }
}

#[test]
fn exporter_shape_arithmetic_folds_away_and_keeps_the_batch_open() {
    // shape_flatten: Shape / Gather / Unsqueeze / Slice / Mul / Concat / Cast / Constant
    // (value_ints) compute the Reshape target [N, C·H·W] from the activation's shape.
    let m = load("shape_flatten");
    assert_eq!(ops(&m), ["Conv", "Activation", "GlobalAvgPool", "Flatten", "Dense"]);
    assert_eq!(m.batch, Batch::Symbolic { name: "N".into() });

    // Arithmetic on the batch (here N·1 as the target's first element) fixes the batch,
    // naming the node that computes with it.
    let mut m = decode("shape_flatten");
    let at = graph(&mut m).node.iter().position(|n| n.name() == "batch").unwrap() + 1;
    let mul = proto::NodeProto {
        name: Some("n_times_1".into()),
        op_type: Some("Mul".into()),
        input: vec!["batch_out".into(), "i1".into()],
        output: vec!["n_times_1_out".into()],
        ..Default::default()
    };
    graph(&mut m).node.insert(at, mul);
    node(&mut m, "batch_1d").input[0] = "n_times_1_out".into();
    let model = import(&m).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        model.batch,
        Batch::Fixed { by: "node \"n_times_1\" (Mul), which computes with the batch".into() }
    );

    // A fold that cannot be done names the node.
    let mut m = decode("shape_flatten");
    initializer(&mut m, "i1").int64_data = vec![7];
    initializer(&mut m, "i1").raw_data = None;
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::Node { node, .. } if node == "h"), "{err:?}");
    assert_names(&err, &["\"h\"", "Gather", "cannot be folded", "index 7 is out of range"]);

    // Shape of a constant, or of nothing computed, is refused as before: Shape reads activations.
    let mut m = decode("shape_flatten");
    node(&mut m, "shape").input[0] = "fc.weight".into();
    assert_names(&import(&m).unwrap_err(), &["\"shape\"", "constant"]);
}

#[test]
fn mul_and_constant_arithmetic_plan_as_channel_ops() {
    let m = load("se_block");
    // plus3 and beta_sub are affines (BatchNorm form) that fold into the op before them when
    // planned; the IR keeps them.
    assert_eq!(
        ops(&m),
        [
            "Conv",
            "Activation",
            "GlobalAvgPool",
            "Conv",
            "Activation",
            "Conv",
            "BatchNorm",
            "Activation",
            "BatchNorm",
            "Mul",
            "BatchNorm",
            "BatchNorm",
            "Mul",
            "BatchNorm"
        ]
    );
    // A broadcast other than [N, C, 1, 1], a constant that is not per channel, a constant
    // divided by a map: each refused naming the node or tensor.
    let mut m = decode("se_block");
    node(&mut m, "excite").input[1] = "squeeze_out".into();
    node(&mut m, "square").input[1] = "reduce_out".into();
    assert_names(&import(&m).unwrap_err(), &["\"square\"", "[1, 8, 5, 6]", "[1, 4, 1, 1]"]);
    let mut m = decode("se_block");
    let t = initializer(&mut m, "beta");
    t.dims = vec![1, 8];
    assert_names(&import(&m).unwrap_err(), &["\"beta\"", "[1, 8]", "one value per channel"]);
    let mut m = decode("se_block");
    node(&mut m, "div6").input.swap(0, 1);
    assert_names(&import(&m).unwrap_err(), &["\"div6\"", "divided by a computed value"]);
}

#[test]
fn shufflenet_split_shuffle_and_slice_plan_as_channel_copies() {
    let m = load("shufflenet_units");
    assert_eq!(m.batch, Batch::Symbolic { name: "N".into() });
    let kinds = ops(&m);
    assert_eq!(kinds.iter().filter(|&&k| k == "ChannelShuffle").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|&&k| k == "SliceChannels").count(), 3, "{kinds:?}");
    let slices: Vec<(usize, usize)> = m
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            OpSpec::SliceChannels { start, len } => Some((start, len)),
            _ => None,
        })
        .collect();
    assert_eq!(slices, [(0, 8), (8, 8), (24, 8)]);

    // Another Transpose, or the 5-D view read by anything but the shuffle, is refused.
    let mut m = decode("shufflenet_units");
    let t = graph(&mut m).node.iter_mut().find(|n| n.op_type() == "Transpose").unwrap();
    t.attribute[0].ints = vec![0, 1, 2, 4, 3];
    assert_names(&import(&m).unwrap_err(), &["Transpose", "perm = [0, 1, 2, 4, 3]", "channel shuffle"]);
    let mut m = decode("shufflenet_units");
    let view = graph(&mut m).node.iter().find(|n| n.op_type() == "Reshape").unwrap().output[0].clone();
    let t = graph(&mut m).node.iter_mut().find(|n| n.op_type() == "Transpose").unwrap();
    t.op_type = Some("Relu".into());
    t.attribute.clear();
    let err = import(&m).unwrap_err();
    assert_names(&err, &[&format!("{view:?}"), "5-D", "channel shuffle"]);
    // Split sizes that do not add up.
    let mut m = decode("shufflenet_units");
    initializer(&mut m, "halves").raw_data = Some([8i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect());
    assert_names(&import(&m).unwrap_err(), &["\"split\"", "[8, 7]", "16 channels"]);
}

#[test]
fn bad_input_dims_are_refused() {
    for bad in [0, -1] {
        let mut m = decode("dw_same");
        input_dim(&mut m, 2).value = Some(DimValue::DimValue(bad));
        let err = import(&m).unwrap_err();
        assert!(matches!(err, OnnxError::Input { .. }), "{err:?}");
        assert_names(&err, &["dimension 2"]);
    }

    let mut m = decode("dw_same");
    input_dim(&mut m, 3).value = None;
    assert!(matches!(import(&m).unwrap_err(), OnnxError::Input { .. }));

    let mut m = decode("dw_same");
    let input = &mut graph(&mut m).input[0];
    let Some(TypeValue::TensorType(t)) = input.r#type.as_mut().unwrap().value.as_mut() else { panic!() };
    t.elem_type = Some(DataType::Float16 as i32);
    let err = import(&m).unwrap_err();
    assert_names(&err, &["\"input\"", "FLOAT16"]);
}

#[test]
fn unsupported_opsets_are_refused() {
    let mut m = decode("dw_same");
    m.opset_import[0].version = Some(22);
    let err = import(&m).unwrap_err();
    assert!(matches!(err, OnnxError::UnsupportedOpset { version: 22 }), "{err:?}");
    assert_names(&err, &["22", "11 to 21"]);

    let mut m = decode("dw_same");
    m.opset_import[0].domain = Some("com.example".into());
    assert!(matches!(import(&m).unwrap_err(), OnnxError::MissingOpset));

    let mut m = decode("dw_same");
    m.graph = None;
    assert!(matches!(import(&m).unwrap_err(), OnnxError::MissingGraph));
}

#[test]
fn bad_group_names_the_node() {
    let mut m = decode("grouped");
    let group = node(&mut m, "gconv").attribute.iter_mut().find(|a| a.name() == "group").unwrap();
    group.i = Some(3);
    let err = import(&m).unwrap_err();
    assert!(matches!(err, OnnxError::Node { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "node \"gconv\" (Conv): attribute group = 3 does not divide 8 input channels"
    );
}

#[test]
fn ceil_mode_pools_round_up_but_drop_a_window_that_starts_in_the_padding() {
    // maxpool: MaxPool 3x3 on 9x9 with pads [top 1, left 0, bottom 1, right 2], here with
    // ceil_mode = 1 and strides `s`; the declared output dims are cleared.
    let pool = |strides: i64| {
        let mut m = decode("maxpool");
        for i in 2..4 {
            output_dim(&mut m, i).value = None;
        }
        let n = node(&mut m, "pool");
        n.attribute.retain(|a| a.name() != "strides");
        let ints = |name: &str, v: Vec<i64>, ty| proto::AttributeProto {
            name: Some(name.into()),
            r#type: Some(ty as i32),
            ints: v.clone(),
            i: v.first().copied(),
            ..Default::default()
        };
        n.attribute.push(ints("strides", vec![strides; 2], proto::attribute_proto::AttributeType::Ints));
        n.attribute.push(ints("ceil_mode", vec![1], proto::attribute_proto::AttributeType::Int));
        let model = import(&m).unwrap_or_else(|e| panic!("{e}"));
        let g = Graph::plan(&model, GraphOptions::default().with_isa(Isa::Scalar)).unwrap();
        let OpSpec::Pool(p) = &model.nodes[1].op else { panic!("{:?}", model.nodes[1]) };
        (p.padding, g.output_dims())
    };
    // Stride 2: both axes pad to 11, span 8, floor = ceil = 5: nothing changes.
    let padding = Padding2d { top: 1, left: 0, bottom: 1, right: 2 };
    assert_eq!(pool(2), (PadSpec::Explicit(padding), vec![1, 6, 5, 5]));
    // Stride 3: span 8, floor 3, ceil 4. Height: the 4th window starts at 9, inside the
    // input (9 < top 1 + 9): kept, overhanging by 9 + 3 - 11 = 1 (bottom 1 -> 2). Width: it
    // starts at 9 = left 0 + 9, past the input: dropped, 3 windows.
    let ceil = Padding2d { bottom: 2, ..padding };
    assert_eq!(pool(3), (PadSpec::Explicit(ceil), vec![1, 6, 4, 3]));
}

#[test]
fn unsupported_attribute_values_name_the_node() {
    let set_int = |m: &mut ModelProto, node_name: &str, attr: &str, v: i64| {
        let n = node(m, node_name);
        match n.attribute.iter_mut().find(|a| a.name() == attr) {
            Some(a) => a.i = Some(v),
            None => n.attribute.push(proto::AttributeProto {
                name: Some(attr.into()),
                r#type: Some(proto::attribute_proto::AttributeType::Int as i32),
                i: Some(v),
                ..Default::default()
            }),
        }
    };
    let cases: [(&str, &str, &str, i64, &str); 7] = [
        ("softmax_channels", "per_pixel", "axis", 2, "axis = 2"),
        ("softmax_channels", "per_pixel", "axis", -1, "axis = -1"),
        ("avgpool_incl_pad", "pool", "ceil_mode", 1, "count_include_pad = 1"),
        ("mobilenet_tiny", "fc", "transA", 1, "transA = 1"),
        ("matmul", "flat", "axis", 2, "axis = 2"),
        ("concat", "cat", "axis", 0, "axis = 0"),
        ("dw_same", "dw", "storage_order", 0, "storage_order"),
    ];
    for (fixture_name, node_name, attr, value, needle) in cases {
        let mut m = decode(fixture_name);
        set_int(&mut m, node_name, attr, value);
        let err = import(&m).unwrap_err();
        assert!(matches!(err, OnnxError::Node { .. }), "{fixture_name}: {err:?}");
        assert_names(&err, &[&format!("\"{node_name}\""), needle]);
    }

    // Gemm alpha ≠ 1.
    let mut m = decode("mobilenet_tiny");
    node(&mut m, "fc").attribute.push(proto::AttributeProto {
        name: Some("alpha".into()),
        r#type: Some(proto::attribute_proto::AttributeType::Float as i32),
        f: Some(2.0),
        ..Default::default()
    });
    assert_names(&import(&m).unwrap_err(), &["\"fc\"", "alpha = 2"]);

    // ReduceMean over anything but H and W.
    for (fixture, axes) in [("reduce_mean_opset13", vec![1]), ("reduce_mean_opset13", vec![1, 2, 3])] {
        let mut m = decode(fixture);
        let n = node(&mut m, "mean");
        n.attribute.iter_mut().find(|a| a.name() == "axes").unwrap().ints = axes;
        assert_names(&import(&m).unwrap_err(), &["\"mean\"", "ReduceMean", "axes", "[2, 3]"]);
    }
    let mut m = decode("reduce_mean_opset18");
    initializer(&mut m, "axes").raw_data = Some(1i64.to_le_bytes().repeat(2));
    assert_names(&import(&m).unwrap_err(), &["\"mean\"", "axes = Some([1, 1])"]);

    // ceil_mode with auto_pad.
    let mut m = decode("maxpool");
    set_int(&mut m, "pool", "ceil_mode", 1);
    let pool = node(&mut m, "pool");
    pool.attribute.retain(|a| a.name() != "pads");
    pool.attribute.push(proto::AttributeProto {
        name: Some("auto_pad".into()),
        r#type: Some(proto::attribute_proto::AttributeType::String as i32),
        s: Some(b"SAME_UPPER".to_vec()),
        ..Default::default()
    });
    assert_names(&import(&m).unwrap_err(), &["\"pool\"", "ceil_mode = 1", "auto_pad"]);

    // Pool dilations ≠ 1.
    let mut m = decode("maxpool");
    node(&mut m, "pool").attribute.push(proto::AttributeProto {
        name: Some("dilations".into()),
        r#type: Some(proto::attribute_proto::AttributeType::Ints as i32),
        ints: vec![2, 2],
        ..Default::default()
    });
    assert_names(&import(&m).unwrap_err(), &["\"pool\"", "dilations"]);
}

#[test]
fn reshape_other_than_flatten_is_refused() {
    for shape in [vec![1i64, 4, -1], vec![2, -1], vec![-1, 8], vec![1, 3]] {
        let mut m = decode("reshape");
        let s = initializer(&mut m, "flat_shape");
        s.dims = vec![shape.len() as i64];
        s.int64_data = shape.clone();
        let err = import(&m).unwrap_err();
        assert!(matches!(err, OnnxError::Node { .. }), "{shape:?}: {err:?}");
        assert_names(&err, &["\"reshape\"", "not supported"]);
    }
    // [0, -1] (0 copies the batch size) is a flatten too.
    let mut m = decode("reshape");
    initializer(&mut m, "flat_shape").int64_data = vec![0, -1];
    assert_eq!(import(&m).unwrap(), load("reshape"));
}

#[test]
fn constant_or_broadcast_add_is_refused() {
    // The residual Add's second operand replaced by a constant of the same shape (constants
    // must be scalars or per channel).
    let mut m = decode("ir_block");
    let add = graph(&mut m).node.iter().find(|n| n.op_type() == "Add").unwrap().clone();
    let c = proto::TensorProto {
        name: Some("const_operand".into()),
        dims: vec![1, 8, 8, 8],
        data_type: Some(DataType::Float as i32),
        float_data: vec![1.0; 512],
        ..Default::default()
    };
    graph(&mut m).initializer.push(c);
    node(&mut m, add.name()).input[1] = "const_operand".into();
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::Tensor { tensor, .. } if tensor == "const_operand"), "{err:?}");
    assert_names(&err, &[&format!("\"{}\"", add.name()), "constant", "one value per channel"]);

    // An Add of two differently shaped tensors (a broadcast).
    let mut m = decode("concat");
    let cat = node(&mut m, "cat");
    cat.op_type = Some("Add".into());
    cat.attribute.clear();
    cat.input.truncate(2);
    let err = import(&m).unwrap_err();
    assert_names(&err, &["\"cat\"", "broadcasting"]);
}

#[test]
fn undefined_and_out_of_order_values_are_refused() {
    let mut m = decode("pw_clip");
    graph(&mut m).node[1].input[0] = "nowhere".into();
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::UndefinedValue { value, .. } if value == "nowhere"), "{err:?}");
    assert_names(&err, &["\"nowhere\""]);

    let mut m = decode("pw_clip");
    graph(&mut m).node.swap(0, 1);
    let err = import(&m).unwrap_err();
    assert!(matches!(&err, OnnxError::NotTopological { producer, .. } if producer == "pw"), "{err:?}");
    assert_names(&err, &["\"pw\"", "topological"]);
}

#[test]
fn graph_shape_problems_are_refused() {
    // Two graph outputs.
    let mut m = decode("concat");
    let extra = graph(&mut m).output[0].clone();
    graph(&mut m).output.push(proto::ValueInfoProto { name: Some("branch_a_out".into()), ..extra });
    assert!(matches!(import(&m).unwrap_err(), OnnxError::Graph { .. }));

    // An output declared with a shape the graph does not compute.
    let mut m = decode("dw_same");
    let out = &mut graph(&mut m).output[0];
    let Some(TypeValue::TensorType(t)) = out.r#type.as_mut().unwrap().value.as_mut() else { panic!() };
    t.shape.as_mut().unwrap().dim[2].value = Some(DimValue::DimValue(4));
    let err = import(&m).unwrap_err();
    assert!(matches!(err, OnnxError::Output { .. }), "{err:?}");
    assert_names(&err, &["dw_out", "[1, 8, 5, 5]"]);

    // A second non-initializer input.
    let mut m = decode("dw_same");
    let second = proto::ValueInfoProto { name: Some("other".into()), ..graph(&mut m).input[0].clone() };
    graph(&mut m).input.push(second);
    assert!(matches!(import(&m).unwrap_err(), OnnxError::Graph { .. }));

    // Conv weights computed by the graph instead of an initializer.
    let mut m = decode("concat");
    node(&mut m, "branch_b").input[1] = "input".into();
    assert_names(&import(&m).unwrap_err(), &["\"branch_b\"", "initializer"]);
}

#[test]
fn identity_dropout_and_constant_pass_through() {
    // Insert Identity and Dropout between the conv and the clip of pw_clip, and turn the clip's
    // bounds into Constant nodes: the IR must be unchanged.
    let reference_model = load("pw_clip");
    let mut m = decode("pw_clip");
    let g = graph(&mut m);
    let conv_out = g.node[0].output[0].clone();
    g.node[0].output[0] = "conv_raw".into();
    let mut consts = Vec::new();
    for i in [1, 2] {
        let bound_name = g.node[1].input[i].clone();
        let pos = g.initializer.iter().position(|t| t.name() == bound_name).unwrap();
        let t = g.initializer.remove(pos);
        consts.push(proto::NodeProto {
            op_type: Some("Constant".into()),
            output: vec![bound_name.clone()],
            attribute: vec![proto::AttributeProto {
                name: Some("value".into()),
                r#type: Some(proto::attribute_proto::AttributeType::Tensor as i32),
                t: Some(t),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    let identity = proto::NodeProto {
        op_type: Some("Identity".into()),
        input: vec!["conv_raw".into()],
        output: vec!["conv_id".into()],
        ..Default::default()
    };
    let dropout = proto::NodeProto {
        op_type: Some("Dropout".into()),
        input: vec!["conv_id".into()],
        output: vec![conv_out],
        ..Default::default()
    };
    let clip = g.node.pop().unwrap();
    g.node.extend([identity, dropout]);
    g.node.extend(consts);
    g.node.push(clip);
    let imported = import(&m).unwrap();
    assert_eq!(imported.nodes, reference_model.nodes);
    assert_eq!(imported.value_names[1], "conv_raw");
}

#[test]
fn hard_sigmoid_and_hard_swish_import_as_activations() {
    let m = load("hard_activations");
    assert_eq!(m.batch, Batch::Symbolic { name: "N".into() });
    // Each becomes one activation node (fused by the planner into the op before it).
    let acts: Vec<Activation> = m
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            OpSpec::Activation(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(
        acts,
        [
            Activation::HardSwish,
            Activation::HardSwish,
            Activation::Relu,
            Activation::HardSigmoid { alpha: 1.0 / 6.0, beta: 0.5 },
            Activation::HardSigmoid { alpha: 0.2, beta: 0.5 },
        ],
        "PyTorch's alpha on the SE gate, the ONNX defaults on the last"
    );
    assert_eq!(
        ops(&m),
        [
            "Conv",
            "BatchNorm",
            "Activation",
            "Conv",
            "Activation",
            "Add",
            "GlobalAvgPool",
            "Conv",
            "Activation",
            "Conv",
            "Activation",
            "Mul",
            "Conv",
            "Activation"
        ]
    );

    // An attribute HardSwish does not have, and a non-finite alpha: refused naming the node.
    let float = |name: &str, f: f32| proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::Float as i32),
        f: Some(f),
        ..Default::default()
    };
    let mut m = decode("hard_activations");
    node(&mut m, "hardswish_2").attribute.push(float("alpha", 0.5));
    assert_names(&import(&m).unwrap_err(), &["\"hardswish_2\"", "alpha"]);
    let mut m = decode("hard_activations");
    node(&mut m, "gate").attribute.push(float("alpha", f32::INFINITY));
    assert_names(&import(&m).unwrap_err(), &["\"gate\"", "alpha = inf", "finite"]);
}

/// `Pad` imports as a spatial pad (pads from the input, the constant value, opset-18 axes);
/// what it cannot run is refused naming the node and the reason: another mode, a pad of the
/// batch or channel axis, a negative pad (cropping), pads that do not match the axes, an axis
/// outside the 4 of NCHW, a missing pads input.
#[test]
fn pad_imports_spatial_constant_pads_and_refuses_the_rest() {
    let m = decode("pads");
    let model = import(&m).unwrap();
    let pads: Vec<(Padding2d, f32)> = model
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            OpSpec::Pad { pads, value } => Some((pads, value)),
            _ => None,
        })
        .collect();
    let p = |top, left, bottom, right| Padding2d { top, left, bottom, right };
    assert_eq!(
        pads,
        [
            (p(0, 0, 1, 1), 0.0),
            (p(1, 1, 1, 1), 0.0),
            (p(1, 2, 2, 1), 0.5),
            (p(1, 1, 1, 1), 0.0),
            (p(1, 1, 1, 1), f32::NEG_INFINITY)
        ]
    );
    let axes = import(&decode("pads_opset18_axes")).unwrap();
    assert!(
        matches!(axes.nodes[0].op, OpSpec::Pad { pads, value } if pads == p(2, 0, 1, 3) && value == -1.5)
    );

    let string = |name: &str, s: &str| proto::AttributeProto {
        name: Some(name.into()),
        r#type: Some(proto::attribute_proto::AttributeType::String as i32),
        s: Some(s.as_bytes().to_vec()),
        ..Default::default()
    };
    let mut m = decode("pads");
    node(&mut m, "ring_pad").attribute.push(string("mode", "reflect"));
    assert_names(&import(&m).unwrap_err(), &["\"ring_pad\"", "mode", "reflect"]);
    let with_pads = |values: &[i64]| {
        let mut m = decode("pads");
        let t = initializer(&mut m, "ring");
        t.raw_data = None;
        t.int64_data = values.to_vec();
        t.dims = vec![values.len() as i64];
        m
    };
    assert_names(&import(&with_pads(&[0, 1, 1, 1, 0, 0, 1, 1])).unwrap_err(), &["\"ring_pad\"", "channel"]);
    assert_names(&import(&with_pads(&[1, 0, 1, 1, 0, 0, 1, 1])).unwrap_err(), &["\"ring_pad\"", "batch"]);
    assert_names(&import(&with_pads(&[0, 0, -1, 1, 0, 0, 1, 1])).unwrap_err(), &["\"ring_pad\"", "negative"]);
    assert_names(
        &import(&with_pads(&[0, 0, 1, 1, 0, 0])).unwrap_err(),
        &["\"ring_pad\"", "two entries per axis"],
    );
    let mut m = decode("pads_opset18_axes");
    let t = initializer(&mut m, "hw");
    t.raw_data = None;
    t.int64_data = vec![2, 4];
    assert_names(&import(&m).unwrap_err(), &["\"axes_pad\"", "axis 4"]);
    let mut m = decode("pads");
    node(&mut m, "tf_pad").input.truncate(1);
    assert_names(&import(&m).unwrap_err(), &["\"tf_pad\""]);
}
