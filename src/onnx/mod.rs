//! ONNX importer: turns an ONNX model (opsets 11 to 21 of the default domain) into a
//! [`Model`], sepconv's graph description, or explains in an [`OnnxError`] why it cannot.
//!
//! The protobuf is decoded with [`prost`] into the types of [`proto`], generated from the ONNX
//! schema `src/onnx/onnx.proto` by `tools/onnx-protogen` (see that tool to regenerate them).
//!
//! What is imported:
//!
//! | ONNX | sepconv |
//! | --- | --- |
//! | `Conv` (any group, pads / auto_pad, strides, dilations; OIHW weights) | [`OpSpec::Conv`] (OHWI weights) |
//! | `BatchNormalization` (inference) | [`OpSpec::BatchNorm`] |
//! | `Relu`, `Clip` | [`OpSpec::Activation`] (`Clip(0, 6)` → `Relu6`, `Clip(0, ∞)` → `Relu`, else `Clamp`) |
//! | `HardSigmoid`, `HardSwish`, `Sigmoid`, `Tanh`, `LeakyRelu`, `PRelu` (one slope for every element) | [`OpSpec::Activation`] |
//! | `PRelu` with one slope per channel (`[C, 1, 1]`, `[1, C, 1, 1]`; `[F]` on `[N, F]`) | [`OpSpec::PRelu`] |
//! | `Resize` of H and W, `nearest` (every `nearest_mode`) or `linear`, coordinate transforms `half_pixel`, `pytorch_half_pixel`, `align_corners`, `asymmetric`; by `scales` or `sizes` | [`OpSpec::Resize`] |
//! | `Pad` in `constant` mode of H and W (pads, `constant_value` and opset-18 `axes` inputs) | [`OpSpec::Pad`] (a zero pad folds into the convolution that reads it) |
//! | `Add` of two computed tensors of one shape | [`OpSpec::Add`] |
//! | `Mul` of two computed tensors of one shape, or by an `[N, C, 1, 1]` one (squeeze-and-excitation) | [`OpSpec::Mul`] |
//! | `Add`, `Sub`, `Mul`, `Div` of a computed tensor and a scalar or per-channel constant | [`OpSpec::BatchNorm`] (a per-channel affine; folds into the convolution before it) |
//! | `GlobalAveragePool`, `ReduceMean` over axes [2, 3] (`keepdims` 0 adds a flatten) | [`OpSpec::GlobalAvgPool`] |
//! | `MaxPool`, `AveragePool` (no dilation; `ceil_mode` with explicit pads, and for `AveragePool` with `count_include_pad = 1` only where no window overhangs) | [`OpSpec::Pool`] |
//! | `Flatten` (axis 1), `Reshape` to `[N, C·H·W]` | [`OpSpec::Flatten`] |
//! | `Gemm` (B constant, transB 0 or 1), `MatMul` (by a constant `[in, out]`) | [`OpSpec::Dense`] (`[out][in]` weights) |
//! | `Concat` on channels | [`OpSpec::Concat`] |
//! | `Concat` on H or W of 4-D values | [`OpSpec::ConcatSpatial`] |
//! | `Split` on channels, `Slice` of a channel range (step 1) | [`OpSpec::SliceChannels`] (one per output) |
//! | `Reshape` to `[N, g, C/g, H, W]` → `Transpose [0, 2, 1, 3, 4]` → `Reshape` to `[N, C, H, W]` (ShuffleNet) | [`OpSpec::ChannelShuffle`] |
//! | `Softmax` over channels (axis 1 of NCHW, the last axis of `[N, F]`) | [`OpSpec::Softmax`] |
//! | `Identity`, `Dropout` (inference), `Constant` (`value`, `value_int(s)`, `value_float(s)`) | nothing (aliases / constants) |
//! | `Shape` of an activation; `Gather`, `Unsqueeze`, `Squeeze`, `Slice`, `Cast`, `ConstantOfShape`, and `Concat`, `Add`, `Sub`, `Mul`, `Div` on constants | folded at import time into constants (the exporters' shape arithmetic before a Reshape) |
//!
//! Batch normalizations and activations are emitted as their own nodes; folding them into the
//! convolution before them is the graph planner's job.
//!
//! The model must have exactly one graph input (not counting initializers) with a 4-D NCHW
//! float shape, and one graph output. A symbolic batch dimension binds to 1 and can be chosen
//! at plan time ([`GraphOptions::batch`](crate::graph::GraphOptions::batch)); other symbolic
//! dimensions need sizes from [`ImportOptions`]. Anything else (another operator, an attribute value
//! sepconv cannot honour, a non-`f32` weight, external data, a broadcast `Add`, ...) is an
//! [`OnnxError`] naming the node or tensor and the reason: a model is never imported
//! approximately.
//!
//! ```no_run
//! let model = sepconv::onnx::load_model_file(std::path::Path::new("mobilenet_v2.onnx"))?;
//! println!("{} nodes, input {}", model.nodes.len(), model.input_shape);
//! # Ok::<(), sepconv::onnx::OnnxError>(())
//! ```
//!
//! [`OpSpec::Conv`]: crate::graph::OpSpec::Conv
//! [`OpSpec::BatchNorm`]: crate::graph::OpSpec::BatchNorm
//! [`OpSpec::Activation`]: crate::graph::OpSpec::Activation
//! [`OpSpec::Add`]: crate::graph::OpSpec::Add
//! [`OpSpec::GlobalAvgPool`]: crate::graph::OpSpec::GlobalAvgPool
//! [`OpSpec::Pool`]: crate::graph::OpSpec::Pool
//! [`OpSpec::Flatten`]: crate::graph::OpSpec::Flatten
//! [`OpSpec::Dense`]: crate::graph::OpSpec::Dense
//! [`OpSpec::Concat`]: crate::graph::OpSpec::Concat
//! [`OpSpec::Softmax`]: crate::graph::OpSpec::Softmax
//! [`OpSpec::Mul`]: crate::graph::OpSpec::Mul
//! [`OpSpec::SliceChannels`]: crate::graph::OpSpec::SliceChannels
//! [`OpSpec::ChannelShuffle`]: crate::graph::OpSpec::ChannelShuffle
//! [`OpSpec::Pad`]: crate::graph::OpSpec::Pad
//! [`OpSpec::PRelu`]: crate::graph::OpSpec::PRelu
//! [`OpSpec::Resize`]: crate::graph::OpSpec::Resize
//! [`OpSpec::ConcatSpatial`]: crate::graph::OpSpec::ConcatSpatial

