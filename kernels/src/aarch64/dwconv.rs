//! Depthwise k×k convolution (depth multiplier 1), NHWC, NEON.
//!
//! # Packed layout
//!
//! The channels are cut into tiles of 8 (two Q registers); the last tile is zero-padded when
//! `C % 8 != 0`. Tile `t` occupies `8 · (1 + kh·kw)` floats starting at `t · 8 · (1 + kh·kw)`:
//! `[bias × 8][tap 0 × 8][tap 1 × 8]…[tap kh·kw−1 × 8]`, taps in row-major `(ky, kx)` order
//! and lane `l` holding channel `8t + l` (zero for channels `>= C`, and a zero bias without
//! one). This is the same layout as the AVX2 tier, so both have the same packed length.
//!
//! # How it runs
//!
//! Each channel tile is seen through one of three "views": a full tile of 8 channels (two
//! vectors), a half tile of 4 channels (lanes 0..4 of the last tile when `C % 8 >= 4`), and a
//! tail of `C % 4` channels (1 to 3 lanes, read and written with lane loads/stores so that no
//! element outside the slices is touched; its weights are full vectors of the zero-padded
//! packed tile).
//!
//! For every output row the valid kernel rows `ky0..ky1` are computed once (taps that fall in
//! the top or bottom padding are never visited), and the output columns are split once per call
//! into a left border, an interior where every horizontal tap is inside the input, and a right
//! border. Border pixels visit only their valid taps; the interior loop has no padding branch.
//! Loop order: image, output row, channel tile, output columns, so the few input rows an output
//! row needs stay in cache while every tile sweeps them.
//!
//! - **3×3, 5×5 and 7×7, horizontal stride 1 or 2, horizontal dilation 1** (any vertical stride
//!   and dilation): the row kernel is instantiated (const generics) for the kernel size, the
//!   stride and the number of valid kernel rows. The interior is computed in register blocks of
//!   `B` output pixels: per kernel row the block sweeps the `(B−1)·S + k` input columns it
//!   needs, loading each input vector once and feeding it to every accumulator that uses it.
//!   For 3×3 the 9 weight vectors of the view (18 for a full tile) are loaded once per output
//!   row and tile and stay in registers: full tiles use `B = 4` (8 accumulators + 18 weights +
//!   2 input vectors = 28 of the 32 registers), so stride 1 does 36 FMAs for 18 input loads
//!   per kernel row. For 5×5 / 7×7 one kernel row of weights (10 / 14 vectors) is loaded per
//!   block and kernel row, and `B = 6` (12 accumulators). Half and tail views use `B = 8`
//!   (8 accumulators). Interior remainders reuse a full block shifted left (overlapping pixels
//!   are recomputed identically), or blocks of 4, 2, 1 when the interior is narrower than `B`.
//!   Border pixels split their taps over four accumulators.
//! - **Anything else** (other kernel sizes, strides ≥ 3, horizontal dilation ≥ 2, kh ≠ kw):
//!   the same border split with run-time tap loops; interior blocks of 4 output pixels (8 for
//!   half and tail views) share each weight load.
//!
//! The activation is `min(hi, max(lo, x))` with FMAX/FMIN, which return NaN when either
//! operand is NaN, so NaN propagates as in the reference.

use core::arch::aarch64::{
    float32x4_t, vaddq_f32, vcombine_f32, vdup_n_f32, vdupq_n_f32, vfmaq_f32, vget_low_f32, vld1_f32,
    vld1q_f32, vld1q_lane_f32, vmaxq_f32, vminq_f32, vst1_f32, vst1q_f32, vst1q_lane_f32,
};

use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

use crate::dwconv_layout::{CT, tile_len};
use crate::reference::check_depthwise;

/// Lanes of one Q register.
const LANES: usize = 4;

/// Interior block widths (output pixels) of full tiles in the specialised kernels, per
/// (k, stride).
const B31: usize = 4;
const B32: usize = 4;
const B51: usize = 6;
const B52: usize = 6;
const B71: usize = 6;
const B72: usize = 6;
/// Interior block width of half and tail views (one vector per pixel) in every path.
const B_HALF: usize = 8;
/// Interior block width of full tiles in the generic path.
const NC: usize = 4;

