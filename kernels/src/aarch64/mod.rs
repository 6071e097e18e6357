//! NEON kernels for aarch64: `core::arch::aarch64` intrinsics, behind safe entry points that
//! check every slice length and the CPU's features (see [`ensure_available`]).
//!
//! One file per operation, the same names as in `reference/`, `portable/` and `x86_64/`, each
//! implementing the packed contract described in the crate docs.

use crate::KernelError;

/// True when this CPU can run the NEON kernels.
///
/// NEON (Advanced SIMD) is part of the baseline of every `aarch64-*` Rust target, so this is
/// true whenever the crate was compiled with the `neon` target feature (the default); with the
/// `std` feature it is also checked at run time with `is_aarch64_feature_detected!`.
#[inline]
pub fn is_available() -> bool {
    #[cfg(feature = "std")]
    {
        std::arch::is_aarch64_feature_detected!("neon")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "neon")
    }
}

/// `Ok(())` when [`is_available`], else [`KernelError::IsaUnavailable`]. Every safe entry point
/// of this module calls it before entering a `#[target_feature(enable = "neon")]` function.
#[inline]
pub fn ensure_available() -> Result<(), KernelError> {
    if is_available() { Ok(()) } else { Err(KernelError::IsaUnavailable { isa: "neon" }) }
}

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod pointwise;
pub mod probe;
pub mod separable;
pub(crate) mod simd;
