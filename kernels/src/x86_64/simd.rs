//! The AVX2+FMA tier's f32 vector (YMM, 8 lanes): the crate's [`F32Vector`] for [`Avx2`],
//! which every AVX2 microkernel family is implemented on.
//!
//! [`F32Vector`]: crate::simd::F32Vector

use core::arch::x86_64::{
    __m256, __m256i, _mm256_broadcast_ss, _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setr_epi32, _mm256_storeu_ps,
};

/// The AVX2+FMA tier (`#[target_feature(enable = "avx2,fma")]`, checked by
/// [`super::ensure_available`]).
#[derive(Clone, Copy)]
pub(crate) struct Avx2;

crate::simd::f32_vector! { Avx2: __m256, __m256i, 8;
    splat(x) = _mm256_set1_ps(x);
    load(p) = _mm256_loadu_ps(p);
    broadcast(p) = _mm256_broadcast_ss(&*p);
    fma(acc, a, b) = _mm256_fmadd_ps(a, b, acc);
    // Bounds first: max/min return the second operand on NaN, so NaN propagates.
    clamp(x, lo, hi) = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    store(p, v) = _mm256_storeu_ps(p, v);
    // All bits set in lanes `l < n`.
    tail(n) = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    load_tail(p, m) = _mm256_maskload_ps(p, m);
    store_tail(p, v, m) = _mm256_maskstore_ps(p, m, v);
}
