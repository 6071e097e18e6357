//! The AVX-512F tier's f32 vector (ZMM, 16 lanes): the crate's [`F32Vector`] for [`Avx512`],
//! which every AVX-512 microkernel family is implemented on.
//!
//! [`F32Vector`]: crate::simd::F32Vector

use core::arch::x86_64::{
    __m512, __mmask16, _CMP_LT_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _mm512_abs_ps,
    _mm512_add_epi32, _mm512_add_ps, _mm512_castsi512_ps, _mm512_cmp_ps_mask, _mm512_cvtps_epi32,
    _mm512_div_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_blend_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps, _mm512_roundscale_ps,
    _mm512_set1_epi32, _mm512_set1_ps, _mm512_slli_epi32, _mm512_storeu_ps, _mm512_sub_ps,
};

/// The AVX-512F tier (`#[target_feature(enable = "avx512f,avx2,fma")]`, checked by
/// [`super::ensure_available`]).
#[derive(Clone, Copy)]
pub(crate) struct Avx512;

crate::simd::f32_vector! { Avx512: __m512, __mmask16, 16;
    splat(x) = _mm512_set1_ps(x);
    load(p) = _mm512_loadu_ps(p);
    broadcast(p) = _mm512_set1_ps(*p);
    fma(acc, a, b) = _mm512_fmadd_ps(a, b, acc);
    // Bounds first: max/min return the second operand on NaN, so NaN propagates.
    clamp(x, lo, hi) = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
    store(p, v) = _mm512_storeu_ps(p, v);
    // `n <= 16`: bits `0..n`.
    tail(n) = ((1u32 << n) - 1) as __mmask16;
    // Masked-off lanes are not accessed and cannot fault.
    load_tail(p, m) = _mm512_maskz_loadu_ps(m, p);
    store_tail(p, v, m) = _mm512_mask_storeu_ps(p, m, v);
}

crate::simd::f32_math! { Avx512: __m512;
    add(a, b) = _mm512_add_ps(a, b);
    sub(a, b) = _mm512_sub_ps(a, b);
    mul(a, b) = _mm512_mul_ps(a, b);
    div(a, b) = _mm512_div_ps(a, b);
    // VMINPS returns its second operand when either is NaN.
    min(a, b) = _mm512_min_ps(b, a);
    abs(x) = _mm512_abs_ps(x);
    round(x) = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x);
    pow2i(n) = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
        _mm512_cvtps_epi32(n),
        _mm512_set1_epi32(127),
    )));
    select_lt(a, b, t, f) = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b), f, t);
}
