//! Dense and grouped k×k convolution, all groups in one pass (AVX2+FMA).
//!
//! Two plans, chosen from the geometry alone (so [`conv2d_pack`] and [`conv2d_run`] always
//! agree):
//!
//! - **Wide** (the general path, every geometry that is not narrow): a direct "implicit GEMM"
//!   per group. The group's output channels are cut into blocks of 16 (two YMM) with a last
//!   block of 8 or 16 lanes for the remainder (padded with zero weights, stored masked). A
//!   register tile of up to 6 output pixels along a row × one 16-channel block (12 YMM
//!   accumulators; 8 pixels × 8 channels for 8-lane blocks) loops over `(ky, kx, ic)`,
//!   broadcasting one input value per pixel and FMA-ing it with the packed weight vector of
//!   that `(ky, kx, ic)`. Rows that touch the top/bottom padding just skip the `ky` taps that
//!   fall outside; tiles that touch the left/right padding point each out-of-range pixel tap at
//!   a static zero buffer, so there is no branch in the FMA loop. Interior tiles with one group
//!   and no horizontal dilation read `kw · in_c` contiguous floats per `ky` (one long `k`
//!   loop, which keeps the 3-channel MobileNet stem busy). Loop order is block-major: one
//!   block's packed weights stay in L1 while every output row of every image streams through.
//! - **Narrow** (`in_c / groups == out_c / groups == c` with `c` in {1, 2, 4} and groups > 1,
//!   i.e. many tiny groups, including depthwise): vectorized *across* groups. One YMM covers 8
//!   consecutive output channels (8 / c groups) and reads the 8 input channels of the same
//!   groups with one load; the input value a lane needs for its `i`-th weight is obtained by
//!   rotating the lane within its group (`vpermilps`, one in-lane shuffle per extra input
//!   channel), and the weights are stored pre-rotated per lane at pack time. Tiles of 8 output
//!   pixels × 8 channels; for 3-wide kernels with unit horizontal stride and dilation each
//!   input column of a tile is loaded and rotated once for the three taps that use it.
//!
//! Every public function checks the geometry and every slice length before touching memory
//! and writes nothing on error.

use core::arch::x86_64::*;

use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

/// Pixels per register tile for 16-channel blocks of the wide plan.
const WIDE_MR2: usize = 6;
/// Pixels per register tile for 8-channel blocks of the wide plan.
const WIDE_MR1: usize = 8;
/// Pixels per register tile of the narrow plan.
const NARROW_MR: usize = 8;
/// Length of the zero buffer that out-of-range taps read from.
const ZLEN: usize = 64;
/// Zeros read by taps that fall into the padding.
static ZEROS: [f32; ZLEN] = [0.0; ZLEN];
/// `MASK_SRC[8 - n..16 - n]` is a lane mask with the first `n` lanes set.
static MASK_SRC: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Which packed layout and kernel a geometry uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Per group, blocks of 16 (or 8) output channels; see the module docs.
    Wide,
    /// Vectorized across groups; `c = in_c / groups = out_c / groups` in {1, 2, 4}.
    Narrow(usize),
}

/// True when `g` uses the narrow plan (vectorized across groups; see the module docs). The
/// AVX-512 tier (`crate::avx512::conv2d`) delegates exactly these geometries to this kernel,
/// so both tiers always agree on the plan and its packed layout.
pub(crate) fn is_narrow(g: &Conv2dGeometry) -> bool {
    matches!(plan(g), Plan::Narrow(_))
}

fn plan(g: &Conv2dGeometry) -> Plan {
    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    if cin_g == cout_g && matches!(cin_g, 1 | 2 | 4) && g.groups > 1 {
        Plan::Narrow(cin_g)
    } else {
        Plan::Wide
    }
}

/// The output-channel blocks of one group in the wide plan: `(first channel, width, vectors)`.
/// Full blocks of 16, then the remainder in one block of 8 (1..=8 channels) or 16 (9..=15).
fn wide_blocks(cout_g: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let full = cout_g / 16;
    let rem = cout_g % 16;
    (0..full).map(|b| (b * 16, 16, 2)).chain((rem > 0).then(|| (full * 16, rem, rem.div_ceil(8))))
}

/// Packed floats of one wide block of `nv` vectors: bias then `[kh][kw][cin_g][8·nv]`.
fn wide_block_len(nv: usize, taps_k: usize) -> Option<usize> {
    taps_k.checked_add(1)?.checked_mul(8 * nv)
}

