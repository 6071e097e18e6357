//! Dense and grouped k×k convolution, all groups in one pass (NEON).
//!
//! Two plans, chosen from the geometry alone (so [`conv2d_pack`] and [`conv2d_run`] always
//! agree), the same two as the AVX2 tier with 4-lane vectors:
//!
//! - **Wide** (the general path, every geometry that is not narrow): a direct "implicit GEMM"
//!   per group. The group's output channels are cut into blocks of 16 (four Q registers) with a
//!   last block of 4, 8, 12 or 16 lanes for the remainder (padded with zero weights; partial
//!   vectors are stored lane by lane). A register tile of up to 6 output pixels along a row ×
//!   one 16-channel block (24 accumulators; 6 pixels for 12-lane blocks, 8 pixels for 8- and
//!   4-lane blocks) loops over `(ky, kx, ic)`: the weight vectors of that `(ky, kx, ic)` are
//!   loaded once and each pixel's input value is broadcast (`vld1q_dup_f32`, which LLVM turns
//!   into a scalar `ldr s` feeding by-element `fmla v.4s, w.4s, x.s[0]`) and FMA-ed into the
//!   pixel's accumulators: 8 loads per 24 FMAs for the 6 × 16 tile, every accumulator in a
//!   register. Rows that touch the top/bottom padding skip the `ky`
//!   taps that fall outside; tiles that touch the left/right padding point each out-of-range
//!   pixel tap at a static zero buffer, so there is no branch in the FMA loop. Interior tiles
//!   with one group and no horizontal dilation read `kw · in_c` contiguous floats per `ky`
//!   (one long `k` loop, which keeps the 3-channel MobileNet stem busy). Loop order is
//!   block-major: one block's packed weights stay in L1 while every output row of every image
//!   streams through them.
//! - **Narrow** (`in_c / groups == out_c / groups == c` with `c` in {1, 2, 4} and groups > 1,
//!   i.e. many tiny groups, including depthwise): vectorized *across* groups. One Q register
//!   covers 4 consecutive output channels (`4 / c` groups) and reads the 4 input channels of
//!   the same groups with one load; the input value a lane needs for its `i`-th weight is
//!   obtained by rotating the lane within its group (`vrev64q_f32` for pairs, `vextq_f32` for
//!   quads), and the weights are stored pre-rotated per lane at pack time. Tiles of 8 output
//!   pixels × 4 channels; for 3-wide kernels with unit horizontal stride and dilation each
//!   input column of a tile is loaded and rotated once for the three taps that use it.
//!
//! Every public function checks the geometry and every slice length before touching memory
//! and writes nothing on error.

use core::arch::aarch64::*;

use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

/// Lanes of one NEON vector.
const L: usize = 4;
/// Vectors of a full wide block (16 output channels).
const WIDE_NV: usize = 4;
/// Pixels per register tile of the narrow plan.
const NARROW_MR: usize = 8;
/// Length of the zero buffer that out-of-range taps read from.
const ZLEN: usize = 64;
/// Zeros read by taps that fall into the padding.
static ZEROS: [f32; ZLEN] = [0.0; ZLEN];

/// Repeats `body` with `$i` bound to each listed constant, so that array indices in it are
/// compile-time constants (LLVM then keeps the accumulator arrays in registers; a run-time
/// loop over 8–10 pixels with a large body is not fully unrolled and leaves them on the stack).
macro_rules! unroll {
    ($i:ident in [$($n:literal),*] $body:block) => {
        $({
            let $i: usize = $n;
            $body
        })*
    };
}

// The narrow tiles unroll their pixel loop over exactly these 8 (and 8 + 2) constants.
const _: () = assert!(NARROW_MR == 8);

/// Which packed layout and kernel a geometry uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Per group, blocks of 16 (or 4, 8, 12) output channels; see the module docs.
    Wide,
    /// Vectorized across groups; `c = in_c / groups = out_c / groups` in {1, 2, 4}.
    Narrow(usize),
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

/// Pixels per register tile of a wide block of `nv` vectors (accumulators `mr · nv` ≤ 24,
/// leaving room for the `nv` weight vectors and the broadcast inputs in 32 registers).
fn wide_mr(nv: usize) -> usize {
    if nv >= 3 { 6 } else { 8 }
}