/// Largest kernel size with a specialised row kernel.
const MAX_FAST_K: usize = 7;

/// Largest kernel size whose whole weight set stays in registers for an output row.
const HOIST_K: usize = 3;

/// Length of the NEON tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)` (see
/// the module docs for the layout).
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub fn dwconv_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    crate::dwconv_layout::packed_len(g)
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
/// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, taps row-major,
/// zero-padded at the channel remainder (see the module docs).
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
/// Any batch, kernel size, stride, dilation and 4-sided padding. Errors: an invalid or
/// non-depthwise geometry, an invalid clamp, `packed`, `input` or `output` of the wrong length
/// ([`KernelError::LengthMismatch`]), or a CPU without NEON ([`KernelError::IsaUnavailable`]);
/// nothing is written then.
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
    // SAFETY: the CPU has NEON (ensure_available above); `input`, `packed` and `output` have
    // exactly the lengths the validated geometry implies (checked above), and every index the
    // kernels form is derived from that geometry (see `Plan`).
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
    /// True when the last tile has at least 4 channels (a half view of 4 channels).
    half: bool,
    /// Channels of the tail view: `C % 4` (0 when there is none).
    tail: usize,
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
            half: g.in_c % CT >= LANES,
            tail: g.in_c % LANES,
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

/// A view of one channel tile: `W` vectors (8 or 4 channels), or, for the masked tail
/// (`M`), one vector of which only the first `Ctx::tail` lanes exist in the tensors.
#[derive(Clone, Copy)]
struct View {
    /// First channel of the view.
    ch: usize,
    /// Its bias in the packed buffer; tap `i`'s weights are at `wt + 8·(1 + i)`.
    wt: *const f32,
}

/// Read-only state shared by the row kernels of one call.
struct Ctx {
    p: Plan,
    packed: *const f32,
    lo: float32x4_t,
    hi: float32x4_t,
    /// The half view (4 channels), if `C % 8 >= 4`.
    half: Option<View>,
    /// The tail view (`C % 4` channels), if `C % 4 != 0`.
    tail: Option<View>,
}

