//! AVX-512F kernels for x86_64: `core::arch` intrinsics on 512-bit (16-lane) registers inside
//! `#[target_feature(enable = "avx512f,avx2,fma")]` functions, behind safe entry points that
//! check the CPU's features on every call (see [`ensure_available`]) and every slice length.
//!
//! The AVX-512 tier has its own kernels only where the wider registers pay most: the GEMM of
//! pointwise and dense layers, and the dense/grouped convolution (whose narrow many-tiny-groups
//! plan is the AVX2 code, see [`conv2d`]); its other ops use the AVX2 kernels
//! (`crate::x86_64`), which every AVX-512F CPU can run. Same file names as the other ISA
//! folders, same packed contract.

use crate::KernelError;

/// True when this CPU can run the AVX-512 kernels (AVX-512F, and AVX2 + FMA, which the tier's
/// AVX2 fallbacks need).
///
/// With the `std` feature this is a run-time check (`is_x86_feature_detected!`, cached by std);
/// without it, true only when the features are enabled at compile time.
#[inline]
pub fn is_available() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx512f", target_feature = "avx2", target_feature = "fma"))
    }
}

/// `Ok(())` when [`is_available`], else [`KernelError::IsaUnavailable`]. Every safe entry point
/// of this module calls it before entering a `#[target_feature]` function, which is what makes
/// those calls sound.
#[inline]
pub fn ensure_available() -> Result<(), KernelError> {
    if is_available() { Ok(()) } else { Err(KernelError::IsaUnavailable { isa: "avx512" }) }
}

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod pointwise;
pub mod probe;
pub(crate) mod simd;
