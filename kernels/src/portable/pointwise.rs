//! Pointwise 1×1 convolution (NHWC) as a GEMM over packed weight panels, portable `f32x8`.
//!
//! The GEMM is `C[M×N] = A[M×K] · B[K×N]` with `M = pixels`, `K = in_c`, `N = out_c`; `A` is
//! the input (row-major, row stride `K`, not packed) and `C` the output (row-major, row
//! stride `N`). Only `B` (the weights) is packed.
//!
//! # Packed layout
//!
//! Panels of 8 output channels, left to right, the last one zero-padded past `out_c`. Panel
//! `j` (columns `8j .. 8j+8`) starts at offset `(in_c + 1) · 8j` and holds
//!
//! ```text
//! [bias[8j .. 8j+8]]                      8 floats (zeros without a bias)
//! [B[k][8j .. 8j+8]] for k in 0..in_c     B[k][n] = weights[n][k]
//! ```
//!
//! Length: `(in_c + 1) · round_up(out_c, 8)` (the same length as the AVX2 tier, but not the
//! same layout: a buffer is only valid for the tier that packed it).
//!
//! # Kernel
//!
//! For each panel, all rows in tiles of up to 4 rows × 8 columns (4 `f32x8` accumulators, one
//! B vector and one broadcast per `k`), the bias loaded first and the activation applied at
//! the store; columns past `out_c` are computed on zero weights and not stored. No K blocking:
//! this is the fallback tier.

use wide::f32x8;

use crate::{Activation, KernelError, PointwiseShape, error::check_len};

/// Columns per panel (one `f32x8`).
const NR: usize = 8;
/// Rows per full register tile.
const MR: usize = 4;

/// Length of the portable packed pointwise weights: `(in_c + 1) · round_up(out_c, 8)`.
pub fn pointwise_packed_len(s: &PointwiseShape) -> Result<usize, KernelError> {
    s.validate()?;
    let width =
        s.out_c.checked_next_multiple_of(NR).ok_or(KernelError::Overflow { what: "packed length" })?;
    s.in_c
        .checked_add(1)
        .and_then(|rows| rows.checked_mul(width))
        .ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs pointwise weights `[out_c][in_c]` and an optional bias `[out_c]` into 8-column panels
/// (bias at the head of each panel, then one 8-wide row per input channel, zero-padded past
/// `out_c`; see the module docs). Every element of `packed` is written.
///
/// Errors: an invalid shape, `weights.len() != out_c · in_c`, a bias whose length is not
/// `out_c`, or `packed.len() !=` [`pointwise_packed_len`]. Nothing is written on error.
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

    let (k, n) = (s.in_c, s.out_c);
    for (j, panel) in packed.chunks_exact_mut((k + 1) * NR).enumerate() {
        let n0 = j * NR;
        let (head, rows) = panel.split_at_mut(NR);
        for (c, h) in head.iter_mut().enumerate() {
            *h = match bias {
                Some(b) if n0 + c < n => b[n0 + c],
                _ => 0.0,
            };
        }
        for (kk, row) in rows.chunks_exact_mut(NR).enumerate() {
            for (c, x) in row.iter_mut().enumerate() {
                *x = if n0 + c < n { weights[(n0 + c) * k + kk] } else { 0.0 };
            }
        }
    }
    Ok(())
}

/// Pointwise convolution on weights packed by [`pointwise_pack`]:
/// `output[p][o] = act(bias[o] + Σ_k input[p][k] · weights[o][k])`.
///
/// - `input`: `[pixels][in_c]` (NHWC, `pixels = N·H·W`);
/// - `packed`: [`pointwise_packed_len`] floats from [`pointwise_pack`] with the same shape;
/// - `output`: `[pixels][out_c]`.
///
/// Errors: an invalid shape or clamp, or a slice of the wrong length. Nothing is written on
/// error.
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

    let (lo, hi) = act.bounds();
    let (lo, hi) = (f32x8::splat(lo), f32x8::splat(hi));
    let (m, k, n) = (s.pixels, s.in_c, s.out_c);
    for (j, panel) in packed.chunks_exact((k + 1) * NR).enumerate() {
        let n0 = j * NR;
        let cols = (n - n0).min(NR);
        let (head, b) = panel.split_at(NR);
        let bias = load8(head);
        let mut m0 = 0;
        while m0 < m {
            let rows = (m - m0).min(MR);
            let a = &input[m0 * k..(m0 + rows) * k];
            let c = &mut output[m0 * n..];
            match rows {
                4 => tile::<4>(a, k, b, bias, lo, hi, c, n, n0, cols),
                3 => tile::<3>(a, k, b, bias, lo, hi, c, n, n0, cols),
                2 => tile::<2>(a, k, b, bias, lo, hi, c, n, n0, cols),
                _ => tile::<1>(a, k, b, bias, lo, hi, c, n, n0, cols),
            }
            m0 += rows;
        }
    }
    Ok(())
}

/// Loads the first 8 floats of `x`.
#[inline(always)]
fn load8(x: &[f32]) -> f32x8 {
    let arr: [f32; NR] = x[..NR].try_into().unwrap_or([0.0; NR]);
    f32x8::new(arr)
}

/// One `R × 8` tile: rows `a[r·k .. (r+1)·k]` against the panel rows `b` (`k × 8`), stored
/// into columns `n0 .. n0+cols` of rows `c[r·ldc ..]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<const R: usize>(
    a: &[f32],
    k: usize,
    b: &[f32],
    bias: f32x8,
    lo: f32x8,
    hi: f32x8,
    c: &mut [f32],
    ldc: usize,
    n0: usize,
    cols: usize,
) {
    let mut acc = [bias; R];
    let rows: [&[f32]; R] = core::array::from_fn(|r| &a[r * k..(r + 1) * k]);
    for (kk, bk) in b.chunks_exact(NR).enumerate() {
        let bv = load8(bk);
        for (x, row) in acc.iter_mut().zip(rows.iter()) {
            *x = f32x8::splat(row[kk]).mul_add(bv, *x);
        }
    }
    for (r, x) in acc.iter().enumerate() {
        // Clamp with the bound as the first operand of fast_max/fast_min (the NaN-propagating
        // order on SSE and NEON), then restore NaN lanes explicitly for the backends whose
        // fast_max/fast_min drop them, so NaN propagates exactly like the reference.
        let clamped = lo.fast_max(*x).fast_min(hi);
        let y = x.is_nan().bitselect(*x, clamped).to_array();
        c[r * ldc + n0..r * ldc + n0 + cols].copy_from_slice(&y[..cols]);
    }
}
