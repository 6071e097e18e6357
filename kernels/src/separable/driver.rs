//! The SIMD tiers' separable drivers and register-tile microkernels, generic over
//! [`SepVector`] (see the parent module for the scheme and the packed layout).
//!
//! Everything here is `#[inline(always)]`: the two entry points [`row_pass`] and [`col_pass`]
//! are monomorphised and inlined into an ISA's `#[target_feature]` function, so every vector
//! primitive gets that ISA's codegen.

use super::{Layout, SepVector};
use crate::{Activation, SeparableDims, SeparablePassGeometry};

/// Output rows per band of the input-major column kernel.
const RC: usize = 6;
/// Floats of the stack buffer that holds a zero-padded row edge for the stride-1 row pass.
const EDGE_BUF: usize = 2048;
/// Floats the stride-1 row pass needs in the edge buffer beyond the tap span.
const EDGE_SLACK: usize = 32;

/// Runs `$body` with `$n` (a value among the listed literals) bound to the const `$c`, so that a
/// trait constant or a remainder can pick a const-generic block size (folded away when `$n` is
/// a constant).
macro_rules! with_const {
    ($n:expr, $c:ident in [$($v:literal),+] => $body:expr) => {
        match $n {
            $($v => {
                const $c: usize = $v;
                $body
            })+
            _ => unreachable!("block size"),
        }
    };
}

/// The activation bounds, broadcast.
#[derive(Clone, Copy)]
struct Clamp<K: SepVector> {
    lo: K::V,
    hi: K::V,
}

/// The stack buffer of the stride-1 row pass for a zero-padded copy of a row edge, and the
/// tap span `(k-1)·dilation·C` it must hold beyond the outputs (`span + EDGE_SLACK <= EDGE_BUF`).
struct Edge {
    span: usize,
    buf: [f32; EDGE_BUF],
}

/// What every row and column walk of one pass reads: the validated canonical geometry, the
/// packed layout and buffer, and the activation bounds.
pub(crate) struct Pass<'a, K: SepVector> {
    g: &'a SeparablePassGeometry,
    lay: &'a Layout,
    packed: &'a [f32],
    cl: Clamp<K>,
}

impl<'a, K: SepVector> Pass<'a, K> {
    /// The pass of `g` with layout `lay` on `packed`, clamped to `act`.
    ///
    /// # Safety
    /// Target features.
    #[inline(always)]
    pub(crate) unsafe fn new(
        g: &'a SeparablePassGeometry,
        lay: &'a Layout,
        packed: &'a [f32],
        act: Activation,
    ) -> Self {
        let (lo, hi) = act.bounds();
        // SAFETY: target features (caller).
        let cl = unsafe { Clamp { lo: K::splat(lo), hi: K::splat(hi) } };
        Self { g, lay, packed, cl }
    }

    /// The tap-major blocks of a flat pass over the weight and bias patterns (see
    /// [`FlatTaps`]): `nt` taps `tap_step` apart from `src`, the first tap's weight pattern
    /// row `w_row`, output at `dst`.
    #[inline(always)]
    fn flat_taps(
        &self,
        src: *const f32,
        tap_step: usize,
        nt: usize,
        w_row: usize,
        dst: *mut f32,
    ) -> FlatTaps {
        let (pw, lay) = (self.packed.as_ptr(), self.lay);
        FlatTaps {
            src,
            tap_step,
            nt,
            w: pw.wrapping_add(lay.pat_w + w_row * lay.pstride),
            w_step: lay.pstride,
            bias: pw.wrapping_add(lay.pat_bias),
            dst,
            period: lay.period,
        }
    }
}

/// Loads a vector, or when `M` the live lanes of `tail` (others 0).
///
/// # Safety
/// Target features; `p` readable for `LANES` floats (the live lanes of `tail` when `M`).
#[inline(always)]
unsafe fn load<K: SepVector, const M: bool>(p: *const f32, tail: K::Tail) -> K::V {
    // SAFETY: the caller's contract is the one of the chosen load.
    unsafe { if M { K::load_tail(p, tail) } else { K::load(p) } }
}

