//! The AVX2+FMA tier's f32 vector (YMM, 8 lanes): the crate's [`F32Vector`] for [`Avx2`],
//! which every AVX2 microkernel family is implemented on.
//!
//! [`F32Vector`]: crate::simd::F32Vector

use core::arch::x86_64::{
    __m256, __m256i, _CMP_LT_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _mm256_add_epi32,
    _mm256_add_ps, _mm256_andnot_ps, _mm256_blendv_ps, _mm256_broadcast_ss, _mm256_castsi256_ps,
    _mm256_cmp_ps, _mm256_cmpgt_epi32, _mm256_cvtps_epi32, _mm256_div_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps, _mm256_round_ps,
    _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_slli_epi32, _mm256_storeu_ps, _mm256_sub_ps,
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

crate::simd::f32_math! { Avx2: __m256;
    add(a, b) = _mm256_add_ps(a, b);
    sub(a, b) = _mm256_sub_ps(a, b);
    mul(a, b) = _mm256_mul_ps(a, b);
    div(a, b) = _mm256_div_ps(a, b);
    // VMINPS returns its second operand when either is NaN.
    min(a, b) = _mm256_min_ps(b, a);
    abs(x) = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
    round(x) = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x);
    pow2i(n) = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    )));
    select_lt(a, b, t, f) = _mm256_blendv_ps(f, t, _mm256_cmp_ps::<_CMP_LT_OQ>(a, b));
}
