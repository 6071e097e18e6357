//! Pointwise 1×1 convolution (NHWC) and dense layers, AVX2+FMA: the microkernel behind the
//! plan and driver of `crate::pointwise` (which documents the packed layout and loop nests).
//!
//! Panels are 16 columns (2 YMM vectors), the last one 8 when `r <= 8` columns are left (only
//! when `out_c <= 8`), 16 for `9..=16` and 24 (3 vectors; e.g. `out_c = 24`) for `17..=24`.
//! Length: `(in_c + 1) · round_up(out_c, 8)`. Panel-major loop nest, K blocks of 16 KiB.
//!
//! Tiles (`MR` rows × `NV` vectors, one A broadcast per row and `k`, `NV` B loads per `k`):
//! 6×16 (12 accumulators, 2 B vectors, 1 broadcast) for 16-wide panels, 3×24 (9 + 3 + 1) for
//! the 24-wide one and 8×8 for an 8-wide one, each at least 8 independent FMA chains (2 pipes
//! × 4 cycles). A 4×24 tile needs all 16 YMM registers and LLVM then spills an accumulator in
//! the K loop (measured: half the speed of 3×24). The last vector goes through `vmaskmovps`.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_si256,
    _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_ps, _mm256_storeu_ps,
};

use crate::pointwise::{Microkernel, entry_points, simd_ops, target_isa};

entry_points!(Avx2, "a CPU without AVX2 and FMA");

/// `MASK_TABLE[8 - n..16 - n]` enables the first `n` lanes.
static MASK_TABLE: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The AVX2+FMA pointwise microkernel (YMM registers of 8 f32).
struct Avx2;

impl Microkernel for Avx2 {
    simd_ops!(__m256, __m256i, 8; _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_max_ps, _mm256_min_ps);
    target_isa!("avx2,fma");
    const FULL_NV: usize = 2;
    const MAX_NV: usize = 3;
    const MAX_ROWS: [usize; 3] = [8, 6, 3];

    #[inline(always)]
    unsafe fn load_tail(p: *const f32, mask: __m256i) -> __m256 {
        // SAFETY: the lanes `mask` enables are readable; the others are not touched.
        unsafe { _mm256_maskload_ps(p, mask) }
    }

    #[inline(always)]
    unsafe fn broadcast(p: *const f32) -> __m256 {
        // SAFETY: `p` is readable (trait contract).
        unsafe { _mm256_broadcast_ss(&*p) }
    }

    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, acc: __m256) -> __m256 {
        // SAFETY: FMA is available (trait contract).
        unsafe { _mm256_fmadd_ps(a, b, acc) }
    }

    #[inline(always)]
    unsafe fn store_tail(p: *mut f32, mask: __m256i, v: __m256) {
        // SAFETY: the lanes `mask` enables are writable; no other is written.
        unsafe { _mm256_maskstore_ps(p, mask, v) }
    }

    #[inline(always)]
    unsafe fn tail(valid: usize) -> __m256i {
        // SAFETY: 1 <= valid <= 8: the 8 entries at 8 - valid are inside MASK_TABLE.
        unsafe { _mm256_loadu_si256(MASK_TABLE.as_ptr().add(8 - valid).cast()) }
    }
}
