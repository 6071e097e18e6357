//! Row 1×k and column k×1 spatially separable passes, per channel, AVX2+FMA: the
//! `SepVector` block sizes for 8-lane YMM vectors and the safe entry points. The plan, the packed
//! layout and the drivers are written once in `crate::separable` (see its docs).
//!
//! # Packed layout (same for both axes)
//!
//! The tiled layout of `crate::separable` with `L = 8`: with `Cp = ceil(C / 8)·8` and
//! `S = lcm(8, C) + 8`, `[Cp]` bias, `[k][Cp]` weights, `[S]` bias pattern `bias[j mod C]`,
//! `[k][S]` weight patterns `w[t][j mod C]`. Total length `(k + 1)·(Cp + S)`.

use super::simd::Avx2;
use crate::separable::SepVector;
use crate::{Activation, KernelError, SeparableAxis, SeparablePassGeometry};

// RT = 6 tap-major accumulators and RC × VC = 6 × 2 = 12 column accumulators (+ inputs and
// a weight within the 16 YMM registers).
impl SepVector for Avx2 {
    const RT: usize = 6;
    const VC: usize = 2;
}

crate::separable::simd_entry_points!(Avx2, isa: ", or a CPU without AVX2+FMA ([`KernelError::IsaUnavailable`])", features: "avx2,fma");
