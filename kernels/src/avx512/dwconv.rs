//! Depthwise k×k convolution (depth multiplier 1), NHWC, AVX-512F.
//!
//! # Plans
//!
//! The plan is a pure function of the canonical geometry ([`Conv2dGeometry::canonical`]), so
//! that [`dwconv_packed_len`], [`dwconv_pack`] and [`dwconv_run`] always agree:
//!
//! - **Own** (square 3×3, 5×5 or 7×7 kernels with horizontal stride 1 or 2 and horizontal
//!   dilation 1, any vertical stride and dilation, any padding: every MobileNet depthwise
//!   layer): the AVX2 kernel's specialised row kernels re-done for 16-lane ZMM registers, with
//!   this tier's 16-channel packed layout (below).
//! - **Delegated** (every other geometry: other kernel sizes, `kh ≠ kw`, horizontal stride ≥ 3,
//!   horizontal dilation ≥ 2): the three entry points call the AVX2 tier's
//!   ([`crate::x86_64::dwconv`]), so the packed buffer has the AVX2 8-channel layout. These
//!   shapes are rare and run the AVX2 generic path. The entry points still require AVX-512F
//!   first, so the tier reports `IsaUnavailable { isa: "avx512" }` the same way for every
//!   geometry.
//!
//! # Packed layout (own plan)
//!
//! The 8-lane layout of `crate::dwconv_layout` with 16 lanes: the channels are cut into tiles
//! of 16 (one ZMM register), the last zero-padded when `C % 16 != 0`. Tile `t` occupies
//! `16 · (1 + kh·kw)` floats starting at `t · 16 · (1 + kh·kw)`:
//! `[bias × 16][tap 0 × 16][tap 1 × 16]…[tap kh·kw−1 × 16]`, taps in row-major `(ky, kx)`
//! order and lane `l` holding channel `16t + l` (zero for channels `>= C`, and a zero bias
//! without one). Length `ceil(C / 16) · 16 · (1 + kh·kw)`.
//!
//! # How it runs (own plan)
//!
//! As the AVX2 kernel's specialised path: for every output row the valid kernel rows
//! `ky0..ky1` are computed once (taps in the top or bottom padding are not visited), and the
//! output columns are split once per call into a left border, an interior where every
//! horizontal tap is inside the input, and a right border. Loop order: image, output row,
//! channel tile, output columns, except that two consecutive output rows with every kernel row
//! inside the input run together, tile by tile (both rows of one tile back to back, so the
//! input rows they share are still in L1 for the second: 15–20% faster on the 14×14 to
//! 56×56 MobileNet layers). The row kernel is instantiated (const generics) for the
//! kernel size, the stride and the number of valid kernel rows; the weights of one tile are
//! loaded once per output row and tile into an array of vectors (the 9 of a 3×3 stay in
//! registers), and the interior is computed in register blocks of `B` output pixels ×
//! 16 channels (`B` = 12 for 3×3, 8 for 5×5 and 7×7): the `B` accumulators are independent FMA
//! chains; an input vector feeds every FMA of the block that needs it where the compiler merges
//! the repeated loads (most of them, not all: it folds some into FMA memory operands; an
//! explicit loop over input columns was not unrolled and ran at half the speed). An interior of at
//! least `B` columns ends with one block shifted left to end at the last interior column
//! (recomputing a few pixels instead of running 4/2/1 blocks); a shorter interior runs blocks
//! of 8, 4, 2 and 1. Border pixels reuse the weight registers with a test per tap.
//!
//! The channel remainder uses masked loads and stores (`_mm512_maskz_loadu_ps`,
//! `_mm512_mask_storeu_ps` with a `__mmask16`), which do not touch masked-off lanes, so no
//! element outside the given slices is ever read or written.
//!
//! Every public function checks the geometry and every slice length before touching memory,
//! checks the CPU (AVX-512F + AVX2 + FMA, [`super::ensure_available`]) before any
//! `#[target_feature]` call, and writes nothing on error.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use crate::dwconv_layout::{pack_lanes, packed_len_lanes, tile_len_lanes};
use crate::reference::check_depthwise;
use crate::x86_64::dwconv::{self as avx2, tap_range};
use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

