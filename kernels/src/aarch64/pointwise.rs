//! Pointwise 1×1 convolution (NHWC) as a GEMM over packed weight panels, NEON.
//!
//! The GEMM is `C[M×N] = A[M×K] · B[K×N]` with `M = pixels`, `K = in_c`, `N = out_c`; `A` is
//! the input (row-major, row stride `K`, not packed: NHWC pixels are already contiguous rows)
//! and `C` the output (row-major, row stride `N`). Only `B` (the weights) is packed.
//!
//! # Packed layout
//!
//! The output channels are cut into column panels, left to right. Every panel is 8 columns
//! (2 Q registers) wide, except the last one when at most 4 columns are left: it is then 4
//! columns (1 Q register) wide. Columns past `out_c` are zero. The total padded width is
//! `round_up(out_c, 4)` and a panel starting at column `n0` starts at offset `(in_c + 1) · n0`
//! in the buffer. A panel of width `w` (8 or 4) is:
//!
//! ```text
//! [bias[n0 .. n0+w]]                      w floats (zeros without a bias)
//! [B[k][n0 .. n0+w]] for k in 0..in_c     in_c rows of w floats, B[k][n] = weights[n][k]
//! ```
//!
//! so the microkernel streams a panel linearly (bias, then one `w`-wide row per `k`), and a
//! K block `[k0, k1)` of the panel is the contiguous run of rows `k0..k1`.
//! Length: `(in_c + 1) · round_up(out_c, 4)`.
//!
//! # Loop nest and register tiles
//!
//! `for K block { for M block { for panel { for M tile { microkernel } } } }`, GotoBLAS-style:
//! a K block of one panel (at most `B_BLOCK_BYTES`, 16 KiB: up to 512 rows of an 8-wide
//! panel) stays in L1 while the rows of an M block sweep over it, and the M block of A (at most
//! `A_BLOCK_BYTES`, 128 KiB, rows × K block) stays in L2 while every panel sweeps over it, so A
//! is read from memory once per K block instead of once per panel. Partial sums of all but the
//! last K block are stored into the output and reloaded by the next block; the bias is added
//! by the first block and the activation applied by the last one (the others clamp to `±inf`,
//! an identity that keeps NaN).
//!
//! Microkernel: `MR` rows × `NV` Q registers of 4 columns, `MR·NV` accumulators; at most 8×8
//! (16 accumulators + 8 A registers + 2 B registers = 26 of the 32 vector registers). Per
//! 4 K-steps it loads 4 consecutive A values of each row with one `vld1q_f32` and, for each
//! step `l`, `NV` B vectors, and issues `vfmaq_laneq_f32::<l>(acc, b, a_row)`: 64 FMAs for
//! 8 + 8 loads. Left-over K steps (K mod 4) load single A values (`vld1q_dup_f32`); no A row
//! is ever read past the current K block. The M rows of an M block are split into
//! `ceil(rows / 8)` tiles of as equal a size as possible (e.g. 49 rows → 1×7 + 6×7), so no
//! thin tile runs with too few independent FMA chains (A76: 2 pipes × 4-cycle latency = 8). A
//! last vector with fewer than 4 valid columns is computed on zero weights and loaded / stored
//! through a 4-float stack buffer (NEON has no masked loads or stores).

use core::arch::aarch64::{
    float32x4_t, vdupq_n_f32, vfmaq_f32, vfmaq_laneq_f32, vld1q_dup_f32, vld1q_f32, vmaxq_f32, vminq_f32,
    vst1q_f32,
};

use crate::{Activation, KernelError, PointwiseShape, error::check_len};

/// f32 lanes of a Q register.
const LANES: usize = 4;

/// Width of every panel but possibly the last (2 Q registers).
const PANEL: usize = 8;

/// Largest row count of a microkernel tile.
const MR_MAX: usize = 8;

/// Target size in bytes of one K block of one panel (the part of B kept hot in L1 while the
/// rows of an M block sweep over it).
const B_BLOCK_BYTES: usize = 16 * 1024;

/// Target size in bytes of one M block of A (rows × K block, kept in L2 while every panel
/// sweeps over it).
const A_BLOCK_BYTES: usize = 128 * 1024;

/// Width (8 or 4 columns) of the panel that starts at column `n0` of an `n`-column output.
#[inline]
fn panel_width(n: usize, n0: usize) -> usize {
    if n - n0 <= LANES { LANES } else { PANEL }
}

