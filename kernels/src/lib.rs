//! Microkernels of sepconv: depthwise, pointwise (GEMM), grouped and spatially separable
//! convolutions plus the small ops around them (activation, residual add, global average
//! pooling, dense).
//!
//! This crate knows nothing of tensors: every kernel takes plain `f32` slices in NHWC order
//! and a small geometry struct that describes the shapes. Every public entry point checks the
//! slice lengths against that geometry and returns a [`KernelError`] instead of panicking.
//! Kernels never allocate; the crate is `no_std`.
//!
//! Layout, per ISA (the same file names in every folder so they can be diffed):
//! - [`reference`]: scalar reference kernels, the obvious loops; the oracle for every test.
//!
//! Weight layouts (shared by every tier):
//! - general / grouped convolution: `[out_c][kernel_h][kernel_w][in_c / groups]` (OHWI);
//! - depthwise k×k: `[kernel_h][kernel_w][channels]` (HWC);
//! - pointwise 1×1: `[out_c][in_c]` (OI, i.e. OHWI with a 1×1 kernel);
//! - row pass 1×k and column pass k×1: `[k][channels]`;
//! - dense: `[out_features][in_features]`.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod activation;
pub mod error;
pub mod geometry;
pub mod reference;

pub use activation::Activation;
pub use error::KernelError;
pub use geometry::{
    Conv2dDims, Conv2dGeometry, PadMode, Padding2d, PointwiseShape, SeparableAxis, SeparableDims,
    SeparablePassGeometry, axis_padding,
};