/// f32 lanes of a ZMM register: channels per packed tile.
const LANES: usize = 16;

/// Interior block widths (output pixels) per kernel size.
const B3: usize = 12;
const B5: usize = 8;
const B7: usize = 8;

/// Largest kernel size of the own plan.
const MAX_K: usize = 7;

/// The row-kernel family of a geometry on the own plan: `(kernel size, horizontal stride)`.
#[derive(Clone, Copy)]
enum Kind {
    K3S1,
    K3S2,
    K5S1,
    K5S2,
    K7S1,
    K7S2,
}

impl Kind {
    /// The own plan's kind of a valid canonical depthwise geometry, `None` when it is
    /// delegated to the AVX2 kernel.
    fn of(g: &Conv2dGeometry) -> Option<Self> {
        if g.kernel_h != g.kernel_w || g.dilation_w != 1 {
            return None;
        }
        match (g.kernel_w, g.stride_w) {
            (3, 1) => Some(Self::K3S1),
            (3, 2) => Some(Self::K3S2),
            (5, 1) => Some(Self::K5S1),
            (5, 2) => Some(Self::K5S2),
            (7, 1) => Some(Self::K7S1),
            (7, 2) => Some(Self::K7S2),
            _ => None,
        }
    }
}

/// Length of the AVX-512 tier's packed depthwise weights (see the module docs): on the own
/// plan `ceil(C / 16) · 16 · (1 + kh·kw)`, on the delegated plan the AVX2 tier's length.
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub fn dwconv_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    packed_len_of(g)
}

/// Packed length of a canonical geometry, for either plan (validates it).
fn packed_len_of(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    g.validate()?;
    check_depthwise(g)?;
    if Kind::of(g).is_some() { packed_len_lanes(g, LANES) } else { avx2::dwconv_packed_len(g) }
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) for
/// [`dwconv_run`]: on the own plan into channel tiles of 16, `[bias × 16][tap 0 × 16]…`,
/// zero-padded at the channel remainder; on the delegated plan the AVX2 tier's layout (see the
/// module docs).
///
/// Errors: an invalid or non-depthwise geometry, `weights`, `bias` or `packed` of the wrong
/// length (`packed` must have [`dwconv_packed_len`] elements), or a CPU without
/// AVX-512F + AVX2 + FMA ([`KernelError::IsaUnavailable`]); nothing is written then.
pub fn dwconv_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    check_depthwise(g)?;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", g.in_c, b.len())?;
    }
    check_len("packed", packed_len_of(g)?, packed.len())?;
    super::ensure_available()?;
    if Kind::of(g).is_some() {
        pack_lanes(g, LANES, weights, bias, packed)
    } else {
        avx2::dwconv_pack(g, weights, bias, packed)
    }
}

/// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
///
/// - `input`: `[batch][in_h][in_w][C]`;
/// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
///   that fall inside the input (padding contributes nothing).
///
/// Any kernel size, stride, dilation and 4-sided padding (the shapes outside the own plan run
/// the AVX2 kernel). Errors: an invalid or non-depthwise geometry, an invalid clamp, `packed`,
/// `input` or `output` of the wrong length ([`KernelError::LengthMismatch`]), or a CPU without
/// AVX-512F + AVX2 + FMA ([`KernelError::IsaUnavailable`]); nothing is written then.
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
    check_len("packed", packed_len_of(g)?, packed.len())?;
    check_len("input", d.input_len, input.len())?;
    check_len("output", d.output_len, output.len())?;
    super::ensure_available()?;
    let Some(kind) = Kind::of(g) else {
        // Same checks passed; AVX2 + FMA are part of `ensure_available`.
        return avx2::dwconv_run(g, input, packed, act, output);
    };
    let plan = Plan::new(g, d.out_h, d.out_w, tile_len_lanes(g, LANES)?);
    let (lo, hi) = act.bounds();
    // SAFETY: the CPU has AVX-512F, AVX2 and FMA (ensure_available above); `kind` is the own
    // plan's kind of `g`; `input`, `packed` and `output` have exactly the lengths the validated
    // geometry implies (checked above, `packed` with the 16-lane layout), and every index the
    // kernels form is derived from that geometry (see `Plan`).
    unsafe { run(&plan, kind, input, packed, lo, hi, output) };
    Ok(())
}