/// Length of the NEON packed pointwise weights: `(in_c + 1) · round_up(out_c, 4)` (see the
/// module docs for the panel layout).
pub fn pointwise_packed_len(s: &PointwiseShape) -> Result<usize, KernelError> {
    s.validate()?;
    let width =
        s.out_c.checked_next_multiple_of(LANES).ok_or(KernelError::Overflow { what: "packed length" })?;
    s.in_c
        .checked_add(1)
        .and_then(|rows| rows.checked_mul(width))
        .ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs pointwise weights `[out_c][in_c]` and an optional bias `[out_c]` into the panels
/// described in the module docs (8 columns wide, the last one 4 when at most 4 columns are
/// left; bias at the head of each panel, then one panel-wide row per input channel,
/// zero-padded past `out_c`). Every element of `packed` is written.
///
/// Errors: an invalid shape, `weights.len() != out_c · in_c`, a bias whose length is not
/// `out_c`, `packed.len() !=` [`pointwise_packed_len`], or a CPU without NEON
/// ([`KernelError::IsaUnavailable`], since the buffer is only usable by [`pointwise_run`]).
/// Nothing is written on error.
pub fn pointwise_pack(
    s: &PointwiseShape,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let (_, weight_len, _) = s.validate()?;
    check_len("weights", weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", s.out_c, b.len())?;
    }
    check_len("packed", pointwise_packed_len(s)?, packed.len())?;
    super::ensure_available()?;

    let (k, n) = (s.in_c, s.out_c);
    let mut n0 = 0;
    let mut off = 0;
    while n0 < n {
        let w = panel_width(n, n0);
        let panel = &mut packed[off..off + (k + 1) * w];
        let (head, rows) = panel.split_at_mut(w);
        for (j, h) in head.iter_mut().enumerate() {
            *h = match bias {
                Some(b) if n0 + j < n => b[n0 + j],
                _ => 0.0,
            };
        }
        for (kk, row) in rows.chunks_exact_mut(w).enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = if n0 + j < n { weights[(n0 + j) * k + kk] } else { 0.0 };
            }
        }
        off += (k + 1) * w;
        n0 += w;
    }
    debug_assert_eq!(off, packed.len());
    Ok(())
}

/// Pointwise convolution on weights packed by [`pointwise_pack`]:
/// `output[p][o] = act(bias[o] + Σ_k input[p][k] · weights[o][k])`.
///
/// - `input`: `[pixels][in_c]` (NHWC, `pixels = N·H·W`);
/// - `packed`: [`pointwise_packed_len`] floats from [`pointwise_pack`] with the same shape;
/// - `output`: `[pixels][out_c]`.
///
/// NaN in the input or weights propagates through every activation, as in the reference.
///
/// Errors: an invalid shape or clamp, a slice of the wrong length, or a CPU without NEON.
/// Nothing is written on error.
pub fn pointwise_run(
    s: &PointwiseShape,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let (input_len, _, output_len) = s.validate()?;
    act.validate()?;
    check_len("input", input_len, input.len())?;
    check_len("packed", pointwise_packed_len(s)?, packed.len())?;
    check_len("output", output_len, output.len())?;
    super::ensure_available()?;
    let (lo, hi) = act.bounds();
    // SAFETY: the CPU has NEON (ensure_available above); `input`, `packed` and `output` have
    // exactly the lengths `pixels·in_c`, `(in_c+1)·round_up(out_c, 4)` and `pixels·out_c` that
    // `run_neon` requires (checked above), and `output` is a unique borrow, so it overlaps
    // neither of the others.
    unsafe { run_neon(s, input.as_ptr(), packed.as_ptr(), output.as_mut_ptr(), lo, hi) };
    Ok(())
}

/// Arguments shared by every microkernel call of one (K block, panel) sweep.
struct Sweep {
    /// Row stride of A (`in_c`).
    lda: usize,
    /// Row stride of C (`out_c`).
    ldc: usize,
    /// The panel's bias head (`NV · 4` floats).
    head: *const f32,
    /// The panel's first B row of this K block (`kc · NV · 4` floats).
    b: *const f32,
    /// K steps in this block.
    kc: usize,
    /// Whether this is the first K block (start from the bias, else from C).
    first: bool,
    /// Activation bounds (`±inf` for all but the last K block).
    lo: f32,
    /// Upper bound.
    hi: f32,
    /// Valid columns (1..=4) of the panel's last vector.
    last_valid: usize,
}

/// Splits `total` into `parts` nearly equal chunks of at least 1, at most `max`.
#[inline]
fn even_rows_per_block(total: usize, max: usize) -> usize {
    let parts = total.div_ceil(max);
    total.div_ceil(parts)
}

