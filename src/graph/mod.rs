//! Planned graphs: a [`Model`] (from the ONNX importer or the built-in models) planned once
//! into ops over an arena of activation buffers, then run every frame without allocating.

// Bad models are errors, never panics: no slice indexing in the planner or the IR.
#![deny(clippy::indexing_slicing)]

pub mod ir;
mod plan;

#[cfg(feature = "onnx")]
pub(crate) use ir::CatAxis;
pub use ir::{
    Batch, BatchNormSpec, ConvSpec, DenseSpec, Layout, Model, NearestRounding, Node, OpSpec, PadSpec,
    PoolKind, PoolSpec, ResizeCoord, ResizeMode, ResizeSpec, ValueId,
};
pub use plan::{Graph, GraphOptions, StepInfo};
