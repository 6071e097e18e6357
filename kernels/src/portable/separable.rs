//! Row 1×k and column k×1 spatially separable passes, per channel, with `wide::f32x8`.
//!
//! # How the passes are vectorized
//!
//! An NHWC row `[W][C]` is seen as one flat array of `W·C` floats. Lane `l` of the flat vector
//! starting at `8q` is channel `(8q + l) mod C`, so its weights depend only on `q mod P`, with
//! `P = C / gcd(C, 8)` *weight patterns* (a broadcast when `C == 1`, the channel tiles when `C`
//! is a multiple of 8). This vectorizes along `W` when `C == 1` and along channels otherwise.
//!
//! Both passes accumulate into the output row itself, in chunks that stay in L1: the chunk is
//! set to the bias, then every tap adds `input window · weights` (an AXPY over contiguous flat
//! ranges: a scalar head up to the next multiple of 8, full vectors, a scalar tail), then the
//! activation is applied in place.
//! - **Column pass** (any stride, dilation): tap `t` of output row `y` is the whole input row
//!   `y·stride + t·dilation - pad` (skipped when it is padding).
//! - **Row pass**, stride 1: tap `t` of flat output `f` is flat input `f + (t·dilation - pad)·C`;
//!   the outputs whose tap lies in the row form one contiguous range per tap.
//! - **Row pass**, stride > 1: per output pixel, 8-channel vectors over the valid taps, scalar
//!   channel tail.
//!
//! # Packed layout (same for both axes)
//!
//! The untiled layout of `crate::separable` with `L = 8`, total `(k + 1)·(C + lcm(8, C))`.

use wide::f32x8;

use crate::geometry::valid_taps;
use crate::separable::{self as family};
use crate::{Activation, KernelError, SeparableAxis, SeparablePassGeometry};

const LANES: usize = 8;
/// Output floats accumulated at a time (kept in L1).
const CHUNK: usize = 2048;

crate::separable::entry_points!(lanes LANES, tiled false, ensure || Ok(()), run run, errors "");

/// Runs the row (`row`) or column pass of a checked plan over every image.
///
/// # Safety
/// None needed (safe code): `unsafe` only to match the contract of the entry points, which
/// pass a plan from `checked_run` with these slices (the indexing below relies on it only
/// for not panicking).
unsafe fn run(
    row: bool,
    p: &family::Plan,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) {
    let (g, d, lay) = (&p.g, &p.d, &p.lay);
    let c = g.channels;
    if row {
        let (in_len, out_len) = (g.in_w * c, d.out_w * c);
        // The flat path computes padded flat positions up to (pad_before + (k-1)·dilation + W)·C.
        let flat = g.stride == 1
            && (g.kernel - 1)
                .checked_mul(g.dilation)
                .and_then(|x| x.checked_add(g.pad_before))
                .and_then(|x| x.checked_add(g.in_w))
                .and_then(|x| x.checked_mul(c))
                .is_some();
        for (src, dst) in input.chunks_exact(in_len).zip(output.chunks_exact_mut(out_len)) {
            if flat { row_flat(p, src, packed, act, dst) } else { row_pixels(p, src, packed, act, dst) }
        }
        return;
    }
    let row = g.in_w * c;
    let period = lay.period;
    for (src, dst) in input.chunks_exact(g.in_h * row).zip(output.chunks_exact_mut(d.out_h * row)) {
        for (oy, out_row) in dst.chunks_exact_mut(row).enumerate() {
            let (t0, t1) = valid_taps(oy * g.stride, g.pad_before, g.in_h, g.kernel, g.dilation);
            for f0 in (0..row).step_by(CHUNK) {
                let acc = &mut out_row[f0..(f0 + CHUNK).min(row)];
                fill_pattern(acc, f0, &packed[lay.pat_bias..][..period]);
                for t in t0..t1 {
                    let iy = oy * g.stride + t * g.dilation - g.pad_before;
                    let x = &src[iy * row + f0..][..acc.len()];
                    axpy(acc, f0, x, &packed[lay.pat_w + t * lay.pstride..][..period]);
                }
                activate(acc, act);
            }
        }
    }
}

/// `acc[i] = pattern[(f0 + i) mod 8P]` (`pattern.len() == 8P`).
fn fill_pattern(acc: &mut [f32], f0: usize, pattern: &[f32]) {
    let period = pattern.len();
    for (i, a) in acc.iter_mut().enumerate() {
        *a = pattern[(f0 + i) % period];
    }
}