/// Length of the packed buffer, computed with overflow checks. `g` must be valid.
fn packed_len_of(g: &Conv2dGeometry) -> Option<usize> {
    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let taps = g.kernel_h.checked_mul(g.kernel_w)?;
    match plan(g) {
        Plan::Wide => {
            let taps_k = taps.checked_mul(cin_g)?;
            let mut per_group = 0usize;
            for (_, _, nv) in wide_blocks(cout_g) {
                per_group = per_group.checked_add(wide_block_len(nv, taps_k)?)?;
            }
            per_group.checked_mul(g.groups)
        }
        Plan::Narrow(c) => {
            let nvec = g.out_c.div_ceil(8);
            taps.checked_mul(c)?.checked_add(1)?.checked_mul(8)?.checked_mul(nvec)
        }
    }
}

/// Length of the AVX2 tier's packed buffer for `g`.
///
/// Layout (the plan is a function of the geometry, see the module docs):
/// - wide plan: for each group, for each output-channel block of the group (blocks of 16
///   channels, then one block of 8 lanes for a remainder of 1..=8 or 16 lanes for 9..=15):
///   the block's bias (`8·nv` floats) followed by its weights `[kh][kw][in_c/groups][8·nv]`
///   (lanes past the group's channels are zero);
/// - narrow plan (`in_c/groups == out_c/groups == c`, `c` in {1, 2, 4}, groups > 1): for each
///   vector of 8 output channels (the last one zero-padded): 8 biases, then `[kh][kw][c][8]`
///   where lane `l` (channel `oc = 8v + l`, `o = oc % c`) of entry `r` holds the weight of
///   input channel `(o + r) % c` of that channel's group.
pub fn conv2d_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    g.validate()?;
    packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs OHWI weights `[out_c][kh][kw][in_c/groups]` and an optional bias `[out_c]` into the
/// layout described at [`conv2d_packed_len`], for [`conv2d_run`].
///
/// Errors: invalid geometry, wrong weight / bias / packed lengths, or a CPU without AVX2+FMA
/// ([`KernelError::IsaUnavailable`]). Nothing is written on error.
pub fn conv2d_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    check_len("weights", d.weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", g.out_c, b.len())?;
    }
    let total = packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    super::ensure_available()?;

    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let taps = g.kernel_h * g.kernel_w;
    let bias_of = |oc: usize| bias.map_or(0.0, |b| b[oc]);
    let mut pos = 0usize;
    match plan(g) {
        Plan::Wide => {
            for grp in 0..g.groups {
                for (first, width, nv) in wide_blocks(cout_g) {
                    let nr = 8 * nv;
                    let block = &mut packed[pos..pos + nr * (1 + taps * cin_g)];
                    block.fill(0.0);
                    for lane in 0..width {
                        let oc = grp * cout_g + first + lane;
                        block[lane] = bias_of(oc);
                        for t in 0..taps {
                            for ic in 0..cin_g {
                                block[nr + (t * cin_g + ic) * nr + lane] =
                                    weights[(oc * taps + t) * cin_g + ic];
                            }
                        }
                    }
                    pos += block.len();
                }
            }
        }
        Plan::Narrow(c) => {
            for v in 0..g.out_c.div_ceil(8) {
                let block = &mut packed[pos..pos + 8 * (1 + taps * c)];
                block.fill(0.0);
                for lane in 0..8.min(g.out_c - 8 * v) {
                    let oc = 8 * v + lane;
                    let o = oc % c;
                    block[lane] = bias_of(oc);
                    for t in 0..taps {
                        for r in 0..c {
                            block[8 + (t * c + r) * 8 + lane] = weights[(oc * taps + t) * c + (o + r) % c];
                        }
                    }
                }
                pos += block.len();
            }
        }
    }
    debug_assert_eq!(pos, total);
    Ok(())
}

/// Convolution on weights packed by [`conv2d_pack`] (same geometry), NHWC.
///
/// - `input`: `[batch][in_h][in_w][in_c]`;
/// - `output`: `[batch][out_h][out_w][out_c]`, each element `act(bias + Σ input · weight)`
///   over the taps that fall inside the input (padding contributes nothing).
///
/// Errors: invalid geometry or activation, wrong packed / input / output length, or a CPU
/// without AVX2+FMA. Nothing is written on error.
pub fn conv2d_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    let total = packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })?;
    check_len("packed", total, packed.len())?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("output", d.output_len, output.len())?;
    super::ensure_available()?;
    let s = Shape::new(g, d.out_h, d.out_w);
    let (lo, hi) = act.bounds();
    // SAFETY: AVX2 and FMA are available (checked just above); the geometry is valid and the
    // input, packed and output lengths match it exactly (checked above), which is the
    // precondition of `run`.
    unsafe { run(&s, plan(g), input.as_ptr(), packed.as_ptr(), output.as_mut_ptr(), lo, hi) };
    Ok(())
}