impl Ctx {
    /// The view of full tile `t < full_tiles`.
    #[inline(always)]
    fn full(&self, t: usize) -> View {
        // wrapping_add: no dereference here; t < full_tiles keeps the tile inside `packed`.
        View { ch: t * CT, wt: self.packed.wrapping_add(t * self.p.tile_len) }
    }
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

/// A row kernel: computes one output row for every channel view.
type RowFn = unsafe fn(&Ctx, &Row);

/// `W` vectors: the lanes of one pixel's view.
type Vecs<const W: usize> = [float32x4_t; W];

/// Loads one vector, or only its first `n` (1..=3) lanes when `M` (the others are 0 and the
/// memory past them is not accessed).
///
/// # Safety
/// NEON available; `p..p + 4` readable (when `!M`) or `p..p + n` readable (when `M`).
#[inline(always)]
unsafe fn ld<const M: bool>(p: *const f32, n: usize) -> float32x4_t {
    // SAFETY: the caller guarantees the CPU feature and that the accessed lanes are readable;
    // the lane loads below touch exactly lanes 0..n.
    unsafe {
        if !M {
            return vld1q_f32(p);
        }
        let z = vdup_n_f32(0.0);
        match n {
            1 => vld1q_lane_f32::<0>(p, vdupq_n_f32(0.0)),
            2 => vcombine_f32(vld1_f32(p), z),
            _ => vld1q_lane_f32::<2>(p.add(2), vcombine_f32(vld1_f32(p), z)),
        }
    }
}

/// Loads the `W` vectors of one pixel's view at `p` (masked as [`ld`] when `M`).
///
/// # Safety
/// As [`ld`] for each of `p`, `p + 4`, … `p + 4·(W−1)`.
#[inline(always)]
unsafe fn ldw<const W: usize, const M: bool>(p: *const f32, n: usize) -> Vecs<W> {
    // SAFETY: NEON available (the caller's contract); no memory access.
    let mut v = [unsafe { vdupq_n_f32(0.0) }; W];
    for (i, x) in v.iter_mut().enumerate() {
        // SAFETY: forwarded from the caller.
        *x = unsafe { ld::<M>(p.add(i * LANES), n) };
    }
    v
}

/// Loads `W` full weight (or bias) vectors from the packed buffer.
///
/// # Safety
/// NEON available; `p..p + 4·W` readable.
#[inline(always)]
unsafe fn ldp<const W: usize>(p: *const f32) -> Vecs<W> {
    // SAFETY: forwarded from the caller.
    unsafe { ldw::<W, false>(p, 0) }
}

/// `acc += x · w`, lane-wise over the `W` vectors.
///
/// # Safety
/// NEON available.
#[inline(always)]
unsafe fn fmaw<const W: usize>(acc: &mut Vecs<W>, x: &Vecs<W>, w: &Vecs<W>) {
    for ((a, &xv), &wv) in acc.iter_mut().zip(x).zip(w) {
        // SAFETY: NEON available (the caller's contract); no memory access.
        *a = unsafe { vfmaq_f32(*a, xv, wv) };
    }
}

/// Applies the clamp and stores the `W` vectors (only the first `n` lanes when `M`).
///
/// # Safety
/// NEON available; `p..p + 4·W` writable (when `!M`) or `p..p + n` writable (when `M`).
#[inline(always)]
unsafe fn stw<const W: usize, const M: bool>(p: *mut f32, acc: &Vecs<W>, cx: &Ctx, n: usize) {
    for (i, &a) in acc.iter().enumerate() {
        // SAFETY: the caller guarantees the CPU feature and that the written lanes are
        // writable; the lane stores touch exactly lanes 0..n. The bound is the first operand
        // of max/min (FMAX/FMIN return NaN for a NaN operand), so a NaN accumulator propagates.
        unsafe {
            let v = vminq_f32(cx.hi, vmaxq_f32(cx.lo, a));
            let q = p.add(i * LANES);
            if !M {
                vst1q_f32(q, v);
            } else {
                match n {
                    1 => vst1q_lane_f32::<0>(q, v),
                    2 => vst1_f32(q, vget_low_f32(v)),
                    _ => {
                        vst1_f32(q, vget_low_f32(v));
                        vst1q_lane_f32::<2>(q.add(2), v);
                    }
                }
            }
        }
    }
}

/// Entry of the target-feature code: loops over images and output rows and dispatches each
/// row to its kernel.
///
/// # Safety
/// NEON available; `input`, `packed` and `output` have the lengths the geometry behind `p`
/// implies (with this tier's packed layout).
#[target_feature(enable = "neon")]
unsafe fn run(p: &Plan, input: &[f32], packed: &[f32], lo: f32, hi: f32, output: &mut [f32]) {
    let last = packed.as_ptr().wrapping_add(p.full_tiles * p.tile_len);
    let cx = Ctx {
        p: *p,
        packed: packed.as_ptr(),
        lo: vdupq_n_f32(lo),
        hi: vdupq_n_f32(hi),
        half: p.half.then_some(View { ch: p.full_tiles * CT, wt: last }),
        tail: (p.tail != 0)
            .then(|| View { ch: p.c - p.tail, wt: last.wrapping_add(if p.half { LANES } else { 0 }) }),
    };
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
                // SAFETY: NEON checked by the caller; the row is out_w·C writable floats.
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
                    // SAFETY: NEON checked; the row kernel for (kw, sw, rows) matches the plan
                    // and the row pointers were just set for every valid kernel row.
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

/// `act(bias)` over `out_w` pixels of one view.
///
/// # Safety
/// NEON available; `out` has `out_w · C` writable floats; `v` is a view of `cx` (masked iff
/// `M`, `W` vectors).
#[inline(always)]
unsafe fn bias_view<const W: usize, const M: bool>(cx: &Ctx, out: *mut f32, v: View) {
    // SAFETY: the view's bias is W full vectors inside the packed tile; every pixel's view
    // lanes are inside the output row.
    unsafe {
        let bias = ldp::<W>(v.wt);
        for ox in 0..cx.p.out_w {
            stw::<W, M>(out.add(ox * cx.p.c + v.ch), &bias, cx, cx.p.tail);
        }
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// NEON available; `row.out` has `out_w · C` writable floats; `cx.packed` is a packed buffer
/// for `cx.p`.
#[target_feature(enable = "neon")]
unsafe fn bias_row(cx: &Ctx, row: &Row) {
    // SAFETY: forwarded; the views are those of the plan.
    unsafe {
        for t in 0..cx.p.full_tiles {
            bias_view::<2, false>(cx, row.out, cx.full(t));
        }
        if let Some(v) = cx.half {
            bias_view::<1, false>(cx, row.out, v);
        }
        if let Some(v) = cx.tail {
            bias_view::<1, true>(cx, row.out, v);
        }
    }
}

/// Runs `$body` with `$r` bound to each constant `0, 1, …, $n − 1` (`$n <= MAX_FAST_K`), fully
/// unrolled: every index into the per-row arrays is a constant, so LLVM keeps them in
/// registers (a rolled loop would index them in memory).
macro_rules! unroll_rows {
    ($n:expr, |$r:ident| $body:block) => {{
        const _: () = assert!(MAX_FAST_K == 7);
        if 0 < $n {
            let $r = 0;
            $body
        }
        if 1 < $n {
            let $r = 1;
            $body
        }
        if 2 < $n {
            let $r = 2;
            $body
        }
        if 3 < $n {
            let $r = 3;
            $body
        }
        if 4 < $n {
            let $r = 4;
            $body
        }
        if 5 < $n {
            let $r = 5;
            $body
        }
        if 6 < $n {
            let $r = 6;
            $body
        }
    }};
}

/// Weights of kernel row `ky` of view `v`: `KW` taps × `W` vectors.
///
/// # Safety
/// NEON available; `ky < kh` of a plan with `kw == KW`, `v` a view of it.
#[inline(always)]
unsafe fn wrow<const KW: usize, const W: usize>(v: View, ky: usize) -> [Vecs<W>; KW] {
    // SAFETY: NEON available (the caller's contract); no memory access.
    let mut w = [[unsafe { vdupq_n_f32(0.0) }; W]; KW];
    for (kx, wv) in w.iter_mut().enumerate() {
        // SAFETY: tap ky·KW + kx < kh·kw is inside the tile; a view's W vectors are inside the
        // 8 lanes of the tap.
        *wv = unsafe { ldp::<W>(v.wt.add(CT * (1 + ky * KW + kx))) };
    }
    w
}

/// The weights of valid kernel row `r` (`ky0 + r`): from the registers loaded once per row
/// and view for 3×3, else loaded now.
///
/// # Safety
/// As [`wrow`] for `ky0 + r`.
#[inline(always)]
unsafe fn wsel<const KW: usize, const R: usize, const W: usize>(
    hoisted: &[[Vecs<W>; KW]; R],
    v: View,
    ky0: usize,
    r: usize,
) -> [Vecs<W>; KW] {
    // SAFETY: forwarded from the caller.
    if KW <= HOIST_K { hoisted[r] } else { unsafe { wrow::<KW, W>(v, ky0 + r) } }
}

/// Accumulates one kernel row into `B` interior pixels: sweeps the `(B−1)·S + KW` input
/// columns from `base` (column stride `cs`) once, each loaded vector feeding every pixel `j`
/// whose tap `kx = c − j·S` is in `0..KW`.
///
/// # Safety
/// NEON available; every column `base + c·cs` (its `W` vectors, or `n` lanes when `M`) is
/// readable.
#[inline(always)]
unsafe fn row_accum<const KW: usize, const S: usize, const B: usize, const W: usize, const M: bool>(
    acc: &mut [Vecs<W>; B],
    base: *const f32,
    cs: usize,
    n: usize,
    w: &[Vecs<W>; KW],
) {
    for c in 0..(B - 1) * S + KW {
        // SAFETY: forwarded from the caller (NEON, readable columns).
        unsafe {
            let x = ldw::<W, M>(base.add(c * cs), n);
            for (j, a) in acc.iter_mut().enumerate() {
                if c >= j * S && c - j * S < KW {
                    fmaw(a, &x, &w[c - j * S]);
                }
            }
        }
    }
}

/// `B` interior output pixels from `ox` of view `v`, `R` valid kernel rows (the bias is read
/// from the view's packed tile).
///
/// # Safety
/// As [`fast_row`]; `ox..ox + B` interior columns (`ox_lo <= ox`, `ox + B <= ox_hi`).
#[inline(always)]
unsafe fn block<
    const KW: usize,
    const R: usize,
    const S: usize,
    const B: usize,
    const W: usize,
    const M: bool,
>(
    cx: &Ctx,
    row: &Row,
    v: View,
    ox: usize,
    hoisted: &[[Vecs<W>; KW]; R],
) {
    let p = &cx.p;
    let cs = p.c;
    let off = (ox * S - p.pl) * cs + v.ch;
    // SAFETY: interior pixels have every tap inside the input (Plan::ox_lo/ox_hi), the row
    // pointers are valid input rows, and the view's lanes are inside each pixel; the outputs
    // ox..ox + B are inside the output row.
    unsafe {
        // The bias is reloaded per block (one load) rather than kept in two registers: with
        // the 18 weight registers of a 3×3 full tile that avoids spills.
        let mut acc = [ldp::<W>(v.wt); B];
        unroll_rows!(R, |r| {
            let w = wsel::<KW, R, W>(hoisted, v, row.ky0, r);
            row_accum::<KW, S, B, W, M>(&mut acc, row.rows[r].add(off), cs, p.tail, &w);
        });
        for (j, a) in acc.iter().enumerate() {
            stw::<W, M>(row.out.add((ox + j) * cs + v.ch), a, cx, p.tail);
        }
    }
}

/// One border output pixel of the specialised path: only the horizontal taps inside the
/// input are visited; four accumulators (kernel row mod 4) shorten the dependency chain.
///
/// # Safety
/// As [`fast_row`]; `ox < out_w`.
#[inline(always)]
unsafe fn edge_pixel<const KW: usize, const R: usize, const S: usize, const W: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    v: View,
    ox: usize,
    hoisted: &[[Vecs<W>; KW]; R],
    bias: Vecs<W>,
) {
    let p = &cx.p;
    let cs = p.c;
    let pos = ox * S;
    // Horizontal dilation 1: tap kx is inside iff pl <= pos + kx < pl + in_w.
    let kx0 = p.pl.saturating_sub(pos);
    let kx1 = (p.pl + p.in_w).saturating_sub(pos).min(KW);
    // SAFETY: NEON available (the caller's contract); no memory access.
    let z = [unsafe { vdupq_n_f32(0.0) }; W];
    let mut acc = [bias, z, z, z];
    // SAFETY: every visited tap has pos + kx - pl inside the input row, the row pointers are
    // valid input rows and the view's lanes are inside the pixel; the output pixel is inside
    // the output row.
    unsafe {
        unroll_rows!(R, |r| {
            let w = wsel::<KW, R, W>(hoisted, v, row.ky0, r);
            for (kx, wk) in w.iter().enumerate().take(kx1).skip(kx0) {
                let x = ldw::<W, M>(row.rows[r].add((pos + kx - p.pl) * cs + v.ch), p.tail);
                fmaw(&mut acc[r & 3], &x, wk);
            }
        });
        let mut sum = [vdupq_n_f32(0.0); W];
        for (i, s) in sum.iter_mut().enumerate() {
            *s = vaddq_f32(vaddq_f32(acc[0][i], acc[1][i]), vaddq_f32(acc[2][i], acc[3][i]));
        }
        stw::<W, M>(row.out.add(ox * cs + v.ch), &sum, cx, p.tail);
    }
}

/// One output row, one view, `KW × KW` kernel with `R` valid rows, stride `S`, interior
/// blocks of `B` pixels.
///
/// # Safety
/// As [`fast_row`]; `v` a view of the plan (`W` vectors, masked iff `M`).
#[inline(always)]
unsafe fn fast_view<
    const KW: usize,
    const R: usize,
    const S: usize,
    const B: usize,
    const W: usize,
    const M: bool,
>(
    cx: &Ctx,
    row: &Row,
    v: View,
) {
    let p = &cx.p;
    // SAFETY: the caller guarantees NEON and bounds; the view's bias and kernel rows
    // ky0..ky0+R are inside its packed tile; the blocks cover interior columns only and the
    // edge pixels the border columns.
    unsafe {
        let bias = ldp::<W>(v.wt);
        let mut hoisted = [[[vdupq_n_f32(0.0); W]; KW]; R];
        if KW <= HOIST_K {
            unroll_rows!(R, |r| {
                hoisted[r] = wrow::<KW, W>(v, row.ky0 + r);
            });
        }
        for ox in 0..p.ox_lo {
            edge_pixel::<KW, R, S, W, M>(cx, row, v, ox, &hoisted, bias);
        }
        let (lo, hi) = (p.ox_lo, p.ox_hi);
        let mut ox = lo;
        if hi - lo >= B {
            while ox + B <= hi {
                block::<KW, R, S, B, W, M>(cx, row, v, ox, &hoisted);
                ox += B;
            }
            if ox < hi {
                // The remainder as one block ending at hi: its first pixels are recomputed
                // with the same operations, so they are stored again with the same values.
                block::<KW, R, S, B, W, M>(cx, row, v, hi - B, &hoisted);
            }
        } else {
            // Fewer than B <= 8 interior pixels: blocks of 4, 2 and 1.
            if hi - ox >= 4 {
                block::<KW, R, S, 4, W, M>(cx, row, v, ox, &hoisted);
                ox += 4;
            }
            if hi - ox >= 2 {
                block::<KW, R, S, 2, W, M>(cx, row, v, ox, &hoisted);
                ox += 2;
            }
            if hi - ox >= 1 {
                block::<KW, R, S, 1, W, M>(cx, row, v, ox, &hoisted);
            }
        }
        for ox in hi..p.out_w {
            edge_pixel::<KW, R, S, W, M>(cx, row, v, ox, &hoisted, bias);
        }
    }
}

/// One output row of a `KW × KW` kernel (horizontal dilation 1, stride `S`) whose kernel rows
/// `ky0..ky0 + R` are inside the input, for every channel view; full tiles in blocks of `B`.
///
/// # Safety
/// NEON available; `cx.p` has `kh == kw == KW`, `sw == S`, `dw == 1`; `row` is an output row
/// of it with `ky1 − ky0 == R` and `row.rows[r]` the start of input row
/// `pos + (ky0 + r)·dh − pt` for `r < R`; `row.out` has `out_w · C` writable floats.
#[target_feature(enable = "neon")]
unsafe fn fast_row<const KW: usize, const R: usize, const S: usize, const B: usize>(cx: &Ctx, row: &Row) {
    // SAFETY: forwarded; the views are those of the plan.
    unsafe {
        for t in 0..cx.p.full_tiles {
            fast_view::<KW, R, S, B, 2, false>(cx, row, cx.full(t));
        }
        if let Some(v) = cx.half {
            fast_view::<KW, R, S, B_HALF, 1, false>(cx, row, v);
        }
        if let Some(v) = cx.tail {
            fast_view::<KW, R, S, B_HALF, 1, true>(cx, row, v);
        }
    }
}

/// One output pixel of one view for any geometry, visiting only its valid taps (border
/// pixels); two accumulators (kernel row parity).
///
/// # Safety
/// NEON available; `row` describes a valid output row of `cx.p` with a non-empty kernel-row
/// range, `ox < out_w`, `v` a view of the plan (`W` vectors, masked iff `M`).
#[inline(always)]
unsafe fn border_pixel<const W: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    v: View,
    ox: usize,
    bias: Vecs<W>,
) {
    let p = &cx.p;
    let (kx0, kx1) = tap_range(ox * p.sw, p.pl, p.in_w, p.kw, p.dw);
    // SAFETY: NEON available (the caller's contract); no memory access.
    let mut acc = [bias, [unsafe { vdupq_n_f32(0.0) }; W]];
    // SAFETY: (iy, ix) is inside the input image (tap_range) and the view's lanes are in the
    // pixel; the weight vectors are inside the tile; the output pixel is inside the row.
    unsafe {
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * p.dh - p.pt;
            for kx in kx0..kx1 {
                let ix = ox * p.sw + kx * p.dw - p.pl;
                let x = ldw::<W, M>(row.img.add((iy * p.in_w + ix) * p.c + v.ch), p.tail);
                let w = ldp::<W>(v.wt.add(CT * (1 + ky * p.kw + kx)));
                fmaw(&mut acc[ky & 1], &x, &w);
            }
        }
        let mut sum = acc[0];
        for (s, &b) in sum.iter_mut().zip(&acc[1]) {
            *s = vaddq_f32(*s, b);
        }
        stw::<W, M>(row.out.add(ox * p.c + v.ch), &sum, cx, p.tail);
    }
}

/// `B` interior output pixels of one view for any kernel, stride and dilation (run-time tap
/// loops; each weight load feeds the `B` pixels).
///
/// # Safety
/// NEON available; `row` valid, `ox..ox + B` interior columns (every tap inside the input), `v`
/// a view of the plan (`W` vectors, masked iff `M`).
#[inline(always)]
unsafe fn generic_block<const B: usize, const W: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    v: View,
    ox: usize,
    bias: Vecs<W>,
) {
    let p = &cx.p;
    let cs = p.c;
    let xs = p.sw * cs;
    let xd = p.dw * cs;
    let mut acc = [bias; B];
    // SAFETY: every (iy, ix) visited is inside the input (valid kernel rows, interior columns)
    // and every weight index inside the tile; the outputs are inside the row.
    unsafe {
        for ky in row.ky0..row.ky1 {
            let iy = row.pos + ky * p.dh - p.pt;
            let base = row.img.add((iy * p.in_w + ox * p.sw - p.pl) * cs + v.ch);
            let wr = v.wt.add(CT * (1 + ky * p.kw));
            for kx in 0..p.kw {
                let w = ldp::<W>(wr.add(kx * CT));
                let px = base.add(kx * xd);
                for (j, a) in acc.iter_mut().enumerate() {
                    fmaw(a, &ldw::<W, M>(px.add(j * xs), p.tail), &w);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            stw::<W, M>(row.out.add((ox + j) * cs + v.ch), a, cx, p.tail);
        }
    }
}

/// One output row, one view, any geometry; interior blocks of `B` pixels.
///
/// # Safety
/// As [`generic_row`]; `v` a view of the plan (`W` vectors, masked iff `M`).
#[inline(always)]
unsafe fn generic_view<const B: usize, const W: usize, const M: bool>(cx: &Ctx, row: &Row, v: View) {
    let p = &cx.p;
    let (lo, hi) = (p.ox_lo, p.ox_hi);
    // SAFETY: forwarded from the caller; lo..hi are interior columns, the rest border columns.
    unsafe {
        let bias = ldp::<W>(v.wt);
        for ox in 0..lo {
            border_pixel::<W, M>(cx, row, v, ox, bias);
        }
        let mut ox = lo;
        while ox + B <= hi {
            generic_block::<B, W, M>(cx, row, v, ox, bias);
            ox += B;
        }
        if ox < hi && hi - lo >= B {
            // The remainder as one block ending at hi (recomputed pixels get the same values).
            generic_block::<B, W, M>(cx, row, v, hi - B, bias);
        } else {
            while ox < hi {
                generic_block::<1, W, M>(cx, row, v, ox, bias);
                ox += 1;
            }
        }
        for ox in hi..p.out_w {
            border_pixel::<W, M>(cx, row, v, ox, bias);
        }
    }
}

/// One output row for every channel view, any kernel size, stride and dilation.
///
/// # Safety
/// NEON available; `row` is an output row of `cx.p` with a non-empty kernel-row range and
/// `row.out` has `out_w · C` writable floats.
#[target_feature(enable = "neon")]
unsafe fn generic_row(cx: &Ctx, row: &Row) {
    // SAFETY: forwarded; the views are those of the plan.
    unsafe {
        for t in 0..cx.p.full_tiles {
            generic_view::<NC, 2, false>(cx, row, cx.full(t));
        }
        if let Some(v) = cx.half {
            generic_view::<B_HALF, 1, false>(cx, row, v);
        }
        if let Some(v) = cx.tail {
            generic_view::<B_HALF, 1, true>(cx, row, v);
        }
    }
}