/// Clamps `acc` to the activation bounds and stores it, or when `M` the live lanes of `tail`.
///
/// # Safety
/// Target features; `p` writable for `LANES` floats (the live lanes of `tail` when `M`).
#[inline(always)]
unsafe fn store<K: SepVector, const M: bool>(p: *mut f32, acc: K::V, tail: K::Tail, cl: Clamp<K>) {
    // SAFETY: the caller's contract is the one of the chosen store.
    unsafe {
        let v = K::clamp(acc, cl.lo, cl.hi);
        if M { K::store_tail(p, v, tail) } else { K::store(p, v) }
    }
}

/// Where a tap-major block reads and writes: `R` output vectors `j`, each
/// `bias + Σ_{t < nt} in[t][j]·w[t]` with `in[t][j]` at `src + t·tap_step + j·in_step`,
/// `w[t]` at `w + t·w_step` (one weight vector for all `R` outputs), stored at
/// `dst + j·out_step`.
#[derive(Clone, Copy)]
struct Taps {
    src: *const f32,
    in_step: usize,
    tap_step: usize,
    nt: usize,
    w: *const f32,
    w_step: usize,
    dst: *mut f32,
    out_step: usize,
}

/// The `R` accumulators of the tap-major block `a` (see [`Taps`]), loads masked when `M`.
///
/// # Safety
/// Target features; for every `t < a.nt`, `j < R`: `a.src + t·tap_step + j·in_step` readable
/// for `LANES` floats (the live lanes of `tail` when `M`) and `a.w + t·w_step` readable for
/// `LANES` floats.
#[inline(always)]
unsafe fn tap_acc<K: SepVector, const R: usize, const M: bool>(
    a: &Taps,
    bias: K::V,
    tail: K::Tail,
) -> [K::V; R] {
    let mut acc = [bias; R];
    for t in 0..a.nt {
        // SAFETY: t < nt, so the caller guarantees these reads are in bounds.
        unsafe {
            let wv = K::load(a.w.add(t * a.w_step));
            let s = a.src.add(t * a.tap_step);
            for (j, x) in acc.iter_mut().enumerate() {
                *x = K::fma(*x, load::<K, M>(s.add(j * a.in_step), tail), wv);
            }
        }
    }
    acc
}

/// Tap-major block `a` (see [`Taps`]): computes, clamps and stores `R` output vectors, loads
/// and stores masked when `M`.
///
/// # Safety
/// As [`tap_acc`], and `a.dst + j·out_step` writable for `LANES` floats (the live lanes of
/// `tail` when `M`) for `j < R`.
#[inline(always)]
unsafe fn tap_block<K: SepVector, const R: usize, const M: bool>(
    a: &Taps,
    bias: K::V,
    tail: K::Tail,
    cl: Clamp<K>,
) {
    // SAFETY: the caller's contract covers the reads.
    let acc = unsafe { tap_acc::<K, R, M>(a, bias, tail) };
    for (j, x) in acc.iter().enumerate() {
        // SAFETY: j < R, so the caller guarantees this write is in bounds.
        unsafe { store::<K, M>(a.dst.add(j * a.out_step), *x, tail, cl) };
    }
}