/// Geometry in the form the kernels use (all from a validated [`Conv2dGeometry`]). Shared
/// with the AVX-512 wide plan (`crate::avx512::conv2d`).
pub(crate) struct Shape {
    pub(crate) batch: usize,
    pub(crate) in_h: usize,
    pub(crate) in_w: usize,
    pub(crate) in_c: usize,
    pub(crate) out_c: usize,
    pub(crate) out_h: usize,
    pub(crate) out_w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
    pub(crate) dh: usize,
    pub(crate) dw: usize,
    pub(crate) pt: usize,
    pub(crate) pl: usize,
    pub(crate) groups: usize,
    pub(crate) cin_g: usize,
    pub(crate) cout_g: usize,
    /// First output column whose every horizontal tap is inside the input.
    pub(crate) ox_lo: usize,
    /// One past the last such column (`ox_lo <= ox_hi <= out_w`).
    pub(crate) ox_hi: usize,
    /// Interior tiles may read `kw · in_c` contiguous floats per kernel row (one group, no
    /// horizontal dilation).
    pub(crate) flat: bool,
}

impl Shape {
    /// The shape of `g` (valid, canonical) with output size `out_h × out_w`.
    pub(crate) fn new(g: &Conv2dGeometry, out_h: usize, out_w: usize) -> Self {
        let pl = g.padding.left;
        let (sw, dw, kw) = (g.stride_w, g.dilation_w, g.kernel_w);
        let ox_lo = pl.div_ceil(sw).min(out_w);
        // ox is interior iff ox·sw >= pl and ox·sw + (kw-1)·dw - pl < in_w.
        let reach = (kw - 1) * dw;
        let ox_hi = if g.in_w + pl > reach { (g.in_w + pl - reach).div_ceil(sw).min(out_w) } else { 0 };
        Self {
            batch: g.batch,
            in_h: g.in_h,
            in_w: g.in_w,
            in_c: g.in_c,
            out_c: g.out_c,
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
            groups: g.groups,
            cin_g: g.in_c / g.groups,
            cout_g: g.out_c / g.groups,
            ox_lo,
            ox_hi: ox_hi.max(ox_lo),
            flat: g.groups == 1 && dw == 1,
        }
    }

    /// True when output columns `ox0..ox0 + cnt` have every horizontal tap inside the input.
    #[inline]
    pub(crate) fn interior(&self, ox0: usize, cnt: usize) -> bool {
        ox0 >= self.ox_lo && ox0 + cnt <= self.ox_hi
    }
}

/// Per output row: the input image (already offset to the group's first channel), the valid
/// `ky` range and the input row of `ky = 0` (may be negative).
pub(crate) struct Row {
    pub(crate) img: *const f32,
    pub(crate) ky0: usize,
    pub(crate) ky1: usize,
    pub(crate) iy0: isize,
}

/// Mask with the first `n` (0..=8) lanes set.
///
/// # Safety
/// AVX2 must be available and `n <= 8`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn lane_mask(n: usize) -> __m256i {
    debug_assert!(n <= 8);
    // SAFETY: `8 - n + 8 <= 16` for `n <= 8`, so the 8 loaded i32 are inside MASK_SRC.
    unsafe { _mm256_loadu_si256(MASK_SRC.as_ptr().add(8 - n).cast()) }
}

/// `min(hi, max(lo, x))`, bounds first so that NaN propagates like the reference.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn clamp(x: __m256, lo: __m256, hi: __m256) -> __m256 {
    _mm256_min_ps(hi, _mm256_max_ps(lo, x))
}

