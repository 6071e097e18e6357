//! Elementwise add and global average pool, portable `f32x8` (the standalone activation is
//! [`super::activation`]).
//!
//! These ops are memory-bound (one or two loads and a store per FMA-free element), so the
//! `wide` vectors (SSE2 pairs on baseline x86_64, NEON pairs on aarch64) reach the memory
//! bandwidth that matters; every SIMD tier uses them. Same results as the reference: the add
//! and the clamps are exact, NaN propagates, and the average pool sums in `f32` per channel
//! (the reference sums in `f64`: the two differ by rounding only, see the tests' tolerance).

use wide::f32x8;

use crate::reference::GlobalPoolShape;
use crate::{
    Activation, KernelError,
    error::{check_len, check_nonzero, checked_product},
};

/// Lanes per vector.
const L: usize = 8;

/// Channels per register block of the average pool (4 vectors).
const POOL_BLOCK: usize = 4 * L;

/// `act(x)` on 8 lanes, NaN-propagating like [`Activation::apply`]: the bound goes first in
/// `fast_max`/`fast_min` (the NaN-keeping order on SSE and NEON) and NaN lanes are restored
/// explicitly for backends whose `fast_max`/`fast_min` drop them.
#[inline]
fn clamp8(x: f32x8, lo: f32x8, hi: f32x8) -> f32x8 {
    x.is_nan().bitselect(x, lo.fast_max(x).fast_min(hi))
}

/// Loads 8 floats from a slice of exactly 8.
#[inline]
fn load8(x: &[f32]) -> f32x8 {
    let mut arr = [0.0f32; L];
    arr.copy_from_slice(x);
    f32x8::new(arr)
}

/// `output[i] = act(a[i] + b[i])`; all three slices must have the same length (any layout,
/// as long as `a` and `b` share it). A nonlinear `act` is applied to the sums by
/// [`super::activation`]'s kernel. Errors: invalid activation parameters or a length
/// mismatch; nothing is written then.
pub fn add(a: &[f32], b: &[f32], act: Activation, output: &mut [f32]) -> Result<(), KernelError> {
    act.validate()?;
    check_len("b", a.len(), b.len())?;
    check_len("output", a.len(), output.len())?;
    let (lo, hi) = act.bounds();
    let (lov, hiv) = (f32x8::splat(lo), f32x8::splat(hi));
    let mut oc = output.chunks_exact_mut(L);
    let mut ac = a.chunks_exact(L);
    let mut bc = b.chunks_exact(L);
    for ((o, x), y) in (&mut oc).zip(&mut ac).zip(&mut bc) {
        o.copy_from_slice(&clamp8(load8(x) + load8(y), lov, hiv).to_array());
    }
    for ((o, &x), &y) in oc.into_remainder().iter_mut().zip(ac.remainder()).zip(bc.remainder()) {
        *o = if act.is_clamp() { act.apply(x + y) } else { x + y };
    }
    if !act.is_clamp() {
        super::activation::activation_in_place(act, output)?;
    }
    Ok(())
}

/// Global average pool, NHWC: `output[n][c] = (Σ_p input[n][p][c]) / pixels`, summed in
/// `f32` over the pixels in order.
///
/// - `input`: `[batch][pixels][channels]`; `output`: `[batch][channels]`.
///
/// Errors: a zero dimension, an overflowing size or a slice of the wrong length; nothing is
/// written then.
pub fn global_avg_pool(s: &GlobalPoolShape, input: &[f32], output: &mut [f32]) -> Result<(), KernelError> {
    check_nonzero("batch", s.batch)?;
    check_nonzero("pixels", s.pixels)?;
    check_nonzero("channels", s.channels)?;
    check_len("input", checked_product("input length", &[s.batch, s.pixels, s.channels])?, input.len())?;
    check_len("output", checked_product("output length", &[s.batch, s.channels])?, output.len())?;
    let c = s.channels;
    let scale = 1.0 / s.pixels as f32;
    for (image, out) in input.chunks_exact(s.pixels * c).zip(output.chunks_exact_mut(c)) {
        // Channel blocks of 32 summed over every pixel in 4 registers, then blocks of 8, then
        // single channels.
        let mut c0 = 0;
        while c0 + POOL_BLOCK <= c {
            let mut acc = [f32x8::splat(0.0); 4];
            for px in image.chunks_exact(c) {
                let block = px.get(c0..c0 + POOL_BLOCK).unwrap_or(&[]);
                for (a, x) in acc.iter_mut().zip(block.chunks_exact(L)) {
                    *a += load8(x);
                }
            }
            if let Some(dst) = out.get_mut(c0..c0 + POOL_BLOCK) {
                for (d, a) in dst.chunks_exact_mut(L).zip(acc) {
                    d.copy_from_slice(&(a * f32x8::splat(scale)).to_array());
                }
            }
            c0 += POOL_BLOCK;
        }
        while c0 + L <= c {
            let mut acc = f32x8::splat(0.0);
            for px in image.chunks_exact(c) {
                if let Some(x) = px.get(c0..c0 + L) {
                    acc += load8(x);
                }
            }
            if let Some(dst) = out.get_mut(c0..c0 + L) {
                dst.copy_from_slice(&(acc * f32x8::splat(scale)).to_array());
            }
            c0 += L;
        }
        for (ch, o) in out.iter_mut().enumerate().skip(c0) {
            let sum: f32 = image.chunks_exact(c).filter_map(|px| px.get(ch)).sum();
            *o = sum * scale;
        }
    }
    Ok(())
}
