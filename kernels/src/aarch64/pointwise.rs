//! Pointwise 1×1 convolution (NHWC) and dense layers, NEON: the microkernel behind the plan
//! and driver of `crate::pointwise` (which documents the packed layout and loop nests).
//!
//! Panels are 8 columns (2 Q registers) wide, except the last one when at most 4 columns are
//! left: it is then 4 columns (1 Q register) wide. Length: `(in_c + 1) · round_up(out_c, 4)`.
//! K-major (GotoBLAS) loop nest: K blocks of 16 KiB of an 8-wide panel (512 rows) in L1,
//! M blocks of A of 128 KiB in L2 while every panel sweeps over them.
//!
//! Microkernel: `MR` rows × `NV` Q registers of 4 columns, `MR·NV` accumulators; at most 8×8
//! (16 accumulators + 8 A registers + 2 B registers = 26 of the 32 vector registers). Per
//! 4 K-steps it loads 4 consecutive A values of each row with one `vld1q_f32` and, for each
//! step `l`, `NV` B vectors, and issues `vfmaq_laneq_f32::<l>(acc, b, a_row)`: 64 FMAs for
//! 8 + 8 loads. Left-over K steps (K mod 4) load single A values (`vld1q_dup_f32`); no A row
//! is ever read past the current K block. Tiles of at most 8 rows keep at least 8 independent
//! FMA chains (A76: 2 pipes × 4-cycle latency). A last vector with fewer than 4 valid columns
//! is loaded / stored through a 4-float stack buffer (NEON has no masked loads or stores).

use core::arch::aarch64::{float32x4_t, vdupq_n_f32, vfmaq_laneq_f32, vld1q_f32};

use super::simd::Neon;
use crate::pointwise::{broadcast_k_loop, tier};

tier! { Neon, features "neon", without "a CPU without NEON";
    const FULL_NV: usize = 2;
    const MAX_NV: usize = 2;
    const MAX_ROWS: [usize; 3] = [8, 8, 8];
    const A_BLOCK_BYTES: usize = 128 * 1024;

    /// Lane FMAs on 4 K steps at a time (one `vld1q_f32` of 4 A values per row), then the
    /// default broadcast loop on the K mod 4 steps left.
    #[inline(always)]
    unsafe fn k_loop<const MR: usize, const NV: usize>(
        acc: &mut [[float32x4_t; NV]; MR],
        a: *const f32,
        lda: usize,
        b: *const f32,
        kc: usize,
    ) {
        /// One K step of the 4 held in `$av`: lane `$l` of each row's A vector times the `NV`
        /// B vectors of row `$l` of the current group of 4 B rows.
        macro_rules! lane_step {
            ($acc:ident, $av:ident, $bp:ident, $l:literal) => {
                let mut bv = [vdupq_n_f32(0.0); NV];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = vld1q_f32($bp.add(($l * NV + v) * 4));
                }
                for (row, &ar) in $acc.iter_mut().zip($av.iter()) {
                    for (x, &b) in row.iter_mut().zip(bv.iter()) {
                        *x = vfmaq_laneq_f32::<$l>(*x, b, ar);
                    }
                }
            };
        }

        // SAFETY: A columns k..k+4 with k + 4 <= kc of rows r < MR, and B rows < kc of NV
        // vectors, all inside what the caller guarantees; the tail loop gets the rest.
        unsafe {
            let (mut ap, mut bp) = (a, b);
            for _ in 0..kc / 4 {
                let mut av = [vdupq_n_f32(0.0); MR];
                for (r, x) in av.iter_mut().enumerate() {
                    *x = vld1q_f32(ap.add(r * lda));
                }
                lane_step!(acc, av, bp, 0);
                lane_step!(acc, av, bp, 1);
                lane_step!(acc, av, bp, 2);
                lane_step!(acc, av, bp, 3);
                ap = ap.add(4);
                bp = bp.add(4 * NV * 4);
            }
            broadcast_k_loop::<Self, MR, NV>(acc, ap, lda, bp, kc % 4);
        }
    }
}