/// The per-call constants of a validated depthwise geometry on the own plan.
#[derive(Clone, Copy)]
struct Plan {
    batch: usize,
    c: usize,
    /// Channel tiles of 16 full channels.
    full_tiles: usize,
    /// Channels in the last, partial tile (0 when `C % 16 == 0`).
    rem: usize,
    /// Floats per packed tile.
    tile_len: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    kh: usize,
    sh: usize,
    dh: usize,
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
            full_tiles: g.in_c / LANES,
            rem: g.in_c % LANES,
            tile_len,
            in_h: g.in_h,
            in_w,
            out_h,
            out_w,
            kh: g.kernel_h,
            sh: g.stride_h,
            dh: g.dilation_h,
            pt: g.padding.top,
            pl,
            ox_lo,
            ox_hi,
        }
    }
}

/// Read-only state shared by the row kernels of one call.
struct Ctx {
    p: Plan,
    packed: *const f32,
    lo: __m512,
    hi: __m512,
    /// Lanes `0..rem` set (all lanes when `rem == 0`).
    mask: __mmask16,
}

/// One output row of one image.
struct Row {
    /// First valid kernel row (the valid rows are `ky0..ky0 + R` for a row kernel of `R`).
    ky0: usize,
    /// Start of input row `pos + (ky0 + r)·dh − pt`, for `r < ky1 − ky0`.
    rows: [*const f32; MAX_K],
    /// First element of the output row.
    out: *mut f32,
}

/// A row kernel: computes one output row for every channel tile.
type RowFn = unsafe fn(&Ctx, &Row);

/// A two-row kernel: computes two output rows (all kernel rows valid in both), tile by tile.
type PairFn = unsafe fn(&Ctx, &Row, &Row);

/// Loads 16 floats, or only the lanes of `mask` when `M` (the others read as 0, not accessed).
///
/// # Safety
/// AVX-512F available; `p..p + 16` readable (when `!M`) or `p..p + rem` readable (when `M`).
#[inline(always)]
unsafe fn ld<const M: bool>(p: *const f32, mask: __mmask16) -> __m512 {
    // SAFETY: the caller guarantees the CPU features and that the accessed lanes are readable;
    // masked-off lanes are not accessed (fault suppression of masked vmovups).
    unsafe { if M { _mm512_maskz_loadu_ps(mask, p) } else { _mm512_loadu_ps(p) } }
}

/// Applies the clamp and stores 16 floats (or the lanes of `mask` when `M`).
///
/// # Safety
/// AVX-512F available; `p..p + 16` writable (when `!M`) or `p..p + rem` writable (when `M`).
#[inline(always)]
unsafe fn st<const M: bool>(p: *mut f32, acc: __m512, cx: &Ctx) {
    // SAFETY: the caller guarantees the CPU features and that the written lanes are writable;
    // masked-off lanes are not accessed. The bound is the first operand of max/min, so a NaN
    // accumulator propagates (vmaxps/vminps return the second operand on NaN).
    unsafe {
        let v = _mm512_min_ps(cx.hi, _mm512_max_ps(cx.lo, acc));
        if M { _mm512_mask_storeu_ps(p, cx.mask, v) } else { _mm512_storeu_ps(p, v) }
    }
}

