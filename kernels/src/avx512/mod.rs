//! AVX-512F kernels for x86_64: `core::arch` intrinsics on 512-bit (16-lane) registers inside
//! `#[target_feature(enable = "avx512f,avx2,fma")]` functions, behind safe entry points that
//! check the CPU's features on every call (see [`ensure_available`]) and every slice length.
//!
//! The AVX-512 tier has its own kernels only where the wider registers pay most: the GEMM of
//! pointwise and dense layers, and the dense/grouped convolution (whose narrow many-tiny-groups
//! plan is the AVX2 code, see [`conv2d`]); its other ops use the AVX2 kernels
//! (`crate::x86_64`), which every AVX-512F CPU can run. Same file names as the other ISA
//! folders, same packed contract.

cpu_check!(
    "avx512",
    is_x86_feature_detected,
    ["avx512f", "avx2", "fma"],
    "AVX2 and FMA serve the AVX2 kernels the tier runs on the shapes it delegates."
);

pub mod activation;
pub mod conv2d;
pub mod dwconv;
pub mod pointwise;
pub mod probe;
pub(crate) mod simd;
