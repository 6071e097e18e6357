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

use super::simd::Avx2;
use crate::pointwise::tier;

tier! { Avx2, features "avx2,fma", without "a CPU without AVX2 and FMA";
    const FULL_NV: usize = 2;
    const MAX_NV: usize = 3;
    const MAX_ROWS: [usize; 3] = [8, 6, 3];
}