/// Input-major column block for stride 1, dilation 1: `R` output rows × `V` vectors.
/// Output row `r`, vector `v` = `act(bias + Σ_t in[r + t][v]·w[t])` over the taps whose input
/// row `r + t` lies in `rel_lo..rel_hi` (rows outside are padding). Input row `rel` (relative to
/// the band) vector `v` is at `src + (rel - rel_lo)·row + v·vstep`; `w[t]` at `w + t·w_step`;
/// output at `dst + r·row + v·vstep`.
///
/// # Safety
/// Target features; for `rel_lo <= rel < rel_hi`, `v < V`, the input vectors above are
/// readable (the live lanes of `tail` when `M`); `w + t·w_step` readable for `LANES` floats for
/// `t < k`; the `R × V` output vectors writable (live lanes when `M`); `rel_hi <= R + k - 1`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn col_band<K: SepVector, const R: usize, const V: usize, const M: bool>(
    src: *const f32,
    row: usize,
    vstep: usize,
    (rel_lo, rel_hi): (usize, usize),
    k: usize,
    (w, w_step): (*const f32, usize),
    bias: K::V,
    dst: *mut f32,
    tail: K::Tail,
    cl: Clamp<K>,
) {
    let mut acc = [[bias; V]; R];
    for rel in rel_lo..rel_hi {
        let mut x = [bias; V];
        for (v, xv) in x.iter_mut().enumerate() {
            // SAFETY: rel_lo <= rel < rel_hi and v < V: readable by the caller's contract.
            *xv = unsafe { load::<K, M>(src.add((rel - rel_lo) * row + v * vstep), tail) };
        }
        if rel + 1 >= R && rel < k {
            // Every output row of the band takes a tap from this input row: t = rel - r < k.
            // Weights of tap `rel - r` at `wr - r·w_step` (`r·w_step` is loop-invariant).
            let wr = w.wrapping_add(rel * w_step);
            for (r, ar) in acc.iter_mut().enumerate() {
                // SAFETY: t = rel - r is in 0..k (rel >= R - 1 >= r and rel < k), and
                // `wr - r·w_step` is `w + t·w_step`.
                let wv = unsafe { K::load(wr.wrapping_sub(r * w_step)) };
                for v in 0..V {
                    // SAFETY: target features (caller).
                    ar[v] = unsafe { K::fma(ar[v], x[v], wv) };
                }
            }
        } else {
            for (r, ar) in acc.iter_mut().enumerate() {
                let t = rel.wrapping_sub(r);
                if t < k {
                    // SAFETY: t < k.
                    let wv = unsafe { K::load(w.add(t * w_step)) };
                    for v in 0..V {
                        // SAFETY: target features (caller).
                        ar[v] = unsafe { K::fma(ar[v], x[v], wv) };
                    }
                }
            }
        }
    }
    for (r, ar) in acc.iter().enumerate() {
        for (v, a) in ar.iter().enumerate() {
            // SAFETY: r < R, v < V: writable by the caller's contract.
            unsafe { store::<K, M>(dst.add(r * row + v * vstep), *a, tail, cl) };
        }
    }
}

/// First flat offset `s0` at which `base + s0` is `bytes`-aligned (a power of two >= 4), when
/// every row of `row_len` floats starting at `base` has the same alignment (`row_len·4` a
/// multiple of `bytes`); else 0.
#[inline(always)]
fn align_offset(base: *const f32, row_len: usize, bytes: usize) -> usize {
    let a = base as usize;
    if !(row_len * 4).is_multiple_of(bytes) || !a.is_multiple_of(4) {
        return 0;
    }
    ((bytes - a % bytes) % bytes) / 4
}

/// Row pass on packed weights: the driver behind every SIMD tier's `row_pass_run`.
///
/// # Safety
/// The ISA's target features are present and this is inlined into a function that enables
/// them; `p` is the [`Pass`] of a plan from [`super::checked_run`] for the row axis and the
/// tiled layout of `K::LANES`, with dims `d`, on these `input` and `output`.
#[inline(always)]
pub(crate) unsafe fn row_pass<K: SepVector>(
    p: &Pass<'_, K>,
    d: &SeparableDims,
    input: &[f32],
    output: &mut [f32],
) {
    let g = p.g;
    let c = g.channels;
    let in_len = g.in_w * c;
    let out_len = d.out_w * c;
    // The stride-1 flat path needs the tap span plus a few vectors in the edge buffer, and
    // `pad_before·C` must not overflow.
    let span = (g.kernel - 1).checked_mul(g.dilation).and_then(|x| x.checked_mul(c));
    let flat = g.stride == 1
        && span.is_some_and(|s| s + EDGE_SLACK <= EDGE_BUF)
        && g.pad_before.checked_mul(c).is_some_and(|p| p.checked_add(in_len).is_some());
    let mut edge = Edge { span: span.unwrap_or(0), buf: [0f32; EDGE_BUF] };
    for row in 0..g.batch * g.in_h {
        let src = &input[row * in_len..][..in_len];
        let dst = &mut output[row * out_len..][..out_len];
        if flat {
            // SAFETY: target features (caller); slices of the validated lengths;
            // `span + EDGE_SLACK <= EDGE_BUF` and `pad_before·C + W·C` fits (checked above).
            unsafe { row_flat(p, &mut edge, src, dst) };
        } else {
            // SAFETY: target features (caller); `src`/`dst` are one input/output row of the
            // validated geometry; `packed` has `lay.len` floats.
            unsafe { row_pixels(p, d.out_w, src, dst) };
        }
    }
}