/// Entry of the target-feature code: loops over images and output rows and dispatches each
/// row to its kernel.
///
/// # Safety
/// AVX-512F, AVX2 and FMA available; `kind == Kind::of(g)` for the geometry `g` behind `p`;
/// `input`, `packed` and `output` have the lengths that geometry implies (with the 16-lane
/// packed layout).
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run(p: &Plan, kind: Kind, input: &[f32], packed: &[f32], lo: f32, hi: f32, output: &mut [f32]) {
    // rem < 16, so the shift does not overflow; rem == 0 means all lanes.
    let mask: __mmask16 = if p.rem == 0 { 0xffff } else { (1u16 << p.rem) - 1 };
    let cx = Ctx { p: *p, packed: packed.as_ptr(), lo: _mm512_set1_ps(lo), hi: _mm512_set1_ps(hi), mask };
    let img_in = p.in_h * p.in_w * p.c;
    let img_out = p.out_h * p.out_w * p.c;
    let row_out = p.out_w * p.c;
    let out_base = output.as_mut_ptr();
    // Output row `oy` of image `n` with its number of valid kernel rows.
    let make_row = |n: usize, oy: usize| {
        let pos = oy * p.sh;
        let (ky0, ky1) = tap_range(pos, p.pt, p.in_h, p.kh, p.dh);
        // SAFETY: n < batch and oy < out_h (callers), so both offsets are within the slices
        // (the output row has out_w·C elements; an image of the input starts below its
        // length).
        let (img, out) =
            unsafe { (input.as_ptr().add(n * img_in), out_base.add(n * img_out + oy * row_out)) };
        let mut row = Row { ky0, rows: [img; MAX_K], out };
        for (r, slot) in row.rows.iter_mut().enumerate().take(ky1 - ky0) {
            let iy = pos + (ky0 + r) * p.dh - p.pt;
            // SAFETY: ky0 + r < ky1, so iy is a valid input row (tap_range).
            *slot = unsafe { img.add(iy * p.in_w * p.c) };
        }
        (row, ky1 - ky0)
    };
    for n in 0..p.batch {
        let mut oy = 0;
        while oy < p.out_h {
            let (row, r) = make_row(n, oy);
            if r == 0 {
                // SAFETY: features checked by the caller; the row is out_w·C writable floats.
                unsafe { bias_row(&cx, &row) };
                oy += 1;
                continue;
            }
            if r == p.kh && oy + 1 < p.out_h {
                let (next, r2) = make_row(n, oy + 1);
                if r2 == p.kh {
                    // SAFETY: as below, for two output rows with every kernel row valid.
                    unsafe { pair_fn(kind)(&cx, &row, &next) };
                    oy += 2;
                    continue;
                }
            }
            // SAFETY: features checked; the row kernel for (kind, rows) matches the plan
            // (kh == kw == its KW, sw its S, dw 1) and the row pointers were set for every
            // valid kernel row (1 <= r <= kh).
            unsafe { row_fn(kind, r)(&cx, &row) };
            oy += 1;
        }
    }
}

/// The two-row kernel of `kind` (both rows with all `k` kernel rows valid).
fn pair_fn(kind: Kind) -> PairFn {
    match kind {
        Kind::K3S1 => fast_pair::<3, 1, B3>,
        Kind::K3S2 => fast_pair::<3, 2, B3>,
        Kind::K5S1 => fast_pair::<5, 1, B5>,
        Kind::K5S2 => fast_pair::<5, 2, B5>,
        Kind::K7S1 => fast_pair::<7, 1, B7>,
        Kind::K7S2 => fast_pair::<7, 2, B7>,
    }
}

