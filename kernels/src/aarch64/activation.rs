//! NEON standalone activation (any [`crate::Activation`], in place or not) and the epilogue
//! that applies a nonlinear activation to the output of this tier's convolution kernels.
//! The math is [`crate::activation`]'s, on this tier's vector.

crate::activation::entry_points!(super::simd::Neon, super::ensure_available, "neon");
