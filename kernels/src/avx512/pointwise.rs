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

use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};

use super::simd::Avx512;
use crate::pointwise::tier;

tier! { Avx512, features "avx512f", without "a CPU without AVX-512F";
    const FULL_NV: usize = 2;
    const MAX_NV: usize = 3;
    const MAX_ROWS: [usize; 3] = [12, 12, 8];
    const PREFETCH: bool = true;

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: a prefetch reads nothing architecturally and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
    }
}
