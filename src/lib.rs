//! # sepconv
//!
//! A SIMD-optimized CPU inference micro-runtime for the convolutions that mobile vision
//! networks are made of: depthwise k×k, pointwise 1×1 (as GEMM), grouped, and row/column
//! spatially separable, over NHWC `f32` tensors.
//!
//! - [`tensor`]: 64-byte-aligned NHWC tensors, borrowed views, NCHW conversion.
//! - [`dispatch`]: CPU feature detection and the per-tier kernel tables.
//! - [`graph`]: models planned once into ops over an arena of buffers, run without allocating;
//!   [`onnx`] (feature `onnx`) imports ONNX files into it, [`models`] (feature `models`) builds
//!   MobileNetV1/V2.
//! - [`ops`]: ops planned once (shapes validated, weights packed, kernel chosen) and run many
//!   times without allocating.
//! - [`kernels`]: the `sepconv-kernels` crate, plain slices in and out, for code that wants
//!   only the microkernels.
//!
//! ```
//! use sepconv::ops::DepthwiseConv2d;
//! use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
//! use sepconv::tensor::{Shape4, Tensor};
//!
//! // A 3×3 depthwise convolution, stride 1, padding 1, on a 1×8×8×4 tensor.
//! let geom = Conv2dGeometry::depthwise(1, 8, 8, 4, 3, 3).with_padding(Padding2d::uniform(1));
//! let weights = vec![1.0 / 9.0; 3 * 3 * 4]; // [kh][kw][C]
//! let op = DepthwiseConv2d::new(geom, &weights, None, Activation::Relu6)?;
//!
//! let input = Tensor::from_vec(Shape4::new(1, 8, 8, 4), vec![1.0; 8 * 8 * 4])?;
//! let mut output = Tensor::zeros(op.output_shape())?;
//! op.run(input.view(), output.view_mut())?;
//! // An interior pixel averages nine ones; a corner sees four of them.
//! assert!((output.get(0, 4, 4, 0).unwrap() - 1.0).abs() < 1e-6);
//! assert!((output.get(0, 0, 0, 0).unwrap() - 4.0 / 9.0).abs() < 1e-6);
//! # Ok::<(), sepconv::Error>(())
//! ```

#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
// Bad input is an `Error`, never a panic: no unwrap/expect in the library.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "models")]
pub mod blocks;
pub mod dispatch;
pub mod error;
pub mod graph;
mod isa;
#[cfg(feature = "models")]
pub mod models;
#[cfg(feature = "npy")]
pub mod npy;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod ops;
pub mod tensor;
pub mod threads;

pub use error::Error;
pub use sepconv_kernels as kernels;

/// The README's examples, compiled and run as doc-tests.
#[cfg(all(doctest, feature = "cli"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
