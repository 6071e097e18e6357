//! Row 1×k and column k×1 spatially separable passes, per channel, NEON: the `SepVector`
//! block sizes for 4-lane vectors and the safe entry points. The plan, the packed layout and the
//! drivers are written once in `crate::separable` (see its docs).
//!
//! # Packed layout (same for both axes)
//!
//! The tiled layout of `crate::separable` with `L = 4`: with `Cp = ceil(C / 4)·4` and
//! `S = lcm(4, C) + 4`, `[Cp]` bias, `[k][Cp]` weights, `[S]` bias pattern `bias[j mod C]`,
//! `[k][S]` weight patterns `w[t][j mod C]`. Total length `(k + 1)·(Cp + S)`.

use super::simd::Neon;
use crate::separable::SepVector;
use crate::{Activation, KernelError, SeparableAxis, SeparablePassGeometry};

// RT = 8 accumulators cover the A76's 4-cycle FMA latency on both pipes (1.125 loads per FMA;
// A76 has two load pipes beside its two FMA pipes); RC × VC = 6 × 4 = 24 column accumulators
// (+ 4 inputs + 1 weight = 29 of the 32 vector registers).
impl SepVector for Neon {
    const RT: usize = 8;
    const VC: usize = 4;
}

crate::separable::simd_entry_points!(Neon, isa: ", or a CPU without NEON ([`KernelError::IsaUnavailable`])", features: "neon");
