//! Pointwise 1×1 convolution (NHWC) and dense layers as a GEMM over packed weight panels: the
//! plan and driver, written once. Each ISA folder declares its tier with one [`tier`] call:
//! [`Microkernel`] on the tier's [`F32Vector`] (register budget, blocking, optional prefetch
//! and K loop, the target-feature entry points) and, through [`entry_points`], its safe
//! `pointwise_packed_len` / `pointwise_pack` / `pointwise_run`.
//!
//! The GEMM is `C[M×N] = A[M×K] · B[K×N]` with `M = pixels` (or a dense layer's batch),
//! `K = in_c`, `N = out_c`; `A` (the input) and `C` (the output) are row-major and used in
//! place; only `B` (the weights) is packed.
//!
//! # Packed layout
//!
//! Column panels, left to right, of `FULL_NV` vectors of `LANES` columns; the last is as many
//! vectors as the columns left need if at most `MAX_NV`. Columns past `out_c` are zero. A
//! panel of width `w` at column `n0` starts at offset `(in_c + 1) · n0` and is
//!
//! ```text
//! [bias[n0 .. n0+w]]                      w floats (zeros without a bias)
//! [B[k][n0 .. n0+w]] for k in 0..in_c     in_c rows of w floats, B[k][n] = weights[n][k]
//! ```
//!
//! so a K block `[k0, k1)` is the run of rows `k0..k1`. Length: `(in_c + 1) ·
//! round_up(out_c, LANES)`; a buffer is only valid for the ISA that packed it.
//!
//! # Loop nests
//!
//! - Panel-major (`A_BLOCK_BYTES == 0`): `for panel { for K block { for M tile } }`; a K block
//!   of one panel (at most `B_BLOCK_BYTES`) stays in L1 while every row sweeps over it. With
//!   `PREFETCH`, each sweep prefetches the next sweep's packed block into L1, a slice per tile.
//! - K-major (GotoBLAS): `for K block { for M block { for panel { for M tile } } }`; an M
//!   block of A (at most `A_BLOCK_BYTES`) stays in L2 while every panel sweeps over it.
//!
//! Partial sums of all but the last K block go through C; the bias enters with the first
//! block, the activation with the last (the others clamp to `±inf`, keeping NaN). Rows are
//! split into `ceil(rows / MAX_ROWS)` tiles of nearly equal height (49 rows, at most 6 →
//! 4×6 + 5×5), so no thin tile runs short of FMA chains. Columns past `out_c` are computed
//! on zero weights and never stored.

use crate::simd::F32Vector;
use crate::{Activation, KernelError, PointwiseShape, error::check_len};

/// One ISA's pointwise microkernel: vector type, register budget and blocking, the vector
/// operations [`tile`] is written in, and the entry points under the ISA's target features.
///
/// Every `unsafe fn` requires a CPU with the ISA's features and pointers valid for what the
/// method reads or writes (`LANES` floats, or a tail's valid lanes).
pub(crate) trait Microkernel: F32Vector + Sized {
    /// Vectors in every panel but possibly the last.
    const FULL_NV: usize;
    /// Most vectors in a panel (1 to 3).
    const MAX_NV: usize;
    /// Largest tile height for a panel of `NV` vectors, at index `NV - 1`.
    const MAX_ROWS: [usize; 3];
    /// Target bytes of one K block of one panel.
    const B_BLOCK_BYTES: usize = 16 * 1024;
    /// Target bytes of an M block of A in the K-major nest; 0 selects the panel-major one.
    const A_BLOCK_BYTES: usize = 0;
    /// Whether each sweep prefetches the next one's packed data.
    const PREFETCH: bool = false;

    /// `Ok` when this CPU runs the ISA, else [`KernelError::IsaUnavailable`].
    fn ensure_available() -> Result<(), KernelError>;
    /// [`drive`] under the ISA's target features. # Safety: as [`drive`].
    unsafe fn run(g: &Gemm);
    /// [`tile`] under the ISA's target features. # Safety: as [`tile`].
    unsafe fn tile<const MR: usize, const NV: usize>(sw: &Sweep<Self>, a: *const f32, c: *mut f32);