/// Runs the whole GEMM: K blocks, M blocks, panels, M tiles.
///
/// # Safety
/// The CPU supports NEON; `a` points to `pixels·in_c` readable floats, `packed` to
/// `(in_c+1)·round_up(out_c, 4)` readable floats laid out by [`pointwise_pack`], and `c` to
/// `pixels·out_c` writable floats not overlapping the others; the shape is valid.
#[target_feature(enable = "neon")]
unsafe fn run_neon(s: &PointwiseShape, a: *const f32, packed: *const f32, c: *mut f32, lo: f32, hi: f32) {
    let (m, k, n) = (s.pixels, s.in_c, s.out_c);
    // One K block size for every panel (sized for the 8-wide ones), split evenly.
    let kc = even_rows_per_block(k, B_BLOCK_BYTES / (PANEL * 4));
    let mut k0 = 0;
    while k0 < k {
        let k1 = (k0 + kc).min(k);
        let (first, last) = (k0 == 0, k1 == k);
        // M block: a multiple of the tile height, at least one full tile.
        let mc = (A_BLOCK_BYTES / ((k1 - k0) * 4) / MR_MAX * MR_MAX).max(MR_MAX);
        let mut m0 = 0;
        while m0 < m {
            let m1 = (m0 + mc).min(m);
            let mut n0 = 0;
            while n0 < n {
                let width = panel_width(n, n0);
                let nv = width / LANES;
                let last_valid = (n - n0).min(width) - (nv - 1) * LANES;
                // SAFETY: the panel at column n0 starts at (k+1)·n0 < packed length, since
                // the panels before it are (k+1)·n0 floats in total (module docs).
                let head = unsafe { packed.add((k + 1) * n0) };
                let sw = Sweep {
                    lda: k,
                    ldc: n,
                    head,
                    // SAFETY: rows k0..k1 of the panel lie inside it: the head is `width`
                    // floats, then k rows of `width`, and k0 < k.
                    b: unsafe { head.add(width + k0 * width) },
                    kc: k1 - k0,
                    first,
                    lo: if last { lo } else { f32::NEG_INFINITY },
                    hi: if last { hi } else { f32::INFINITY },
                    last_valid,
                };
                // SAFETY: row m0 < m, K offset k0 < k and column n0 < n are inside A's and C's
                // rows, so the offset pointers stay in bounds; `sweep` reads columns k0..k1 of
                // rows m0..m1 of A and writes columns n0..n0+(nv-1)·4+last_valid =
                // n0..min(n, n0+width) of rows m0..m1 of C, all inside the buffers; the CPU
                // features are guaranteed by our caller.
                unsafe {
                    let (a_t, c_t) = (a.add(m0 * k + k0), c.add(m0 * n + n0));
                    if nv == 2 {
                        sweep::<2>(&sw, a_t, c_t, m1 - m0);
                    } else {
                        sweep::<1>(&sw, a_t, c_t, m1 - m0);
                    }
                }
                n0 += width;
            }
            m0 = m1;
        }
        k0 = k1;
    }
}

/// Sweeps `m` rows over one (K block, panel) in tiles of at most 8 rows, split as evenly as
/// possible.
///
/// # Safety
/// The CPU supports NEON; `a` points to `m` rows (stride `sw.lda`) of `sw.kc` readable floats;
/// `c` to `m` rows (stride `sw.ldc`) of `(NV-1)·4 + sw.last_valid` writable floats; `sw.head`
/// and `sw.b` to `NV·4` and `sw.kc·NV·4` readable floats.
#[target_feature(enable = "neon")]
unsafe fn sweep<const NV: usize>(sw: &Sweep, a: *const f32, c: *mut f32, m: usize) {
    let tiles = m.div_ceil(MR_MAX);
    let (base, extra) = (m / tiles, m % tiles);
    let mut m0 = 0;
    for t in 0..tiles {
        let rows = base + usize::from(t < extra);
        debug_assert!((1..=MR_MAX).contains(&rows));
        // SAFETY: m0 + rows <= m, so the tile's rows are inside the `m` rows our caller
        // guarantees; the other pointers and the CPU features are passed on unchanged.
        unsafe {
            let (at, ct) = (a.add(m0 * sw.lda), c.add(m0 * sw.ldc));
            match rows {
                8 => tile::<8, NV>(sw, at, ct),
                7 => tile::<7, NV>(sw, at, ct),
                6 => tile::<6, NV>(sw, at, ct),
                5 => tile::<5, NV>(sw, at, ct),
                4 => tile::<4, NV>(sw, at, ct),
                3 => tile::<3, NV>(sw, at, ct),
                2 => tile::<2, NV>(sw, at, ct),
                _ => tile::<1, NV>(sw, at, ct),
            }
        }
        m0 += rows;
    }
}

/// Loads the first `valid` (1..=4) floats at `p` into a vector (zeros above), through a stack
/// buffer so that nothing past `p + valid` is read.
///
/// # Safety
/// The CPU supports NEON; `p` points to `valid <= 4` readable floats.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_partial(p: *const f32, valid: usize) -> float32x4_t {
    let mut t = [0.0f32; LANES];
    // SAFETY: `p` has `valid <= 4` readable floats (caller), `t` has room for 4; a stack array
    // does not overlap the caller's buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(p, t.as_mut_ptr(), valid);
        vld1q_f32(t.as_ptr())
    }
}