/// The output-channel blocks of one group in the wide plan: `(first channel, width, vectors)`.
/// Full blocks of 16, then the remainder (1..=15 channels) in one block of `ceil(rem / 4)`
/// vectors.
fn wide_blocks(cout_g: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let full = cout_g / (L * WIDE_NV);
    let rem = cout_g % (L * WIDE_NV);
    (0..full)
        .map(|b| (b * L * WIDE_NV, L * WIDE_NV, WIDE_NV))
        .chain((rem > 0).then(|| (full * L * WIDE_NV, rem, rem.div_ceil(L))))
}

/// Packed floats of one wide block of `nv` vectors: bias then `[kh][kw][cin_g][4·nv]`.
fn wide_block_len(nv: usize, taps_k: usize) -> Option<usize> {
    taps_k.checked_add(1)?.checked_mul(L * nv)
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
            let nvec = g.out_c.div_ceil(L);
            taps.checked_mul(c)?.checked_add(1)?.checked_mul(L)?.checked_mul(nvec)
        }
    }
}

/// Length of the NEON tier's packed buffer for `g`.
///
/// Layout (the plan is a function of the geometry, see the module docs):
/// - wide plan: for each group, for each output-channel block of the group (blocks of 16
///   channels, then one block of `4·ceil(rem/4)` lanes for a remainder `rem` of 1..=15): the
///   block's bias (`4·nv` floats) followed by its weights `[kh][kw][in_c/groups][4·nv]`
///   (lanes past the group's channels are zero);
/// - narrow plan (`in_c/groups == out_c/groups == c`, `c` in {1, 2, 4}, groups > 1): for each
///   vector of 4 output channels (the last one zero-padded): 4 biases, then `[kh][kw][c][4]`
///   where lane `l` (channel `oc = 4v + l`, `o = oc % c`) of entry `r` holds the weight of
///   input channel `(o + r) % c` of that channel's group.
pub fn conv2d_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    g.validate()?;
    packed_len_of(g).ok_or(KernelError::Overflow { what: "packed length" })
}

/// Packs OHWI weights `[out_c][kh][kw][in_c/groups]` and an optional bias `[out_c]` into the
/// layout described at [`conv2d_packed_len`], for [`conv2d_run`].
///
/// Errors: invalid geometry, wrong weight / bias / packed lengths, or a CPU without NEON
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
                    let nr = L * nv;
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
            for v in 0..g.out_c.div_ceil(L) {
                let block = &mut packed[pos..pos + L * (1 + taps * c)];
                block.fill(0.0);
                for lane in 0..L.min(g.out_c - L * v) {
                    let oc = L * v + lane;
                    let o = oc % c;
                    block[lane] = bias_of(oc);
                    for t in 0..taps {
                        for r in 0..c {
                            block[L + (t * c + r) * L + lane] = weights[(oc * taps + t) * c + (o + r) % c];
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
/// - `packed`: from [`conv2d_pack`] with the same geometry (layout at [`conv2d_packed_len`]);
/// - `output`: `[batch][out_h][out_w][out_c]`, each element `act(bias + Σ input · weight)`
///   over the taps inside the input (padding reads as zero).
///
/// Errors: invalid geometry or clamp, wrong packed / input / output lengths, or a CPU without
/// NEON ([`KernelError::IsaUnavailable`]). Nothing is written on error.
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
    // SAFETY: NEON is available (checked just above); the geometry is valid and the input,
    // packed and output lengths match it exactly (checked above), which is the precondition
    // of `run`.
    unsafe { run(&s, plan(g), input.as_ptr(), packed.as_ptr(), output.as_mut_ptr(), lo, hi) };
    Ok(())
}

/// Geometry in the form the kernels use (all from a validated [`Conv2dGeometry`]).
struct Shape {
    batch: usize,
    in_h: usize,
    in_w: usize,
    in_c: usize,
    out_c: usize,
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
    groups: usize,
    cin_g: usize,
    cout_g: usize,
    /// First output column whose every horizontal tap is inside the input.
    ox_lo: usize,
    /// One past the last such column (`ox_lo <= ox_hi <= out_w`).
    ox_hi: usize,
    /// Interior tiles may read `kw · in_c` contiguous floats per kernel row (one group, no
    /// horizontal dilation).
    flat: bool,
}

impl Shape {
    fn new(g: &Conv2dGeometry, out_h: usize, out_w: usize) -> Self {
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
    fn interior(&self, ox0: usize, cnt: usize) -> bool {
        ox0 >= self.ox_lo && ox0 + cnt <= self.ox_hi
    }
}

/// Per output row: the input image (already offset to the group's first channel), the valid
/// `ky` range and the input row of `ky = 0` (may be negative).
struct Row {
    img: *const f32,
    ky0: usize,
    ky1: usize,
    iy0: isize,
}

/// `min(hi, max(lo, x))`, bounds first; FMAX/FMIN return NaN when an operand is NaN, so NaN
/// propagates like the reference.
#[target_feature(enable = "neon")]
#[inline]
fn clamp(x: float32x4_t, lo: float32x4_t, hi: float32x4_t) -> float32x4_t {
    vminq_f32(hi, vmaxq_f32(lo, x))
}

/// Loads the first `n` (0..=4) floats at `p`, zero in the other lanes.
///
/// # Safety
/// NEON available; `p` points to at least `n` readable floats.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn load_n(p: *const f32, n: usize) -> float32x4_t {
    debug_assert!(n <= L);
    let mut buf = [0.0f32; L];
    // SAFETY: `p` has `n` readable floats (caller) and `buf` has room for `n <= 4`.
    unsafe { core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n) };
    // SAFETY: `buf` holds 4 floats.
    unsafe { vld1q_f32(buf.as_ptr()) }
}

/// Stores the first `n` (0..=4) lanes of `y` at `o`.
///
/// # Safety
/// NEON available; `o` points to at least `n` writable floats.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn store_n(o: *mut f32, y: float32x4_t, n: usize) {
    debug_assert!(n <= L);
    let mut buf = [0.0f32; L];
    // SAFETY: `buf` holds 4 floats.
    unsafe { vst1q_f32(buf.as_mut_ptr(), y) };
    // SAFETY: `o` has `n` writable floats (caller) and `buf` holds `n <= 4`.
    unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), o, n) };
}

