//! NEON kernels for aarch64: `core::arch::aarch64` intrinsics, behind safe entry points that
//! check every slice length and the CPU's features (see [`ensure_available`]).
//!
//! One file per operation, the same names as in `reference/`, `portable/` and `x86_64/`, each
//! implementing the packed contract described in the crate docs.

cpu_check!(
    "neon",
    is_aarch64_feature_detected,
    ["neon"],
    "NEON is part of the baseline of every `aarch64-*` Rust target."
);

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod pointwise;
pub mod probe;
pub mod separable;
pub(crate) mod simd;