/// The tap-major blocks of a flat pass: vector `f` reads its taps from `src + f` (`nt` taps
/// `tap_step` apart), its weights from `w + f mod LP` (rows `w_step` apart) and its bias from
/// `bias + f mod LP`, and writes `dst + f`. Pointers are only offset (wrapping) here; the reads
/// and writes happen under the contracts of [`tap_blocks`] and [`FlatTaps::block`].
#[derive(Clone, Copy)]
struct FlatTaps {
    src: *const f32,
    tap_step: usize,
    nt: usize,
    w: *const f32,
    w_step: usize,
    bias: *const f32,
    dst: *mut f32,
    period: usize,
}

impl FlatTaps {
    /// Vector `f` as a tap-major block whose vectors are `LP` floats apart.
    #[inline(always)]
    fn at(&self, f: usize) -> Taps {
        let wo = f % self.period;
        Taps {
            src: self.src.wrapping_add(f),
            in_step: self.period,
            tap_step: self.tap_step,
            nt: self.nt,
            w: self.w.wrapping_add(wo),
            w_step: self.w_step,
            dst: self.dst.wrapping_add(f),
            out_step: self.period,
        }
    }

    /// [`tap_block`] of `R` vectors `f, f + LP, ...`, masked to `tail` when `M`.
    ///
    /// # Safety
    /// Target features; [`tap_block`]'s contract for [`Self::at`]`(f)`; the bias read
    /// `bias + f mod LP .. +L` in bounds.
    #[inline(always)]
    unsafe fn block<K: SepVector, const R: usize, const M: bool>(
        &self,
        f: usize,
        tail: K::Tail,
        cl: Clamp<K>,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            let bias = K::load(self.bias.add(f % self.period));
            tap_block::<K, R, M>(&self.at(f), bias, tail, cl);
        }
    }
}

/// Flat vectors `f_lo..f_hi` (step `L`) of `ft`, in blocks of `K::RT`, then 2, then 1 vectors
/// `LP` floats apart.
///
/// # Safety
/// Target features; every vector `f` of `f_lo..f_hi` is valid for [`FlatTaps::block`] as a
/// one-vector block.
#[inline(always)]
unsafe fn tap_blocks<K: SepVector>(ft: &FlatTaps, (f_lo, f_hi): (usize, usize), cl: Clamp<K>) {
    let period = ft.period;
    // SAFETY: target features (caller).
    let full = unsafe { K::tail(K::LANES) };
    let mut f = f_lo;
    macro_rules! blocks {
        ($r:expr) => {
            while f + $r * period <= f_hi {
                for fq in (f..f + period).step_by(K::LANES) {
                    // SAFETY: vectors fq + j·LP (j < r) lie in f_lo..f_hi (their end is at most
                    // f_hi): valid by the caller's contract.
                    with_const!($r, R in [1, 2, 6, 8] => unsafe { ft.block::<K, R, false>(fq, full, cl) });
                }
                f += $r * period;
            }
        };
    }
    blocks!(K::RT);
    blocks!(2);
    while f < f_hi {
        // SAFETY: the single vector f < f_hi, valid by the caller's contract.
        unsafe { ft.block::<K, 1, false>(f, full, cl) };
        f += K::LANES;
    }
}

