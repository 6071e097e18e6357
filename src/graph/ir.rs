//! The model description a graph is planned from: a list of nodes in topological order over
//! numbered values, with weights in sepconv's layouts. The ONNX importer and the built-in
//! models both produce it; `Graph::plan` turns it into runnable ops.
//!
//! Layout rules:
//! - every 4-D value is logically NHWC inside sepconv; the model's input and output may be NCHW
//!   at the boundary ([`Layout`]), converted when the graph runs;
//! - a flat value (after [`OpSpec::Flatten`]) of `F` features is the NHWC shape `N×1×1×F`;
//! - convolution weights are OHWI `[out_c][kh][kw][in_c/groups]`, dense weights `[out][in]`.

use sepconv_kernels::{Activation, PadMode, Padding2d};

use crate::tensor::Shape4;

/// Index of a value (a tensor produced by the model input or by one node).
pub type ValueId = usize;

/// Memory order of a 4-D tensor at the model boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Batch, channels, height, width (ONNX, PyTorch).
    Nchw,
    /// Batch, height, width, channels (sepconv's own).
    Nhwc,
}

/// Padding of a convolution or pool, resolved against the input size when the graph is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadSpec {
    /// Explicit pixels per side.
    Explicit(Padding2d),
    /// VALID / SAME_UPPER / SAME_LOWER.
    Auto(PadMode),
}

/// A convolution with groups (depthwise, pointwise, grouped and dense all take this form).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvSpec {
    /// Output channels.
    pub out_c: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride (vertical, horizontal).
    pub stride: (usize, usize),
    /// Dilation (vertical, horizontal).
    pub dilation: (usize, usize),
    /// Padding.
    pub padding: PadSpec,
    /// Channel groups.
    pub groups: usize,
    /// OHWI weights `[out_c][kh][kw][in_c / groups]`.
    pub weights: Vec<f32>,
    /// Bias `[out_c]`.
    pub bias: Option<Vec<f32>>,
    /// Activation fused into the store.
    pub activation: Activation,
}

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum over the window (padding never wins).
    Max,
    /// Mean over the window; `count_include_pad` counts padded positions in the divisor.
    Avg {
        /// ONNX `count_include_pad`.
        count_include_pad: bool,
    },
}

/// How a resize picks or blends input pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeMode {
    /// The nearest input pixel, the coordinate rounded as ONNX `nearest_mode` says.
    Nearest(NearestRounding),
    /// Bilinear interpolation between the 2×2 input pixels around the coordinate (clamped to
    /// the image).
    Linear,
}

/// ONNX `nearest_mode`: how a fractional input coordinate becomes an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NearestRounding {
    /// Round half down (`round_prefer_floor`, the ONNX default).
    RoundPreferFloor,
    /// Round half up (`round_prefer_ceil`).
    RoundPreferCeil,
    /// Round down (`floor`).
    Floor,
    /// Round up (`ceil`).
    Ceil,
}

/// ONNX `coordinate_transformation_mode`: the input coordinate `x_in` of output coordinate
/// `x` along an axis of input length `n`, output length `m` and scale `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeCoord {
    /// `(x + 0.5) / s - 0.5` (the ONNX default).
    HalfPixel,
    /// As `HalfPixel`, but `0` where `m == 1` (PyTorch).
    PytorchHalfPixel,
    /// `x · (n - 1) / (m - 1)`, `0` where `m == 1`.
    AlignCorners,
    /// `x / s`.
    Asymmetric,
}

/// A 2-D resize of every image to `out_h × out_w`, with the scales the coordinate transform
/// uses (given by the model, or `out / in` when it gives sizes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeSpec {
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// Vertical scale `s` of the coordinate transform.
    pub scale_h: f32,
    /// Horizontal scale.
    pub scale_w: f32,
    /// Nearest or bilinear.
    pub mode: ResizeMode,
    /// The coordinate transform.
    pub coord: ResizeCoord,
}

