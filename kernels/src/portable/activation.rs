//! Portable (`wide::f32x8`) standalone activation (any [`crate::Activation`], in place or not)
//! and the epilogue that applies a nonlinear activation to the output of this tier's
//! convolution kernels. The math is [`crate::activation`]'s, on this tier's vector.

use crate::KernelError;

/// The portable tier runs on any CPU.
#[inline]
fn ensure_available() -> Result<(), KernelError> {
    Ok(())
}

crate::activation::entry_points!(super::simd::Portable, ensure_available);
