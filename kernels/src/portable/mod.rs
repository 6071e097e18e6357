//! Portable SIMD kernels built on `wide` (`f32x8`): the tier above plain scalar for CPUs
//! without a hand-written ISA module. `wide` picks its implementation when the crate is
//! compiled (SSE2 on baseline x86_64, NEON on aarch64, scalar elsewhere), so these kernels do
//! not become AVX2 under run-time dispatch; the `x86_64` module is for that.
//!
//! One file per operation, the same names as in `reference/` and `x86_64/`, each implementing
//! the packed contract described in the crate docs.

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod elementwise;
pub mod layout;
pub mod pointwise;
pub mod separable;
pub(crate) mod simd;