/// Stride-1 row pass of one row, flat vectors (see the parent module).
///
/// # Safety
/// Target features; `p.g.stride == 1`; `src` is one input row (`W·C`), `dst` one output row
/// (`out_w·C`), `p.packed` has `p.lay.len` floats; `edge.span == (k-1)·dilation·C` (so
/// `edge.span + EDGE_SLACK <= EDGE_BUF`); `pad_before·C + W·C` does not overflow.
#[inline(always)]
unsafe fn row_flat<K: SepVector>(p: &Pass<'_, K>, edge: &mut Edge, src: &[f32], dst: &mut [f32]) {
    let span = edge.span;
    let g = p.g;
    let c = g.channels;
    let pad_c = g.pad_before * c;
    let (in_len, out_len) = (src.len(), dst.len());
    // Vectors start at f = s0 + L·i; with L | C every tap window then starts on a vector-size
    // boundary of `src` (pad·C and t·dil·C are multiples of L).
    let s0 = if c.is_multiple_of(K::LANES) { align_offset(src.as_ptr(), in_len, 4 * K::LANES) } else { 0 };
    // Interior vectors: every tap window inside the row (f >= pad·C and
    // f + L + span - pad·C <= W·C) and the vector inside the output row.
    let i_lo = pad_c.saturating_sub(s0).div_ceil(K::LANES);
    let i_hi = match ((pad_c + in_len).checked_sub(span + s0), out_len.checked_sub(s0)) {
        (Some(x), Some(y)) => x.min(y) / K::LANES,
        _ => 0,
    };
    let (f_lo, f_hi) = if i_lo < i_hi { (s0 + K::LANES * i_lo, s0 + K::LANES * i_hi) } else { (0, 0) };
    let ft = p.flat_taps(src.as_ptr().wrapping_sub(pad_c), g.dilation * c, g.kernel, 0, dst.as_mut_ptr());
    // SAFETY: interior vectors f_lo..f_hi: their windows f - pad·C + t·dil·C .. +L lie in `src`
    // (interior definition); weight/bias pattern reads end at pat_w + t·S + wo + L <= lay.len
    // for t < k (wo < LP); outputs end <= f_hi <= out_len.
    unsafe { tap_blocks::<K>(&ft, (f_lo, f_hi), p.cl) };
    // SAFETY: same contract as this function; both ranges lie within the output row.
    unsafe {
        row_flat_edge(p, edge, src, dst, (0, f_lo));
        row_flat_edge(p, edge, src, dst, (f_hi, out_len));
    }
}