/// The whole convolution.
///
/// # Safety
/// AVX2+FMA must be available; `s` must come from a validated geometry whose plan is `p`;
/// `input`, `packed` and `output` must point to exactly `batch·in_h·in_w·in_c`, the packed
/// length of the geometry, and `batch·out_h·out_w·out_c` floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn run(s: &Shape, p: Plan, input: *const f32, packed: *const f32, output: *mut f32, lo: f32, hi: f32) {
    let (lo, hi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
    match p {
        Plan::Wide => {
            // Block-major: one block's packed weights (bias + kh·kw·cin_g·16 floats) stay in
            // L1 while every output row of every image streams through them.
            let taps_k = s.kh * s.kw * s.cin_g;
            let mut wpos = 0usize;
            for grp in 0..s.groups {
                for (first, width, nv) in wide_blocks(s.cout_g) {
                    // SAFETY: the packed buffer holds every block of every group in this order
                    // (its length was checked against `packed_len_of`).
                    let w = unsafe { packed.add(wpos) };
                    wpos += 8 * nv * (1 + taps_k);
                    let mr = if nv == 2 { WIDE_MR2 } else { WIDE_MR1 };
                    let tiles = s.out_w.div_ceil(mr);
                    let (base, extra) = (s.out_w / tiles, s.out_w % tiles);
                    for n in 0..s.batch {
                        for oy in 0..s.out_h {
                            // SAFETY: n < batch, oy < out_h, grp < groups (see `row`).
                            let (r, out_row) = unsafe { row(s, input, output, n, oy, grp * s.cin_g) };
                            let mut ox0 = 0;
                            for t in 0..tiles {
                                let cnt = base + usize::from(t < extra);
                                // SAFETY: ox0 + cnt <= out_w and grp·cout_g + first + width <=
                                // out_c: the tile's outputs are inside this output row.
                                let out = unsafe { out_row.add(ox0 * s.out_c + grp * s.cout_g + first) };
                                // SAFETY: the block `w` and the tile are in bounds as argued
                                // above; the row's ky range and group offset come from the
                                // validated geometry.
                                unsafe { wide_dispatch(s, &r, ox0, cnt, nv, w, out, width, lo, hi) };
                                ox0 += cnt;
                            }
                        }
                    }
                }
            }
        }
        Plan::Narrow(c) => {
            let nvec = s.out_c.div_ceil(8);
            let vlen = 8 * (1 + s.kh * s.kw * c);
            for n in 0..s.batch {
                for oy in 0..s.out_h {
                    // SAFETY: n < batch, oy < out_h (see `row`).
                    let (r, out_row) = unsafe { row(s, input, output, n, oy, 0) };
                    let mut ox0 = 0;
                    while ox0 < s.out_w {
                        let cnt = NARROW_MR.min(s.out_w - ox0);
                        let interior = cnt == NARROW_MR && s.interior(ox0, cnt);
                        for v in 0..nvec {
                            let width = 8.min(s.out_c - 8 * v);
                            // SAFETY: v < nvec: the vector's block is inside `packed`.
                            let w = unsafe { packed.add(v * vlen) };
                            // SAFETY: ox0 < out_w and 8v < out_c: inside this output row.
                            let out = unsafe { out_row.add(ox0 * s.out_c + 8 * v) };
                            // SAFETY: as above; the channel window 8v..8v+width is inside in_c
                            // (in_c == out_c in the narrow plan).
                            unsafe {
                                narrow_dispatch(s, &r, ox0, cnt, interior, c, 8 * v, width, w, out, lo, hi)
                            };
                        }
                        ox0 += cnt;
                    }
                }
            }
        }
    }
}

/// The [`Row`] of output row `oy` of image `n` (input offset by channel `ch`) and the start of
/// that output row.
///
/// # Safety
/// `s` from a validated geometry; `input`/`output` of its lengths; `n < batch`,
/// `oy < out_h`, `ch < in_c`.
#[inline]
pub(crate) unsafe fn row(
    s: &Shape,
    input: *const f32,
    output: *mut f32,
    n: usize,
    oy: usize,
    ch: usize,
) -> (Row, *mut f32) {
    // Valid ky: 0 <= oy·sh + ky·dh - pt < in_h.
    let iy0 = (oy * s.sh) as isize - s.pt as isize;
    let ky0 = if iy0 >= 0 { 0 } else { (-iy0 as usize).div_ceil(s.dh) };
    let ky1 =
        if iy0 >= s.in_h as isize { 0 } else { ((s.in_h as isize - iy0) as usize).div_ceil(s.dh).min(s.kh) };
    // SAFETY: n < batch and ch < in_c: a position inside the first pixel of image n.
    let img = unsafe { input.add(n * s.in_h * s.in_w * s.in_c + ch) };
    // SAFETY: (n, oy) < (batch, out_h): the row start is inside `output`.
    let out_row = unsafe { output.add((n * s.out_h + oy) * s.out_w * s.out_c) };
    (Row { img, ky0: ky0.min(ky1), ky1, iy0 }, out_row)
}