    /// Prefetches the cache line at `p` into L1 (reads nothing; with `PREFETCH`).
    #[inline(always)]
    unsafe fn prefetch(_p: *const f32) {}
    /// Adds `kc` K steps to `acc` (`acc[r][v] += Σ_k A[r][k] · B[k][v]`), A rows at `a`
    /// (stride `lda`), `kc` B rows of `NV·LANES` at `b`; [`broadcast_k_loop`] by default.
    ///
    /// # Safety
    /// `a` points to `MR` rows of `kc` readable floats, `b` to `kc·NV·LANES`.
    #[inline(always)]
    unsafe fn k_loop<const MR: usize, const NV: usize>(
        acc: &mut [[Self::V; NV]; MR],
        a: *const f32,
        lda: usize,
        b: *const f32,
        kc: usize,
    ) {
        // SAFETY: the same contract.
        unsafe { broadcast_k_loop::<Self, MR, NV>(acc, a, lda, b, kc) }
    }
}

/// Declares an ISA's pointwise tier: the safe entry points ([`entry_points`]) over marker
/// type `$K` and `impl Microkernel for $K` with the given constants and overrides, plus
/// `ensure_available` (`super::ensure_available`) and `run` / `tile` as [`drive`] / [`tile`]
/// compiled with `#[target_feature(enable = $features)]`, or as they are with `features none`
/// (the portable tier).
macro_rules! tier {
    ($K:ty, features $features:literal, without $no_isa:literal; $($body:tt)*) => {
        $crate::pointwise::entry_points!($K, $no_isa);

        impl $crate::pointwise::Microkernel for $K {
            fn ensure_available() -> Result<(), $crate::KernelError> {
                super::ensure_available()
            }
            #[inline(always)]
            unsafe fn run(g: &$crate::pointwise::Gemm) {
                /// `drive` under the features. # Safety: as `drive`.
                #[target_feature(enable = $features)]
                unsafe fn run_isa<K: $crate::pointwise::Microkernel>(g: &$crate::pointwise::Gemm) {
                    // SAFETY: our contract is `drive`'s.
                    unsafe { $crate::pointwise::drive::<K>(g) }
                }
                // SAFETY: our contract (`drive`'s, with a CPU that has the features) is `run_isa`'s.
                unsafe { run_isa::<Self>(g) }
            }
            #[inline(always)]
            unsafe fn tile<const MR: usize, const NV: usize>(
                sw: &$crate::pointwise::Sweep<Self>,
                a: *const f32,
                c: *mut f32,
            ) {
                /// `tile` under the features. # Safety: as `tile`.
                #[inline]
                #[target_feature(enable = $features)]
                unsafe fn tile_isa<K: $crate::pointwise::Microkernel, const MR: usize, const NV: usize>(
                    sw: &$crate::pointwise::Sweep<K>,
                    a: *const f32,
                    c: *mut f32,
                ) {
                    // SAFETY: our contract is `tile`'s.
                    unsafe { $crate::pointwise::tile::<K, MR, NV>(sw, a, c) }
                }
                // SAFETY: our contract (`tile`'s, with a CPU that has the features) is `tile_isa`'s.
                unsafe { tile_isa::<Self, MR, NV>(sw, a, c) }
            }
            $($body)*
        }
    };
    ($K:ty, features none, without $no_isa:literal; $($body:tt)*) => {
        $crate::pointwise::entry_points!($K, $no_isa);

        impl $crate::pointwise::Microkernel for $K {
            fn ensure_available() -> Result<(), $crate::KernelError> {
                Ok(())
            }
            #[inline(always)]
            unsafe fn run(g: &$crate::pointwise::Gemm) {
                // SAFETY: the same contract (`drive`'s; no CPU features needed).
                unsafe { $crate::pointwise::drive::<Self>(g) }
            }
            #[inline(always)]
            unsafe fn tile<const MR: usize, const NV: usize>(
                sw: &$crate::pointwise::Sweep<Self>,
                a: *const f32,
                c: *mut f32,
            ) {
                // SAFETY: the same contract (`tile`'s; no CPU features needed).
                unsafe { $crate::pointwise::tile::<Self, MR, NV>(sw, a, c) }
            }
            $($body)*
        }
    };
}
pub(crate) use tier;

/// The default K loop: per `k`, `NV` B vector loads and one A broadcast per row. # Safety: as
/// [`Microkernel::k_loop`].
#[inline(always)]
pub(crate) unsafe fn broadcast_k_loop<K: Microkernel, const MR: usize, const NV: usize>(
    acc: &mut [[K::V; NV]; MR],
    a: *const f32,
    lda: usize,
    b: *const f32,
    kc: usize,
) {
    // SAFETY: A offsets r·lda + k (r < MR, k < kc) and B offsets below kc·NV·LANES are inside
    // what the caller guarantees; CPU features likewise.
    unsafe {
        let (mut ap, mut bp) = (a, b);
        for _ in 0..kc {
            let mut bv = [K::splat(0.0); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = K::load(bp.add(v * K::LANES));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = K::broadcast(ap.add(r * lda));
                for (x, &b) in row.iter_mut().zip(bv.iter()) {
                    *x = K::fma(*x, av, b);
                }
            }
            ap = ap.add(1);
            bp = bp.add(NV * K::LANES);
        }
    }
}

