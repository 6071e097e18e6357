//! Dense and grouped k×k convolution, all groups in one pass (AVX-512F).
//!
//! Two plans, chosen from the geometry alone by the AVX2 kernel's rule
//! (`crate::x86_64::conv2d::is_narrow`), so that [`conv2d_packed_len`], [`conv2d_pack`] and
//! [`conv2d_run`] always agree with each other and with the AVX2 tier on which plan a geometry
//! gets:
//!
//! - **Wide** (the general path, every geometry that is not narrow): the AVX2 kernel's direct
//!   "implicit GEMM" per group, re-done for 16-lane ZMM registers. The group's output channels
//!   are cut into blocks of 32 (two ZMM) with a last block of 16 lanes (remainder 1..=16) or
//!   32 lanes (17..=31), padded with zero weights and stored with a lane mask
//!   (`_mm512_mask_storeu_ps`). A register tile of up to 12 output pixels along a row × one
//!   32-channel block (24 ZMM accumulators of the 32; up to 14 pixels × 16 channels for
//!   16-lane blocks) loops over `(ky, kx, ic)`, broadcasting one input value per pixel and
//!   FMA-ing it with the packed weight vectors of that `(ky, kx, ic)`. Rows that touch the
//!   top/bottom padding skip the `ky` taps that fall outside; tiles that touch the left/right
//!   padding point each out-of-range pixel tap at a static zero buffer, so there is no branch
//!   in the FMA loop. Interior tiles with one group and no horizontal dilation read
//!   `kw · in_c` contiguous floats per `ky` (one long `k` loop, which keeps the 3-channel
//!   MobileNet stem busy). When that flat case has few input channels (< 16), the border
//!   columns of each row (those left of `ox_lo` and right of `ox_hi`, one or two pixels with
//!   a small padding) get tiles of their own, so that the interior tiles always take the
//!   long contiguous loop instead of a per-`kx` loop of `in_c` steps. Interior tiles of
//!   16-lane blocks with fewer than 16 input channels per group and no such run (grouped, or
//!   horizontally dilated) loop over `(kx, ic)` in one run per kernel row too, reading each
//!   step's input offset from a small table built once per call. Each row segment is
//!   split into `ceil(len / 12)` (or `/ 14`) tiles of as equal a size as possible. Loop order
//!   is block-major: one block's packed weights stay in L1 while every output row of every
//!   image streams through them.
//! - **Narrow** (`in_c / groups == out_c / groups` in {1, 2, 4} with groups > 1: many tiny
//!   groups, including depthwise): **delegated to the AVX2 kernel**
//!   ([`crate::x86_64::conv2d`]), which vectorizes *across* groups with in-lane rotations
//!   (`vpermilps`) of 8-lane vectors. That plan does `c` FMAs per loaded input vector, so it is
//!   limited by loads and shuffles more than by FMA width, and its AVX2 form already runs the
//!   standard layer `gc_c64_g32_56` several times faster than ONNX Runtime does with
//!   AVX-512; a 16-lane version is left for when a profile asks for it. For a narrow
//!   geometry the three entry points here call the AVX2 ones, so the packed buffer has the
//!   AVX2 narrow layout. The entry points still require AVX-512F first (so the tier reports
//!   `IsaUnavailable { isa: "avx512" }` the same way for every geometry).
//!
//! All three entry points start from [`Conv2dGeometry::canonical`] (dilation 1 on a one-tap
//! axis, the stride clamped on a one-output axis), like every other conv entry point. Every
//! public function checks the geometry and every slice length before touching memory, checks
//! the CPU (AVX-512F + AVX2 + FMA, [`super::ensure_available`]) before any
//! `#[target_feature]` call, and writes nothing on error.

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps, _mm512_max_ps, _mm512_min_ps,
    _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use crate::x86_64::conv2d::{self as avx2, Row, Shape, row};
use crate::{Activation, Conv2dGeometry, KernelError, error::check_len};

/// f32 lanes of a ZMM register.
const LANES: usize = 16;
/// Output channels per full block of the wide plan (two ZMM).
const BLOCK: usize = 2 * LANES;
/// Pixels per register tile for 2-vector (32-channel) blocks: 24 accumulators.
const MR2: usize = 12;
/// Pixels per register tile for 1-vector (16-channel) blocks: 14 accumulators.
const MR1: usize = 14;
/// Length of the zero buffer that out-of-range taps read from.
const ZLEN: usize = 64;
/// Zeros read by taps that fall into the padding.
static ZEROS: [f32; ZLEN] = [0.0; ZLEN];
/// Largest `kw·cin_g` of the offset-table loop (see [`Tile::offs`]).
const OFFS: usize = 128;

