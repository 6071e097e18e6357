//! AVX2+FMA kernels for x86_64: `core::arch` intrinsics inside
//! `#[target_feature(enable = "avx2,fma")]` functions, behind safe entry points that check the
//! CPU's features on every call (see [`ensure_available`]) and every slice length.
//!
//! One file per operation, the same names as in `reference/` and `portable/`, each
//! implementing the packed contract described in the crate docs.

cpu_check!("avx2", is_x86_feature_detected, ["avx2", "fma"], "");

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod layout;
pub mod pointwise;
pub mod probe;
pub mod separable;
pub(crate) mod simd;
