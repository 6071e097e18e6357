//! Depthwise k×k convolution (depth multiplier 1), NHWC, portable SIMD (`wide::f32x8`).
//!
//! # Packed layout
//!
//! The same as the AVX2 tier's: the channels are cut into tiles of 8, the last tile
//! zero-padded when `C % 8 != 0`. Tile `t` occupies `8 · (1 + kh·kw)` floats starting at
//! `t · 8 · (1 + kh·kw)`: `[bias × 8][tap 0 × 8][tap 1 × 8]…[tap kh·kw−1 × 8]`, taps in
//! row-major `(ky, kx)` order and lane `l` holding channel `8t + l` (zero for channels
//! `>= C`, and a zero bias without one).
//!
//! # How it runs
//!
//! For every output row the valid kernel rows are computed once, and the output columns are
//! split once per call into a left border, an interior where every horizontal tap is inside
//! the input, and a right border. Interior pixels are computed 4 at a time × 8 channels (each
//! weight vector feeds 4 FMAs) with no padding test; border pixels visit only their valid taps.
//! The partial last channel tile goes through small zero-filled copies.

use wide::f32x8;

use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

use crate::dwconv_layout::{CT, tile_len};
use crate::reference::check_depthwise;

/// Output pixels per interior block.
const NC: usize = 4;

/// Length of the portable tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)`
/// (see the module docs for the layout).
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub fn dwconv_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    crate::dwconv_layout::packed_len(g)
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
/// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, zero-padded at
/// the channel remainder (see the module docs).
///
/// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
/// length (`packed` must have [`dwconv_packed_len`] elements); nothing is written then.
pub fn dwconv_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    crate::dwconv_layout::pack(g, weights, bias, packed)
}

/// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
///
/// - `input`: `[batch][in_h][in_w][C]`;
/// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
///   that fall inside the input (padding contributes nothing).
///
/// Any kernel size, stride, dilation and 4-sided padding. Errors: an invalid or non-depthwise
/// geometry, an invalid clamp, or `packed`, `input` or `output` of the wrong length
/// ([`KernelError::LengthMismatch`]); nothing is written then.
pub fn dwconv_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    check_depthwise(g)?;
    act.validate()?;
    check_len("packed", dwconv_packed_len(g)?, packed.len())?;
    check_len("input", d.input_len, input.len())?;
    check_len("output", d.output_len, output.len())?;
    let (lo, hi) = act.bounds();
    let p = Plan::new(g, d.out_w, tile_len(g)?, lo, hi);
    let img_in = g.in_h * g.in_w * g.in_c;
    let row_out = d.out_w * g.in_c;
    let mut rows = output.chunks_exact_mut(row_out);
    for img in input.chunks_exact(img_in) {
        for (oy, out) in (0..d.out_h).zip(&mut rows) {
            let pos = oy * g.stride_h;
            let (ky0, ky1) = tap_range(pos, g.padding.top, g.in_h, g.kernel_h, g.dilation_h);
            let row = Row { img, pos, ky0, ky1 };
            for t in 0..p.full_tiles {
                p.tile_row(&row, packed, t, CT, out);
            }
            if p.rem != 0 {
                p.tile_row(&row, packed, p.full_tiles, p.rem, out);
            }
        }
    }
    Ok(())
}

/// The taps `t` in `t0..t1` (a subrange of `0..k`) whose padded position `pos + t·dil` lies
/// inside the input, i.e. in `pad..pad + extent` (no overflow: `pad + extent` is below the
/// validated padded extent).
#[inline]
fn tap_range(pos: usize, pad: usize, extent: usize, k: usize, dil: usize) -> (usize, usize) {
    let end = pad + extent;
    let (t0, t1) = if dil == 1 {
        (pad.saturating_sub(pos), end.saturating_sub(pos).min(k))
    } else {
        let t0 = if pos >= pad { 0 } else { (pad - pos - 1) / dil + 1 };
        (t0, if pos >= end { 0 } else { ((end - pos - 1) / dil + 1).min(k) })
    };
    (t0.min(t1), t1)
}

/// One output row of one image.
struct Row<'a> {
    /// The image, `[in_h][in_w][C]`.
    img: &'a [f32],
    /// `oy · stride_h`: the padded row of kernel row 0.
    pos: usize,
    /// Valid kernel rows `ky0..ky1` (possibly empty).
    ky0: usize,
    ky1: usize,
}

/// The per-call constants of a validated depthwise geometry.
struct Plan {
    c: usize,
    full_tiles: usize,
    rem: usize,
    tile_len: usize,
    in_w: usize,
    out_w: usize,
    kw: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
    /// Output columns `ox_lo..ox_hi` have every horizontal tap inside the input.
    ox_lo: usize,
    ox_hi: usize,
    lo: f32x8,
    hi: f32x8,
}