/// Outputs `f0..f1` (flat) of a stride-1 row, through a zero-padded copy of the input window
/// in `buf`.
///
/// # Safety
/// As [`row_flat`]; `f0 <= f1 <= dst.len()`.
#[inline(always)]
unsafe fn row_flat_edge<K: SepVector>(
    p: &Pass<'_, K>,
    edge: &mut Edge,
    src: &[f32],
    dst: &mut [f32],
    (f0, f1): (usize, usize),
) {
    let (span, buf) = (edge.span, &mut edge.buf);
    let (g, lay, cl) = (p.g, p.lay, p.cl);
    let lanes = K::LANES;
    let c = g.channels;
    let pad_c = g.pad_before * c;
    // Largest chunk of outputs (a multiple of L) whose window fits in the buffer.
    let chunk = (EDGE_BUF - span) / lanes * lanes - lanes;
    let pw = p.packed.as_ptr();
    let mut a = f0;
    while a < f1 {
        let b = (a + chunk).min(f1);
        let nv = (b - a).div_ceil(lanes);
        let need = lanes * nv + span; // <= chunk + L + span <= EDGE_BUF
        // buf[j] = padded row at a + j = src[a + j - pad·C] when inside, else 0.
        let j0 = pad_c.saturating_sub(a).min(need);
        let j1 = (pad_c + src.len()).saturating_sub(a).clamp(j0, need);
        buf[..j0].fill(0.0);
        if j0 < j1 {
            // j0 < j1 implies a + j0 >= pad·C and a + j1 <= pad·C + W·C.
            buf[j0..j1].copy_from_slice(&src[a + j0 - pad_c..a + j1 - pad_c]);
        }
        buf[j1..need].fill(0.0);
        let bp = buf.as_ptr();
        for i in 0..nv {
            let f = a + lanes * i;
            let wo = f % lay.period;
            let rem = b - f;
            let t = Taps {
                src: bp.wrapping_add(lanes * i),
                in_step: 0,
                tap_step: g.dilation * c,
                nt: g.kernel,
                w: pw.wrapping_add(lay.pat_w + wo),
                w_step: lay.pstride,
                dst: dst.as_mut_ptr().wrapping_add(f),
                out_step: 0,
            };
            // SAFETY: target features (caller); window reads buf[L·i + t·dil·C .. +L] for
            // t < k end at L·i + L + span <= need <= EDGE_BUF (full vectors even for the last,
            // partial output: the buffer is zero-filled up to `need`); weight/bias pattern
            // reads end at offset wo + L <= S (wo < LP); the store covers
            // dst[f .. f + min(L, rem)] with f + rem = b <= dst.len().
            unsafe {
                let bias = K::load(pw.add(lay.pat_bias + wo));
                let full = K::tail(lanes);
                if rem >= lanes {
                    tap_block::<K, 1, false>(&t, bias, full, cl);
                } else {
                    // Only the store is partial: the loads stay within `need`.
                    let [acc] = tap_acc::<K, 1, false>(&t, bias, full);
                    store::<K, true>(t.dst, acc, K::tail(rem), cl);
                }
            }
        }
        a = b;
    }
}

/// Row pass of one row, per pixel and `L`-channel tile (any stride).
///
/// # Safety
/// Target features; `src` is one input row (`W·C`), `dst` one output row (`out_w·C`) of the
/// validated geometry `p.g`; `p.packed` has `p.lay.len` floats.
#[inline(always)]
unsafe fn row_pixels<K: SepVector>(p: &Pass<'_, K>, out_w: usize, src: &[f32], dst: &mut [f32]) {
    let (g, lay, cl) = (p.g, p.lay, p.cl);
    let c = g.channels;
    let (k, s, dil, pad) = (g.kernel, g.stride, g.dilation, g.pad_before);
    let ntiles = lay.cpad / K::LANES;
    let tail = c - (ntiles - 1) * K::LANES; // 1..=L channels in the last tile
    // SAFETY: target features (caller).
    let (full, tail_part) = unsafe { (K::tail(K::LANES), K::tail(tail)) };
    // Interior pixels: every tap inside the row.
    let axis = g.along();
    let (x_lo, x_hi) = axis.interior(out_w);
    let pw = p.packed.as_ptr();
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();
    // One block of `R` pixels from pixel x (first input pixel `ix`, taps t0..t0+nt) for each
    // channel tile; `R > 1` only for interior pixels.
    macro_rules! tiles {
        ($r:expr, $x:expr, $ix:expr, $t0:expr, $nt:expr) => {{
            for tile in 0..ntiles {
                let ch = tile * K::LANES;
                let a = Taps {
                    src: if $nt > 0 { sp.wrapping_add($ix * c + ch) } else { sp },
                    in_step: if $r > 1 { s * c } else { 0 },
                    tap_step: dil * c,
                    nt: $nt,
                    w: pw.wrapping_add(lay.plain_w + if $nt > 0 { $t0 * lay.cpad } else { 0 } + ch),
                    w_step: lay.cpad,
                    dst: dp.wrapping_add($x * c + ch),
                    out_step: if $r > 1 { c } else { 0 },
                };
                // SAFETY: target features (caller); the `R` pixels' taps t0..t0+nt read pixels
                // inside the row (interior, or valid taps), channels ch..ch+L (the live lanes
                // of the tail in the last tile, so within C); when nt == 0 `src` is not read;
                // weights at plain_w + t·Cp + ch + L <= lay.len, the bias at ch + L <= Cp;
                // outputs: pixels < out_w, the same channels.
                unsafe {
                    let bias = K::load(pw.add(ch));
                    if tile + 1 < ntiles || tail == K::LANES {
                        tap_block::<K, { $r }, false>(&a, bias, full, cl);
                    } else {
                        tap_block::<K, { $r }, true>(&a, bias, tail_part, cl);
                    }
                }
            }
        }};
    }
    let mut x = x_lo;
    while x + K::RT <= x_hi {
        with_const!(K::RT, R in [6, 8] => tiles!(R, x, x * s - pad, 0, k));
        x += K::RT;
    }
    for x in (0..x_lo).chain(x..out_w) {
        let (t0, t1) = axis.taps(x);
        let nt = t1 - t0;
        let ix = if nt > 0 { x * s + t0 * dil - pad } else { 0 };
        tiles!(1, x, ix, t0, nt);
    }
}

