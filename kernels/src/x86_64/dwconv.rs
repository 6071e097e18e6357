//! Depthwise k×k convolution (depth multiplier 1), NHWC, AVX2+FMA.
//!
//! # Packed layout
//!
//! The channels are cut into tiles of 8 (one YMM register); the last tile is zero-padded when
//! `C % 8 != 0`. Tile `t` occupies `8 · (1 + kh·kw)` floats starting at `t · 8 · (1 + kh·kw)`:
//! `[bias × 8][tap 0 × 8][tap 1 × 8]…[tap kh·kw−1 × 8]`, taps in row-major `(ky, kx)` order
//! and lane `l` holding channel `8t + l` (zero for channels `>= C`, and a zero bias without
//! one).
//!
//! # How it runs
//!
//! For every output row the valid kernel rows `ky0..ky1` are computed once (taps that fall in
//! the top or bottom padding are simply not visited), and the output columns are split once per
//! call into a left border, an interior where every horizontal tap is inside the input, and a
//! right border (MLAS style). Border pixels visit only their valid taps; the interior loop has
//! no padding branch at all. Loop order: image, output row, channel tile, output columns, so
//! the few input rows an output row needs stay in cache while every tile sweeps them.
//!
//! - **3×3, 5×5 and 7×7, horizontal stride 1 or 2, horizontal dilation 1** (any vertical stride
//!   and dilation): the row kernel is instantiated (const generics) for the kernel size, the
//!   stride and the number of valid kernel rows. The weights of one channel tile are loaded once
//!   per output row and tile into an array of vectors (all 9 of a 3×3 stay in registers), and
//!   the interior is computed in register blocks of `B` output pixels × 8 channels (`B` = 4 for
//!   3×3 stride 1, 6 for 3×3 stride 2 and 5×5, 8 for 7×7; remainders as blocks of 4, 2, 1):
//!   the block's `B` accumulators are independent FMA chains, and each input vector loaded
//!   feeds every FMA of the block that needs it (3 at 3×3 stride 1: 18 loads for 36 FMAs).
//!   Border pixels reuse the registers with a test per tap and four accumulators.
//! - **Anything else** (other kernel sizes, strides ≥ 3, horizontal dilation ≥ 2, kh ≠ kw):
//!   the same border split with run-time tap loops; interior blocks of 4 output pixels share
//!   each weight load.
//!
//! Channel remainders use `_mm256_maskload_ps` / `_mm256_maskstore_ps` with a mask table, so no
//! element outside the given slices is ever read or written.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_si256, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

use crate::dwconv_layout::{CT, tile_len};
use crate::reference::check_depthwise;

/// Output pixels per interior block of the generic path.
const NC: usize = 4;

/// Interior block widths (output pixels) of the specialised kernels, per (k, stride).
const B31: usize = 4;
const B32: usize = 6;
const B51: usize = 6;
const B52: usize = 6;
const B71: usize = 8;
const B72: usize = 8;

/// Largest kernel size with a specialised row kernel.
const MAX_FAST_K: usize = 7;