// Bad models are errors, never panics: no slice indexing in the importer (this covers the
// child modules, the generated `proto` included).
#![deny(clippy::indexing_slicing)]

mod fold;
mod import;
mod tensor;

/// The ONNX protobuf messages (`ModelProto`, `GraphProto`, `NodeProto`, `TensorProto`, ...),
/// generated by prost from `src/onnx/onnx.proto`. Regenerate with
/// `cargo run --manifest-path tools/onnx-protogen/Cargo.toml`; do not edit by hand.
#[allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]
pub mod proto;

use std::path::{Path, PathBuf};

use prost::Message;

use crate::graph::Model;

/// The lowest opset of the default ONNX domain the importer accepts.
pub const MIN_OPSET: i64 = 11;
/// The highest opset of the default ONNX domain the importer accepts.
pub const MAX_OPSET: i64 = 21;

/// Why an ONNX model could not be imported. Every message names the node (with its operator),
/// the tensor or the graph input/output concerned, and the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// The model file could not be read.
    #[error("cannot read ONNX model {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a protobuf `ModelProto` (garbage, truncated file, ...).
    #[error("not a valid ONNX model: protobuf decoding failed: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The model has no graph.
    #[error("the ONNX model has no graph")]
    MissingGraph,
    /// The model imports no opset of the default (`ai.onnx`) domain.
    #[error("the ONNX model imports no opset of the default (ai.onnx) domain")]
    MissingOpset,
    /// The default domain's opset is outside [`MIN_OPSET`]`..=`[`MAX_OPSET`].
    #[error(
        "the ONNX model imports opset {version} of the default (ai.onnx) domain; \
         sepconv supports opsets {MIN_OPSET} to {MAX_OPSET}"
    )]
    UnsupportedOpset {
        /// The opset version imported.
        version: i64,
    },
    /// Something about the graph as a whole (number of inputs or outputs, a value defined twice).
    #[error("graph: {reason}")]
    Graph {
        /// What is wrong.
        reason: String,
    },
    /// The graph input is not a float tensor of static 4-D NCHW shape.
    #[error("graph input {name:?}: {reason}")]
    Input {
        /// The input's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The graph output is not produced, is a constant, or disagrees with its declared type.
    #[error("graph output {name:?}: {reason}")]
    Output {
        /// The output's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An operator the importer does not know (or of another domain than `ai.onnx`).
    #[error("node {node:?} ({op_type}): operator {op_type:?} of domain {domain:?} is not supported")]
    UnsupportedOp {
        /// The node's name (made up as `OpType_index` when the model gives none).
        node: String,
        /// Its operator.
        op_type: String,
        /// Its domain (`ai.onnx` for the default one).
        domain: String,
    },
    /// A node reads a value that no node, input or initializer defines.
    #[error(
        "node {node:?} ({op_type}): input {value:?} is not defined by the graph input, an initializer or any node"
    )]
    UndefinedValue {
        /// The node.
        node: String,
        /// Its operator.
        op_type: String,
        /// The value it reads.
        value: String,
    },
    /// A node reads a value produced by a later node: the nodes are not in topological order.
    #[error(
        "node {node:?} ({op_type}): input {value:?} is produced by the later node {producer:?}; \
         ONNX requires nodes in topological order"
    )]
    NotTopological {
        /// The node.
        node: String,
        /// Its operator.
        op_type: String,
        /// The value it reads.
        value: String,
        /// The node that produces it later.
        producer: String,
    },
    /// A constant tensor (initializer or `Constant` output) a node uses is malformed or of a type
    /// other than the one the node needs (e.g. not `f32`, wrong `raw_data` length).
    #[error("node {node:?} ({op_type}): tensor {tensor:?}: {reason}")]
    Tensor {
        /// The node using it.
        node: String,
        /// Its operator.
        op_type: String,
        /// The tensor's name.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor a node uses keeps its data in an external file, which the importer does not load.
    #[error(
        "node {node:?} ({op_type}): tensor {tensor:?} keeps its data in an external file \
         (data_location = EXTERNAL), which sepconv does not load"
    )]
    ExternalData {
        /// The node using it.
        node: String,
        /// Its operator.
        op_type: String,
        /// The tensor's name.
        tensor: String,
    },
    /// A node's attributes, inputs or shapes are outside what sepconv can compute exactly.
    #[error("node {node:?} ({op_type}): {reason}")]
    Node {
        /// The node.
        node: String,
        /// Its operator.
        op_type: String,
        /// What is wrong.
        reason: String,
    },
}