/// Vectors in the panel that leaves `rest` columns of the output (module docs).
#[inline(always)]
fn panel_vectors<K: Microkernel>(rest: usize) -> usize {
    match rest.div_ceil(K::LANES) {
        0 | 1 => 1,
        v if v <= K::MAX_NV => v,
        _ => K::FULL_NV,
    }
}

/// Length of the packed weights: `(in_c + 1) · round_up(out_c, LANES)`.
pub(crate) fn packed_len<K: Microkernel>(s: &PointwiseShape) -> Result<usize, KernelError> {
    s.validate()?;
    let width = s.out_c.checked_next_multiple_of(K::LANES);
    let len = width.and_then(|w| s.in_c.checked_add(1)?.checked_mul(w));
    len.ok_or(KernelError::Overflow { what: "packed length" })
}

/// Checks the arguments, then packs weights `[out_c][in_c]` and an optional bias `[out_c]`
/// into the panels of the module docs, writing every element of `packed` (nothing on error).
pub(crate) fn pack<K: Microkernel>(
    s: &PointwiseShape,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    let (_, weight_len, _) = s.validate()?;
    check_len("weights", weight_len, weights.len())?;
    if let Some(b) = bias {
        check_len("bias", s.out_c, b.len())?;
    }
    check_len("packed", packed_len::<K>(s)?, packed.len())?;
    K::ensure_available()?;
    let (k, n) = (s.in_c, s.out_c);
    let (mut rest, mut n0) = (packed, 0);
    while n0 < n {
        let w = panel_vectors::<K>(n - n0) * K::LANES;
        let (panel, tail) = rest.split_at_mut((k + 1) * w);
        for (kk, row) in panel.chunks_exact_mut(w).enumerate() {
            for (j, x) in row.iter_mut().enumerate().filter(|(j, _)| n0 + j < n) {
                *x = match kk {
                    0 => bias.map_or(0.0, |b| b[n0 + j]),
                    _ => weights[(n0 + j) * k + kk - 1],
                };
            }
            row[(n - n0).min(w)..].fill(0.0);
        }
        (rest, n0) = (tail, n0 + w);
    }
    Ok(())
}

/// Checks the arguments, then computes `output[p][o] = act(bias[o] + Σ_k input[p][k] ·
/// weights[o][k])` on weights packed by [`pack`] with the same `K` (nothing written on error).
pub(crate) fn run<K: Microkernel>(
    s: &PointwiseShape,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let (input_len, _, output_len) = s.validate()?;
    act.validate()?;
    check_len("input", input_len, input.len())?;
    check_len("packed", packed_len::<K>(s)?, packed.len())?;
    check_len("output", output_len, output.len())?;
    K::ensure_available()?;
    let (a, b, c) = (input.as_ptr(), packed.as_ptr(), output.as_mut_ptr());
    let g = Gemm { m: s.pixels, k: s.in_c, n: s.out_c, a, packed: b, c, bounds: act.bounds() };
    // SAFETY: the CPU runs K's ISA (checked above); the slices have exactly the lengths that
    // `drive` requires (checked above), and `output`, a unique borrow, overlaps neither other.
    unsafe { K::run(&g) };
    Ok(())
}

/// One GEMM: `m × k` A at `a`, B packed by [`pack`] at `packed`, `m × n` C at `c`, bounds.
pub(crate) struct Gemm {
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    packed: *const f32,
    c: *mut f32,
    bounds: (f32, f32),
}

/// What the tiles of one (panel, K block) sweep share: row strides of A and C, the bias head
/// and first B row (`NV·LANES`, `kc·NV·LANES` floats), K steps, first block (start from the
/// bias, else C), bounds (`±inf` but in the last block), last vector all real columns, its
/// tail, and the next sweep's packed data to prefetch (pointer, floats inside the buffer).
pub(crate) struct Sweep<K: Microkernel> {
    lda: usize,
    ldc: usize,
    head: *const f32,
    b: *const f32,
    kc: usize,
    first: bool,
    bounds: (f32, f32),
    full: bool,
    tail: K::Tail,
    next: (*const f32, usize),
}