impl Plan {
    fn new(g: &Conv2dGeometry, out_w: usize, tile_len: usize, lo: f32, hi: f32) -> Self {
        let (pl, sw, dw, kw, in_w) = (g.padding.left, g.stride_w, g.dilation_w, g.kernel_w, g.in_w);
        let ox_lo = if pl == 0 { 0 } else { (pl - 1) / sw + 1 }.min(out_w);
        let span = (kw - 1) * dw;
        let limit = pl + in_w;
        let ox_hi = if limit > span { (limit - span - 1) / sw + 1 } else { 0 }.clamp(ox_lo, out_w);
        Self {
            c: g.in_c,
            full_tiles: g.in_c / CT,
            rem: g.in_c % CT,
            tile_len,
            in_w,
            out_w,
            kw,
            sw,
            dh: g.dilation_h,
            dw,
            pt: g.padding.top,
            pl,
            ox_lo,
            ox_hi,
            lo: f32x8::splat(lo),
            hi: f32x8::splat(hi),
        }
    }

    /// Loads lanes `0..n` from `s[at..]` (zeros above `n`).
    #[inline(always)]
    fn ld(s: &[f32], at: usize, n: usize) -> f32x8 {
        if n == CT {
            let mut a = [0.0; CT];
            a.copy_from_slice(&s[at..at + CT]);
            f32x8::new(a)
        } else {
            let mut a = [0.0; CT];
            a[..n].copy_from_slice(&s[at..at + n]);
            f32x8::new(a)
        }
    }

    /// Clamps `acc` and stores lanes `0..n` into `out[at..]`.
    #[inline(always)]
    fn st(&self, out: &mut [f32], at: usize, n: usize, acc: f32x8) {
        // fast_clamp is max(lo, min(hi, x)) with the bound first: NaN propagates on every
        // backend of `wide`.
        let v = acc.fast_clamp(self.lo, self.hi);
        out[at..at + n].copy_from_slice(&v.as_array()[..n]);
    }

    /// One output row of channel tile `t` (`n` valid lanes).
    fn tile_row(&self, row: &Row, packed: &[f32], t: usize, n: usize, out: &mut [f32]) {
        let tile = &packed[t * self.tile_len..(t + 1) * self.tile_len];
        let bias = Self::ld(tile, 0, CT);
        let w = &tile[CT..];
        let ch = t * CT;
        if row.ky0 == row.ky1 {
            for ox in 0..self.out_w {
                self.st(out, ox * self.c + ch, n, bias);
            }
            return;
        }
        for ox in 0..self.ox_lo {
            self.pixel(row, w, ch, n, ox, bias, out);
        }
        let mut ox = self.ox_lo;
        while ox + NC <= self.ox_hi {
            self.block::<NC>(row, w, ch, n, ox, bias, out);
            ox += NC;
        }
        while ox < self.ox_hi {
            self.block::<1>(row, w, ch, n, ox, bias, out);
            ox += 1;
        }
        for ox in self.ox_hi..self.out_w {
            self.pixel(row, w, ch, n, ox, bias, out);
        }
    }

    /// `B` interior pixels from `ox` (every tap inside the input).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn block<const B: usize>(
        &self,
        row: &Row,
        w: &[f32],
        ch: usize,
        n: usize,
        ox: usize,
        bias: f32x8,
        out: &mut [f32],
    ) {
        let cs = self.c;
        let mut acc = [bias; B];
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * self.dh - self.pt;
            let base = (iy * self.in_w + ox * self.sw - self.pl) * cs + ch;
            for kx in 0..self.kw {
                let wv = Self::ld(w, (ky * self.kw + kx) * CT, CT);
                let px = base + kx * self.dw * cs;
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = Self::ld(row.img, px + j * self.sw * cs, n).mul_add(wv, *a);
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            self.st(out, (ox + j) * cs + ch, n, a);
        }
    }

    /// One border pixel, visiting only its valid taps.
    #[allow(clippy::too_many_arguments)]
    fn pixel(&self, row: &Row, w: &[f32], ch: usize, n: usize, ox: usize, bias: f32x8, out: &mut [f32]) {
        let cs = self.c;
        let (kx0, kx1) = tap_range(ox * self.sw, self.pl, self.in_w, self.kw, self.dw);
        let mut acc = bias;
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * self.dh - self.pt;
            for kx in kx0..kx1 {
                let ix = ox * self.sw + kx * self.dw - self.pl;
                let x = Self::ld(row.img, (iy * self.in_w + ix) * cs + ch, n);
                acc = x.mul_add(Self::ld(w, (ky * self.kw + kx) * CT, CT), acc);
            }
        }
        self.st(out, ox * cs + ch, n, acc);
    }
}