/// Column pass on packed weights: the driver behind every SIMD tier's `col_pass_run`.
///
/// # Safety
/// As [`row_pass`], for the column axis.
#[inline(always)]
pub(crate) unsafe fn col_pass<K: SepVector>(
    p: &Pass<'_, K>,
    d: &SeparableDims,
    input: &[f32],
    output: &mut [f32],
) {
    let g = p.g;
    let row = g.in_w * g.channels;
    let in_plane = g.in_h * row;
    let out_plane = d.out_h * row;
    for n in 0..g.batch {
        let src = &input[n * in_plane..][..in_plane];
        let dst = &mut output[n * out_plane..][..out_plane];
        if g.stride == 1 && g.dilation == 1 {
            let mut oy = 0;
            while oy < d.out_h {
                let r = RC.min(d.out_h - oy);
                // SAFETY: target features (caller); `src`/`dst` are one image of the validated
                // geometry; band rows oy..oy+r < out_h.
                with_const!(r, R in [1, 2, 3, 4, 5, 6] => unsafe {
                    col_band_rows::<K, R>(p, src, dst, oy)
                });
                oy += r;
            }
        } else {
            for oy in 0..d.out_h {
                // SAFETY: target features (caller); one image of the validated geometry;
                // oy < out_h.
                unsafe { col_row_taps(p, src, dst, oy) };
            }
        }
    }
}