/// The output-channel blocks of one group in the wide plan: `(first channel, width, vectors)`.
/// Full blocks of 32, then the remainder in one block of 16 lanes (1..=16 channels) or 32
/// lanes (17..=31).
fn wide_blocks(cout_g: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let full = cout_g / BLOCK;
    let rem = cout_g % BLOCK;
    (0..full)
        .map(|b| (b * BLOCK, BLOCK, 2))
        .chain((rem > 0).then(|| (full * BLOCK, rem, rem.div_ceil(LANES))))
}

/// Packed floats of one wide block of `nv` vectors: bias then `[kh][kw][cin_g][16·nv]`.
fn wide_block_len(nv: usize, taps_k: usize) -> Option<usize> {
    taps_k.checked_add(1)?.checked_mul(LANES * nv)
}

/// Length of the wide plan's packed buffer, computed with overflow checks. `g` must be valid.
fn wide_packed_len(g: &Conv2dGeometry) -> Option<usize> {
    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let taps_k = g.kernel_h.checked_mul(g.kernel_w)?.checked_mul(cin_g)?;
    let mut per_group = 0usize;
    for (_, _, nv) in wide_blocks(cout_g) {
        per_group = per_group.checked_add(wide_block_len(nv, taps_k)?)?;
    }
    per_group.checked_mul(g.groups)
}

/// Packed length of a valid canonical geometry, for either plan.
fn packed_len_of(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    if avx2::is_narrow(g) {
        avx2::conv2d_packed_len(g)
    } else {
        wide_packed_len(g).ok_or(KernelError::Overflow { what: "packed length" })
    }
}

/// Length of the AVX-512 tier's packed buffer for `g`.
///
/// Layout (the plan is a function of the geometry, see the module docs):
/// - wide plan: for each group, for each output-channel block of the group (blocks of 32
///   channels, then one block of 16 lanes for a remainder of 1..=16 or 32 lanes for 17..=31):
///   the block's bias (`16·nv` floats) followed by its weights `[kh][kw][in_c/groups][16·nv]`
///   (lanes past the group's channels are zero);
/// - narrow plan (`in_c/groups == out_c/groups` in {1, 2, 4}, groups > 1): the AVX2 tier's
///   narrow layout, exactly `crate::x86_64::conv2d::conv2d_packed_len(g)` floats.
pub fn conv2d_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    let g = &g.canonical();
    g.validate()?;
    packed_len_of(g)
}

/// Packs OHWI weights `[out_c][kh][kw][in_c/groups]` and an optional bias `[out_c]` into the
/// layout described at [`conv2d_packed_len`], for [`conv2d_run`]. Every element of `packed`
/// is written.
///
/// Errors: invalid geometry, wrong weight / bias / packed lengths, or a CPU without
/// AVX-512F + AVX2 + FMA ([`KernelError::IsaUnavailable`]). Nothing is written on error.
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
    let total = packed_len_of(g)?;
    check_len("packed", total, packed.len())?;
    super::ensure_available()?;
    if avx2::is_narrow(g) {
        // Same checks passed; AVX2 + FMA are part of `ensure_available`.
        return avx2::conv2d_pack(g, weights, bias, packed);
    }

    let cin_g = g.in_c / g.groups;
    let cout_g = g.out_c / g.groups;
    let taps_k = g.kernel_h * g.kernel_w * cin_g;
    let mut rest = packed;
    for grp in 0..g.groups {
        for (first, width, nv) in wide_blocks(cout_g) {
            let nr = LANES * nv;
            // The block lengths add up to `total == rest.len()` at the start (checked above).
            let (block, tail) = core::mem::take(&mut rest).split_at_mut(nr * (1 + taps_k));
            rest = tail;
            block.fill(0.0);
            let (head, rows) = block.split_at_mut(nr);
            let oc0 = grp * cout_g + first;
            if let Some(b) = bias {
                // oc0 + width <= out_c == b.len().
                head[..width].copy_from_slice(&b[oc0..oc0 + width]);
            }
            for lane in 0..width {
                // Weights of output channel oc0 + lane: taps_k floats in (ky, kx, ic) order,
                // the same order as the block's rows.
                let wrow = &weights[(oc0 + lane) * taps_k..(oc0 + lane + 1) * taps_k];
                for (r, &x) in rows.chunks_exact_mut(nr).zip(wrow) {
                    r[lane] = x;
                }
            }
        }
    }
    debug_assert!(rest.is_empty());
    Ok(())
}

