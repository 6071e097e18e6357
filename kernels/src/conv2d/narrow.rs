//! The narrow plan: many groups of 1, 2 or 4 channels, vectorized across groups with in-group
//! lane rotations (see the family docs in [`super`]).

use super::{Io, Row, Shape, ZEROS, row, unroll};
use crate::simd::F32Vector;

/// Pixels per register tile of the narrow plan (the tiles unroll over exactly these).
const MR: usize = 8;

/// A tier's narrow-plan microkernel: lane rotations, partial loads and the `#[target_feature]`
/// entry of its register tiles.
///
/// # Safety
/// As [`F32Vector`]: every method is sound under its contract when the tier's features are
/// available.
pub(crate) unsafe trait NarrowKernel: F32Vector + Sized {
    /// The 3-wide row tile loads its `3·C` weight vectors once per kernel row (enough
    /// registers), instead of once per use (FMA with a memory operand).
    const HOIST_K3: bool;
    /// Rotates each group of `C` lanes by `r` (lane `o` of a group takes lane `(o + r) % C`).
    ///
    /// # Safety
    /// Features available.
    unsafe fn rotate<const C: usize>(x: Self::V, r: usize) -> Self::V;
    /// [`run`]`::<Self>` compiled with the tier's target features, on the [`Io`] of input `x`,
    /// packed weights `w`, output `y` and bounds `lo..=hi`, taken as scalars (in registers):
    /// with an `&Io` argument the x86 tiles inlined here spilled more scalars in their FMA
    /// loops.
    ///
    /// # Safety
    /// As [`NarrowPlan::run_narrow`].
    unsafe fn narrow_run(s: &Shape, c: usize, x: *const f32, w: *const f32, y: *mut f32, lo: f32, hi: f32);
    /// [`tile`]`::<Self, C, MASKED, INTERIOR, K3>` compiled with the tier's target features.
    ///
    /// # Safety
    /// As [`tile`]; the tier's features are available.
    unsafe fn narrow_tile<const C: usize, const MASKED: bool, const INTERIOR: bool, const K3: bool>(
        t: &NarrowTile<'_>,
    );
}