impl<K: Microkernel> Sweep<K> {
    /// The sweep over K rows `ks = k0..k1` of the panel of `nv` vectors at column `n0`.
    /// # Safety: as [`drive`], with `n0 < n` and `k0 < k1 <= k`.
    #[inline(always)]
    unsafe fn new(g: &Gemm, n0: usize, nv: usize, ks: (usize, usize), next: (*const f32, usize)) -> Self {
        let ((k0, k1), w) = (ks, nv * K::LANES);
        let valid = (g.n - n0).min(w) - (nv - 1) * K::LANES;
        // SAFETY: the panel at column n0 starts at (k+1)·n0 inside the buffer (the panels
        // before it hold (k+1)·n0 floats); its head is w floats, then rows k0..k1 < k.
        let (head, b) = unsafe { (g.packed.add((g.k + 1) * n0), g.packed.add((g.k + 1) * n0 + w + k0 * w)) };
        let bounds = if k1 == g.k { g.bounds } else { (f32::NEG_INFINITY, f32::INFINITY) };
        // SAFETY: 1 <= valid <= LANES; CPU features from the caller.
        let tail = unsafe { K::tail(valid) };
        Self {
            lda: g.k,
            ldc: g.n,
            head,
            b,
            kc: k1 - k0,
            first: k0 == 0,
            bounds,
            full: valid == K::LANES,
            tail,
            next,
        }
    }
}

/// Floats per K block of a panel `width` floats wide: at most `B_BLOCK_BYTES`, split evenly.
#[inline(always)]
fn k_block<K: Microkernel>(k: usize, width: usize) -> usize {
    k.div_ceil(k.div_ceil((K::B_BLOCK_BYTES / (width * 4)).max(1)))
}

/// Runs the whole GEMM in `K`'s loop nest (module docs); instantiated by each ISA's
/// [`Microkernel::run`] under its target features, so that everything inlines. # Safety:
/// The CPU supports `K`'s ISA; `g`'s pointers hold the floats its docs give, laid out by
/// [`pack`] for `packed`, and C overlaps neither A nor B; the shape is valid.
#[inline(always)]
pub(crate) unsafe fn drive<K: Microkernel>(g: &Gemm) {
    // SAFETY: our contract is both nests'.
    unsafe { if K::A_BLOCK_BYTES == 0 { panel_major::<K>(g) } else { k_major::<K>(g) } }
}

/// `for panel { for K block { sweep all rows } }`, prefetching with `PREFETCH`. # Safety: as
/// [`drive`].
#[inline(always)]
unsafe fn panel_major<K: Microkernel>(g: &Gemm) {
    let (k, n) = (g.k, g.n);
    let packed_len = (k + 1) * n.next_multiple_of(K::LANES);
    let mut n0 = 0;
    while n0 < n {
        let nv = panel_vectors::<K>(n - n0);
        let w = nv * K::LANES;
        let kc = k_block::<K>(k, w);
        let mut k0 = 0;
        while k0 < k {
            let k1 = (k0 + kc).min(k);
            // What the next sweep reads: rows k1..k1+kc of this panel, or (after the last K
            // block) the next panel's head and first block, clipped to the buffer.
            let (off, want) = match (K::PREFETCH, k1 == k, n0 + w < n) {
                (false, ..) | (true, true, false) => (0, 0),
                (true, true, true) => {
                    ((k + 1) * (n0 + w), panel_vectors::<K>(n - n0 - w) * K::LANES * (1 + kc))
                }
                (true, false, _) => ((k + 1) * n0 + w + k1 * w, kc.min(k - k1) * w),
            };
            let next = (g.packed.wrapping_add(off), want.min(packed_len.saturating_sub(off)));
            // SAFETY: n0 < n and k0 < k1 <= k: column n0 and K offset k0 are inside C's and A's
            // rows; the sweep reads columns k0..k1 of every A row and writes columns
            // n0..min(n, n0+w) of every C row; `next` holds its length inside `packed`.
            unsafe {
                sweep_panel(nv, &Sweep::<K>::new(g, n0, nv, (k0, k1), next), g.a.add(k0), g.c.add(n0), g.m)
            };
            k0 = k1;
        }
        n0 += w;
    }
}