/// Convolution on weights packed by [`conv2d_pack`] (same geometry), NHWC.
///
/// - `input`: `[batch][in_h][in_w][in_c]`;
/// - `output`: `[batch][out_h][out_w][out_c]`, each element `act(bias + Σ input · weight)`
///   over the taps that fall inside the input (padding contributes nothing).
///
/// Errors: invalid geometry or activation, wrong packed / input / output length, or a CPU
/// without AVX-512F + AVX2 + FMA. Nothing is written on error.
pub fn conv2d_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    let d = g.validate()?;
    let total = packed_len_of(g)?;
    check_len("packed", total, packed.len())?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("output", d.output_len, output.len())?;
    super::ensure_available()?;
    if avx2::is_narrow(g) {
        // Same checks passed; AVX2 + FMA are part of `ensure_available`.
        return avx2::conv2d_run(g, input, packed, act, output);
    }
    let s = Shape::new(g, d.out_h, d.out_w);
    let (lo, hi) = act.bounds();
    // SAFETY: AVX-512F, AVX2 and FMA are available (checked just above); the geometry is valid,
    // canonical and wide, and the input, packed and output lengths match it exactly (checked
    // above), which is the precondition of `run_wide`.
    unsafe { run_wide(&s, input.as_ptr(), packed.as_ptr(), output.as_mut_ptr(), lo, hi) };
    Ok(())
}

/// The whole wide-plan convolution.
///
/// # Safety
/// AVX-512F (+ AVX2, FMA) must be available; `s` must come from a validated geometry whose
/// plan is wide; `input`, `packed` and `output` must point to exactly
/// `batch·in_h·in_w·in_c`, [`wide_packed_len`] and `batch·out_h·out_w·out_c` floats.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_wide(s: &Shape, input: *const f32, packed: *const f32, output: *mut f32, lo: f32, hi: f32) {
    // Block-major: one block's packed weights (bias + kh·kw·cin_g·32 floats) stay in L1 while
    // every output row of every image streams through them.
    let taps_k = s.kh * s.kw * s.cin_g;
    // Each output row is cut into tiles of as equal a size as possible. With one group, no
    // horizontal dilation and few input channels, the border columns (left and right of
    // `ox_lo..ox_hi`) get tiles of their own: their per-`kx` runs of `in_c` floats are too
    // short to keep a full tile busy, and the interior tiles keep their long runs.
    let segments = if s.flat && s.in_c < 16 && s.ox_lo < s.ox_hi {
        [(0, s.ox_lo), (s.ox_lo, s.ox_hi), (s.ox_hi, s.out_w)]
    } else {
        [(0, s.out_w), (s.out_w, s.out_w), (s.out_w, s.out_w)]
    };
    let mut offs = [0usize; OFFS];
    let offs_len = if !s.flat && s.cin_g < 16 && s.kw * s.cin_g <= OFFS { s.kw * s.cin_g } else { 0 };
    for (i, o) in offs.iter_mut().take(offs_len).enumerate() {
        *o = (i / s.cin_g) * s.dw * s.in_c + i % s.cin_g;
    }
    let mut wpos = 0usize;
    for grp in 0..s.groups {
        for (first, width, nv) in wide_blocks(s.cout_g) {
            // SAFETY: the packed buffer holds every block of every group in this order (its
            // length was checked against `wide_packed_len`).
            let w = unsafe { packed.add(wpos) };
            wpos += LANES * nv * (1 + taps_k);
            // Lanes of the block's last vector that are real channels: 1..=16.
            let tail = width - LANES * (nv - 1);
            let mask = (u32::MAX >> (32 - tail)) as __mmask16;
            let mr = if nv == 2 { MR2 } else { MR1 };
            let t = Tile { w, mask, lo, hi, offs: offs.as_ptr(), offs_len };
            for n in 0..s.batch {
                for oy in 0..s.out_h {
                    // SAFETY: n < batch, oy < out_h, grp·cin_g < in_c (see `row`).
                    let (r, out_row) = unsafe { row(s, input, output, n, oy, grp * s.cin_g) };
                    for (a, b) in segments {
                        let len = b - a;
                        if len == 0 {
                            continue;
                        }
                        let tiles = len.div_ceil(mr);
                        let (base, extra) = (len / tiles, len % tiles);
                        let mut ox0 = a;
                        for k in 0..tiles {
                            let cnt = base + usize::from(k < extra);
                            // SAFETY: ox0 + cnt <= b <= out_w and grp·cout_g + first + width
                            // <= out_c: the tile's outputs are inside this output row.
                            let out = unsafe { out_row.add(ox0 * s.out_c + grp * s.cout_g + first) };
                            // SAFETY: the block `w` and the tile are in bounds as argued above;
                            // 1 <= cnt <= mr for this nv; the row's ky range and group offset
                            // come from the validated geometry.
                            unsafe { wide_dispatch(s, &r, &t, ox0, cnt, nv, out) };
                            ox0 += cnt;
                        }
                    }
                }
            }
        }
    }
    debug_assert_eq!(
        wpos,
        s.groups * wide_blocks(s.cout_g).map(|(_, _, nv)| LANES * nv * (1 + taps_k)).sum::<usize>()
    );
}