/// Picks the monomorphized wide tile for `cnt` pixels of an `nv`-vector block.
///
/// # Safety
/// As [`wide_tile`]; `cnt` must be in `1..=WIDE_MR2` for `nv == 2` and `1..=WIDE_MR1` for
/// `nv == 1`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn wide_dispatch(
    s: &Shape,
    r: &Row,
    ox0: usize,
    cnt: usize,
    nv: usize,
    w: *const f32,
    out: *mut f32,
    width: usize,
    lo: __m256,
    hi: __m256,
) {
    let interior = s.interior(ox0, cnt);
    macro_rules! go {
        ($mr:literal, $nv:literal) => {
            if interior {
                // SAFETY: forwarded contract; all `cnt` pixels are interior.
                unsafe { wide_tile::<$mr, $nv, true>(s, r, ox0, w, out, width, lo, hi) }
            } else {
                // SAFETY: forwarded contract.
                unsafe { wide_tile::<$mr, $nv, false>(s, r, ox0, w, out, width, lo, hi) }
            }
        };
    }
    match (nv, cnt) {
        (2, 6) => go!(6, 2),
        (2, 5) => go!(5, 2),
        (2, 4) => go!(4, 2),
        (2, 3) => go!(3, 2),
        (2, 2) => go!(2, 2),
        (2, 1) => go!(1, 2),
        (1, 8) => go!(8, 1),
        (1, 7) => go!(7, 1),
        (1, 6) => go!(6, 1),
        (1, 5) => go!(5, 1),
        (1, 4) => go!(4, 1),
        (1, 3) => go!(3, 1),
        (1, 2) => go!(2, 1),
        (1, 1) => go!(1, 1),
        _ => unreachable!("wide tile of {cnt} pixels × {nv} vectors"),
    }
}

/// `acc[j][v] += Σ_i p[j][i] · w[i][v]` for `i < k` (the inner loop of the wide tile).
macro_rules! wide_k_loop {
    ($acc:ident, $p:ident, $w:expr, $k:expr, $mr:ident, $nv:ident) => {{
        let w: *const f32 = $w;
        for i in 0..$k {
            let mut wv = [_mm256_setzero_ps(); $nv];
            for (v, wvv) in wv.iter_mut().enumerate() {
                // SAFETY: `w` covers `k` rows of `8·nv` packed weights (caller's invariant).
                *wvv = unsafe { _mm256_loadu_ps(w.add(i * 8 * $nv + 8 * v)) };
            }
            for j in 0..$mr {
                // SAFETY: `p[j]` points to at least `k` readable floats (an input run or the
                // zero buffer; caller's invariant).
                let b = unsafe { _mm256_broadcast_ss(&*$p[j].add(i)) };
                for v in 0..$nv {
                    $acc[j][v] = _mm256_fmadd_ps(b, wv[v], $acc[j][v]);
                }
            }
        }
    }};
}

