//! Built-in models: MobileNetV1 1.0/224 and MobileNetV2 1.0/224, the standard architectures,
//! with deterministic He-scaled weights from a fixed seed (nothing is downloaded). They are
//! the default job of the `sepconv` binary and the end-to-end benchmark.
//!
//! Both take a `1×3×224×224` NCHW input and produce `1×1000` logits. Every convolution has a
//! bias (as after BatchNorm folding) and is followed by a separate ReLU6 node where the
//! architecture has one, so planning exercises activation fusion.

use rand::SeedableRng;
use rand::rngs::StdRng;
use sepconv_kernels::{Activation, PadMode, Padding2d};

use crate::blocks::{he_uniform, uniform};
use crate::graph::{Batch, ConvSpec, DenseSpec, Layout, Model, Node, OpSpec, PadSpec, ValueId};
use crate::tensor::Shape4;

/// The seed the built-in models' weights are drawn from.
pub const DEFAULT_SEED: u64 = 0x5e9c_0224;

/// A built-in model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// MobileNetV1 1.0/224.
    MobileNetV1,
    /// MobileNetV2 1.0/224.
    MobileNetV2,
}

impl Builtin {
    /// `mobilenet_v1` or `mobilenet_v2`.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::MobileNetV1 => "mobilenet_v1",
            Builtin::MobileNetV2 => "mobilenet_v2",
        }
    }

    /// Parses `mobilenet_v1` / `mobilenet_v2`.
    pub fn from_name(name: &str) -> Option<Builtin> {
        match name {
            "mobilenet_v1" => Some(Builtin::MobileNetV1),
            "mobilenet_v2" => Some(Builtin::MobileNetV2),
            _ => None,
        }
    }

    /// The model, with weights drawn from `seed`.
    pub fn model(self, seed: u64) -> Model {
        match self {
            Builtin::MobileNetV1 => mobilenet_v1(seed),
            Builtin::MobileNetV2 => mobilenet_v2(seed),
        }
    }
}

/// Builds a model node by node with fresh value ids and deterministic weights.
struct Builder {
    rng: StdRng,
    names: Vec<String>,
    nodes: Vec<Node>,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Builder { rng: StdRng::seed_from_u64(seed), names: vec!["input".into()], nodes: Vec::new() }
    }

    fn push(&mut self, name: String, op: OpSpec, inputs: Vec<ValueId>) -> ValueId {
        let output = self.names.len();
        self.names.push(format!("{name}:out"));
        self.nodes.push(Node { name, op, inputs, output });
        output
    }

    /// A convolution with bias (He-scaled weights, small bias), optionally followed by a
    /// separate ReLU6 node; returns the output value.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        name: &str,
        input: ValueId,
        in_c: usize,
        out_c: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
    ) -> ValueId {
        let fan_in = kernel * kernel * in_c / groups;
        let weights = he_uniform(&mut self.rng, out_c * fan_in, fan_in);
        let bias = uniform(&mut self.rng, out_c, 0.05);
        let padding =
            if kernel == 1 { PadSpec::Explicit(Padding2d::ZERO) } else { PadSpec::Auto(PadMode::SameUpper) };
        let spec = ConvSpec {
            out_c,
            kernel: (kernel, kernel),
            stride: (stride, stride),
            dilation: (1, 1),
            padding,
            groups,
            weights,
            bias: Some(bias),
            activation: Activation::None,
        };
        let out = self.push(name.to_string(), OpSpec::Conv(spec), vec![input]);
        if relu6 {
            self.push(format!("{name}/relu6"), OpSpec::Activation(Activation::Relu6), vec![out])
        } else {
            out
        }
    }

    /// Global average pool, flatten, dense to 1000 classes; returns the logits.
    fn classifier(&mut self, input: ValueId, channels: usize) -> ValueId {
        let pooled = self.push("pool".into(), OpSpec::GlobalAvgPool, vec![input]);
        let flat = self.push("flatten".into(), OpSpec::Flatten, vec![pooled]);
        let weights = he_uniform(&mut self.rng, 1000 * channels, channels);
        let bias = uniform(&mut self.rng, 1000, 0.05);
        let spec = DenseSpec { out_features: 1000, weights, bias: Some(bias), activation: Activation::None };
        self.push("logits".into(), OpSpec::Dense(spec), vec![flat])
    }

    fn finish(self, name: &str, output: ValueId) -> Model {
        Model {
            name: name.to_string(),
            value_names: self.names,
            input: 0,
            input_shape: Shape4::new(1, 224, 224, 3),
            batch: Batch::Symbolic { name: "N".into() },
            layout: Layout::Nchw,
            output,
            nodes: self.nodes,
        }
    }
}

/// MobileNetV1 1.0/224: a 3×3 stride-2 stem to 32 channels, 13 depthwise-separable blocks
/// (depthwise 3×3 + ReLU6, pointwise + ReLU6), global average pool, dense 1024 → 1000.
pub fn mobilenet_v1(seed: u64) -> Model {
    // (output channels, depthwise stride) of the 13 blocks.
    const BLOCKS: [(usize, usize); 13] = [
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    ];
    let mut b = Builder::new(seed);
    let mut x = b.conv("stem", 0, 3, 32, 3, 2, 1, true);
    let mut c = 32;
    for (i, &(out_c, stride)) in BLOCKS.iter().enumerate() {
        x = b.conv(&format!("block{i}/dw"), x, c, c, 3, stride, c, true);
        x = b.conv(&format!("block{i}/pw"), x, c, out_c, 1, 1, 1, true);
        c = out_c;
    }
    let logits = b.classifier(x, c);
    b.finish("mobilenet_v1", logits)
}

/// MobileNetV2 1.0/224: a 3×3 stride-2 stem to 32 channels, 17 inverted-residual blocks
/// (pointwise expand + ReLU6 when the expansion is not 1, depthwise 3×3 + ReLU6, linear
/// pointwise projection, residual add when the stride is 1 and the channels match), a final
/// 1×1 convolution to 1280 + ReLU6, global average pool, dense 1280 → 1000.
pub fn mobilenet_v2(seed: u64) -> Model {
    // (expansion t, output channels c, repeats n, first stride s), as in the paper.
    const STAGES: [(usize, usize, usize, usize); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut b = Builder::new(seed);
    let mut x = b.conv("stem", 0, 3, 32, 3, 2, 1, true);
    let mut c = 32;
    let mut block = 0;
    for &(t, out_c, repeats, first_stride) in &STAGES {
        for r in 0..repeats {
            let stride = if r == 0 { first_stride } else { 1 };
            let hidden = c * t;
            let input = x;
            let mut y = x;
            if t != 1 {
                y = b.conv(&format!("block{block}/expand"), y, c, hidden, 1, 1, 1, true);
            }
            y = b.conv(&format!("block{block}/dw"), y, hidden, hidden, 3, stride, hidden, true);
            y = b.conv(&format!("block{block}/project"), y, hidden, out_c, 1, 1, 1, false);
            if stride == 1 && c == out_c {
                y = b.push(format!("block{block}/add"), OpSpec::Add(Activation::None), vec![input, y]);
            }
            x = y;
            c = out_c;
            block += 1;
        }
    }
    x = b.conv("head", x, c, 1280, 1, 1, 1, true);
    let logits = b.classifier(x, 1280);
    b.finish("mobilenet_v2", logits)
}
