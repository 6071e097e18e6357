//! Microkernels of sepconv: depthwise, pointwise (GEMM), grouped and spatially separable
//! convolutions plus the small ops around them (activation, residual add, global average
//! pooling, dense).
//!
//! This crate knows nothing of tensors: every kernel takes plain `f32` slices in NHWC order
//! and a small geometry struct that describes the shapes. Every public entry point checks the
//! slice lengths against that geometry and returns a [`KernelError`] instead of panicking.
//! Kernels never allocate; the crate is `no_std`.
//!
//! Layout (the map, and how to add an ISA, are in the crate's `README.md`):
//! - one private module per op family, `dwconv`, `pointwise`, `conv2d`, `separable`: the plan
//!   (canonical geometry, packed layout, border/interior split, tile and block sizes) and the
//!   driver that walks it, written once, generic over a small per-family trait;
//! - ISA folders implementing those traits, with the safe entry points, same file names in
//!   each: `x86_64` (AVX2+FMA), `avx512` (AVX-512F), `aarch64` (NEON), [`portable`] (`wide`);
//! - [`reference`](mod@reference): scalar reference kernels, the obvious loops; the oracle for every test.
//!
//! # The packed contract
//!
//! Weights are packed once, when an op is planned, into a layout private to each ISA (channel
//! tiles with the bias interleaved, GEMM panels with the bias at their head, ...). Every ISA
//! folder implements, for every convolution family `F`, three functions with the same names:
//!
//! - `F_packed_len(geometry) -> Result<usize, KernelError>`: length of the packed buffer;
//! - `F_pack(geometry, weights, bias, packed) -> Result<(), KernelError>`: packs the weights
//!   (in the layout listed below) and the optional bias into `packed`;
//! - `F_run(geometry, input, packed, activation, output) -> Result<(), KernelError>`: runs.
//!
//! | `F` | geometry | weights given to `F_pack` |
//! |---|---|---|
//! | `dwconv` | [`Conv2dGeometry`], depthwise | `[kh][kw][C]` |
//! | `conv2d` | [`Conv2dGeometry`], any groups | `[out_c][kh][kw][in_c/groups]` |
//! | `pointwise` | [`PointwiseShape`] | `[out_c][in_c]` |
//! | `separable` (pack) / `row_pass`, `col_pass` (run) | [`SeparablePassGeometry`] | `[k][C]` |
//!
//! A buffer packed by one ISA's `F_pack` may only be given to the same ISA's `F_run` with the
//! same geometry; lengths are checked, contents cannot be.
//!
//! The AVX2 functions are safe: each call checks that the CPU has AVX2 and FMA (with the `std`
//! feature, through `is_x86_feature_detected!`, cached by std; without it, only when the
//! features are enabled at compile time) and returns [`KernelError::IsaUnavailable`] otherwise.
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
// Bad input is a `KernelError`, never a panic: no unwrap/expect in the kernels.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "std")]
extern crate std;

/// Defines an ISA folder's `is_available` and `ensure_available` for tier `$isa`, whose
/// kernels need the target features `$f` (detected at run time by `std::arch::$detect!` with
/// the `std` feature, else known at compile time); `$why` ends the `is_available` doc.
// (Defined before the ISA modules, which use it by textual scope; `$f` are token trees so
// that the std detection macros, which match their feature names literally, accept them.)
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
macro_rules! cpu_check {
    ($isa:literal, $detect:ident, [$($f:tt),+], $why:literal) => {
        #[doc = concat!("True when this CPU can run the ", $isa, " kernels (target features", $(" `", $f, "`",)+ "). ", $why)]
        ///
        /// With the `std` feature this is a run-time check (cached by std); without it, true
        /// only when the features are enabled at compile time.
        #[inline]
        pub fn is_available() -> bool {
            #[cfg(feature = "std")]
            {
                true $(&& std::arch::$detect!($f))+
            }
            #[cfg(not(feature = "std"))]
            {
                true $(&& cfg!(target_feature = $f))+
            }
        }

        /// `Ok(())` when [`is_available`], else [`KernelError::IsaUnavailable`](crate::KernelError::IsaUnavailable).
        /// Every safe entry point of this module calls it before entering a
        /// `#[target_feature]` function, which is what makes those calls sound.
        #[inline]
        pub fn ensure_available() -> Result<(), crate::KernelError> {
            if is_available() { Ok(()) } else { Err(crate::KernelError::IsaUnavailable { isa: $isa }) }
        }
    };
}

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod activation;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
/// Dense / grouped convolution: the plan and driver of every tier, generic over the microkernels.
mod conv2d;
/// The depthwise family's plan, packed layout and generic driver (ISA folders hold its microkernels).
mod dwconv;
pub mod error;
pub mod geometry;
pub mod layout;
/// Pointwise / dense GEMM: the plan and driver every ISA's microkernel runs under.
mod pointwise;
pub mod portable;
/// The FMA-throughput probe, written once for the ISA folders' `probe.rs`.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod probe;
pub mod reference;
/// Separable passes: the plan, packing and generic drivers, once for every tier.
mod separable;
/// The f32 vector trait every SIMD microkernel is written with (one impl per ISA folder).
mod simd;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

pub use activation::Activation;
pub use error::KernelError;
pub use geometry::{
    Conv2dDims, Conv2dGeometry, PadMode, Padding2d, PointwiseShape, SeparableAxis, SeparableDims,
    SeparablePassGeometry, axis_padding,
};
