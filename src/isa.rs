//! The instruction-set tiers, as a plain type: their names and order.
//!
//! Which tiers this CPU can run, and parsing a name into a tier, are the dispatcher's
//! (`crate::dispatch`, which re-exports [`Isa`]); this module depends on nothing else in the
//! crate, so that the error type can name a tier without importing the dispatcher.

use std::fmt;

/// An instruction-set tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Isa {
    /// Scalar reference kernels; always available.
    Scalar,
    /// Portable SIMD through `wide`; always available.
    Portable,
    /// AVX2 + FMA intrinsics (x86_64).
    Avx2Fma,
    /// AVX-512F intrinsics where they pay (the pointwise / dense GEMM), the AVX2 kernels
    /// elsewhere (x86_64 with AVX-512F, AVX2 and FMA).
    Avx512,
    /// NEON intrinsics (aarch64).
    Neon,
}

impl Isa {
    /// Every tier, lowest first.
    pub const ALL: [Isa; 5] = [Isa::Scalar, Isa::Portable, Isa::Avx2Fma, Isa::Avx512, Isa::Neon];

    /// The tier's name as `SEPCONV_ISA` spells it: `scalar`, `portable`, `avx2`, `avx512`,
    /// `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