/// `for K block { for M block { for panel { sweep the block's rows } } }`. # Safety: as
/// [`drive`].
#[inline(always)]
unsafe fn k_major<K: Microkernel>(g: &Gemm) {
    let (m, k, n) = (g.m, g.k, g.n);
    let mr = K::MAX_ROWS[K::FULL_NV - 1];
    let kc = k_block::<K>(k, K::FULL_NV * K::LANES);
    let mut k0 = 0;
    while k0 < k {
        let k1 = (k0 + kc).min(k);
        // M block: a multiple of the tile height, at least one tile.
        let mc = (K::A_BLOCK_BYTES / ((k1 - k0) * 4) / mr * mr).max(mr);
        let mut m0 = 0;
        while m0 < m {
            let m1 = (m0 + mc).min(m);
            let mut n0 = 0;
            while n0 < n {
                let nv = panel_vectors::<K>(n - n0);
                // SAFETY: m0 < m, k0 < k1 <= k, n0 < n: the sweep reads columns k0..k1 of rows
                // m0..m1 of A and writes columns n0..min(n, n0+w) of rows m0..m1 of C.
                unsafe {
                    let sw = Sweep::<K>::new(g, n0, nv, (k0, k1), (g.packed, 0));
                    sweep_panel(nv, &sw, g.a.add(m0 * k + k0), g.c.add(m0 * n + n0), m1 - m0);
                }
                n0 += nv * K::LANES;
            }
            m0 = m1;
        }
        k0 = k1;
    }
}

/// [`sweep`] for a panel of `nv` vectors. # Safety: as [`sweep`] with `NV = nv`.
#[inline(always)]
unsafe fn sweep_panel<K: Microkernel>(nv: usize, sw: &Sweep<K>, a: *const f32, c: *mut f32, m: usize) {
    // SAFETY: passed on; `nv <= MAX_NV` (panel_vectors), so the guards select `nv`.
    unsafe {
        match nv {
            3 if K::MAX_NV >= 3 => sweep::<K, 3>(sw, a, c, m),
            2 if K::MAX_NV >= 2 => sweep::<K, 2>(sw, a, c, m),
            _ => sweep::<K, 1>(sw, a, c, m),
        }
    }
}

/// Sweeps `m` rows over one (panel, K block) in tiles of at most `MAX_ROWS[NV - 1]` rows,
/// split as evenly as possible, prefetching a slice of the next sweep's data per tile.
///
/// # Safety
/// The CPU supports `K`'s ISA; `a` points to `m` rows (stride `sw.lda`) of `sw.kc` readable
/// floats; `c` to `m` rows (stride `sw.ldc`) of the panel's valid columns; `sw.head` and `sw.b`
/// to `NV·LANES` and `sw.kc·NV·LANES` readable floats.
#[inline(always)]
unsafe fn sweep<K: Microkernel, const NV: usize>(sw: &Sweep<K>, a: *const f32, c: *mut f32, m: usize) {
    let max = K::MAX_ROWS[NV - 1];
    let tiles = m.div_ceil(max);
    let (base, extra) = (m / tiles, m % tiles);
    let lines = if K::PREFETCH { (sw.next.1 * 4).div_ceil(64) } else { 0 };
    let per_tile = lines.div_ceil(tiles);
    let mut m0 = 0;
    for t in 0..tiles {
        for l in (t * per_tile)..((t + 1) * per_tile).min(lines) {
            // SAFETY: line l < lines covers floats below `next.1`, inside the packed buffer.
            unsafe { K::prefetch(sw.next.0.add(l * 16)) };
        }
        let rows = base + usize::from(t < extra);
        debug_assert!((1..=max).contains(&rows));
        // SAFETY: m0 + rows <= m keeps the tile inside our rows; rows <= max, so the guards
        // pick a tile no taller than `K` allows for `NV`.
        unsafe {
            let (at, ct) = (a.add(m0 * sw.lda), c.add(m0 * sw.ldc));
            match rows {
                12 if max >= 12 => K::tile::<12, NV>(sw, at, ct),
                11 if max >= 11 => K::tile::<11, NV>(sw, at, ct),
                10 if max >= 10 => K::tile::<10, NV>(sw, at, ct),
                9 if max >= 9 => K::tile::<9, NV>(sw, at, ct),
                8 if max >= 8 => K::tile::<8, NV>(sw, at, ct),
                7 if max >= 7 => K::tile::<7, NV>(sw, at, ct),
                6 if max >= 6 => K::tile::<6, NV>(sw, at, ct),
                5 if max >= 5 => K::tile::<5, NV>(sw, at, ct),
                4 => K::tile::<4, NV>(sw, at, ct),
                3 => K::tile::<3, NV>(sw, at, ct),
                2 => K::tile::<2, NV>(sw, at, ct),
                _ => K::tile::<1, NV>(sw, at, ct),
            }
        }
        m0 += rows;
    }
}