/// Per-block arguments of every wide tile.
struct Tile {
    /// The block's packed data: `16·nv` biases then `[kh][kw][cin_g][16·nv]` weights.
    w: *const f32,
    /// Lanes of the block's last vector that are real output channels.
    mask: __mmask16,
    /// Activation lower bound.
    lo: f32,
    /// Activation upper bound.
    hi: f32,
    /// Input offsets `kx·dw·in_c + ic` of the `(kx, ic)` steps of one kernel row, in weight
    /// order, for interior tiles of grouped or dilated geometries with few channels per group
    /// (`offs_len == kw·cin_g`); `offs_len == 0`: not used.
    offs: *const usize,
    /// Entries of `offs`.
    offs_len: usize,
}

/// Picks the monomorphized wide tile for `cnt` pixels of an `nv`-vector block.
///
/// # Safety
/// As [`wide_tile`]; `cnt` must be in `1..=MR2` for `nv == 2` and `1..=MR1` for `nv == 1`.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn wide_dispatch(s: &Shape, r: &Row, t: &Tile, ox0: usize, cnt: usize, nv: usize, out: *mut f32) {
    let interior = s.interior(ox0, cnt);
    macro_rules! go {
        ($mr:literal, $nv:literal) => {
            if interior {
                // SAFETY: forwarded contract; all `cnt` pixels are interior.
                unsafe { wide_tile::<$mr, $nv, true>(s, r, t, ox0, out) }
            } else {
                // SAFETY: forwarded contract.
                unsafe { wide_tile::<$mr, $nv, false>(s, r, t, ox0, out) }
            }
        };
    }
    match (nv, cnt) {
        (2, 12) => go!(12, 2),
        (2, 11) => go!(11, 2),
        (2, 10) => go!(10, 2),
        (2, 9) => go!(9, 2),
        (2, 8) => go!(8, 2),
        (2, 7) => go!(7, 2),
        (2, 6) => go!(6, 2),
        (2, 5) => go!(5, 2),
        (2, 4) => go!(4, 2),
        (2, 3) => go!(3, 2),
        (2, 2) => go!(2, 2),
        (2, 1) => go!(1, 2),
        (1, 14) => go!(14, 1),
        (1, 13) => go!(13, 1),
        (1, 12) => go!(12, 1),
        (1, 11) => go!(11, 1),
        (1, 10) => go!(10, 1),
        (1, 9) => go!(9, 1),
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
            let mut wv = [_mm512_setzero_ps(); $nv];
            for (v, wvv) in wv.iter_mut().enumerate() {
                // SAFETY: `w` covers `k` rows of `16·nv` packed weights (caller's invariant).
                *wvv = unsafe { _mm512_loadu_ps(w.add(i * LANES * $nv + LANES * v)) };
            }
            for j in 0..$mr {
                // SAFETY: `p[j]` points to at least `k` readable floats (an input run or the
                // zero buffer; caller's invariant).
                let b = _mm512_set1_ps(unsafe { *$p[j].add(i) });
                for v in 0..$nv {
                    $acc[j][v] = _mm512_fmadd_ps(b, wv[v], $acc[j][v]);
                }
            }
        }
    }};
}

