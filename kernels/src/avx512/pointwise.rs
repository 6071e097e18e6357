//! Pointwise 1×1 convolution (NHWC) and dense layers, AVX-512F: the microkernel behind the
//! plan and driver of `crate::pointwise` (which documents the packed layout and loop nests).
//!
//! Panels are 32 columns (2 ZMM vectors), the last one 16 when `r <= 16` columns are left, 32
//! for `17..=32` and 48 (3 vectors) for `33..=48`. Length: `(in_c + 1) · round_up(out_c, 16)`.
//! Panel-major loop nest, K blocks of 16 KiB, each sweep prefetching the next one's block.
//!
//! Tiles (`MR` rows × `NV` vectors of 16 columns): 12×32 (24 accumulators + 2 B vectors + 1
//! broadcast of the 32 ZMM registers) for 32-wide panels, 8×48 (24 + 3 + 1) for the 48-wide
//! one and 12×16 for a 16-wide one: at least 12 independent FMA chains (8 needed). The last
//! vector goes through a `__mmask16`.

use core::arch::x86_64::{
    __m512, __mmask16, _MM_HINT_T0, _mm_prefetch, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps, _mm512_storeu_ps,
};

use crate::pointwise::{Microkernel, entry_points, simd_ops, target_isa};

entry_points!(Avx512, "a CPU without AVX-512F");

/// The AVX-512F pointwise microkernel (ZMM registers of 16 f32).
struct Avx512;

impl Microkernel for Avx512 {
    simd_ops!(__m512, __mmask16, 16; _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_max_ps, _mm512_min_ps);
    target_isa!("avx512f");
    const FULL_NV: usize = 2;
    const MAX_NV: usize = 3;
    const MAX_ROWS: [usize; 3] = [12, 12, 8];
    const PREFETCH: bool = true;

    #[inline(always)]
    unsafe fn load_tail(p: *const f32, mask: __mmask16) -> __m512 {
        // SAFETY: the lanes `mask` enables are readable; masked-off lanes cannot fault.
        unsafe { _mm512_maskz_loadu_ps(mask, p) }
    }

    #[inline(always)]
    unsafe fn broadcast(p: *const f32) -> __m512 {
        // SAFETY: `p` is readable (trait contract).
        unsafe { _mm512_set1_ps(*p) }
    }

    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, acc: __m512) -> __m512 {
        // SAFETY: AVX-512F is available (trait contract).
        unsafe { _mm512_fmadd_ps(a, b, acc) }
    }

    #[inline(always)]
    unsafe fn store_tail(p: *mut f32, mask: __mmask16, v: __m512) {
        // SAFETY: the lanes `mask` enables are writable; no other is written.
        unsafe { _mm512_mask_storeu_ps(p, mask, v) }
    }

    #[inline(always)]
    unsafe fn tail(valid: usize) -> __mmask16 {
        // 1 <= valid <= 16: the first `valid` lanes.
        (u32::MAX >> (32 - valid)) as __mmask16
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: a prefetch reads nothing architecturally and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
    }
}
