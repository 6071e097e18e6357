//! The wide plan: per group, blocks of output channels × register tiles of output pixels, an
//! implicit GEMM over `(ky, kx, ic)` (see the family docs in [`super`]).

use super::{Row, Shape, ZEROS, ZLEN, row, wide_blocks};
use crate::KernelError;
use crate::simd::F32Vector;

/// Channels per group below which the optional loop shapes of [`WidePlan::border_segments`]
/// and [`WidePlan::offset_table`] apply.
const FEW_CIN: usize = 16;
/// Largest `kw·cin_g` of the offset-table loop (see [`WideTile::offs`]).
const OFFS: usize = 128;

/// A tier's wide-plan microkernel: its register budget and the `#[target_feature]` entry of
/// its register tiles.
///
/// # Safety
/// Implementors guarantee that [`WideKernel::ENSURE`] succeeds only on CPUs with
/// the features every method of [`F32Vector`] and [`WideKernel::wide_tile`] needs, including
/// those of [`WideKernel::Narrow`].
pub(crate) unsafe trait WideKernel: F32Vector + Sized {
    /// The tier's register budget and loop shapes.
    const PLAN: WidePlan;
    /// The narrow plan of this tier (possibly another tier's kernel, or none).
    type Narrow: super::NarrowPlan;
    /// `Ok` when the CPU has this tier's features, else [`KernelError::IsaUnavailable`].
    const ENSURE: fn() -> Result<(), KernelError>;
    /// [`tile`]`::<Self, MR, NV, INTERIOR>` compiled with the tier's target features.
    ///
    /// # Safety
    /// As [`tile`]; the tier's features are available.
    unsafe fn wide_tile<const MR: usize, const NV: usize, const INTERIOR: bool>(
        t: &WideTile<'_>,
        ox0: usize,
        out: *mut f32,
    );
}

/// A tier's register budget and optional loop shapes for the wide plan.
pub(crate) struct WidePlan {
    /// Vectors of a full output-channel block.
    pub(crate) nv: usize,
    /// `mr[nv]`: pixels per register tile of an `nv`-vector block (`nv <= self.nv`).
    pub(crate) mr: [usize; 5],
    /// Give the border columns of one-group, undilated rows with few input channels tiles of
    /// their own, so that interior tiles always take the long contiguous loop.
    pub(crate) border_segments: bool,
    /// Interior tiles of one-vector blocks with few channels per group and no contiguous run
    /// loop over `(kx, ic)` in one run per kernel row through a table of input offsets.
    pub(crate) offset_table: bool,
}

impl WidePlan {
    /// A plan with full blocks of `nv` vectors, tiles of `mr[nv]` pixels and neither optional
    /// loop shape.
    pub(crate) const fn new(nv: usize, mr: [usize; 5]) -> Self {
        Self { nv, mr, border_segments: false, offset_table: false }
    }
}

