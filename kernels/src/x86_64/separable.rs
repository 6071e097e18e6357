//! Row 1×k and column k×1 spatially separable passes, per channel, AVX2+FMA: the
//! `SepVector` impl for 8-lane YMM vectors and the safe entry points. The plan, the packed
//! layout and the drivers are written once in `crate::separable` (see its docs).
//!
//! # Packed layout (same for both axes)
//!
//! The tiled layout of `crate::separable` with `L = 8`: with `Cp = ceil(C / 8)·8` and
//! `S = lcm(8, C) + 8`, `[Cp]` bias, `[k][Cp]` weights, `[S]` bias pattern `bias[j mod C]`,
//! `[k][S]` weight patterns `w[t][j mod C]`. Total length `(k + 1)·(Cp + S)`.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32,
    _mm256_storeu_ps,
};

use crate::separable::SepVector;
use crate::{Activation, KernelError, SeparableAxis, SeparablePassGeometry};

/// The AVX2+FMA vector primitives of the separable drivers.
#[derive(Clone, Copy)]
struct Avx2;

crate::separable::sep_vector_impl! {
    Avx2: __m256, lanes 8, rt 6, vc 2;
    splat _mm256_set1_ps, load _mm256_loadu_ps, store _mm256_storeu_ps, min _mm256_min_ps, max _mm256_max_ps;

    /// A lane mask (all bits set in the live lanes).
    type Tail = __m256i;

    #[inline(always)]
    unsafe fn tail(n: usize) -> __m256i {
        // SAFETY: AVX2 is present (the trait's contract).
        unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
    }
    #[inline(always)]
    unsafe fn load_part(p: *const f32, mask: __m256i) -> __m256 {
        // SAFETY: AVX; `p` readable for the mask's lanes (the caller's contract).
        unsafe { _mm256_maskload_ps(p, mask) }
    }
    #[inline(always)]
    unsafe fn fma(acc: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: FMA is present (the trait's contract).
        unsafe { _mm256_fmadd_ps(a, b, acc) }
    }
    #[inline(always)]
    unsafe fn store_part(p: *mut f32, v: __m256, mask: __m256i) {
        // SAFETY: AVX; `p` writable for the mask's lanes (the caller's contract).
        unsafe { _mm256_maskstore_ps(p, mask, v) }
    }
}

crate::separable::simd_entry_points!(Avx2, isa: "AVX2+FMA", features: "avx2,fma");