/// Implements [`NarrowKernel::narrow_run`] and [`NarrowKernel::narrow_tile`] inside a tier's
/// `impl NarrowKernel`: [`run`] and [`tile`] compiled with the given attributes (the tier's
/// `#[target_feature]`, and `#[inline(never)]` where each tile should get its own register
/// allocation; without it the tiles may be inlined into the driver, which has the features).
macro_rules! narrow_fns {
    ($(#[$attr:meta])*) => {
        $(#[$attr])*
        unsafe fn narrow_run(
            s: &$crate::conv2d::Shape,
            c: usize,
            x: *const f32,
            w: *const f32,
            y: *mut f32,
            lo: f32,
            hi: f32,
        ) {
            let io = $crate::conv2d::Io { input: x, packed: w, output: y, lo, hi };
            // SAFETY: forwarded contract, compiled with the tier's features.
            unsafe { $crate::conv2d::narrow::run::<Self>(s, c, &io) }
        }

        $(#[$attr])*
        unsafe fn narrow_tile<const C: usize, const MASKED: bool, const INTERIOR: bool, const K3: bool>(
            t: &$crate::conv2d::NarrowTile<'_>,
        ) {
            // SAFETY: forwarded contract, compiled with the tier's features.
            unsafe { $crate::conv2d::narrow::tile::<Self, C, MASKED, INTERIOR, K3>(t) }
        }
    };
}
pub(crate) use narrow_fns;

/// The narrow plan of a tier, if it has one: a [`NarrowKernel`] or [`NoNarrow`].
///
/// # Safety
/// When `ENABLED`, [`NarrowPlan::run_narrow`] is sound under its contract.
pub(crate) unsafe trait NarrowPlan {
    /// Whether narrow geometries get the narrow plan (else the wide one).
    const ENABLED: bool;
    /// Lanes of the narrow plan's vectors (its packed layout).
    const LANES: usize;
    /// The whole narrow-plan convolution.
    ///
    /// # Safety
    /// The CPU has the kernel's features; `s` comes from a validated canonical geometry whose
    /// plan is narrow with `c` channels per group; `io`'s `input`, `packed` and `output` point
    /// to exactly `batch·in_h·in_w·in_c`, the narrow packed length and
    /// `batch·out_h·out_w·out_c` floats.
    unsafe fn run_narrow(s: &Shape, c: usize, io: &Io);
}

/// A tier without a narrow plan: every geometry takes the wide plan.
pub(crate) struct NoNarrow;

// SAFETY: not enabled; `run_narrow` is never called and does nothing.
unsafe impl NarrowPlan for NoNarrow {
    const ENABLED: bool = false;
    const LANES: usize = 1;
    unsafe fn run_narrow(_: &Shape, _: usize, _: &Io) {}
}

// SAFETY: `run` is sound under `run_narrow`'s contract.
unsafe impl<K: NarrowKernel> NarrowPlan for K {
    const ENABLED: bool = true;
    const LANES: usize = K::LANES;
    unsafe fn run_narrow(s: &Shape, c: usize, io: &Io) {
        // SAFETY: forwarded contract.
        unsafe { K::narrow_run(s, c, io.input, io.packed, io.output, io.lo, io.hi) }
    }
}

/// The arguments of one narrow tile: output pixels `ox0..ox0+cnt` of row `r` × output
/// channels `ch0..ch0+width` (one vector: `L / C` groups of `C` channels reading input
/// channels `ch0..ch0+width`).
pub(crate) struct NarrowTile<'a> {
    s: &'a Shape,
    r: &'a Row,
    ox0: usize,
    cnt: usize,
    ch0: usize,
    width: usize,
    /// The vector's packed block: `L` biases then `[kh][kw][C][L]`.
    w: *const f32,
    /// Output pixel `ox0`, channel `ch0`.
    out: *mut f32,
    lo: f32,
    hi: f32,
}

/// The whole narrow-plan convolution; the contract of [`NarrowPlan::run_narrow`].
///
/// # Safety
/// As [`NarrowPlan::run_narrow`].
#[inline(always)]
pub(crate) unsafe fn run<K: NarrowKernel>(s: &Shape, c: usize, io: &Io) {
    let Io { input, packed, output, lo, hi } = *io;
    let l = K::LANES;
    let vlen = l * (1 + s.kh * s.kw * c);
    for n in 0..s.batch {
        for oy in 0..s.out_h {
            // SAFETY: n < batch, oy < out_h (see `row`).
            let (r, out_row) = unsafe { row(s, input, output, n, oy, 0) };
            let mut ox0 = 0;
            while ox0 < s.out_w {
                let cnt = MR.min(s.out_w - ox0);
                let interior = cnt == MR && s.interior(ox0, cnt);
                for v in 0..s.out_c.div_ceil(l) {
                    let width = l.min(s.out_c - l * v);
                    // SAFETY: v < ceil(out_c / L): the vector's block is inside `packed`;
                    // ox0 < out_w and L·v < out_c: inside this output row.
                    let (w, out) = unsafe { (packed.add(v * vlen), out_row.add(ox0 * s.out_c + l * v)) };
                    let t = NarrowTile { s, r: &r, ox0, cnt, ch0: l * v, width, w, out, lo, hi };
                    // SAFETY: as above; the channel window L·v..L·v+width is inside in_c (in_c
                    // == out_c in the narrow plan); `interior` only for full interior tiles.
                    unsafe { dispatch::<K>(&t, c, interior) };
                }
                ox0 += cnt;
            }
        }
    }
}

/// Calls the monomorphized narrow tile.
///
/// # Safety
/// As [`tile`]; `c` in {1, 2, 4}; `interior` only when `cnt == MR` and every pixel is interior.
#[inline(always)]
unsafe fn dispatch<K: NarrowKernel>(t: &NarrowTile<'_>, c: usize, interior: bool) {
    let row3 = t.s.kw == 3 && t.s.sw == 1 && t.s.dw == 1;
    macro_rules! go {
        ($c:literal, $m:literal) => {
            // SAFETY: forwarded contract; K3 only when kw = 3 and sw = dw = 1, INTERIOR only
            // for a full interior tile, MASKED == (width < L).
            unsafe {
                match (row3, interior) {
                    (true, true) => K::narrow_tile::<$c, $m, true, true>(t),
                    (true, false) => K::narrow_tile::<$c, $m, false, true>(t),
                    (false, true) => K::narrow_tile::<$c, $m, true, false>(t),
                    (false, false) => K::narrow_tile::<$c, $m, false, false>(t),
                }
            }
        };
    }
    match (c, t.width < K::LANES) {
        (1, false) => go!(1, false),
        (1, true) => go!(1, true),
        (2, false) => go!(2, false),
        (2, true) => go!(2, true),
        (4, false) => go!(4, false),
        (4, true) => go!(4, true),
        _ => unreachable!("narrow plan with {c} channels per group"),
    }
}

/// Loads the channels at `p`: all `L`, or only those of `m` when `MASKED`.
///
/// # Safety
/// Features available; `p` has `L` readable floats, or those of `m` when `MASKED`.
#[inline(always)]
unsafe fn load_ch<K: NarrowKernel, const MASKED: bool>(p: *const f32, m: K::Tail) -> K::V {
    // SAFETY: forwarded contract.
    unsafe { if MASKED { K::load_tail(p, m) } else { K::load(p) } }
}

/// One narrow register tile (see [`NarrowTile`]): bias + Σ over the valid taps, clamp, store.
/// With `K3`, a 3-wide kernel with unit horizontal stride and dilation: each of the `MR + 2`
/// input columns of a kernel row is loaded and rotated once and feeds the (up to 3) output
/// pixels that use it. Written once; each tier compiles it in [`NarrowKernel::narrow_tile`].
///
/// # Safety
/// Tier `K`'s features are available; the tile from the validated geometry of the buffers
/// (narrow plan, `in_c == out_c`, `r.img` at the current image); `ox0 + cnt <= out_w`,
/// `cnt <= MR`, `ch0 + width <= out_c`, `MASKED == (width < L)`; when `INTERIOR`, `cnt == MR`
/// and every pixel is interior; when `K3`, `kw == 3` and `sw == dw == 1`.
#[inline(always)]
pub(crate) unsafe fn tile<
    K: NarrowKernel,
    const C: usize,
    const MASKED: bool,
    const INTERIOR: bool,
    const K3: bool,
>(
    t: &NarrowTile<'_>,
) {
    let (s, r, l) = (t.s, t.r, K::LANES);
    // SAFETY: features available; the block starts with L biases.
    let (m, mut acc) = unsafe { (K::tail(t.width), [K::load(t.w); MR]) };
    for ky in r.ky0..r.ky1 {
        // SAFETY: ky0 <= ky < ky1 and ch0 < in_c: channel ch0 of the row's first pixel.
        let row = unsafe { r.at(s, ky, t.ch0) };
        if K3 {
            // SAFETY: ky < kh: this kernel row's 3·C weight vectors are inside the block.
            let wt = unsafe { t.w.add(l + ky * 3 * C * l) };
            // SAFETY: features available; the weight loads stay in this kernel
            // row's 3·C vectors; `p` is a pixel's channels ch0.. of the row (all L, or only
            // `width` read when masked) or the zero buffer (>= L floats).
            unsafe {
                let mut wv = [[K::splat(0.0); C]; 3];
                if K::HOIST_K3 {
                    for (kx, wk) in wv.iter_mut().enumerate() {
                        for (i, wki) in wk.iter_mut().enumerate() {
                            *wki = K::load(wt.add((kx * C + i) * l));
                        }
                    }
                }
                // Tile column q: load, rotate, and feed the (up to 3) pixels that use it.
                macro_rules! column {
                    ($q:expr) => {{
                        let q: usize = $q;
                        // Input column of tile column q (sw = dw = 1): ox0 + q - pl.
                        let p = if INTERIOR {
                            row.add((t.ox0 + q - s.pl) * s.in_c)
                        } else {
                            match s.in_col(t.ox0 + q, 0) {
                                Some(ix) if q < t.cnt + 2 => row.add(ix * s.in_c),
                                _ => ZEROS.as_ptr(),
                            }
                        };
                        let x = load_ch::<K, MASKED>(p, m);
                        let mut xr = [x; C];
                        unroll!(i in [1, 2, 3] {
                            if i < C {
                                xr[i] = K::rotate::<C>(x, i);
                            }
                        });
                        for (kx, wk) in wv.iter().enumerate() {
                            if q >= kx && q - kx < MR {
                                let j = q - kx;
                                for (i, (&xri, &wki)) in xr.iter().zip(wk).enumerate() {
                                    let wki = if K::HOIST_K3 { wki } else { K::load(wt.add((kx * C + i) * l)) };
                                    acc[j] = K::fma(acc[j], wki, xri);
                                }
                            }
                        }
                    }};
                }
                // With hoisted weights, constant column indices keep everything in registers;
                // otherwise a run-time loop (weights as FMA memory operands, no spills).
                if K::HOIST_K3 {
                    unroll!(q in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] { column!(q) });
                } else {
                    for q in 0..MR + 2 {
                        column!(q)
                    }
                }
            }
            continue;
        }
        for kx in 0..s.kw {
            let mut p = [ZEROS.as_ptr(); MR];
            if INTERIOR {
                let ix0 = t.ox0 * s.sw + kx * s.dw - s.pl;
                for (j, pj) in p.iter_mut().enumerate() {
                    // SAFETY: interior pixel: column inside the row.
                    *pj = unsafe { row.add((ix0 + j * s.sw) * s.in_c) };
                }
            } else {
                for (j, pj) in p.iter_mut().enumerate().take(t.cnt) {
                    if let Some(ix) = s.in_col(t.ox0 + j, kx) {
                        // SAFETY: column ix < in_w: inside the row.
                        *pj = unsafe { row.add(ix * s.in_c) };
                    }
                }
            }
            // SAFETY: features available; (ky, kx) < (kh, kw): C weight vectors inside the
            // block; `p[j]` is a pixel's channels ch0.. (all L, or `width` when masked) or the
            // zero buffer (>= L floats).
            unsafe {
                let wt = t.w.add(l + (ky * s.kw + kx) * C * l);
                let mut wv = [K::splat(0.0); C];
                for (i, wvi) in wv.iter_mut().enumerate() {
                    *wvi = K::load(wt.add(l * i));
                }
                unroll!(j in [0, 1, 2, 3, 4, 5, 6, 7] {
                    let x = load_ch::<K, MASKED>(p[j], m);
                    acc[j] = K::fma(acc[j], wv[0], x);
                    unroll!(i in [1, 2, 3] {
                        if i < C {
                            acc[j] = K::fma(acc[j], wv[i], K::rotate::<C>(x, i));
                        }
                    });
                });
            }
        }
    }
    // SAFETY: features available; pixels ox0..ox0+cnt < out_w and channels ch0..ch0+width <=
    // out_c: only real outputs are written (all L lanes, or those of `m` when masked).
    unsafe {
        let (lo, hi) = (K::splat(t.lo), K::splat(t.hi));
        for (j, &a) in acc.iter().enumerate().take(t.cnt) {
            let (o, y) = (t.out.add(j * s.out_c), K::clamp(a, lo, hi));
            if MASKED { K::store_tail(o, y, m) } else { K::store(o, y) }
        }
    }
}