/// A windowed 2-D pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    /// Max or average.
    pub kind: PoolKind,
    /// Window height and width.
    pub kernel: (usize, usize),
    /// Stride (vertical, horizontal).
    pub stride: (usize, usize),
    /// Padding.
    pub padding: PadSpec,
}

/// A fully connected layer on a flat input `N×1×1×in` → `N×1×1×out`.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseSpec {
    /// Output features.
    pub out_features: usize,
    /// Weights `[out][in]`.
    pub weights: Vec<f32>,
    /// Bias `[out]`.
    pub bias: Option<Vec<f32>>,
    /// Activation fused into the store.
    pub activation: Activation,
}

/// Batch normalization (inference): `y = (x - mean) / sqrt(var + epsilon) · scale + bias`,
/// per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormSpec {
    /// γ, per channel.
    pub scale: Vec<f32>,
    /// β, per channel.
    pub bias: Vec<f32>,
    /// Running mean, per channel.
    pub mean: Vec<f32>,
    /// Running variance, per channel.
    pub var: Vec<f32>,
    /// ε.
    pub epsilon: f32,
}

/// What a node computes.
#[derive(Clone, Debug, PartialEq)]
pub enum OpSpec {
    /// 2-D convolution, one input.
    Conv(ConvSpec),
    /// Batch normalization, one input; folded into a preceding convolution when it is that
    /// convolution's only consumer.
    BatchNorm(BatchNormSpec),
    /// Standalone activation, one input; fused into the preceding op's store when it is that
    /// op's only consumer and the op can fuse it.
    Activation(Activation),
    /// Elementwise add of two inputs of the same shape, with a fused activation.
    Add(Activation),
    /// Elementwise product of two inputs, with a fused activation: the second has the first's
    /// shape, or `N×1×1×C` (one value per image and channel, broadcast over the pixels: the
    /// channel attention of a squeeze-and-excitation block).
    Mul(Activation),
    /// Global average pool, one input: `N×H×W×C → N×1×1×C`.
    GlobalAvgPool,
    /// Windowed max or average pool, one input.
    Pool(PoolSpec),
    /// Flatten to `N×(C·H·W)` in **NCHW order** (as ONNX Flatten on an NCHW tensor), one input.
    Flatten,
    /// Fully connected layer on a flat input.
    Dense(DenseSpec),
    /// Concatenation of two or more inputs along channels.
    Concat,
    /// Concatenation of two or more inputs along H (`width: false`) or W (`width: true`); the
    /// other extents and the channels are the same for every input.
    ConcatSpatial {
        /// Along W, else along H.
        width: bool,
    },
    /// Channel shuffle with `groups` groups (ShuffleNet): output channel `j·groups + i` is input
    /// channel `i·(C/groups) + j`, one input.
    ChannelShuffle {
        /// Groups (divides the channel count).
        groups: usize,
    },
    /// Channels `start..start + len` of every pixel, one input (a Split or Slice on channels).
    SliceChannels {
        /// First channel.
        start: usize,
        /// Channel count.
        len: usize,
    },
    /// Softmax over the channels of every pixel (the features of a flat value), one input:
    /// `out[p][c] = exp(x[p][c] - max_c x[p]) / Σ_c exp(x[p][c] - max_c x[p])`.
    Softmax,
    /// PRelu with one slope per channel (`slope[c]`, length C), one input: `x` where
    /// `x >= 0`, `slope[c] · x` where `x < 0`. (One slope for every channel is an
    /// [`Activation::LeakyRelu`].)
    PRelu {
        /// The slope of every channel.
        slope: Vec<f32>,
    },
    /// 2-D resize (nearest or bilinear) of every image, one input.
    Resize(ResizeSpec),
    /// Constant padding of every image, one input: `pads.top` / `pads.bottom` rows and
    /// `pads.left` / `pads.right` columns of `value` around it (batch and channels unpadded).
    /// A zero pad whose only reader is a convolution with explicit padding is folded into that
    /// convolution's padding.
    Pad {
        /// Rows and columns added on each side.
        pads: Padding2d,
        /// The value of every added element.
        value: f32,
    },
}