/// One wide register tile: `MR` output pixels `ox0..ox0+MR` of row `oy` × one block of
/// `8·NV` output channels (`width` of them real), bias + Σ over valid taps, clamp, store.
///
/// # Safety
/// AVX2+FMA available; `s`/`r` from the validated geometry of the buffers; `r.img` points at
/// the current image offset by the group's first input channel; `w` points at the block's
/// packed data (bias then `[kh][kw][cin_g][8·NV]`); `out` points at output pixel `ox0`,
/// channel of the block's first lane, with `ox0 + MR <= out_w` and `width <= 8·NV` lanes
/// inside the row; when `INTERIOR`, every pixel of the tile is in `[ox_lo, ox_hi)`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn wide_tile<const MR: usize, const NV: usize, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    ox0: usize,
    w: *const f32,
    out: *mut f32,
    width: usize,
    lo: __m256,
    hi: __m256,
) {
    let nr = 8 * NV;
    let mut acc = [[_mm256_setzero_ps(); NV]; MR];
    for v in 0..NV {
        // SAFETY: the block starts with 8·NV biases.
        let b = unsafe { _mm256_loadu_ps(w.add(8 * v)) };
        for a in acc.iter_mut() {
            a[v] = b;
        }
    }
    let row_len = s.in_w * s.in_c;
    let per_ky = s.kw * s.cin_g * nr;
    for ky in r.ky0..r.ky1 {
        // In range by construction of ky0..ky1.
        let iy = (r.iy0 + (ky * s.dh) as isize) as usize;
        // SAFETY: iy < in_h: a row of the current image.
        let row = unsafe { r.img.add(iy * row_len) };
        // SAFETY: ky < kh: inside the block's weights.
        let mut wk = unsafe { w.add(nr + ky * per_ky) };
        if INTERIOR {
            let ix0 = ox0 * s.sw - s.pl; // >= 0 for interior tiles
            let mut p = [row; MR];
            for (j, pj) in p.iter_mut().enumerate() {
                // SAFETY: pixel ox0 + j is interior: its kx = 0 column is inside the row.
                *pj = unsafe { row.add((ix0 + j * s.sw) * s.in_c) };
            }
            if s.flat {
                // One group, dw = 1: the kw·in_c floats of every pixel are contiguous and
                // inside the row (interior), and the weights are in the same order.
                wide_k_loop!(acc, p, wk, s.kw * s.cin_g, MR, NV);
            } else {
                for kx in 0..s.kw {
                    let mut q = p;
                    for qj in q.iter_mut() {
                        // SAFETY: interior pixel: column ix + kx·dw is inside the row, and
                        // its group's cin_g channels too.
                        *qj = unsafe { qj.add(kx * s.dw * s.in_c) };
                    }
                    wide_k_loop!(acc, q, wk, s.cin_g, MR, NV);
                    // SAFETY: advances over this kx's weights, inside the block.
                    wk = unsafe { wk.add(s.cin_g * nr) };
                }
            }
        } else {
            for kx in 0..s.kw {
                let mut ix = [usize::MAX; MR];
                for (j, ixj) in ix.iter_mut().enumerate() {
                    let pos = (ox0 + j) * s.sw + kx * s.dw;
                    if pos >= s.pl && pos - s.pl < s.in_w {
                        *ixj = pos - s.pl;
                    }
                }
                let mut ic0 = 0;
                while ic0 < s.cin_g {
                    let len = ZLEN.min(s.cin_g - ic0);
                    let mut q = [ZEROS.as_ptr(); MR];
                    for (qj, &ixj) in q.iter_mut().zip(&ix) {
                        if ixj != usize::MAX {
                            // SAFETY: ixj < in_w and ic0 + len <= cin_g: inside the row.
                            *qj = unsafe { row.add(ixj * s.in_c + ic0) };
                        }
                    }
                    // SAFETY: ic0 < cin_g: inside this kx's weights.
                    let wc = unsafe { wk.add(ic0 * nr) };
                    wide_k_loop!(acc, q, wc, len, MR, NV);
                    ic0 += len;
                }
                // SAFETY: advances over this kx's weights, inside the block.
                wk = unsafe { wk.add(s.cin_g * nr) };
            }
        }
    }
    let tail = width - 8 * (NV - 1);
    for (j, a) in acc.iter().enumerate() {
        // SAFETY: pixel ox0 + j < out_w (caller's invariant).
        let o = unsafe { out.add(j * s.out_c) };
        for (v, &av) in a.iter().enumerate() {
            let y = clamp(av, lo, hi);
            if v + 1 < NV || tail == 8 {
                // SAFETY: lanes 8v..8v+8 are real channels of this block (v < NV-1, or a
                // full last vector).
                unsafe { _mm256_storeu_ps(o.add(8 * v), y) };
            } else {
                // SAFETY: only the first `tail` lanes, the block's real channels, are written.
                unsafe { _mm256_maskstore_ps(o.add(8 * v), lane_mask(tail), y) };
            }
        }
    }
}

/// Picks the monomorphized narrow tile.
///
/// # Safety
/// As [`narrow_tile`]; `c` in {1, 2, 4}; `cnt` in `1..=NARROW_MR`; `interior` only when
/// `cnt == NARROW_MR` and every pixel is interior.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn narrow_dispatch(
    s: &Shape,
    r: &Row,
    ox0: usize,
    cnt: usize,
    interior: bool,
    c: usize,
    ch0: usize,
    width: usize,
    w: *const f32,
    out: *mut f32,
    lo: __m256,
    hi: __m256,
) {
    let masked = width < 8;
    let row3 = s.kw == 3 && s.sw == 1 && s.dw == 1;
    macro_rules! go {
        ($c:literal, $m:literal) => {
            if row3 && interior {
                // SAFETY: forwarded contract; kw = 3, sw = dw = 1 as `narrow_tile_k3` needs,
                // and the full tile is interior.
                unsafe { narrow_tile_k3::<$c, $m, true>(s, r, ox0, cnt, ch0, width, w, out, lo, hi) }
            } else if row3 {
                // SAFETY: forwarded contract; kw = 3, sw = dw = 1.
                unsafe { narrow_tile_k3::<$c, $m, false>(s, r, ox0, cnt, ch0, width, w, out, lo, hi) }
            } else if interior {
                // SAFETY: forwarded contract; the full tile is interior.
                unsafe { narrow_tile::<$c, $m, true>(s, r, ox0, cnt, ch0, width, w, out, lo, hi) }
            } else {
                // SAFETY: forwarded contract.
                unsafe { narrow_tile::<$c, $m, false>(s, r, ox0, cnt, ch0, width, w, out, lo, hi) }
            }
        };
    }
    match (c, masked) {
        (1, false) => go!(1, false),
        (1, true) => go!(1, true),
        (2, false) => go!(2, false),
        (2, true) => go!(2, true),
        (4, false) => go!(4, false),
        (4, true) => go!(4, true),
        _ => unreachable!("narrow plan with {c} channels per group"),
    }
}