/// The whole convolution.
///
/// # Safety
/// NEON must be available; `s` must come from a validated geometry whose plan is `p`;
/// `input`, `packed` and `output` must point to exactly `batch·in_h·in_w·in_c`, the packed
/// length of the geometry, and `batch·out_h·out_w·out_c` floats.
#[target_feature(enable = "neon")]
unsafe fn run(s: &Shape, p: Plan, input: *const f32, packed: *const f32, output: *mut f32, lo: f32, hi: f32) {
    let (lo, hi) = (vdupq_n_f32(lo), vdupq_n_f32(hi));
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
                    wpos += L * nv * (1 + taps_k);
                    let mr = wide_mr(nv);
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
                                // validated geometry; cnt <= wide_mr(nv).
                                unsafe { wide_dispatch(s, &r, ox0, cnt, nv, w, out, width, lo, hi) };
                                ox0 += cnt;
                            }
                        }
                    }
                }
            }
        }
        Plan::Narrow(c) => {
            let nvec = s.out_c.div_ceil(L);
            let vlen = L * (1 + s.kh * s.kw * c);
            for n in 0..s.batch {
                for oy in 0..s.out_h {
                    // SAFETY: n < batch, oy < out_h (see `row`).
                    let (r, out_row) = unsafe { row(s, input, output, n, oy, 0) };
                    let mut ox0 = 0;
                    while ox0 < s.out_w {
                        let cnt = NARROW_MR.min(s.out_w - ox0);
                        let interior = cnt == NARROW_MR && s.interior(ox0, cnt);
                        for v in 0..nvec {
                            let width = L.min(s.out_c - L * v);
                            // SAFETY: v < nvec: the vector's block is inside `packed`.
                            let w = unsafe { packed.add(v * vlen) };
                            // SAFETY: ox0 < out_w and 4v < out_c: inside this output row.
                            let out = unsafe { out_row.add(ox0 * s.out_c + L * v) };
                            // SAFETY: as above; the channel window 4v..4v+width is inside in_c
                            // (in_c == out_c in the narrow plan).
                            unsafe {
                                narrow_dispatch(s, &r, ox0, cnt, interior, c, L * v, width, w, out, lo, hi)
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
unsafe fn row(
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
/// As [`wide_tile`]; `nv` in 1..=4 and `cnt` in `1..=wide_mr(nv)`.
#[target_feature(enable = "neon")]
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
    lo: float32x4_t,
    hi: float32x4_t,
) {
    let interior = s.interior(ox0, cnt);
    macro_rules! go {
        ($mr:literal, $nv:literal) => {
            if interior {
                // SAFETY: forwarded contract; all `cnt == MR` pixels are interior.
                unsafe { wide_tile::<$mr, $nv, true>(s, r, ox0, w, out, width, lo, hi) }
            } else {
                // SAFETY: forwarded contract; `cnt == MR`.
                unsafe { wide_tile::<$mr, $nv, false>(s, r, ox0, w, out, width, lo, hi) }
            }
        };
    }
    match (nv, cnt) {
        (4, 6) => go!(6, 4),
        (4, 5) => go!(5, 4),
        (4, 4) => go!(4, 4),
        (4, 3) => go!(3, 4),
        (4, 2) => go!(2, 4),
        (4, 1) => go!(1, 4),
        (3, 6) => go!(6, 3),
        (3, 5) => go!(5, 3),
        (3, 4) => go!(4, 3),
        (3, 3) => go!(3, 3),
        (3, 2) => go!(2, 3),
        (3, 1) => go!(1, 3),
        (2, 8) => go!(8, 2),
        (2, 7) => go!(7, 2),
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

/// `acc[j][v] += Σ_i p[j][i] · w[i][v]` for `i < k` (the inner loop of the wide tile): per
/// `i`, `nv` weight loads, then per pixel one `ld1r` broadcast and `nv` FMAs.
macro_rules! wide_k_loop {
    ($acc:ident, $p:ident, $w:expr, $k:expr, $mr:ident, $nv:ident) => {{
        let w: *const f32 = $w;
        for i in 0..$k {
            let mut wv = [vdupq_n_f32(0.0); $nv];
            for (v, wvv) in wv.iter_mut().enumerate() {
                // SAFETY: `w` covers `k` rows of `4·nv` packed weights (caller's invariant).
                *wvv = unsafe { vld1q_f32(w.add((i * $nv + v) * L)) };
            }
            for j in 0..$mr {
                // SAFETY: `p[j]` points to at least `k` readable floats (an input run or the
                // zero buffer; caller's invariant).
                let b = unsafe { vld1q_dup_f32($p[j].add(i)) };
                for v in 0..$nv {
                    $acc[j][v] = vfmaq_f32($acc[j][v], wv[v], b);
                }
            }
        }
    }};
}

/// One wide register tile: `MR` output pixels `ox0..ox0+MR` of row `oy` × one block of
/// `4·NV` output channels (`width` of them real), bias + Σ over valid taps, clamp, store.
///
/// # Safety
/// NEON available; `s`/`r` from the validated geometry of the buffers; `r.img` points at
/// the current image offset by the group's first input channel; `w` points at the block's
/// packed data (bias then `[kh][kw][cin_g][4·NV]`); `out` points at output pixel `ox0`,
/// channel of the block's first lane, with `ox0 + MR <= out_w` and `4·(NV-1) < width <= 4·NV`
/// lanes inside the row; when `INTERIOR`, every pixel of the tile is in `[ox_lo, ox_hi)`.
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
// Never inlined: each tile gets its own register allocation (all accumulators in registers),
// not one shared with the 28 (or 12) sibling tiles of the dispatcher.
#[inline(never)]
unsafe fn wide_tile<const MR: usize, const NV: usize, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    ox0: usize,
    w: *const f32,
    out: *mut f32,
    width: usize,
    lo: float32x4_t,
    hi: float32x4_t,
) {
    let nr = L * NV;
    let mut acc = [[vdupq_n_f32(0.0); NV]; MR];
    for v in 0..NV {
        // SAFETY: the block starts with 4·NV biases.
        let b = unsafe { vld1q_f32(w.add(L * v)) };
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
    let tail = width - L * (NV - 1);
    for (j, a) in acc.iter().enumerate() {
        // SAFETY: pixel ox0 + j < out_w (caller's invariant).
        let o = unsafe { out.add(j * s.out_c) };
        for (v, &av) in a.iter().enumerate() {
            let y = clamp(av, lo, hi);
            if v + 1 < NV || tail == L {
                // SAFETY: lanes 4v..4v+4 are real channels of this block (v < NV-1, or a
                // full last vector).
                unsafe { vst1q_f32(o.add(L * v), y) };
            } else {
                // SAFETY: only the first `tail` lanes, the block's real channels, are written.
                unsafe { store_n(o.add(L * v), y, tail) };
            }
        }
    }
}

/// Picks the monomorphized narrow tile.
///
/// # Safety
/// As [`narrow_tile`]; `c` in {1, 2, 4}; `cnt` in `1..=NARROW_MR`; `interior` only when
/// `cnt == NARROW_MR` and every pixel is interior.
#[target_feature(enable = "neon")]
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
    lo: float32x4_t,
    hi: float32x4_t,
) {
    let partial = width < L;
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
    // A partial vector (width < 4) only happens for c in {1, 2}: out_c is a multiple of 4
    // when c = 4.
    match (c, partial) {
        (1, false) => go!(1, false),
        (1, true) => go!(1, true),
        (2, false) => go!(2, false),
        (2, true) => go!(2, true),
        (4, false) => go!(4, false),
        (4, true) => go!(4, true),
        _ => unreachable!("narrow plan with {c} channels per group"),
    }
}

/// Rotates each group of `C` lanes by `r` (lane `o` of a group takes lane `(o + r) % C`).
#[target_feature(enable = "neon")]
#[inline]
fn rotate<const C: usize>(x: float32x4_t, r: usize) -> float32x4_t {
    match (C, r) {
        (2, 1) => vrev64q_f32(x),
        (4, 1) => vextq_f32::<1>(x, x),
        (4, 2) => vextq_f32::<2>(x, x),
        (4, 3) => vextq_f32::<3>(x, x),
        _ => x,
    }
}

/// Loads the 4 (or, when `PARTIAL`, the first `width`) channels at `p`.
///
/// # Safety
/// NEON available; `p` points to at least 4 readable floats, or `width` when `PARTIAL`.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn load_ch<const PARTIAL: bool>(p: *const f32, width: usize) -> float32x4_t {
    if PARTIAL {
        // SAFETY: `width` readable floats (caller).
        unsafe { load_n(p, width) }
    } else {
        // SAFETY: 4 readable floats (caller).
        unsafe { vld1q_f32(p) }
    }
}

/// Clamps and stores the `cnt` accumulators of a narrow tile (4 lanes, or `width` when
/// `PARTIAL`), pixel `j` at `out + j·out_c`.
///
/// # Safety
/// NEON available; `out + j·out_c` has 4 (or `width`) writable floats for `j < cnt`.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn narrow_store<const PARTIAL: bool>(
    acc: &[float32x4_t],
    cnt: usize,
    out: *mut f32,
    out_c: usize,
    width: usize,
    lo: float32x4_t,
    hi: float32x4_t,
) {
    for (j, &a) in acc.iter().enumerate().take(cnt) {
        let y = clamp(a, lo, hi);
        // SAFETY: pixel j < cnt: inside the output row (caller).
        let o = unsafe { out.add(j * out_c) };
        if PARTIAL {
            // SAFETY: only the `width` real lanes are written.
            unsafe { store_n(o, y, width) };
        } else {
            // SAFETY: 4 real channels.
            unsafe { vst1q_f32(o, y) };
        }
    }
}

/// [`narrow_tile`] for a 3-wide kernel with unit horizontal stride and dilation: each of the
/// `NARROW_MR + 2` input columns of a kernel row is loaded and rotated once and feeds the (up
/// to 3) output pixels that use it, instead of once per tap. Columns outside the input (the
/// left/right padding, or past the last of `cnt < NARROW_MR` pixels) read the zero buffer.
///
/// # Safety
/// As [`narrow_tile`], plus `kw == 3`, `sw == 1`, `dw == 1`.
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
// Never inlined: each tile gets its own register allocation (all accumulators in registers),
// not one shared with the 28 (or 12) sibling tiles of the dispatcher.
#[inline(never)]
unsafe fn narrow_tile_k3<const C: usize, const PARTIAL: bool, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    ox0: usize,
    cnt: usize,
    ch0: usize,
    width: usize,
    w: *const f32,
    out: *mut f32,
    lo: float32x4_t,
    hi: float32x4_t,
) {
    const MR: usize = NARROW_MR;
    // SAFETY: the block starts with 4 biases.
    let bias = unsafe { vld1q_f32(w) };
    let mut acc = [bias; MR];
    let row_len = s.in_w * s.in_c;
    for ky in r.ky0..r.ky1 {
        let iy = (r.iy0 + (ky * s.dh) as isize) as usize;
        // SAFETY: iy < in_h and ch0 < in_c: channel ch0 of the row's first pixel.
        let row = unsafe { r.img.add(iy * row_len + ch0) };
        // SAFETY: ky < kh: this kernel row's 3·C weight vectors are inside the block.
        let wt = unsafe { w.add(L + ky * 3 * C * L) };
        let mut wv = [[vdupq_n_f32(0.0); C]; 3];
        for (kx, wk) in wv.iter_mut().enumerate() {
            for (i, wki) in wk.iter_mut().enumerate() {
                // SAFETY: kx < 3, i < C: inside this kernel row's weights.
                *wki = unsafe { vld1q_f32(wt.add((kx * C + i) * L)) };
            }
        }
        unroll!(q in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
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
            // SAFETY: `p` is a pixel's channels ch0.. of the row (ch0 + 4 <= in_c, or only
            // `width` read when partial) or the zero buffer (>= 4 floats).
            let x = unsafe { load_ch::<PARTIAL>(p, width) };
            let mut xr = [x; C];
            unroll!(i in [1, 2, 3] {
                if i < C {
                    xr[i] = rotate::<C>(x, i);
                }
            });
            for (kx, wk) in wv.iter().enumerate() {
                if q >= kx && q - kx < MR {
                    let j = q - kx;
                    for (&xri, &wki) in xr.iter().zip(wk) {
                        acc[j] = vfmaq_f32(acc[j], xri, wki);
                    }
                }
            }
        });
    }
    // SAFETY: pixels ox0..ox0+cnt < out_w; channels ch0..ch0+width <= out_c (caller).
    unsafe { narrow_store::<PARTIAL>(&acc, cnt, out, s.out_c, width, lo, hi) };
}

/// One narrow register tile: output pixels `ox0..ox0+cnt` of row `oy` × output channels
/// `ch0..ch0+width` (4 lanes, `4 / C` groups of `C` channels reading input channels
/// `ch0..ch0+width`).
///
/// # Safety
/// NEON available; `s`/`r` from the validated geometry of the buffers (narrow plan,
/// `in_c == out_c`, `r.img` at the current image); `w` points at the vector's packed block;
/// `out` at output pixel `ox0`, channel `ch0`; `ox0 + cnt <= out_w`, `cnt <= NARROW_MR`,
/// `ch0 + width <= out_c`, `PARTIAL == (width < 4)`; when `INTERIOR`, `cnt == NARROW_MR` and
/// every pixel of the tile is interior.
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
// Never inlined: each tile gets its own register allocation (all accumulators in registers),
// not one shared with the 28 (or 12) sibling tiles of the dispatcher.
#[inline(never)]
unsafe fn narrow_tile<const C: usize, const PARTIAL: bool, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    ox0: usize,
    cnt: usize,
    ch0: usize,
    width: usize,
    w: *const f32,
    out: *mut f32,
    lo: float32x4_t,
    hi: float32x4_t,
) {
    const MR: usize = NARROW_MR;
    // SAFETY: the block starts with 4 biases.
    let bias = unsafe { vld1q_f32(w) };
    let mut acc = [bias; MR];
    let row_len = s.in_w * s.in_c;
    for ky in r.ky0..r.ky1 {
        let iy = (r.iy0 + (ky * s.dh) as isize) as usize;
        // SAFETY: iy < in_h; ch0 < in_c.
        let row = unsafe { r.img.add(iy * row_len + ch0) };
        for kx in 0..s.kw {
            // SAFETY: (ky, kx) < (kh, kw): inside the vector's block.
            let wt = unsafe { w.add(L + (ky * s.kw + kx) * C * L) };
            let mut wv = [vdupq_n_f32(0.0); C];
            for (i, wvi) in wv.iter_mut().enumerate() {
                // SAFETY: C weight vectors per tap.
                *wvi = unsafe { vld1q_f32(wt.add(L * i)) };
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
            unroll!(j in [0, 1, 2, 3, 4, 5, 6, 7] {
                // SAFETY: `p[j]` is a pixel's channels ch0.. of the row (4 of them, or only
                // `width` read when partial) or the zero buffer (>= 4 floats).
                let x = unsafe { load_ch::<PARTIAL>(p[j], width) };
                acc[j] = vfmaq_f32(acc[j], x, wv[0]);
                unroll!(i in [1, 2, 3] {
                    if i < C {
                        acc[j] = vfmaq_f32(acc[j], rotate::<C>(x, i), wv[i]);
                    }
                });
            });
        }
    }
    // SAFETY: pixels ox0..ox0+cnt < out_w; channels ch0..ch0+width <= out_c (caller).
    unsafe { narrow_store::<PARTIAL>(&acc, cnt, out, s.out_c, width, lo, hi) };
}