/// Picks the row kernel of `kind` for `r` valid kernel rows, `1 <= r <= k` (tap_range never
/// returns more than `k` rows; the last arm of each size takes `r == k`).
fn row_fn(kind: Kind, r: usize) -> RowFn {
    macro_rules! pick {
        ($k:literal, $s:literal, $b:ident; $($r:literal)*) => {
            match r { $($r => fast_row::<$k, $r, $s, $b> as RowFn,)* _ => fast_row::<$k, $k, $s, $b> as RowFn }
        };
    }
    match kind {
        Kind::K3S1 => pick!(3, 1, B3; 1 2),
        Kind::K3S2 => pick!(3, 2, B3; 1 2),
        Kind::K5S1 => pick!(5, 1, B5; 1 2 3 4),
        Kind::K5S2 => pick!(5, 2, B5; 1 2 3 4),
        Kind::K7S1 => pick!(7, 1, B7; 1 2 3 4 5 6),
        Kind::K7S2 => pick!(7, 2, B7; 1 2 3 4 5 6),
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// AVX-512F available; `row.out` has `out_w · C` writable floats; `cx.packed` is a packed
/// buffer for `cx.p`.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn bias_row(cx: &Ctx, row: &Row) {
    let p = &cx.p;
    for t in 0..p.full_tiles + usize::from(p.rem != 0) {
        // SAFETY: tile t exists in the packed buffer; its bias is its first 16 floats.
        let bias = unsafe { _mm512_loadu_ps(cx.packed.add(t * p.tile_len)) };
        for ox in 0..p.out_w {
            // SAFETY: ox < out_w and the tile's lanes (all 16, or rem in the masked last tile)
            // are inside the row.
            unsafe {
                let o = row.out.add(ox * p.c + t * LANES);
                if t < p.full_tiles { st::<false>(o, bias, cx) } else { st::<true>(o, bias, cx) }
            }
        }
    }
}

/// `B` interior output pixels × 16 channels with the weights of `R` kernel rows in registers.
///
/// `rows[r] + off` is the first tap of the first pixel in kernel row `r`; pixel `j`, tap `kx`
/// reads `rows[r] + off + (j·S + kx)·cs`; every accumulator receives its taps in `(ky, kx)`
/// order.
///
/// # Safety
/// AVX-512F available; every such address (16 lanes, or the masked lanes when `M`) is inside
/// the input; `out + j·cs` (same lanes) inside the output for `j < B`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const KW: usize, const R: usize, const S: usize, const B: usize, const M: bool>(
    cx: &Ctx,
    rows: &[*const f32; MAX_K],
    off: usize,
    cs: usize,
    w: &[[__m512; KW]; R],
    bias: __m512,
    out: *mut f32,
) {
    // SAFETY: the caller guarantees features and bounds (see above): input column i of the
    // block is pixel j's tap i − j·S for some j < B, kx < KW.
    unsafe {
        let mut acc = [bias; B];
        for (r, wr) in w.iter().enumerate() {
            let base = rows[r].add(off);
            for (kx, &wv) in wr.iter().enumerate() {
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(ld::<M>(base.add((j * S + kx) * cs), cx.mask), wv, *a);
                }
            }
        }
        for (j, a) in acc.into_iter().enumerate() {
            st::<M>(out.add(j * cs), a, cx);
        }
    }
}

/// One border output pixel × 16 channels: the weights are the registers of the row, and only
/// the horizontal taps inside the input are visited (a tap test per tap, outside the interior
/// loop). Four accumulators (one per kernel row mod 4) shorten the dependency chain.
///
/// # Safety
/// As [`fast_row`]; `ox < out_w`, `tile` the first channel of a tile (masked iff `M`).
#[inline(always)]
unsafe fn edge_pixel<const KW: usize, const R: usize, const S: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    ox: usize,
    tile: usize,
    w: &[[__m512; KW]; R],
    bias: __m512,
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
        let z = _mm512_setzero_ps();
        let mut acc = [bias, z, z, z];
        for (r, wr) in w.iter().enumerate() {
            for (kx, &wv) in wr.iter().enumerate() {
                if kx >= kx0 && kx < kx1 {
                    let x = ld::<M>(row.rows[r].add((pos + kx - p.pl) * cs + tile), cx.mask);
                    acc[r & 3] = _mm512_fmadd_ps(x, wv, acc[r & 3]);
                }
            }
        }
        let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        st::<M>(row.out.add(ox * cs + tile), sum, cx);
    }
}