/// [`narrow_tile`] for a 3-wide kernel with unit horizontal stride and dilation: each of the
/// `NARROW_MR + 2` input columns of a kernel row is loaded and rotated once and feeds the (up
/// to 3) output pixels that use it, instead of once per tap. Columns outside the input (the
/// left/right padding, or past the last of `cnt < NARROW_MR` pixels) read the zero buffer.
///
/// # Safety
/// As [`narrow_tile`], plus `kw == 3`, `sw == 1`, `dw == 1`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn narrow_tile_k3<const C: usize, const MASKED: bool, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    ox0: usize,
    cnt: usize,
    ch0: usize,
    width: usize,
    w: *const f32,
    out: *mut f32,
    lo: __m256,
    hi: __m256,
) {
    const MR: usize = NARROW_MR;
    // SAFETY: width <= 8 (caller's invariant).
    let mask = unsafe { lane_mask(width) };
    // SAFETY: the block starts with 8 biases.
    let bias = unsafe { _mm256_loadu_ps(w) };
    let mut acc = [bias; MR];
    let row_len = s.in_w * s.in_c;
    for ky in r.ky0..r.ky1 {
        let iy = (r.iy0 + (ky * s.dh) as isize) as usize;
        // SAFETY: iy < in_h and ch0 < in_c: channel ch0 of the row's first pixel.
        let row = unsafe { r.img.add(iy * row_len + ch0) };
        // SAFETY: ky < kh: this kernel row's 3·C weight vectors are inside the block.
        let wt = unsafe { w.add(8 + ky * 3 * C * 8) };
        for q in 0..MR + 2 {
            // Input column of tile column q (sw = dw = 1): ox0 + q - pl.
            let p = if INTERIOR {
                // SAFETY: interior tile: ox0 >= pl and columns ox0 - pl .. ox0 - pl + MR + 2
                // are inside the row.
                unsafe { row.add((ox0 + q - s.pl) * s.in_c) }
            } else {
                let pos = ox0 + q;
                if pos >= s.pl && pos - s.pl < s.in_w && q < cnt + 2 {
                    // SAFETY: column pos - pl < in_w: inside the row.
                    unsafe { row.add((pos - s.pl) * s.in_c) }
                } else {
                    ZEROS.as_ptr()
                }
            };
            // SAFETY: `p` is a pixel's channels ch0.. of the row or the zero buffer (>= 8
            // floats); masked: only the `width` real channels are read.
            let x = unsafe { if MASKED { _mm256_maskload_ps(p, mask) } else { _mm256_loadu_ps(p) } };
            let mut xr = [x; C];
            for (i, xri) in xr.iter_mut().enumerate().skip(1) {
                *xri = rotate::<C>(x, i);
            }
            for kx in 0..3 {
                if q >= kx && q - kx < MR {
                    let j = q - kx;
                    for (i, &xri) in xr.iter().enumerate() {
                        // SAFETY: kx < 3, i < C: inside this kernel row's weights.
                        let wv = unsafe { _mm256_loadu_ps(wt.add((kx * C + i) * 8)) };
                        acc[j] = _mm256_fmadd_ps(xri, wv, acc[j]);
                    }
                }
            }
        }
    }
    for (j, &a) in acc.iter().enumerate().take(cnt) {
        let y = clamp(a, lo, hi);
        // SAFETY: pixel ox0 + j < out_w (j < cnt); channels ch0..ch0+width < out_c.
        let o = unsafe { out.add(j * s.out_c) };
        if MASKED {
            // SAFETY: only the `width` real lanes are written.
            unsafe { _mm256_maskstore_ps(o, mask, y) };
        } else {
            // SAFETY: 8 real channels.
            unsafe { _mm256_storeu_ps(o, y) };
        }
    }
}

