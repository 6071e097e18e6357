//! Pointwise 1×1 convolution (NHWC) and dense layers, portable `f32x8`: the microkernel behind
//! the plan and driver of `crate::pointwise` (which documents the packed layout and loop nests).
//!
//! Panels of 8 columns (one `f32x8`): length `(in_c + 1) · round_up(out_c, 8)`, as AVX2's but
//! not its layout. Tiles of up to 4 rows × 8 columns; panel-major, K blocks of 512 rows.

use super::simd::Portable;
use crate::pointwise::tier;

tier! { Portable, features none, without "no CPU (this tier runs everywhere)";
    const FULL_NV: usize = 1;
    const MAX_NV: usize = 1;
    const MAX_ROWS: [usize; 3] = [4, 4, 4];
}