/// `MASK_TABLE[8 - r..8 - r + 8]` has `r` leading all-ones lanes (`r` in `1..=8`).
static MASK_TABLE: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Length of the AVX2 tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)` (see
/// the module docs for the layout).
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
/// geometry, an invalid clamp, `packed`, `input` or `output` of the wrong length
/// ([`KernelError::LengthMismatch`]), or a CPU without AVX2+FMA
/// ([`KernelError::IsaUnavailable`]); nothing is written then.
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
    super::ensure_available()?;
    let plan = Plan::new(g, d.out_h, d.out_w, tile_len(g)?);
    let (lo, hi) = act.bounds();
    // SAFETY: the CPU has AVX2 and FMA (ensure_available above); `input`, `packed` and `output`
    // have exactly the lengths the validated geometry implies (checked above), and every index
    // the kernels form is derived from that geometry (see `Plan`).
    unsafe { run(&plan, input, packed, lo, hi, output) };
    Ok(())
}

/// The per-call constants of a validated depthwise geometry.
#[derive(Clone, Copy)]
struct Plan {
    batch: usize,
    c: usize,
    /// Channel tiles of 8 full channels.
    full_tiles: usize,
    /// Channels in the last, partial tile (0 when `C % 8 == 0`).
    rem: usize,
    /// Floats per packed tile.
    tile_len: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
    /// Output columns `ox_lo..ox_hi` have every horizontal tap inside the input.
    ox_lo: usize,
    ox_hi: usize,
}

impl Plan {
    fn new(g: &Conv2dGeometry, out_h: usize, out_w: usize, tile_len: usize) -> Self {
        let (pl, sw, dw, kw, in_w) = (g.padding.left, g.stride_w, g.dilation_w, g.kernel_w, g.in_w);
        // First column whose leftmost tap is inside: ox·sw >= pl.
        let ox_lo = if pl == 0 { 0 } else { (pl - 1) / sw + 1 }.min(out_w);
        // Columns whose rightmost tap is inside: ox·sw + (kw-1)·dw < pl + in_w (no overflow:
        // pl + in_w <= padded width, validated).
        let span = (kw - 1) * dw;
        let limit = pl + in_w;
        let ox_hi = if limit > span { (limit - span - 1) / sw + 1 } else { 0 }.clamp(ox_lo, out_w);
        Self {
            batch: g.batch,
            c: g.in_c,
            full_tiles: g.in_c / CT,
            rem: g.in_c % CT,
            tile_len,
            in_h: g.in_h,
            in_w,
            out_h,
            out_w,
            kh: g.kernel_h,
            kw,
            sh: g.stride_h,
            sw,
            dh: g.dilation_h,
            dw,
            pt: g.padding.top,
            pl,
            ox_lo,
            ox_hi,
        }
    }
}

/// The taps `t` in `t0..t1` (a subrange of `0..k`) whose padded position `pos + t·dil` lies
/// inside the input, i.e. in `pad..pad + extent`. All in `usize`: `pos + (k-1)·dil` is below
/// the padded extent, which the geometry's validation proved fits.
#[inline]
pub(crate) fn tap_range(pos: usize, pad: usize, extent: usize, k: usize, dil: usize) -> (usize, usize) {
    let end = pad + extent;
    let (t0, t1) = if dil == 1 {
        (pad.saturating_sub(pos), end.saturating_sub(pos).min(k))
    } else {
        let t0 = if pos >= pad { 0 } else { (pad - pos - 1) / dil + 1 };
        (t0, if pos >= end { 0 } else { ((end - pos - 1) / dil + 1).min(k) })
    };
    (t0.min(t1), t1)
}

/// Read-only state shared by the row kernels of one call.
struct Ctx {
    p: Plan,
    packed: *const f32,
    lo: __m256,
    hi: __m256,
    /// Lanes `0..rem` set (all lanes when `rem == 0`).
    mask: __m256i,
}

/// One output row of one image.
struct Row {
    /// First element of the image in the input.
    img: *const f32,
    /// `oy · stride_h`: the padded row of kernel row 0.
    pos: usize,
    /// Valid kernel rows `ky0..ky1` (non-empty).
    ky0: usize,
    ky1: usize,
    /// Start of input row `pos + (ky0 + r)·dh − pt`, for `r < ky1 − ky0` (fast path only).
    rows: [*const f32; MAX_FAST_K],
    /// First element of the output row.
    out: *mut f32,
}

/// A row kernel: computes one output row for every channel tile.
type RowFn = unsafe fn(&Ctx, &Row);

/// Loads 8 floats, or only the lanes of `mask` when `M` (the others read as 0, not accessed).
///
/// # Safety
/// AVX2 available; `p..p + 8` readable (when `!M`) or `p..p + rem` readable (when `M`).
#[inline(always)]
unsafe fn ld<const M: bool>(p: *const f32, mask: __m256i) -> __m256 {
    // SAFETY: the caller guarantees the CPU features and that the accessed lanes are readable;
    // masked-off lanes are not accessed by vmaskmovps.
    unsafe { if M { _mm256_maskload_ps(p, mask) } else { _mm256_loadu_ps(p) } }
}

/// Applies the clamp and stores 8 floats (or the lanes of `mask` when `M`).
///
/// # Safety
/// AVX2 available; `p..p + 8` writable (when `!M`) or `p..p + rem` writable (when `M`).
#[inline(always)]
unsafe fn st<const M: bool>(p: *mut f32, acc: __m256, cx: &Ctx) {
    // SAFETY: the caller guarantees the CPU features and that the written lanes are writable;
    // masked-off lanes are not accessed. The bound is the first operand of max/min, so a NaN
    // accumulator propagates.
    unsafe {
        let v = _mm256_min_ps(cx.hi, _mm256_max_ps(cx.lo, acc));
        if M { _mm256_maskstore_ps(p, cx.mask, v) } else { _mm256_storeu_ps(p, v) }
    }
}

/// Entry of the target-feature code: loops over images and output rows and dispatches each
/// row to its kernel.
///
/// # Safety
/// AVX2 and FMA available; `input`, `packed` and `output` have the lengths the geometry behind
/// `p` implies (with this tier's packed layout).
#[target_feature(enable = "avx2,fma")]
unsafe fn run(p: &Plan, input: &[f32], packed: &[f32], lo: f32, hi: f32, output: &mut [f32]) {
    let mask = if p.rem == 0 {
        // SAFETY: MASK_TABLE has 16 elements; 0..8 is in bounds.
        unsafe { _mm256_loadu_si256(MASK_TABLE.as_ptr().cast()) }
    } else {
        // SAFETY: 8 - rem is in 1..8, so the 8 lanes read are in bounds of the 16.
        unsafe { _mm256_loadu_si256(MASK_TABLE.as_ptr().add(CT - p.rem).cast()) }
    };
    let cx = Ctx { p: *p, packed: packed.as_ptr(), lo: _mm256_set1_ps(lo), hi: _mm256_set1_ps(hi), mask };
    let fast = p.kh == p.kw && p.kw <= MAX_FAST_K && p.dw == 1 && (p.sw == 1 || p.sw == 2);
    let img_in = p.in_h * p.in_w * p.c;
    let img_out = p.out_h * p.out_w * p.c;
    let row_out = p.out_w * p.c;
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            let pos = oy * p.sh;
            let (ky0, ky1) = tap_range(pos, p.pt, p.in_h, p.kh, p.dh);
            // SAFETY: n < batch and oy < out_h, so both offsets are within the slices (the
            // output row has out_w·C elements; an image of the input starts below its length).
            let (img, out) = unsafe {
                (input.as_ptr().add(n * img_in), output.as_mut_ptr().add(n * img_out + oy * row_out))
            };
            let mut row = Row { img, pos, ky0, ky1, rows: [img; MAX_FAST_K], out };
            if ky0 == ky1 {
                // SAFETY: features checked by the caller; the row is out_w·C writable floats.
                unsafe { bias_row(&cx, &row) };
                continue;
            }
            let f = if fast { fast_row_fn(p.kw, p.sw, ky1 - ky0) } else { None };
            match f {
                Some(f) => {
                    for (r, slot) in row.rows.iter_mut().enumerate().take(ky1 - ky0) {
                        let iy = pos + (ky0 + r) * p.dh - p.pt;
                        // SAFETY: ky0 + r < ky1, so iy is a valid input row (tap_range).
                        *slot = unsafe { img.add(iy * p.in_w * p.c) };
                    }
                    // SAFETY: features checked; the row kernel for (kw, sw, rows) matches the
                    // plan and the row pointers were just set for every valid kernel row.
                    unsafe { f(&cx, &row) }
                }
                // SAFETY: as above; the generic kernel handles any geometry.
                None => unsafe { generic_row(&cx, &row) },
            }
        }
    }
}

/// Picks the specialised row kernel for a `kw × kw` kernel with horizontal stride `sw`
/// (dilation 1) and `r` valid kernel rows.
fn fast_row_fn(kw: usize, sw: usize, r: usize) -> Option<RowFn> {
    macro_rules! pick {
        ($k:literal, $s:literal, $b:ident; $($r:literal)*) => {
            match r { $($r => Some(fast_row::<$k, $r, $s, $b> as RowFn),)* _ => None }
        };
    }
    match (kw, sw) {
        (3, 1) => pick!(3, 1, B31; 1 2 3),
        (3, 2) => pick!(3, 2, B32; 1 2 3),
        (5, 1) => pick!(5, 1, B51; 1 2 3 4 5),
        (5, 2) => pick!(5, 2, B52; 1 2 3 4 5),
        (7, 1) => pick!(7, 1, B71; 1 2 3 4 5 6 7),
        (7, 2) => pick!(7, 2, B72; 1 2 3 4 5 6 7),
        _ => None,
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// AVX2 available; `row.out` has `out_w · C` writable floats; `cx.packed` is a packed buffer
/// for `cx.p`.
#[target_feature(enable = "avx2,fma")]
unsafe fn bias_row(cx: &Ctx, row: &Row) {
    let p = &cx.p;
    for t in 0..p.full_tiles + usize::from(p.rem != 0) {
        // SAFETY: tile t exists in the packed buffer; its bias is its first 8 floats.
        let bias = unsafe { _mm256_loadu_ps(cx.packed.add(t * p.tile_len)) };
        for ox in 0..p.out_w {
            // SAFETY: ox < out_w and the tile's lanes (all 8, or rem in the masked last tile)
            // are inside the row.
            unsafe {
                let o = row.out.add(ox * p.c + t * CT);
                if t < p.full_tiles { st::<false>(o, bias, cx) } else { st::<true>(o, bias, cx) }
            }
        }
    }
}

/// One output pixel of one channel tile, visiting only its valid taps (border pixels).
///
/// # Safety
/// AVX2 and FMA available; `row` describes a valid output row of `cx.p` with a non-empty
/// kernel-row range, `ox < out_w`, `t` a tile index (the masked last tile iff `M`).
#[target_feature(enable = "avx2,fma")]
unsafe fn border_pixel<const M: bool>(cx: &Ctx, row: &Row, t: usize, ox: usize) {
    let p = &cx.p;
    let (kx0, kx1) = tap_range(ox * p.sw, p.pl, p.in_w, p.kw, p.dw);
    // SAFETY: tile t exists in the packed buffer.
    let wt = unsafe { cx.packed.add(t * p.tile_len) };
    // SAFETY: the bias is the tile's first 8 floats.
    let mut acc = unsafe { _mm256_loadu_ps(wt) };
    for ky in row.ky0..row.ky1 {
        let iy = row.pos + ky * p.dh - p.pt;
        for kx in kx0..kx1 {
            let ix = ox * p.sw + kx * p.dw - p.pl;
            // SAFETY: (iy, ix) is inside the input image (tap_range) and the tile's lanes are
            // in the pixel; the weight vector is inside the tile.
            acc = unsafe {
                let x = ld::<M>(row.img.add((iy * p.in_w + ix) * p.c + t * CT), cx.mask);
                _mm256_fmadd_ps(x, _mm256_loadu_ps(wt.add(CT * (1 + ky * p.kw + kx))), acc)
            };
        }
    }
    // SAFETY: the pixel's tile lanes are inside the output row.
    unsafe { st::<M>(row.out.add(ox * p.c + t * CT), acc, cx) };
}

/// Border pixels `ox0..ox1` of one tile.
///
/// # Safety
/// As [`border_pixel`], for every `ox` in the range.
#[inline(always)]
unsafe fn border_pixels<const M: bool>(cx: &Ctx, row: &Row, t: usize, ox0: usize, ox1: usize) {
    for ox in ox0..ox1 {
        // SAFETY: forwarded from the caller.
        unsafe { border_pixel::<M>(cx, row, t, ox) };
    }
}

/// `B` interior output pixels × 8 channels with the weights of `R` kernel rows in registers.
///
/// `rows[r] + off` is the first tap of the first pixel in kernel row `r`; pixel `j`, tap `kx`
/// reads `rows[r] + off + (j·S + kx)·cs`.
///
/// # Safety
/// AVX2 and FMA available; every such address (8 lanes, or the masked lanes when `M`) is
/// inside the input; `out + j·cs` (same lanes) inside the output for `j < B`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const KW: usize, const R: usize, const S: usize, const B: usize, const M: bool>(
    cx: &Ctx,
    rows: &[*const f32; MAX_FAST_K],
    off: usize,
    cs: usize,
    w: &[[__m256; KW]; R],
    bias: __m256,
    out: *mut f32,
) {
    // SAFETY: the caller guarantees features and bounds (see above).
    unsafe {
        let mut acc = [bias; B];
        for (r, wr) in w.iter().enumerate() {
            let base = rows[r].add(off);
            for (kx, &wv) in wr.iter().enumerate() {
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(ld::<M>(base.add((j * S + kx) * cs), cx.mask), wv, *a);
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            st::<M>(out.add(j * cs), a, cx);
        }
    }
}

/// One border output pixel × 8 channels of the specialised path: the weights are the
/// registers of the row, and only the horizontal taps inside the input are visited (a tap
/// test per tap, outside the interior loop). Four accumulators (one per kernel row mod 4)
/// shorten the dependency chain.
///
/// # Safety
/// As [`fast_row`]; `ox < out_w`, `tile` the first channel of a tile (masked iff `M`).
#[inline(always)]
unsafe fn edge_pixel<const KW: usize, const R: usize, const S: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    ox: usize,
    tile: usize,
    w: &[[__m256; KW]; R],
    bias: __m256,
) {
    let p = &cx.p;
    let cs = p.c;
    let pos = ox * S;
    // Horizontal dilation 1: tap kx is inside iff pl <= pos + kx < pl + in_w.
    let kx0 = p.pl.saturating_sub(pos);
    let kx1 = (p.pl + p.in_w).saturating_sub(pos).min(KW);
    // SAFETY: features from the caller; every visited tap has pos + kx - pl inside the input
    // row, the row pointers are valid input rows and the tile's lanes are inside the pixel.
    unsafe {
        let z = _mm256_setzero_ps();
        let mut acc = [bias, z, z, z];
        for (r, wr) in w.iter().enumerate() {
            for (kx, &wv) in wr.iter().enumerate() {
                if kx >= kx0 && kx < kx1 {
                    let x = ld::<M>(row.rows[r].add((pos + kx - p.pl) * cs + tile), cx.mask);
                    acc[r & 3] = _mm256_fmadd_ps(x, wv, acc[r & 3]);
                }
            }
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        st::<M>(row.out.add(ox * cs + tile), sum, cx);
    }
}

/// `E` consecutive border output pixels from `ox` × 8 channels of the specialised path: like
/// [`edge_pixel`] with one accumulator per pixel (independent chains), each pixel testing its
/// own taps.
///
/// # Safety
/// As [`fast_row`]; `ox + E <= out_w`, `tile` the first channel of a tile (masked iff `M`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn edge_block<const KW: usize, const R: usize, const S: usize, const E: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    ox: usize,
    tile: usize,
    w: &[[__m256; KW]; R],
    bias: __m256,
) {
    let p = &cx.p;
    let cs = p.c;
    let end = p.pl + p.in_w;
    // SAFETY: features from the caller; a tap is visited only when pl <= pos + kx < pl + in_w,
    // i.e. inside the input row; the row pointers are valid input rows and the tile's lanes are
    // inside the pixel.
    unsafe {
        let mut acc = [bias; E];
        for (r, wr) in w.iter().enumerate() {
            for (kx, &wv) in wr.iter().enumerate() {
                for (j, a) in acc.iter_mut().enumerate() {
                    let at = (ox + j) * S + kx;
                    if at >= p.pl && at < end {
                        let x = ld::<M>(row.rows[r].add((at - p.pl) * cs + tile), cx.mask);
                        *a = _mm256_fmadd_ps(x, wv, *a);
                    }
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            st::<M>(row.out.add((ox + j) * cs + tile), a, cx);
        }
    }
}

/// Border output pixels `ox0..ox1` of one tile: for 5×5 and 7×7 blocks of 4 and 2, then
/// single pixels.
///
/// # Safety
/// As [`fast_row`]; `ox1 <= out_w`, `tile` the first channel of a tile (masked iff `M`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn edge_range<const KW: usize, const R: usize, const S: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    ox0: usize,
    ox1: usize,
    tile: usize,
    w: &[[__m256; KW]; R],
    bias: __m256,
) {
    let mut ox = ox0;
    // SAFETY: forwarded from the caller; every block stays below ox1.
    unsafe {
        // Only the 5×5 and 7×7 kernels gain from blocks (their border runs are longer and a
        // single pixel's chain is long); for 3×3 the extra code slowed the interior down.
        if KW >= 5 {
            while ox + 4 <= ox1 {
                edge_block::<KW, R, S, 4, M>(cx, row, ox, tile, w, bias);
                ox += 4;
            }
            if ox + 2 <= ox1 {
                edge_block::<KW, R, S, 2, M>(cx, row, ox, tile, w, bias);
                ox += 2;
            }
        }
        while ox < ox1 {
            edge_pixel::<KW, R, S, M>(cx, row, ox, tile, w, bias);
            ox += 1;
        }
    }
}

/// One output row, one channel tile, `KW × KW` kernel with `R` valid rows, stride `S`.
///
/// # Safety
/// As [`fast_row`], for tile `t` (the masked last tile iff `M`).
#[inline(always)]
unsafe fn fast_tile<const KW: usize, const R: usize, const S: usize, const B: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    t: usize,
) {
    let p = &cx.p;
    let cs = p.c;
    // SAFETY: the caller guarantees features and bounds; tile t exists in the packed buffer
    // and its kernel rows ky0..ky0+R are inside it; interior pixels have every tap inside
    // the input (Plan::ox_lo/ox_hi), so `block`'s addresses are in bounds.
    unsafe {
        let wt = cx.packed.add(t * p.tile_len);
        let bias = _mm256_loadu_ps(wt);
        let mut w = [[_mm256_setzero_ps(); KW]; R];
        for (r, wr) in w.iter_mut().enumerate() {
            for (kx, v) in wr.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(wt.add(CT * (1 + (row.ky0 + r) * KW + kx)));
            }
        }
        let tile = t * CT;
        edge_range::<KW, R, S, M>(cx, row, 0, p.ox_lo, tile, &w, bias);
        let mut ox = p.ox_lo;
        while ox + B <= p.ox_hi {
            let off = (ox * S - p.pl) * cs + tile;
            block::<KW, R, S, B, M>(cx, &row.rows, off, cs, &w, bias, row.out.add(ox * cs + tile));
            ox += B;
        }
        // The remainder (< B <= 8 pixels) as blocks of 4, 2 and 1.
        let left = p.ox_hi - ox;
        if left & 4 != 0 {
            let off = (ox * S - p.pl) * cs + tile;
            block::<KW, R, S, 4, M>(cx, &row.rows, off, cs, &w, bias, row.out.add(ox * cs + tile));
            ox += 4;
        }
        if left & 2 != 0 {
            let off = (ox * S - p.pl) * cs + tile;
            block::<KW, R, S, 2, M>(cx, &row.rows, off, cs, &w, bias, row.out.add(ox * cs + tile));
            ox += 2;
        }
        if left & 1 != 0 {
            let off = (ox * S - p.pl) * cs + tile;
            block::<KW, R, S, 1, M>(cx, &row.rows, off, cs, &w, bias, row.out.add(ox * cs + tile));
        }
        edge_range::<KW, R, S, M>(cx, row, p.ox_hi, p.out_w, tile, &w, bias);
    }
}

/// One output row of a `KW × KW` kernel (horizontal dilation 1, stride `S`) whose kernel rows
/// `ky0..ky0 + R` are inside the input, for every channel tile.
///
/// # Safety
/// AVX2 and FMA available; `cx.p` has `kh == kw == KW`, `sw == S`, `dw == 1`; `row` is an
/// output row of it with `ky1 − ky0 == R` and `row.rows[r]` the start of input row
/// `pos + (ky0 + r)·dh − pt` for `r < R`; `row.out` has `out_w · C` writable floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn fast_row<const KW: usize, const R: usize, const S: usize, const B: usize>(cx: &Ctx, row: &Row) {
    for t in 0..cx.p.full_tiles {
        // SAFETY: forwarded; t is a full tile.
        unsafe { fast_tile::<KW, R, S, B, false>(cx, row, t) };
    }
    if cx.p.rem != 0 {
        // SAFETY: forwarded; the last tile is partial and masked.
        unsafe { fast_tile::<KW, R, S, B, true>(cx, row, cx.p.full_tiles) };
    }
}

/// `B` interior output pixels × 8 channels for any kernel, stride and dilation (run-time tap
/// loops; each weight vector loaded once feeds the `B` pixels).
///
/// # Safety
/// AVX2 and FMA available; `row` valid, `ox..ox + B` interior columns (every tap inside the
/// input), `t` a tile (the masked last tile iff `M`).
#[inline(always)]
unsafe fn generic_block<const B: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    t: usize,
    ox: usize,
    bias: __m256,
) {
    let p = &cx.p;
    let cs = p.c;
    let xs = p.sw * cs;
    let xd = p.dw * cs;
    // SAFETY: features from the caller; every (iy, ix) visited is inside the input (valid
    // kernel rows, interior columns) and every weight index inside tile t.
    unsafe {
        let wt = cx.packed.add(t * p.tile_len + CT);
        let mut acc = [bias; B];
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * p.dh - p.pt;
            let base = row.img.add((iy * p.in_w + ox * p.sw - p.pl) * cs + t * CT);
            let wr = wt.add(ky * p.kw * CT);
            for kx in 0..p.kw {
                let w = _mm256_loadu_ps(wr.add(kx * CT));
                let px = base.add(kx * xd);
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(ld::<M>(px.add(j * xs), cx.mask), w, *a);
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            st::<M>(row.out.add((ox + j) * cs + t * CT), a, cx);
        }
    }
}

/// One output row, one channel tile, any geometry.
///
/// # Safety
/// As [`generic_row`], for tile `t` (the masked last tile iff `M`).
#[inline(always)]
unsafe fn generic_tile<const M: bool>(cx: &Ctx, row: &Row, t: usize) {
    let p = &cx.p;
    // SAFETY: forwarded from the caller; ox_lo..ox_hi are interior columns.
    unsafe {
        let bias = _mm256_loadu_ps(cx.packed.add(t * p.tile_len));
        border_pixels::<M>(cx, row, t, 0, p.ox_lo);
        let mut ox = p.ox_lo;
        while ox + NC <= p.ox_hi {
            generic_block::<NC, M>(cx, row, t, ox, bias);
            ox += NC;
        }
        while ox < p.ox_hi {
            generic_block::<1, M>(cx, row, t, ox, bias);
            ox += 1;
        }
        border_pixels::<M>(cx, row, t, p.ox_hi, p.out_w);
    }
}

/// One output row for every channel tile, any kernel size, stride and dilation.
///
/// # Safety
/// AVX2 and FMA available; `row` is an output row of `cx.p` with a non-empty kernel-row range
/// and `row.out` has `out_w · C` writable floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn generic_row(cx: &Ctx, row: &Row) {
    for t in 0..cx.p.full_tiles {
        // SAFETY: forwarded; t is a full tile.
        unsafe { generic_tile::<false>(cx, row, t) };
    }
    if cx.p.rem != 0 {
        // SAFETY: forwarded; the last tile is partial and masked.
        unsafe { generic_tile::<true>(cx, row, cx.p.full_tiles) };
    }
}
