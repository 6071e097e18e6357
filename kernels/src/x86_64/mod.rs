//! AVX2+FMA kernels for x86_64: `core::arch` intrinsics inside
//! `#[target_feature(enable = "avx2,fma")]` functions, behind safe entry points that check the
//! CPU's features on every call (see [`ensure_available`]) and every slice length.
//!
//! One file per operation, the same names as in `reference/` and `portable/`, each
//! implementing the packed contract described in the crate docs.

use crate::KernelError;

/// True when this CPU can run the AVX2+FMA kernels.
///
/// With the `std` feature this is a run-time check (`is_x86_feature_detected!`, cached by std);
/// without it, true only when `avx2` and `fma` are enabled at compile time.
#[inline]
pub fn is_available() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
}

/// `Ok(())` when [`is_available`], else [`KernelError::IsaUnavailable`]. Every safe entry point
/// of this module calls it before entering a `#[target_feature]` function, which is what makes
/// those calls sound.
#[inline]
pub fn ensure_available() -> Result<(), KernelError> {
    if is_available() { Ok(()) } else { Err(KernelError::IsaUnavailable { isa: "avx2" }) }
}

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod layout;
pub mod pointwise;
pub mod probe;
pub mod separable;
pub(crate) mod simd;