/// One node: `output = op(inputs)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// A name for errors and profiles (the ONNX node name, or made up).
    pub name: String,
    /// What it computes.
    pub op: OpSpec,
    /// Input values, in the op's order.
    pub inputs: Vec<ValueId>,
    /// The value it produces.
    pub output: ValueId,
}

/// Whether a model's batch (dimension N of its input) is fixed or left to the caller. The
/// nodes of a [`Model`] never depend on the batch: every op maps image `n` of its input to
/// image `n` of its output, so one model runs any batch its input allows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Batch {
    /// The batch is `input_shape.n`, fixed by what `by` says (e.g. `graph input "x"`, or a
    /// Reshape node whose target shape spells out the batch).
    Fixed {
        /// What fixes it, for error messages.
        by: String,
    },
    /// The model leaves the batch open (an ONNX `dim_param` such as `"batch_size"`, named by
    /// `name`): any batch runs, `input_shape.n` by default.
    Symbolic {
        /// The symbolic dimension's name.
        name: String,
    },
}

/// A whole model: one input, one output, nodes in topological order.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The model's name.
    pub name: String,
    /// Names of the values, indexed by [`ValueId`] (value 0 is usually the input).
    pub value_names: Vec<String>,
    /// The input value.
    pub input: ValueId,
    /// The input's logical NHWC shape (sepconv plans for one shape). With a
    /// [`Batch::Symbolic`] batch, `input_shape.n` is only the default batch:
    /// [`GraphOptions::batch`](crate::graph::GraphOptions::batch) picks another at plan time.
    pub input_shape: Shape4,
    /// Whether the batch (`input_shape.n`) is the model's to fix or the caller's to choose.
    pub batch: Batch,
    /// The input's and the output's memory order at the boundary (for 4-D values; flat values
    /// are `N×F` either way).
    pub layout: Layout,
    /// The output value.
    pub output: ValueId,
    /// The nodes, each reading only the input or earlier nodes' outputs.
    pub nodes: Vec<Node>,
}

/// The NHWC axis a concatenation runs along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CatAxis {
    Height,
    Width,
    Channels,
}

impl CatAxis {
    /// What the axis measures, for errors.
    pub(crate) fn what(self) -> &'static str {
        match self {
            CatAxis::Height => "the height",
            CatAxis::Width => "the width",
            CatAxis::Channels => "channels",
        }
    }

    /// The axis's name in the importer's errors ("... differ outside the channel axis").
    #[cfg(feature = "onnx")]
    pub(crate) fn name(self) -> &'static str {
        match self {
            CatAxis::Height => "height",
            CatAxis::Width => "width",
            CatAxis::Channels => "channel",
        }
    }

    /// The op that concatenates along the axis (for the importer).
    #[cfg(feature = "onnx")]
    pub(crate) fn op(self) -> OpSpec {
        match self {
            CatAxis::Height => OpSpec::ConcatSpatial { width: false },
            CatAxis::Width => OpSpec::ConcatSpatial { width: true },
            CatAxis::Channels => OpSpec::Concat,
        }
    }

    /// The extent of `s` along the axis.
    pub(crate) fn extent(self, s: Shape4) -> usize {
        match self {
            CatAxis::Height => s.h,
            CatAxis::Width => s.w,
            CatAxis::Channels => s.c,
        }
    }

    /// `s` with extent `e` along the axis.
    pub(crate) fn with_extent(self, s: Shape4, e: usize) -> Shape4 {
        match self {
            CatAxis::Height => Shape4 { h: e, ..s },
            CatAxis::Width => Shape4 { w: e, ..s },
            CatAxis::Channels => Shape4 { c: e, ..s },
        }
    }

    /// The floats of one contiguous block of a tensor of shape `s` that a concatenation along
    /// the axis appends whole: an image (H), an image row (W), a pixel (channels).
    pub(crate) fn block(self, s: Shape4) -> usize {
        match self {
            CatAxis::Height => s.h * s.w * s.c,
            CatAxis::Width => s.w * s.c,
            CatAxis::Channels => s.c,
        }
    }
}
