//! Pointwise 1×1 convolution (NHWC) as a GEMM over packed weight panels, AVX-512F.
//!
//! The same GEMM as the AVX2 kernel (`crate::x86_64::pointwise`): `C[M×N] = A[M×K] · B[K×N]`
//! with `M = pixels`, `K = in_c`, `N = out_c`; `A` (the input) and `C` (the output) are used in
//! place, only `B` (the weights) is packed — here in panels of 16-lane vectors.
//!
//! # Packed layout
//!
//! The output channels are cut into column panels, left to right. Every panel is 32 columns
//! (2 ZMM vectors) wide, except the last one, whose width depends on the `r` columns left:
//! `r <= 16` → 16 columns (1 vector), `17 <= r <= 32` → 32, `33 <= r <= 48` → 48 (3 vectors).
//! Columns past `out_c` are zero. The total padded width is `round_up(out_c, 16)` and a panel
//! starting at column `n0` starts at offset `(in_c + 1) · n0`. A panel of width `w` is:
//!
//! ```text
//! [bias[n0 .. n0+w]]                      w floats (zeros without a bias)
//! [B[k][n0 .. n0+w]] for k in 0..in_c     in_c rows of w floats, B[k][n] = weights[n][k]
//! ```
//!
//! Length: `(in_c + 1) · round_up(out_c, 16)`.
//!
//! # Loop nest and register tiles
//!
//! `for panel { for K block { for M tile { microkernel } } }`, as in the AVX2 kernel: a K block
//! of one panel (at most `B_BLOCK_BYTES`) stays in L1 while every pixel row sweeps over it;
//! partial sums of all but the last K block go through C; the bias enters with the first block
//! and the activation with the last one.
//!
//! Microkernel tiles (`MR` rows × `NV` vectors of 16 columns, one A broadcast per row and `k`,
//! `NV` B vectors per `k`): 12×32 (24 accumulators + 2 B vectors + 1 broadcast of the 32 ZMM
//! registers) for 32-wide panels, 8×48 (24 + 3 + 1) for the 48-wide one and 12×16 for a
//! 16-wide one. Each keeps at least 12 independent FMA chains (2 FMA pipes × 4 cycles
//! latency needs 8). M rows are split into `ceil(M / MR_max)` tiles of as equal a size as
//! possible. Columns past `out_c` in the last vector are computed on zero weights and never
//! stored (masked loads and stores with a `__mmask16`).

use core::arch::x86_64::{
    __m512, __mmask16, _MM_HINT_T0, _mm_prefetch, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use crate::{Activation, KernelError, PointwiseShape, error::check_len};

/// f32 lanes of a ZMM register.
const LANES: usize = 16;

/// Target size in bytes of one K block of one panel (the part of B kept hot in L1 while all
/// M tiles sweep over it).
const B_BLOCK_BYTES: usize = 16 * 1024;

/// Vectors (of 16 columns) in the panel that starts at column `n0` of an `n`-column output.
#[inline]
fn panel_vectors(n: usize, n0: usize) -> usize {
    match n - n0 {
        0..=16 => 1,
        17..=32 => 2,
        33..=48 => 3,
        _ => 2,
    }
}

/// Largest row count of a microkernel tile for a panel of `nv` vectors.
#[inline]
fn max_rows(nv: usize) -> usize {
    match nv {
        1 | 2 => 12,
        _ => 8,
    }
}

/// Length of the AVX-512 packed pointwise weights: `(in_c + 1) · round_up(out_c, 16)` (see
/// the module docs for the panel layout).
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
/// described in the module docs (bias at the head of each panel, then one panel-wide row per
/// input channel, zero-padded past `out_c`). Every element of `packed` is written.
///
/// Errors: an invalid shape, `weights.len() != out_c · in_c`, a bias whose length is not
/// `out_c`, `packed.len() !=` [`pointwise_packed_len`], or a CPU without AVX-512F
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
    let mut rest = packed;
    let mut n0 = 0;
    while n0 < n {
        let w = panel_vectors(n, n0) * LANES;
        let (panel, tail) = rest.split_at_mut((k + 1) * w);
        let (head, rows) = panel.split_at_mut(w);
        for (j, h) in head.iter_mut().enumerate() {
            *h = match bias.and_then(|b| b.get(n0 + j)) {
                Some(&v) => v,
                None => 0.0,
            };
        }
        for (kk, row) in rows.chunks_exact_mut(w).enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = if n0 + j < n { weights.get((n0 + j) * k + kk).copied().unwrap_or(0.0) } else { 0.0 };
            }
        }
        rest = tail;
        n0 += w;
    }
    debug_assert!(rest.is_empty());
    Ok(())
}