/// `acc[i] += x[i] · pattern[(f0 + i) mod 8P]`, vectorized from the first `i` with
/// `f0 + i` a multiple of 8 (where the weight vector is a whole pattern vector).
fn axpy(acc: &mut [f32], f0: usize, x: &[f32], pattern: &[f32]) {
    let period = pattern.len();
    let n = acc.len();
    let head = ((LANES - f0 % LANES) % LANES).min(n);
    for i in 0..head {
        acc[i] += x[i] * pattern[(f0 + i) % period];
    }
    let mut i = head;
    while i + LANES <= n {
        let p = (f0 + i) % period;
        let w = f32x8::from(&pattern[p..p + LANES]);
        let xv = f32x8::from(&x[i..i + LANES]);
        let a = f32x8::from(&acc[i..i + LANES]);
        acc[i..i + LANES].copy_from_slice(xv.mul_add(w, a).as_array());
        i += LANES;
    }
    for j in i..n {
        acc[j] += x[j] * pattern[(f0 + j) % period];
    }
}

/// Applies a clamp `act` in place: `x < lo → lo`, `x > hi → hi`, else `x` (NaN stays NaN).
/// A nonlinear activation is left to the entry point's epilogue.
fn activate(acc: &mut [f32], act: Activation) {
    if act == Activation::None || !act.is_clamp() {
        return;
    }
    let (lo, hi) = act.bounds();
    let (vlo, vhi) = (f32x8::splat(lo), f32x8::splat(hi));
    let mut chunks = acc.chunks_exact_mut(LANES);
    for ch in &mut chunks {
        let x = f32x8::from(&*ch);
        let x = x.simd_lt(vlo).select(vlo, x);
        let x = x.simd_gt(vhi).select(vhi, x);
        ch.copy_from_slice(x.as_array());
    }
    for v in chunks.into_remainder() {
        *v = act.apply(*v);
    }
}

/// Stride-1 row pass of one row: per chunk of flat outputs, bias then one AXPY per tap over
/// the outputs whose tap input lies inside the row.
fn row_flat(p: &family::Plan, src: &[f32], packed: &[f32], act: Activation, dst: &mut [f32]) {
    let (g, lay) = (&p.g, &p.lay);
    let c = g.channels;
    let period = lay.period;
    let in_len = src.len();
    let out_len = dst.len();
    for f0 in (0..out_len).step_by(CHUNK) {
        let f1 = (f0 + CHUNK).min(out_len);
        let acc = &mut dst[f0..f1];
        fill_pattern(acc, f0, &packed[lay.pat_bias..][..period]);
        for t in 0..g.kernel {
            // Flat output f reads flat input f + t·dil·C - pad·C, padded position p = f + off.
            let off = t * g.dilation * c; // <= padded width · C (validated extents)
            let pad_c = g.pad_before * c;
            // Valid f: pad·C <= f + off < pad·C + W·C.
            let lo = pad_c.saturating_sub(off).max(f0);
            let hi = (pad_c + in_len).saturating_sub(off).min(f1);
            if lo >= hi {
                continue;
            }
            let x = &src[lo + off - pad_c..hi + off - pad_c];
            axpy(&mut acc[lo - f0..hi - f0], lo, x, &packed[lay.pat_w + t * lay.pstride..][..period]);
        }
        activate(acc, act);
    }
}

/// Row pass of one row, per output pixel (any stride): 8-channel vectors, scalar tail.
fn row_pixels(p: &family::Plan, src: &[f32], packed: &[f32], act: Activation, dst: &mut [f32]) {
    let (g, lay) = (&p.g, &p.lay);
    let c = g.channels;
    let bias = &packed[..c];
    let w = &packed[lay.plain_w..lay.pat_bias];
    for x in 0..p.d.out_w {
        let (t0, t1) = valid_taps(x * g.stride, g.pad_before, g.in_w, g.kernel, g.dilation);
        let out = &mut dst[x * c..][..c];
        out.copy_from_slice(bias);
        for t in t0..t1 {
            let ix = x * g.stride + t * g.dilation - g.pad_before;
            let xin = &src[ix * c..][..c];
            let wt = &w[t * c..][..c];
            let mut ch = 0;
            while ch + LANES <= c {
                let a = f32x8::from(&out[ch..ch + LANES]);
                let v = f32x8::from(&xin[ch..ch + LANES]).mul_add(f32x8::from(&wt[ch..ch + LANES]), a);
                out[ch..ch + LANES].copy_from_slice(v.as_array());
                ch += LANES;
            }
            for j in ch..c {
                out[j] += xin[j] * wt[j];
            }
        }
        activate(out, act);
    }
}