/// The tile: an `MR × NV·LANES` block of C over one K block in `MR·NV` accumulators, started
/// from the bias (first K block) or C, advanced by [`Microkernel::k_loop`], clamped and stored
/// (the last vector through the tail unless full). Instantiated by [`Microkernel::tile`].
///
/// # Safety
/// As [`sweep`] with `m = MR`.
#[inline(always)]
pub(crate) unsafe fn tile<K: Microkernel, const MR: usize, const NV: usize>(
    sw: &Sweep<K>,
    a: *const f32,
    c: *mut f32,
) {
    let (l, part) = (K::LANES, |v: usize| v + 1 == NV && !sw.full);
    // SAFETY: (whole body) offsets stay inside `sweep`'s ranges: rows r < MR of A and C,
    // vectors v < NV of the head and of each C row, the last one through the tail unless
    // full; CPU features from the caller.
    unsafe {
        let mut acc = [[K::splat(0.0); NV]; MR];
        if sw.first {
            for v in 0..NV {
                let bv = K::load(sw.head.add(v * l));
                acc.iter_mut().for_each(|row| row[v] = bv);
            }
        } else {
            for (r, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    let p = c.add(r * sw.ldc + v * l);
                    *x = if part(v) { K::load_tail(p, sw.tail) } else { K::load(p) };
                }
            }
        }
        K::k_loop::<MR, NV>(&mut acc, a, sw.lda, sw.b, sw.kc);
        let (lo, hi) = (K::splat(sw.bounds.0), K::splat(sw.bounds.1));
        for (r, row) in acc.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                let (p, y) = (c.add(r * sw.ldc + v * l), K::clamp(x, lo, hi));
                if part(v) { K::store_tail(p, y, sw.tail) } else { K::store(p, y) }
            }
        }
    }
}

/// Expands to an ISA's public entry points over its [`Microkernel`] `$kernel`:
/// `pointwise_packed_len`, `pointwise_pack`, `pointwise_run`; `$no_isa` names the CPUs they
/// refuse with [`KernelError::IsaUnavailable`].
macro_rules! entry_points {
    ($kernel:ty, $no_isa:literal) => {
        /// Length of the packed pointwise weights, `(in_c + 1) · round_up(out_c, LANES)` (the
        /// panels of the module docs). Errors: an invalid shape, or overflow.
        pub fn pointwise_packed_len(s: &$crate::PointwiseShape) -> Result<usize, $crate::KernelError> {
            $crate::pointwise::packed_len::<$kernel>(s)
        }

        /// Packs pointwise weights `[out_c][in_c]` and an optional bias `[out_c]` into the
        /// panels of the module docs (bias at each panel's head, then one panel-wide row per
        /// input channel, zero past `out_c`); every element of `packed` is written.
        ///
        /// Errors (nothing written): an invalid shape, `weights.len() != out_c · in_c`, a
        /// bias whose length is not `out_c`, `packed.len() !=` [`pointwise_packed_len`], or
        #[doc = concat!($no_isa, " (the buffer is only usable by [`pointwise_run`]).")]
        pub fn pointwise_pack(
            s: &$crate::PointwiseShape,
            weights: &[f32],
            bias: Option<&[f32]>,
            packed: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            $crate::pointwise::pack::<$kernel>(s, weights, bias, packed)
        }

        /// Pointwise convolution (or dense layer) on weights from [`pointwise_pack`]:
        /// `output[p][o] = act(bias[o] + Σ_k input[p][k] · weights[o][k])`, with `input`
        /// `[pixels][in_c]` (NHWC), `packed` [`pointwise_packed_len`] floats packed for the
        /// same shape, `output` `[pixels][out_c]`. NaN propagates as in the reference.
        ///
        /// Errors (nothing written): an invalid shape or clamp, a slice of the wrong length,
        #[doc = concat!("or ", $no_isa, ".")]
        pub fn pointwise_run(
            s: &$crate::PointwiseShape,
            input: &[f32],
            packed: &[f32],
            act: $crate::Activation,
            output: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            $crate::pointwise::run::<$kernel>(s, input, packed, act, output)?;
            super::activation::epilogue(act, output);
            Ok(())
        }
    };
}
pub(crate) use entry_points;