/// Pointwise convolution on weights packed by [`pointwise_pack`]:
/// `output[p][o] = act(bias[o] + Σ_k input[p][k] · weights[o][k])`.
///
/// - `input`: `[pixels][in_c]` (NHWC, `pixels = N·H·W`);
/// - `packed`: [`pointwise_packed_len`] floats from [`pointwise_pack`] with the same shape;
/// - `output`: `[pixels][out_c]`.
///
/// Errors: an invalid shape or clamp, a slice of the wrong length, or a CPU without AVX-512F.
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
    // SAFETY: the CPU has AVX-512F (ensure_available above); `input`, `packed` and `output`
    // have exactly the lengths `pixels·in_c`, `(in_c+1)·round_up(out_c, 16)` and
    // `pixels·out_c` that `run_avx512` requires (checked above).
    unsafe { run_avx512(s, input.as_ptr(), packed.as_ptr(), output.as_mut_ptr(), lo, hi) };
    Ok(())
}

/// Arguments shared by every microkernel call of one (panel, K block) sweep.
struct Sweep {
    /// Row stride of A (`in_c`).
    lda: usize,
    /// Row stride of C (`out_c`).
    ldc: usize,
    /// The panel's bias head (`NV · 16` floats).
    head: *const f32,
    /// The panel's first B row of this K block (`kc · NV · 16` floats).
    b: *const f32,
    /// K steps in this block.
    kc: usize,
    /// Whether this is the first K block (start from the bias, else from C).
    first: bool,
    /// Activation bounds (`±inf` for all but the last K block).
    lo: f32,
    /// Upper bound.
    hi: f32,
    /// Lanes of the panel's last vector that are real output columns.
    mask: __mmask16,
    /// The packed B data the next sweep reads (the next K block of this panel, or the next
    /// panel's head and first block), prefetched into L1 a slice per tile so that it does not
    /// arrive from memory one demand miss at a time; `next_len` floats (0: nothing next).
    next: *const f32,
    /// Floats at `next`.
    next_len: usize,
}

/// Runs the whole GEMM: panels, K blocks, M tiles.
///
/// # Safety
/// The CPU supports AVX-512F; `a` points to `pixels·in_c` readable floats, `packed` to
/// `(in_c+1)·round_up(out_c, 16)` readable floats laid out by [`pointwise_pack`], and `c` to
/// `pixels·out_c` writable floats not overlapping the others; the shape is valid.
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512(s: &PointwiseShape, a: *const f32, packed: *const f32, c: *mut f32, lo: f32, hi: f32) {
    let (m, k, n) = (s.pixels, s.in_c, s.out_c);
    let mut n0 = 0;
    while n0 < n {
        let nv = panel_vectors(n, n0);
        let width = nv * LANES;
        let last_valid = (n - n0).min(width) - (nv - 1) * LANES;
        // 1 <= last_valid <= 16: the first `last_valid` lanes.
        let mask = (u32::MAX >> (32 - last_valid)) as __mmask16;
        // SAFETY: the panel at column n0 starts at (k+1)·n0 < packed length, since the panels
        // before it are (k+1)·n0 floats in total (module docs).
        let head = unsafe { packed.add((k + 1) * n0) };
        let kc_max = (B_BLOCK_BYTES / (width * 4)).max(1);
        let blocks = k.div_ceil(kc_max);
        let kc = k.div_ceil(blocks);
        let panel_end = (k + 1) * (n0 + width);
        let mut k0 = 0;
        while k0 < k {
            let k1 = (k0 + kc).min(k);
            let last = k1 == k;
            // What the next sweep reads: rows k1..k1+kc of this panel, or (after the last K
            // block) the next panel's head and first block, clipped to the packed buffer.
            let (next_off, next_want) = if last {
                let nw = if n0 + width < n { panel_vectors(n, n0 + width) * LANES } else { 0 };
                (panel_end, nw * (1 + kc.min(k)))
            } else {
                ((k + 1) * n0 + width + k1 * width, kc.min(k - k1) * width)
            };
            let packed_len = (k + 1) * n.next_multiple_of(LANES);
            let next_len = next_want.min(packed_len.saturating_sub(next_off));
            let sw = Sweep {
                lda: k,
                ldc: n,
                head,
                // SAFETY: rows k0..k1 of the panel lie inside it: the head is `width` floats,
                // then k rows of `width`, and k0 < k.
                b: unsafe { head.add(width + k0 * width) },
                kc: k1 - k0,
                first: k0 == 0,
                lo: if last { lo } else { f32::NEG_INFINITY },
                hi: if last { hi } else { f32::INFINITY },
                mask,
                // Only formed (and prefetched) when `next_len > 0`, i.e. inside `packed`.
                next: packed.wrapping_add(next_off),
                next_len,
            };
            // SAFETY: column n0 and K offset k0 are inside C's and A's rows (n0 < n, k0 < k), so
            // the offset pointers stay in bounds; `sweep` reads columns k0..k1 of every A row
            // and writes the columns of C that `mask` enables in the panel's last vector and all
            // of the others, i.e. n0..min(n, n0+width), of every C row; CPU features are
            // guaranteed by our caller.
            unsafe {
                let (a_k, c_n) = (a.add(k0), c.add(n0));
                match nv {
                    1 => sweep::<1>(&sw, a_k, c_n, m),
                    2 => sweep::<2>(&sw, a_k, c_n, m),
                    _ => sweep::<3>(&sw, a_k, c_n, m),
                }
            }
            k0 = k1;
        }
        n0 += width;
    }
}