/// Rotates each group of `C` lanes by `r` (lane `o` of a group takes lane `(o + r) % C`).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn rotate<const C: usize>(x: __m256, r: usize) -> __m256 {
    match (C, r) {
        (2, 1) => _mm256_permute_ps::<0xB1>(x),
        (4, 1) => _mm256_permute_ps::<0x39>(x),
        (4, 2) => _mm256_permute_ps::<0x4E>(x),
        (4, 3) => _mm256_permute_ps::<0x93>(x),
        _ => x,
    }
}

/// One narrow register tile: output pixels `ox0..ox0+cnt` of row `oy` × output channels
/// `ch0..ch0+width` (8 lanes, `8 / C` groups of `C` channels reading input channels
/// `ch0..ch0+width`).
///
/// # Safety
/// AVX2+FMA available; `s`/`r` from the validated geometry of the buffers (narrow plan,
/// `in_c == out_c`, `r.img` at the current image); `w` points at the vector's packed block;
/// `out` at output pixel `ox0`, channel `ch0`; `ox0 + cnt <= out_w`, `cnt <= NARROW_MR`,
/// `ch0 + width <= out_c`, `MASKED == (width < 8)`; when `INTERIOR`, `cnt == NARROW_MR` and
/// every pixel of the tile is interior.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn narrow_tile<const C: usize, const MASKED: bool, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    ox0: usize,
    cnt: usize,
    ch0: usize,
    width: usize,
    w: *const f32,
    out: *mut f32,
    lo: __m256,
    hi: __m256,
) {
    const MR: usize = NARROW_MR;
    // SAFETY: width <= 8 (caller's invariant).
    let mask = unsafe { lane_mask(width) };
    // SAFETY: the block starts with 8 biases.
    let bias = unsafe { _mm256_loadu_ps(w) };
    let mut acc = [bias; MR];
    let row_len = s.in_w * s.in_c;
    let load = |p: *const f32| -> __m256 {
        if MASKED {
            // SAFETY: only the first `width` lanes are read: real channels of the pixel, or
            // the zero buffer (>= 8 floats).
            unsafe { _mm256_maskload_ps(p, mask) }
        } else {
            // SAFETY: 8 channels ch0..ch0+8 <= in_c of the pixel, or the zero buffer.
            unsafe { _mm256_loadu_ps(p) }
        }
    };
    for ky in r.ky0..r.ky1 {
        let iy = (r.iy0 + (ky * s.dh) as isize) as usize;
        // SAFETY: iy < in_h; ch0 < in_c.
        let row = unsafe { r.img.add(iy * row_len + ch0) };
        for kx in 0..s.kw {
            // SAFETY: (ky, kx) < (kh, kw): inside the vector's block.
            let wt = unsafe { w.add(8 + (ky * s.kw + kx) * C * 8) };
            let mut wv = [_mm256_setzero_ps(); C];
            for (i, wvi) in wv.iter_mut().enumerate() {
                // SAFETY: C weight vectors per tap.
                *wvi = unsafe { _mm256_loadu_ps(wt.add(8 * i)) };
            }
            let mut p = [ZEROS.as_ptr(); MR];
            if INTERIOR {
                let ix0 = ox0 * s.sw + kx * s.dw - s.pl;
                for (j, pj) in p.iter_mut().enumerate() {
                    // SAFETY: interior pixel: column inside the row.
                    *pj = unsafe { row.add((ix0 + j * s.sw) * s.in_c) };
                }
            } else {
                for (j, pj) in p.iter_mut().enumerate().take(cnt) {
                    let pos = (ox0 + j) * s.sw + kx * s.dw;
                    if pos >= s.pl && pos - s.pl < s.in_w {
                        // SAFETY: column pos - pl < in_w: inside the row.
                        *pj = unsafe { row.add((pos - s.pl) * s.in_c) };
                    }
                }
            }
            for j in 0..MR {
                let x = load(p[j]);
                acc[j] = _mm256_fmadd_ps(x, wv[0], acc[j]);
                for (i, &wvi) in wv.iter().enumerate().skip(1) {
                    acc[j] = _mm256_fmadd_ps(rotate::<C>(x, i), wvi, acc[j]);
                }
            }
        }
    }
    for (j, &a) in acc.iter().enumerate().take(cnt) {
        let y = clamp(a, lo, hi);
        // SAFETY: pixel ox0 + j < out_w; channels ch0..ch0+width < out_c.
        let o = unsafe { out.add(j * s.out_c) };
        if MASKED {
            // SAFETY: only the `width` real lanes are written.
            unsafe { _mm256_maskstore_ps(o, mask, y) };
        } else {
            // SAFETY: 8 real channels.
            unsafe { _mm256_storeu_ps(o, y) };
        }
    }
}