/// `E` consecutive border output pixels from `ox` × 16 channels: like [`edge_pixel`] with one
/// accumulator per pixel (independent chains), each pixel testing its own taps.
///
/// # Safety
/// As [`fast_row`]; `ox + E <= out_w`, `tile` the first channel of a tile (masked iff `M`).
#[inline(always)]
unsafe fn edge_block<const KW: usize, const R: usize, const S: usize, const E: usize, const M: bool>(
    cx: &Ctx,
    row: &Row,
    ox: usize,
    tile: usize,
    w: &[[__m512; KW]; R],
    bias: __m512,
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
                        *a = _mm512_fmadd_ps(x, wv, *a);
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
    w: &[[__m512; KW]; R],
    bias: __m512,
) {
    let mut ox = ox0;
    // SAFETY: forwarded from the caller; every block stays below ox1.
    unsafe {
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
    // and its kernel rows ky0..ky0+R are inside it; interior pixels (ox_lo..ox_hi) have every
    // tap inside the input (Plan::ox_lo/ox_hi), so `block`'s addresses are in bounds, and
    // every block below lies inside ox_lo..ox_hi.
    unsafe {
        let wt = cx.packed.add(t * p.tile_len);
        let bias = _mm512_loadu_ps(wt);
        let mut w = [[_mm512_setzero_ps(); KW]; R];
        for (r, wr) in w.iter_mut().enumerate() {
            for (kx, v) in wr.iter_mut().enumerate() {
                *v = _mm512_loadu_ps(wt.add(LANES * (1 + (row.ky0 + r) * KW + kx)));
            }
        }
        let tile = t * LANES;
        let at = |ox: usize| ((ox * S - p.pl) * cs + tile, row.out.add(ox * cs + tile));
        edge_range::<KW, R, S, M>(cx, row, 0, p.ox_lo, tile, &w, bias);
        let mut ox = p.ox_lo;
        if p.ox_hi - p.ox_lo >= B {
            while ox + B <= p.ox_hi {
                let (off, o) = at(ox);
                block::<KW, R, S, B, M>(cx, &row.rows, off, cs, &w, bias, o);
                ox += B;
            }
            if ox < p.ox_hi {
                // One block ending at the last interior column (it recomputes a few pixels of
                // the previous block; ox_hi - B >= ox_lo).
                let (off, o) = at(p.ox_hi - B);
                block::<KW, R, S, B, M>(cx, &row.rows, off, cs, &w, bias, o);
            }
        } else {
            // Fewer than B <= 15 interior pixels: blocks of 8, 4, 2 and 1.
            let left = p.ox_hi - ox;
            if B > 8 && left & 8 != 0 {
                let (off, o) = at(ox);
                block::<KW, R, S, 8, M>(cx, &row.rows, off, cs, &w, bias, o);
                ox += 8;
            }
            if left & 4 != 0 {
                let (off, o) = at(ox);
                block::<KW, R, S, 4, M>(cx, &row.rows, off, cs, &w, bias, o);
                ox += 4;
            }
            if left & 2 != 0 {
                let (off, o) = at(ox);
                block::<KW, R, S, 2, M>(cx, &row.rows, off, cs, &w, bias, o);
                ox += 2;
            }
            if left & 1 != 0 {
                let (off, o) = at(ox);
                block::<KW, R, S, 1, M>(cx, &row.rows, off, cs, &w, bias, o);
            }
        }
        edge_range::<KW, R, S, M>(cx, row, p.ox_hi, p.out_w, tile, &w, bias);
    }
}

/// One output row of a `KW × KW` kernel (horizontal dilation 1, stride `S`) whose kernel rows
/// `ky0..ky0 + R` are inside the input, for every channel tile.
///
/// # Safety
/// AVX-512F, AVX2 and FMA available; `cx.p` has `kh == kw == KW`, `sw == S`, `dw == 1`; `row`
/// is an output row of it with `R` valid kernel rows from `row.ky0` and `row.rows[r]` the start of input row
/// `pos + (ky0 + r)·dh − pt` for `r < R`; `row.out` has `out_w · C` writable floats.
#[target_feature(enable = "avx512f,avx2,fma")]
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

/// Two output rows of a `KW × KW` kernel (horizontal dilation 1, stride `S`) with all `KW`
/// kernel rows valid in both, one channel tile at a time (both rows of a tile back to back, so
/// the input rows they share are still in L1 for the second).
///
/// # Safety
/// As [`fast_row`] with `R == KW`, for both rows.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn fast_pair<const KW: usize, const S: usize, const B: usize>(cx: &Ctx, a: &Row, b: &Row) {
    for t in 0..cx.p.full_tiles {
        // SAFETY: forwarded; t is a full tile.
        unsafe {
            fast_tile::<KW, KW, S, B, false>(cx, a, t);
            fast_tile::<KW, KW, S, B, false>(cx, b, t);
        }
    }
    if cx.p.rem != 0 {
        // SAFETY: forwarded; the last tile is partial and masked.
        unsafe {
            fast_tile::<KW, KW, S, B, true>(cx, a, cx.p.full_tiles);
            fast_tile::<KW, KW, S, B, true>(cx, b, cx.p.full_tiles);
        }
    }
}