/// Sweeps all `m` rows over one (panel, K block) in tiles of at most `max_rows(NV)` rows, split
/// as evenly as possible.
///
/// # Safety
/// The CPU supports AVX-512F; `a` points to `m` rows (stride `sw.lda`) of `sw.kc` readable
/// floats; `c` to `m` rows (stride `sw.ldc`) of `(NV-1)·16 + popcount(sw.mask)` writable
/// floats; `sw.head` and `sw.b` to `NV·16` and `sw.kc·NV·16` readable floats.
#[target_feature(enable = "avx512f")]
unsafe fn sweep<const NV: usize>(sw: &Sweep, a: *const f32, c: *mut f32, m: usize) {
    let tiles = m.div_ceil(max_rows(NV));
    let (base, extra) = (m / tiles, m % tiles);
    // Cache lines of the next sweep's B data to prefetch before each tile.
    let lines = (sw.next_len * 4).div_ceil(64);
    let per_tile = lines.div_ceil(tiles);
    let mut m0 = 0;
    for t in 0..tiles {
        for l in (t * per_tile)..((t + 1) * per_tile).min(lines) {
            // SAFETY: line l < lines covers floats below `next_len`, which lie inside the packed
            // buffer (clipped by the caller); a prefetch reads nothing architecturally.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(sw.next.add(l * 16).cast()) };
        }
        let rows = base + usize::from(t < extra);
        debug_assert!((1..=max_rows(NV)).contains(&rows));
        // SAFETY: m0 + rows <= m, so the tile's rows are inside the `m` rows our caller
        // guarantees; rows <= max_rows(NV), so each arm matches a kernel sized for that panel.
        unsafe {
            let (at, ct) = (a.add(m0 * sw.lda), c.add(m0 * sw.ldc));
            match rows {
                12 => tile::<12, NV>(sw, at, ct),
                11 => tile::<11, NV>(sw, at, ct),
                10 => tile::<10, NV>(sw, at, ct),
                9 => tile::<9, NV>(sw, at, ct),
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

/// The microkernel: an `MR × (NV·16)` block of C over one K block, accumulators in registers
/// (`MR·NV` ZMM), one A broadcast per row and `k`, `NV` B vectors per `k`.
///
/// # Safety
/// As [`sweep`] with `m = MR`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const MR: usize, const NV: usize>(sw: &Sweep, a: *const f32, c: *mut f32) {
    // SAFETY: (covers the whole body) every pointer offset stays inside the ranges that
    // `sweep`'s contract gives: rows r < MR of A and C, columns < kc of A, vectors v < NV of
    // the head and of each B row; the last vector of a C row is accessed only through
    // `sw.mask` (its valid lanes; masked-off lanes are not touched, so they cannot fault);
    // the CPU features are guaranteed by the caller.
    unsafe {
        let full = sw.mask == 0xFFFF;
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        if sw.first {
            for v in 0..NV {
                let bv = _mm512_loadu_ps(sw.head.add(v * LANES));
                for row in acc.iter_mut() {
                    row[v] = bv;
                }
            }
        } else {
            for (r, row) in acc.iter_mut().enumerate() {
                let cr = c.add(r * sw.ldc);
                for (v, x) in row.iter_mut().enumerate() {
                    *x = if v + 1 < NV || full {
                        _mm512_loadu_ps(cr.add(v * LANES))
                    } else {
                        _mm512_maskz_loadu_ps(sw.mask, cr.add(v * LANES))
                    };
                }
            }
        }

        let mut ap = a;
        let mut bp = sw.b;
        for _ in 0..sw.kc {
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(bp.add(v * LANES));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(r * sw.lda));
                for (x, &b) in row.iter_mut().zip(bv.iter()) {
                    *x = _mm512_fmadd_ps(av, b, *x);
                }
            }
            ap = ap.add(1);
            bp = bp.add(NV * LANES);
        }

        let lo = _mm512_set1_ps(sw.lo);
        let hi = _mm512_set1_ps(sw.hi);
        for (r, row) in acc.iter().enumerate() {
            let cr = c.add(r * sw.ldc);
            for (v, &x) in row.iter().enumerate() {
                // Bound first: max/min return the second operand when either is NaN.
                let y: __m512 = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
                if v + 1 < NV || full {
                    _mm512_storeu_ps(cr.add(v * LANES), y);
                } else {
                    _mm512_mask_storeu_ps(cr.add(v * LANES), sw.mask, y);
                }
            }
        }
    }
}