/// How to import a model: what to make of the graph input's symbolic dimensions.
///
/// By default a symbolic batch (dimension 0, e.g. `"batch_size"` or `"DynamicDimension.0"`)
/// binds to 1 and stays open ([`Batch::Symbolic`](crate::graph::Batch::Symbolic): the batch
/// can still be chosen at plan time with
/// [`GraphOptions::batch`](crate::graph::GraphOptions::batch)); any other symbolic dimension
/// is an error until [`ImportOptions::with_input_shape`] gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The input's NCHW dims: sizes for its symbolic dimensions; each must agree with a static
    /// one. `None`: the model's own dims, a symbolic batch binding to 1.
    pub input_shape: Option<[usize; 4]>,
}

impl ImportOptions {
    /// Gives the graph input's NCHW dims (`[N, C, H, W]`), as `sepconv run --input-shape`.
    #[must_use]
    pub fn with_input_shape(mut self, nchw: [usize; 4]) -> Self {
        self.input_shape = Some(nchw);
        self
    }
}

/// Imports an ONNX model from the bytes of a `.onnx` file, with default [`ImportOptions`].
pub fn load_model(bytes: &[u8]) -> Result<Model, OnnxError> {
    load_model_with(bytes, &ImportOptions::default())
}

/// Imports an ONNX model from the bytes of a `.onnx` file, with `options`.
pub fn load_model_with(bytes: &[u8], options: &ImportOptions) -> Result<Model, OnnxError> {
    let model = proto::ModelProto::decode(bytes)?;
    import::convert(&model, options)
}

/// Reads and imports a `.onnx` file, with default [`ImportOptions`].
pub fn load_model_file(path: &Path) -> Result<Model, OnnxError> {
    load_model_file_with(path, &ImportOptions::default())
}

/// Reads and imports a `.onnx` file, with `options`.
pub fn load_model_file_with(path: &Path, options: &ImportOptions) -> Result<Model, OnnxError> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io { path: path.to_path_buf(), source })?;
    load_model_with(&bytes, options)
}