/// Stride-1, dilation-1 column pass of output rows `oy..oy+R` of one image.
///
/// # Safety
/// Target features; `src` one input image (`H·W·C`), `dst` one output image (`out_h·W·C`),
/// `p.packed` `p.lay.len` floats; `oy + R <= out_h`; stride and dilation are 1.
#[inline(always)]
unsafe fn col_band_rows<K: SepVector, const R: usize>(
    p: &Pass<'_, K>,
    src: &[f32],
    dst: &mut [f32],
    oy: usize,
) {
    let (g, lay, cl) = (p.g, p.lay, p.cl);
    let lanes = K::LANES;
    let row = g.in_w * g.channels;
    let k = g.kernel;
    let period = lay.period;
    // Input rows of the band, relative to padded row oy: rel in 0..R+k-1, valid when
    // pad <= oy + rel < pad + H.
    let rel_lo = g.pad_before.saturating_sub(oy).min(R + k - 1);
    let rel_hi = (g.pad_before + g.in_h).saturating_sub(oy).clamp(rel_lo, R + k - 1);
    // Vectors start at a cache-line boundary in every input row when the rows keep that
    // alignment (else a vector boundary): with a 4 KiB row stride the band's input lines share
    // one L1 set, and a line split between two calls would be fetched twice.
    let align = if (row * 4).is_multiple_of(64) { 64 } else { 4 * lanes };
    let s0 = align_offset(src.as_ptr(), row, align).min(row);
    let end = s0 + (row - s0) / lanes * lanes;
    let pw = p.packed.as_ptr();
    // When no input row is valid the kernel reads nothing; point at the image start.
    // rel_lo < rel_hi implies oy + rel_lo >= pad: the input row of rel_lo.
    let sp = if rel_lo < rel_hi { src[(oy + rel_lo - g.pad_before) * row..].as_ptr() } else { src.as_ptr() };
    let dp = dst[oy * row..].as_mut_ptr();
    // SAFETY: target features (caller).
    let full = unsafe { K::tail(lanes) };
    // One band-wide call: `V` vectors at flat f, f + LP, ...; `M`: only the live lanes of `tail`.
    macro_rules! band {
        ($v:expr, $m:literal, $f:expr, $tail:expr) => {{
            let f: usize = $f;
            let wo = f % period;
            // SAFETY: target features (caller); input rows oy + rel - pad for rel in
            // rel_lo..rel_hi are inside the image; the vectors f + v·LP (v < V) .. +L lie
            // within a row (only the live lanes, up to the row's end, for the head and tail
            // vectors); weight/bias pattern reads end at offset wo + L <= S for every tap
            // t < k; output rows oy..oy+R < out_h, same vectors.
            unsafe {
                col_band::<K, R, { $v }, $m>(
                    sp.add(f),
                    row,
                    period,
                    (rel_lo, rel_hi),
                    k,
                    (pw.add(lay.pat_w + wo), lay.pstride),
                    K::load(pw.add(lay.pat_bias + wo)),
                    dp.add(f),
                    $tail,
                    cl,
                );
            }
        }};
    }
    let mut f = 0;
    while f < s0 {
        if s0 - f >= lanes {
            band!(1, false, f, full);
        } else {
            // SAFETY: target features (caller).
            let head = unsafe { K::tail(s0 - f) };
            band!(1, true, f, head);
        }
        f += lanes;
    }
    let mut f = s0;
    macro_rules! groups {
        ($vc:expr) => {
            while f + $vc * period <= end {
                for fq in (f..f + period).step_by(lanes) {
                    with_const!($vc, V in [2, 4] => band!(V, false, fq, full));
                }
                f += $vc * period;
            }
        };
    }
    groups!(K::VC);
    groups!(2);
    while f < end {
        band!(1, false, f, full);
        f += lanes;
    }
    if end < row {
        // SAFETY: target features (caller).
        let tail = unsafe { K::tail(row - end) };
        band!(1, true, end, tail);
    }
}

/// Column pass of output row `oy` of one image, tap-major over whole input rows (any stride
/// and dilation).
///
/// # Safety
/// Target features; `src` one input image (`H·W·C`), `dst` one output image (`out_h·W·C`),
/// `p.packed` `p.lay.len` floats; `oy < out_h`.
#[inline(always)]
unsafe fn col_row_taps<K: SepVector>(p: &Pass<'_, K>, src: &[f32], dst: &mut [f32], oy: usize) {
    let (g, cl) = (p.g, p.cl);
    let lanes = K::LANES;
    let row = g.in_w * g.channels;
    let (t0, t1) = g.along().taps(oy);
    let nt = t1 - t0;
    let sp = if nt > 0 {
        src[(oy * g.stride + t0 * g.dilation - g.pad_before) * row..].as_ptr()
    } else {
        src.as_ptr()
    };
    let dp = dst[oy * row..].as_mut_ptr();
    let s0 = align_offset(src.as_ptr(), row, 4 * lanes).min(row);
    let end = s0 + (row - s0) / lanes * lanes;
    let ft = p.flat_taps(sp, g.dilation * row, nt, if nt > 0 { t0 } else { 0 }, dp);
    // SAFETY: (all the calls below) target features (caller); taps t0..t1 read input rows
    // oy·s + t·dil - pad inside the image (valid taps), vectors f + j·LP .. +L within those
    // rows (only the live lanes, up to the row's end, for the head and tail); weight/bias
    // pattern reads end at offset wo + L <= S for taps < k; outputs: row oy, the same vectors.
    unsafe {
        if s0 > 0 {
            ft.block::<K, 1, true>(0, K::tail(s0), cl);
        }
        tap_blocks::<K>(&ft, (s0, end), cl);
        if end < row {
            ft.block::<K, 1, true>(end, K::tail(row - end), cl);
        }
    }
}