/// Stores the first `valid` (1..=4) lanes of `v` at `p`, through a stack buffer so that
/// nothing past `p + valid` is written.
///
/// # Safety
/// The CPU supports NEON; `p` points to `valid <= 4` writable floats.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn store_partial(p: *mut f32, valid: usize, v: float32x4_t) {
    let mut t = [0.0f32; LANES];
    // SAFETY: `t` holds 4 floats; `p` has `valid <= 4` writable floats (caller) and does not
    // overlap the stack array.
    unsafe {
        vst1q_f32(t.as_mut_ptr(), v);
        core::ptr::copy_nonoverlapping(t.as_ptr(), p, valid);
    }
}

/// The microkernel: an `MR × (NV·4)` block of C over one K block, accumulators in registers
/// (`MR·NV` Q registers). Per 4 K-steps: one `vld1q_f32` of 4 A values per row, `4·NV` B
/// vectors, `4·MR·NV` lane FMAs.
///
/// # Safety
/// As [`sweep`] with `m = MR`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn tile<const MR: usize, const NV: usize>(sw: &Sweep, a: *const f32, c: *mut f32) {
    /// One K step of the 4 held in `$av`: lane `$l` of each row's A vector times the `NV` B
    /// vectors of row `$l` of the current group of 4 B rows.
    macro_rules! lane_step {
        ($acc:ident, $av:ident, $bp:ident, $l:literal) => {
            let mut bv = [vdupq_n_f32(0.0); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = vld1q_f32($bp.add(($l * NV + v) * LANES));
            }
            for (row, &ar) in $acc.iter_mut().zip($av.iter()) {
                for (x, &b) in row.iter_mut().zip(bv.iter()) {
                    *x = vfmaq_laneq_f32::<$l>(*x, b, ar);
                }
            }
        };
    }

    // SAFETY: (covers the whole body) every pointer offset stays inside the ranges that
    // `sweep`'s contract gives: rows r < MR of A and C; A columns k..k+4 with k + 4 <= kc in
    // the 4-step loop and single columns k < kc in the tail; vectors v < NV of the head and of
    // B rows < kc; the last vector of a C row is accessed through `load_partial` /
    // `store_partial` (only its `last_valid` lanes) unless all 4 lanes are valid. The CPU
    // features are guaranteed by the caller.
    unsafe {
        let full = sw.last_valid == LANES;
        let mut acc = [[vdupq_n_f32(0.0); NV]; MR];
        if sw.first {
            for v in 0..NV {
                let bv = vld1q_f32(sw.head.add(v * LANES));
                for row in acc.iter_mut() {
                    row[v] = bv;
                }
            }
        } else {
            for (r, row) in acc.iter_mut().enumerate() {
                let cr = c.add(r * sw.ldc);
                for (v, x) in row.iter_mut().enumerate() {
                    *x = if v + 1 < NV || full {
                        vld1q_f32(cr.add(v * LANES))
                    } else {
                        load_partial(cr.add(v * LANES), sw.last_valid)
                    };
                }
            }
        }

        let mut ap = a;
        let mut bp = sw.b;
        for _ in 0..sw.kc / 4 {
            let mut av = [vdupq_n_f32(0.0); MR];
            for (r, x) in av.iter_mut().enumerate() {
                *x = vld1q_f32(ap.add(r * sw.lda));
            }
            lane_step!(acc, av, bp, 0);
            lane_step!(acc, av, bp, 1);
            lane_step!(acc, av, bp, 2);
            lane_step!(acc, av, bp, 3);
            ap = ap.add(4);
            bp = bp.add(4 * NV * LANES);
        }
        for _ in 0..sw.kc % 4 {
            let mut bv = [vdupq_n_f32(0.0); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = vld1q_f32(bp.add(v * LANES));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let ar = vld1q_dup_f32(ap.add(r * sw.lda));
                for (x, &b) in row.iter_mut().zip(bv.iter()) {
                    *x = vfmaq_f32(*x, b, ar);
                }
            }
            ap = ap.add(1);
            bp = bp.add(NV * LANES);
        }

        let lo = vdupq_n_f32(sw.lo);
        let hi = vdupq_n_f32(sw.hi);
        for (r, row) in acc.iter().enumerate() {
            let cr = c.add(r * sw.ldc);
            for (v, &x) in row.iter().enumerate() {
                // FMAX / FMIN return NaN when either operand is NaN, so NaN propagates.
                let y = vminq_f32(hi, vmaxq_f32(lo, x));
                if v + 1 < NV || full {
                    vst1q_f32(cr.add(v * LANES), y);
                } else {
                    store_partial(cr.add(v * LANES), sw.last_valid, y);
                }
            }
        }
    }
}