/// Implements [`WideKernel::wide_tile`] inside a tier's `impl WideKernel`: [`tile`] compiled
/// with the given attributes (the tier's `#[target_feature]`, and `#[inline(never)]` where
/// each tile should get its own register allocation).
macro_rules! wide_tile_fn {
    ($(#[$attr:meta])*) => {
        $(#[$attr])*
        unsafe fn wide_tile<const MR: usize, const NV: usize, const INTERIOR: bool>(
            t: &$crate::conv2d::WideTile<'_>,
            ox0: usize,
            out: *mut f32,
        ) {
            // SAFETY: forwarded contract, compiled with the tier's features.
            unsafe { $crate::conv2d::wide::tile::<Self, MR, NV, INTERIOR>(t, ox0, out) }
        }
    };
}
pub(crate) use wide_tile_fn;

/// Per-row arguments of every wide tile.
pub(crate) struct WideTile<'a> {
    /// The geometry.
    pub(crate) s: &'a Shape,
    /// The output row's input rows.
    pub(crate) r: &'a Row,
    /// The block's packed data: `L·nv` biases then `[kh][kw][cin_g][L·nv]` weights.
    pub(crate) w: *const f32,
    /// Lanes of the block's last vector that are real output channels (`1..=L`).
    pub(crate) tail: usize,
    /// Activation lower bound.
    pub(crate) lo: f32,
    /// Activation upper bound.
    pub(crate) hi: f32,
    /// Input offsets `kx·dw·in_c + ic` of the `(kx, ic)` steps of one kernel row, in weight
    /// order (`offs_len == kw·cin_g`), for [`WidePlan::offset_table`]; `offs_len == 0`: not
    /// used.
    pub(crate) offs: *const usize,
    /// Entries of `offs`.
    pub(crate) offs_len: usize,
}

/// The whole wide-plan convolution.
///
/// # Safety
/// The CPU has tier `K`'s features; `s` comes from a validated canonical geometry whose plan is
/// wide; `input`, `packed` and `output` point to exactly `batch·in_h·in_w·in_c`, the wide
/// packed length of tier `K` and `batch·out_h·out_w·out_c` floats.
pub(crate) unsafe fn run<K: WideKernel>(
    s: &Shape,
    input: *const f32,
    packed: *const f32,
    output: *mut f32,
    lo: f32,
    hi: f32,
) {
    let taps_k = s.kh * s.kw * s.cin_g;
    // Each output row is cut into tiles of as equal a size as possible, per segment.
    let segments = if K::PLAN.border_segments && s.flat && s.in_c < FEW_CIN && s.ox_lo < s.ox_hi {
        [(0, s.ox_lo), (s.ox_lo, s.ox_hi), (s.ox_hi, s.out_w)]
    } else {
        [(0, s.out_w), (s.out_w, s.out_w), (s.out_w, s.out_w)]
    };
    let mut offs = [0usize; OFFS];
    let use_offs = K::PLAN.offset_table && !s.flat && s.cin_g < FEW_CIN && s.kw * s.cin_g <= OFFS;
    let offs_len = if use_offs { s.kw * s.cin_g } else { 0 };
    for (i, o) in offs.iter_mut().take(offs_len).enumerate() {
        *o = (i / s.cin_g) * s.dw * s.in_c + i % s.cin_g;
    }
    let mut wpos = 0usize;
    for grp in 0..s.groups {
        for (first, width, nv) in wide_blocks(s.cout_g, K::LANES, K::PLAN.nv) {
            // SAFETY: the packed buffer holds every block of every group in this order (its
            // length was checked against the packed length).
            let w = unsafe { packed.add(wpos) };
            wpos += K::LANES * nv * (1 + taps_k);
            let tail = width - K::LANES * (nv - 1);
            let mr = K::PLAN.mr[nv];
            // Block-major: this block's packed weights stay in L1 while every output row of
            // every image streams through them.
            for n in 0..s.batch {
                for oy in 0..s.out_h {
                    // SAFETY: n < batch, oy < out_h, grp·cin_g < in_c (see `row`).
                    let (r, out_row) = unsafe { row(s, input, output, n, oy, grp * s.cin_g) };
                    let t = WideTile { s, r: &r, w, tail, lo, hi, offs: offs.as_ptr(), offs_len };
                    for (a, b) in segments.into_iter().filter(|(a, b)| a < b) {
                        let tiles = (b - a).div_ceil(mr);
                        let (base, extra) = ((b - a) / tiles, (b - a) % tiles);
                        let mut ox0 = a;
                        for k in 0..tiles {
                            let cnt = base + usize::from(k < extra);
                            // SAFETY: ox0 + cnt <= b <= out_w and grp·cout_g + first + width <=
                            // out_c: the tile's outputs are inside this output row.
                            let out = unsafe { out_row.add(ox0 * s.out_c + grp * s.cout_g + first) };
                            // SAFETY: the block and the tile are in bounds as argued above;
                            // 1 <= cnt <= PLAN.mr[nv]; the features are the caller's invariant.
                            unsafe { dispatch::<K>(&t, ox0, cnt, nv, out) };
                            ox0 += cnt;
                        }
                    }
                }
            }
        }
    }
}

/// Calls the monomorphized tile for `cnt` pixels of an `nv`-vector block.
///
/// # Safety
/// As [`tile`]; `1 <= nv <= K::PLAN.nv` and `1 <= cnt <= K::PLAN.mr[nv]`.
unsafe fn dispatch<K: WideKernel>(t: &WideTile<'_>, ox0: usize, cnt: usize, nv: usize, out: *mut f32) {
    let interior = t.s.interior(ox0, cnt);
    macro_rules! go {
        ($nv:literal: $($mr:literal)*) => {
            match cnt {
                // Only the tiles of this tier's register budget are instantiated.
                $($mr if const { $nv <= K::PLAN.nv && $mr <= K::PLAN.mr[$nv] } => {
                    if interior {
                        // SAFETY: forwarded contract; all `cnt == MR` pixels are interior.
                        unsafe { K::wide_tile::<$mr, $nv, true>(t, ox0, out) }
                    } else {
                        // SAFETY: forwarded contract; `cnt == MR`.
                        unsafe { K::wide_tile::<$mr, $nv, false>(t, ox0, out) }
                    }
                })*
                _ => unreachable!("wide tile of {cnt} pixels × {nv} vectors"),
            }
        };
    }
    match nv {
        1 => go!(1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14),
        2 => go!(2: 1 2 3 4 5 6 7 8 9 10 11 12),
        3 => go!(3: 1 2 3 4 5 6),
        _ => go!(4: 1 2 3 4 5 6),
    }
}

/// `acc[j][v] += Σ_i p[j][i] · w[i][v]` for `i < k`: per `i`, `nv` weight loads, then per
/// pixel one broadcast and `nv` FMAs (the inner loop of the wide tile).
///
/// # Safety
/// Tier `K`'s features are available; `w` covers `k` rows of `L·NV` packed weights and every
/// `p[j]` points to at least `k` readable floats (an input run or the zero buffer).
#[inline(always)]
unsafe fn k_loop<K: F32Vector, const MR: usize, const NV: usize>(
    acc: &mut [[K::V; NV]; MR],
    p: &[*const f32; MR],
    w: *const f32,
    k: usize,
) {
    for i in 0..k {
        // SAFETY: the loads stay inside `w`'s `k` rows and `p[j]`'s `k` floats, and the
        // features are available (this function's contract).
        unsafe {
            let mut wv = [K::splat(0.0); NV];
            for (v, wvv) in wv.iter_mut().enumerate() {
                *wvv = K::load(w.add((i * NV + v) * K::LANES));
            }
            for j in 0..MR {
                let b = K::broadcast(p[j].add(i));
                for v in 0..NV {
                    acc[j][v] = K::fma(acc[j][v], wv[v], b);
                }
            }
        }
    }
}

/// One wide register tile: `MR` output pixels `ox0..ox0+MR` of row `t.r` × one block of
/// `L·NV` output channels (`t.tail` of them real in the last vector), bias + Σ over valid
/// taps, clamp, store. Written once; each tier compiles it in [`WideKernel::wide_tile`].
///
/// # Safety
/// Tier `K`'s features are available; `t` from the validated geometry of the buffers;
/// `t.r.img` points at the current image offset by the group's first input channel; `t.w` points
/// at the block's packed data; `out` points at output pixel `ox0`, channel of the block's first
/// lane, with `ox0 + MR <= out_w` and the block's real lanes inside the row; when `INTERIOR`,
/// every pixel of the tile is in `[ox_lo, ox_hi)`.
#[inline(always)]
pub(crate) unsafe fn tile<K: WideKernel, const MR: usize, const NV: usize, const INTERIOR: bool>(
    t: &WideTile<'_>,
    ox0: usize,
    out: *mut f32,
) {
    let (s, r, w, l) = (t.s, t.r, t.w, K::LANES);
    let nr = l * NV;
    // SAFETY: features available (contract); the block starts with L·NV biases.
    let mut acc = unsafe {
        let mut bias = [K::splat(0.0); NV];
        for (v, b) in bias.iter_mut().enumerate() {
            *b = K::load(w.add(l * v));
        }
        [bias; MR]
    };
    let per_ky = s.kw * s.cin_g * nr;
    for ky in r.ky0..r.ky1 {
        // SAFETY: ky0 <= ky < ky1: a row of the current image.
        let row = unsafe { r.at(s, ky, 0) };
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
                // SAFETY: one group, dw = 1: the kw·in_c floats of every pixel are contiguous
                // and inside the row (interior), and the weights are in the same order.
                unsafe { k_loop::<K, MR, NV>(&mut acc, &p, wk, s.kw * s.cin_g) };
            } else if K::PLAN.offset_table && NV == 1 && t.offs_len > 0 {
                // Few channels per group, one-vector block: one loop over (kx, ic) per kernel
                // row, the input offset of each step (kx·dw·in_c + ic) from the table.
                for i in 0..t.offs_len {
                    // SAFETY: i < offs_len entries of the table; step i < kw·cin_g of this
                    // kernel row's weights; interior pixels: column ix + kx·dw and the group's
                    // channel ic are inside the row; features available.
                    unsafe {
                        let off = *t.offs.add(i);
                        let wv = K::load(wk.add(i * nr));
                        for j in 0..MR {
                            acc[j][0] = K::fma(acc[j][0], wv, K::broadcast(p[j].add(off)));
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
                    // SAFETY: cin_g floats at every q[j], cin_g weight rows at wk.
                    unsafe { k_loop::<K, MR, NV>(&mut acc, &q, wk, s.cin_g) };
                    // SAFETY: advances over this kx's weights, inside the block.
                    wk = unsafe { wk.add(s.cin_g * nr) };
                }
            }
        } else {
            for kx in 0..s.kw {
                let mut ix = [usize::MAX; MR];
                for (j, ixj) in ix.iter_mut().enumerate() {
                    *ixj = s.in_col(ox0 + j, kx).unwrap_or(usize::MAX);
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
                    // SAFETY: `len` floats at every q[j] (input or zeros, len <= ZLEN), and
                    // ic0 < cin_g: `len` rows of this kx's weights.
                    unsafe { k_loop::<K, MR, NV>(&mut acc, &q, wk.add(ic0 * nr), len) };
                    ic0 += len;
                }
                // SAFETY: advances over this kx's weights, inside the block.
                wk = unsafe { wk.add(s.cin_g * nr) };
            }
        }
    }
    // SAFETY: pixels ox0..ox0 + MR and the block's real lanes (all of every vector but the
    // last, `tail` of the last) are inside the output row (contract); features available.
    unsafe {
        let (lo, hi, mask) = (K::splat(t.lo), K::splat(t.hi), K::tail(t.tail));
        for (j, a) in acc.iter().enumerate() {
            let o = out.add(j * s.out_c);
            for (v, &av) in a.iter().enumerate() {
                let y = K::clamp(av, lo, hi);
                if v + 1 < NV || t.tail == l {
                    K::store(o.add(l * v), y);
                } else {
                    K::store_tail(o.add(l * v), y, mask);
                }
            }
        }
    }
}