/// Clamps and stores a finished tile: `acc.len()` pixels (stride `out_c`) × `nv` vectors,
/// the last one through `t.mask`. The caller guarantees that `out` is writable for those
/// pixels, `16·(nv-1) + popcount(t.mask)` floats each.
macro_rules! store_tile {
    ($s:ident, $t:ident, $acc:ident, $out:ident, $nv:ident) => {{
        let (lo, hi) = (_mm512_set1_ps($t.lo), _mm512_set1_ps($t.hi));
        let full = $t.mask == 0xFFFF;
        for (j, a) in $acc.iter().enumerate() {
            // SAFETY: pixel j of the tile (caller's invariant).
            let o = unsafe { $out.add(j * $s.out_c) };
            for (v, &av) in a.iter().enumerate() {
                // Bounds first: max/min return the second operand when either is NaN.
                let y: __m512 = _mm512_min_ps(hi, _mm512_max_ps(lo, av));
                if v + 1 < $nv || full {
                    // SAFETY: lanes 16v..16v+16 are real channels of this block (v < nv-1, or
                    // a full last vector).
                    unsafe { _mm512_storeu_ps(o.add(LANES * v), y) };
                } else {
                    // SAFETY: only the lanes of `t.mask`, the block's real channels, are
                    // written (masked-off lanes are not accessed and cannot fault).
                    unsafe { _mm512_mask_storeu_ps(o.add(LANES * v), $t.mask, y) };
                }
            }
        }
    }};
}

/// One wide register tile: `MR` output pixels `ox0..ox0+MR` of row `oy` × one block of
/// `16·NV` output channels (those of `t.mask` real in the last vector), bias + Σ over valid
/// taps, clamp, store.
///
/// # Safety
/// AVX-512F available; `s`/`r` from the validated geometry of the buffers; `r.img` points at
/// the current image offset by the group's first input channel; `t.w` points at the block's
/// packed data (bias then `[kh][kw][cin_g][16·NV]`); `out` points at output pixel `ox0`,
/// channel of the block's first lane, with `ox0 + MR <= out_w` and the `16·(NV-1) +
/// popcount(t.mask)` lanes inside the row; when `INTERIOR`, every pixel of the tile is in
/// `[ox_lo, ox_hi)`.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn wide_tile<const MR: usize, const NV: usize, const INTERIOR: bool>(
    s: &Shape,
    r: &Row,
    t: &Tile,
    ox0: usize,
    out: *mut f32,
) {
    let nr = LANES * NV;
    let w = t.w;
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    for v in 0..NV {
        // SAFETY: the block starts with 16·NV biases.
        let b = unsafe { _mm512_loadu_ps(w.add(LANES * v)) };
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
            } else if NV == 1 && t.offs_len > 0 {
                // Few channels per group, 16-lane block: one loop over (kx, ic) per kernel
                // row, the input offset of each step (kx·dw·in_c + ic) from the table. (With
                // 24 accumulators the compiler spills one in this loop: 2-vector blocks keep
                // the per-kx loops.)
                for i in 0..t.offs_len {
                    // SAFETY: i < offs_len: an entry of the table.
                    let off = unsafe { *t.offs.add(i) };
                    let mut wv = [_mm512_setzero_ps(); NV];
                    for (v, wvv) in wv.iter_mut().enumerate() {
                        // SAFETY: step i < kw·cin_g of this kernel row's weights.
                        *wvv = unsafe { _mm512_loadu_ps(wk.add(i * nr + LANES * v)) };
                    }
                    for j in 0..MR {
                        // SAFETY: interior pixel: input column ix + kx·dw and the group's
                        // channel ic are inside the row.
                        let b = _mm512_set1_ps(unsafe { *p[j].add(off) });
                        for v in 0..NV {
                            acc[j][v] = _mm512_fmadd_ps(b, wv[v], acc[j][v]);
                        }
                    }
                }
            } else {
                for kx in 0..s.kw {
                    let mut q = p;
                    for qj in q.iter_mut() {
                        // SAFETY: interior pixel: column ix + kx·dw is inside the row, and its
                        // group's cin_g channels too.
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
    // Pixels ox0..ox0 + MR and the block's lanes are inside the output row (caller's invariant).
    store_tile!(s, t, acc, out, NV);
}
