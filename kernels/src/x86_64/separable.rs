//! Row 1×k and column k×1 spatially separable passes, per channel, AVX2+FMA.
//!
//! # How the passes are vectorized
//!
//! Both passes see an NHWC row `[W][C]` as one flat array of `W·C` floats and work on flat
//! 8-float vectors that may start at any flat offset `f`. Lane `l` of such a vector is channel
//! `(f + l) mod C`, so its weights are the 8 floats at offset `f mod 8P` of a periodic
//! *weight pattern* `pattern[t][j] = w[t][j mod C]`, with `8P = lcm(8, C)` (`P = 1` when
//! `C == 1`, where every weight is a broadcast; `P = C / 8` channel tiles when `8 | C`); two
//! vectors `8P` floats apart share their weights. This one scheme vectorizes along `W` when
//! `C == 1` and along channels when `C` is large, with full vectors for every `C`, and lets the
//! vectors start where the input is 32-byte aligned (a `Vec<f32>` usually is not).
//!
//! - **Column pass** (any stride and dilation): an output row is a weighted sum of whole input
//!   rows, so flat vectors need no shuffling at all. With stride 1 and dilation 1 (the common
//!   case) the kernel walks *input-major* over a band of `RC` output rows: each input row vector
//!   is loaded once into a register and feeds every output row of the band that it reaches,
//!   and two vectors that share a weight pattern (`f` and `f + 8P`) share every weight load;
//!   so a `RC × 2` block of accumulators needs about 0.6 loads per FMA for `k = 15`, and only
//!   `RC + k - 1` input rows per band are read (from L2), never `k` rows per output row (the
//!   4 KiB row stride of a 1024-wide image would make `k` such rows collide in one L1 set).
//!   Other strides and dilations use the tap-major kernel below with whole rows as taps.
//!   When `W·C` is a multiple of 8 every row has the same alignment, and the vectors start at
//!   the first 32-byte aligned input float (one masked vector before it).
//! - **Row pass**, stride 1: the taps of a flat output vector are flat input vectors shifted by
//!   `t·dilation·C` floats (unaligned loads when `C` is not a multiple of 8; aligned when it
//!   is). The tap-major kernel keeps `RT` accumulators `8P` floats apart (same weights), loads
//!   each tap's weight vector once and FMAs it with `RT` shifted input windows (memory
//!   operands). Output vectors whose window reaches into the padding are computed the same way
//!   from a zero-padded copy of the row edge in a stack buffer.
//! - **Row pass**, stride > 1 (or a row edge too wide for the stack buffer): per pixel, per
//!   8-channel tile, `RT` pixels per block, masked loads and stores for the channel tail.
//!
//! # Packed layout (private to this tier, same for both axes)
//!
//! With `Cp = ceil(C / 8)·8` and `S = lcm(8, C) + 8`:
//! 1. `[Cp]` bias per channel (zeros without a bias, zero padding past `C`);
//! 2. `[k][Cp]` weights per tap and channel (zero padding past `C`): the channel tiles of the
//!    per-pixel path;
//! 3. `[S]` bias pattern `bias[j mod C]`, then `[k][S]` weight patterns `w[t][j mod C]`
//!    (`j < S`, so that the 8 floats at any offset below `lcm(8, C)` are inside).
//!
//! Total length `(k + 1)·(Cp + S)`.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32,
    _mm256_setzero_si256, _mm256_storeu_ps,
};

use crate::error::check_len;
use crate::{Activation, KernelError, SeparableAxis, SeparableDims, SeparablePassGeometry};

/// f32 lanes of a YMM register.
const LANES: usize = 8;
/// Output vectors per block of the tap-major kernel (accumulators in registers).
const RT: usize = 6;
/// Output rows per band of the input-major column kernel (times 2 vectors = 12 accumulators).
const RC: usize = 6;
/// Floats of the stack buffer that holds a zero-padded row edge for the stride-1 row pass.
const EDGE_BUF: usize = 2048;

use crate::separable_layout::{Layout, check_axis};

/// Validates `g` and computes this tier's packed layout.
fn layout(g: &SeparablePassGeometry) -> Result<(SeparableDims, Layout), KernelError> {
    crate::separable_layout::layout(g, LANES)
}

/// Length of this tier's packed buffer for `g` (see the module docs for the layout):
/// `(k + 1)·(ceil(C/8)·8 + lcm(8, C) + 8)`.
///
/// Errors: an invalid geometry, or overflow.
pub fn separable_packed_len(g: &SeparablePassGeometry) -> Result<usize, KernelError> {
    Ok(layout(g)?.1.len)
}

/// Packs a separable pass's weights `[k][C]` and optional bias `[C]` into this tier's layout
/// (module docs; the same layout serves [`row_pass_run`] and [`col_pass_run`]).
///
/// Errors (nothing written): invalid geometry, or a `weights`, `bias` or `packed` length that
/// does not match.
pub fn separable_pack(
    g: &SeparablePassGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    crate::separable_layout::pack(g, LANES, weights, bias, packed)
}

/// Row pass (1×k along the width), per channel, NHWC, on weights packed by [`separable_pack`].
///
/// Same contract as [`crate::reference::row_pass`]: `g.axis` must be [`SeparableAxis::Row`];
/// `input` is `[batch][in_h][in_w][C]`, `output` is `[batch][in_h][out_w][C]` with
/// `out[n][y][x][c] = act(bias[c] + Σ_t in[n][y][x·stride + t·dilation - pad_before][c]·w[t][c])`
/// (taps in the padding contribute 0).
///
/// Errors (nothing written): wrong axis, invalid geometry or clamp, a slice length that does
/// not match, or a CPU without AVX2+FMA ([`KernelError::IsaUnavailable`]).
pub fn row_pass_run(
    g: &SeparablePassGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    check_axis(g, SeparableAxis::Row, "row_pass_run")?;
    let (d, lay) = layout(g)?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("packed", lay.len, packed.len())?;
    check_len("output", d.output_len, output.len())?;
    super::ensure_available()?;
    // SAFETY: AVX2 and FMA are present (ensure_available above); the geometry is validated and
    // `input`, `packed`, `output` have exactly the lengths it implies (checked above), which is
    // what `row_pass_avx2` requires.
    unsafe { row_pass_avx2(g, &d, &lay, input, packed, act, output) };
    Ok(())
}

/// Column pass (k×1 along the height), per channel, NHWC, on weights packed by
/// [`separable_pack`].
///
/// Same contract as [`crate::reference::col_pass`]: `g.axis` must be
/// [`SeparableAxis::Column`]; `input` is `[batch][in_h][in_w][C]`, `output` is
/// `[batch][out_h][in_w][C]` with
/// `out[n][y][x][c] = act(bias[c] + Σ_t in[n][y·stride + t·dilation - pad_before][x][c]·w[t][c])`.
///
/// Errors (nothing written): wrong axis, invalid geometry or clamp, a slice length that does
/// not match, or a CPU without AVX2+FMA ([`KernelError::IsaUnavailable`]).
pub fn col_pass_run(
    g: &SeparablePassGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let g = &g.canonical();
    check_axis(g, SeparableAxis::Column, "col_pass_run")?;
    let (d, lay) = layout(g)?;
    act.validate()?;
    check_len("input", d.input_len, input.len())?;
    check_len("packed", lay.len, packed.len())?;
    check_len("output", d.output_len, output.len())?;
    super::ensure_available()?;
    // SAFETY: AVX2 and FMA are present (ensure_available above); the geometry is validated and
    // `input`, `packed`, `output` have exactly the lengths it implies (checked above), which is
    // what `col_pass_avx2` requires.
    unsafe { col_pass_avx2(g, &d, &lay, input, packed, act, output) };
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Microkernels
// ---------------------------------------------------------------------------------------------

/// The activation bounds, broadcast.
#[derive(Clone, Copy)]
struct Clamp {
    lo: __m256,
    hi: __m256,
}

/// Mask of the first `n` lanes (`n` in 0..=8).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lane_mask(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// Clamps `acc` to the activation bounds (bound first: NaN propagates) and stores 8 or, when
/// `M`, the lanes of `mask`.
///
/// # Safety
/// AVX2+FMA; `dst` valid for writing 8 floats (or the lanes of `mask` when `M`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store<const M: bool>(dst: *mut f32, acc: __m256, mask: __m256i, cl: Clamp) {
    let v = _mm256_min_ps(cl.hi, _mm256_max_ps(cl.lo, acc));
    // SAFETY: the caller guarantees `dst` is writable for 8 floats, or for the mask's lanes.
    unsafe {
        if M {
            _mm256_maskstore_ps(dst, mask, v);
        } else {
            _mm256_storeu_ps(dst, v);
        }
    }
}

/// Loads 8 floats, or the lanes of `mask` (others 0) when `M`.
///
/// # Safety
/// AVX2; `src` valid for reading 8 floats (or the lanes of `mask` when `M`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load<const M: bool>(src: *const f32, mask: __m256i) -> __m256 {
    // SAFETY: the caller guarantees `src` is readable for 8 floats, or for the mask's lanes.
    unsafe { if M { _mm256_maskload_ps(src, mask) } else { _mm256_loadu_ps(src) } }
}

/// Tap-major block: `R` output vectors `j`, each `act(bias + Σ_{t < nt} in[t][j]·w[t])` with
/// `in[t][j]` the 8 floats at `src + t·tap_step + j·in_step`, `w[t]` the 8 floats at
/// `w + t·w_step` (one weight vector for all `R` outputs), stored at `dst + j·out_step`.
///
/// # Safety
/// AVX2+FMA; for every `t < nt`, `j < R`: `src + t·tap_step + j·in_step` readable for 8 floats
/// (the mask's lanes when `M`) and `w + t·w_step` readable for 8 floats; `dst + j·out_step`
/// writable for 8 floats (mask's lanes when `M`).
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tap_block<const R: usize, const M: bool>(
    src: *const f32,
    in_step: usize,
    tap_step: usize,
    nt: usize,
    w: *const f32,
    w_step: usize,
    bias: __m256,
    dst: *mut f32,
    out_step: usize,
    mask: __m256i,
    cl: Clamp,
) {
    let mut acc = [bias; R];
    for t in 0..nt {
        // SAFETY: t < nt, so the caller guarantees these reads are in bounds.
        unsafe {
            let wv = _mm256_loadu_ps(w.add(t * w_step));
            let s = src.add(t * tap_step);
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(load::<M>(s.add(j * in_step), mask), wv, *a);
            }
        }
    }
    for (j, a) in acc.iter().enumerate() {
        // SAFETY: j < R, so the caller guarantees this write is in bounds.
        unsafe { store::<M>(dst.add(j * out_step), *a, mask, cl) };
    }
}

/// Input-major column block for stride 1, dilation 1: `R` output rows × `V` vectors.
/// Output row `r`, vector `v` = `act(bias + Σ_t in[r + t][v]·w[t])` over the taps whose input
/// row `r + t` lies in `rel_lo..rel_hi` (rows outside are padding). Input row `rel` (relative to
/// the band) vector `v` is at `src + (rel - rel_lo)·row + v·vstep`; `w[t]` at `w + t·w_step`;
/// output at `dst + r·row + v·vstep`.
///
/// # Safety
/// AVX2+FMA; `V` is 1 or 2; for `rel_lo <= rel < rel_hi`, `v < V`, the input vectors above are
/// readable (mask's lanes when `M`); `w + t·w_step` readable for 8 floats for `t < k`; the
/// `R × V` output vectors writable (mask's lanes when `M`); `rel_hi <= R + k - 1`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn col_band<const R: usize, const V: usize, const M: bool>(
    src: *const f32,
    row: usize,
    vstep: usize,
    rel_lo: usize,
    rel_hi: usize,
    k: usize,
    w: *const f32,
    w_step: usize,
    bias: __m256,
    dst: *mut f32,
    mask: __m256i,
    cl: Clamp,
) {
    let mut acc = [[bias; V]; R];
    for rel in rel_lo..rel_hi {
        let mut x = [bias; V];
        for (v, xv) in x.iter_mut().enumerate() {
            // SAFETY: rel_lo <= rel < rel_hi and v < V: readable by the caller's contract.
            *xv = unsafe { load::<M>(src.add((rel - rel_lo) * row + v * vstep), mask) };
        }
        if rel + 1 >= R && rel < k {
            // Every output row of the band takes a tap from this input row: t = rel - r < k.
            for (r, ar) in acc.iter_mut().enumerate() {
                // SAFETY: t = rel - r is in 0..k (rel >= R - 1 >= r and rel < k).
                let wv = unsafe { _mm256_loadu_ps(w.add((rel - r) * w_step)) };
                for v in 0..V {
                    ar[v] = _mm256_fmadd_ps(x[v], wv, ar[v]);
                }
            }
        } else {
            for (r, ar) in acc.iter_mut().enumerate() {
                let t = rel.wrapping_sub(r);
                if t < k {
                    // SAFETY: t < k.
                    let wv = unsafe { _mm256_loadu_ps(w.add(t * w_step)) };
                    for v in 0..V {
                        ar[v] = _mm256_fmadd_ps(x[v], wv, ar[v]);
                    }
                }
            }
        }
    }
    for (r, ar) in acc.iter().enumerate() {
        for (v, a) in ar.iter().enumerate() {
            // SAFETY: r < R, v < V: writable by the caller's contract.
            unsafe { store::<M>(dst.add(r * row + v * vstep), *a, mask, cl) };
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------------

/// Valid taps `t0..t1` of an output at padded position `pos` (= out·stride): those with
/// `0 <= pos + t·dilation - pad < extent`. Empty (`t0 >= t1`) when none is.
fn tap_range(pos: usize, k: usize, dilation: usize, pad: usize, extent: usize) -> (usize, usize) {
    let t0 = if pos >= pad { 0 } else { (pad - pos).div_ceil(dilation) };
    let last = pad + extent - 1; // largest valid padded position (pad + extent fits: validated)
    let t1 = if last >= pos { ((last - pos) / dilation + 1).min(k) } else { 0 };
    (t0.min(k), t1)
}

/// # Safety
/// AVX2+FMA; `g` validated with dims `d` and layout `lay`; `input`, `packed`, `output` have the
/// lengths `d.input_len`, `lay.len`, `d.output_len`; `g.axis` is `Row`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_pass_avx2(
    g: &SeparablePassGeometry,
    d: &SeparableDims,
    lay: &Layout,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) {
    let (lo, hi) = act.bounds();
    let cl = Clamp { lo: _mm256_set1_ps(lo), hi: _mm256_set1_ps(hi) };
    let c = g.channels;
    let in_len = g.in_w * c;
    let out_len = d.out_w * c;
    // The stride-1 flat path needs the tap span plus a few vectors in the edge buffer, and
    // `pad_before·C` must not overflow.
    let span = (g.kernel - 1).checked_mul(g.dilation).and_then(|x| x.checked_mul(c));
    let flat = g.stride == 1
        && span.is_some_and(|s| s + 4 * LANES <= EDGE_BUF)
        && g.pad_before.checked_mul(c).is_some_and(|p| p.checked_add(in_len).is_some());
    let span = span.unwrap_or(0);
    let mut buf = [0f32; EDGE_BUF];
    for row in 0..g.batch * g.in_h {
        let src = &input[row * in_len..][..in_len];
        let dst = &mut output[row * out_len..][..out_len];
        if flat {
            // SAFETY: AVX2+FMA (caller); slices of the validated lengths; `span + 32 <= EDGE_BUF`
            // and `pad_before·C + W·C` fits in usize (checked just above).
            unsafe { row_flat(g, lay, span, src, packed, dst, &mut buf, cl) };
        } else {
            // SAFETY: AVX2+FMA (caller); `src`/`dst` are one input/output row of the validated
            // geometry; `packed` has `lay.len` floats.
            unsafe { row_pixels(g, d.out_w, lay, src, packed, dst, cl) };
        }
    }
}

/// First flat offset `s0` at which `base + s0` is `bytes`-aligned (32 or 64), when every row
/// of `row_len` floats starting at `base` has the same alignment (`row_len·4` a multiple of
/// `bytes`); else 0.
fn align_offset(base: *const f32, row_len: usize, bytes: usize) -> usize {
    let a = base as usize;
    if !(row_len * 4).is_multiple_of(bytes) || !a.is_multiple_of(4) {
        return 0;
    }
    ((bytes - a % bytes) % bytes) / 4
}

/// Stride-1 row pass of one row, flat vectors (see module docs).
///
/// # Safety
/// AVX2+FMA; `g.stride == 1`; `src` is one input row (`W·C`), `dst` one output row
/// (`out_w·C`), `packed` has `lay.len` floats; `span == (k-1)·dilation·C` and
/// `span + 32 <= EDGE_BUF`; `pad_before·C + W·C` does not overflow.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_flat(
    g: &SeparablePassGeometry,
    lay: &Layout,
    span: usize,
    src: &[f32],
    packed: &[f32],
    dst: &mut [f32],
    buf: &mut [f32; EDGE_BUF],
    cl: Clamp,
) {
    let c = g.channels;
    let k = g.kernel;
    let tap_step = g.dilation * c;
    let period = lay.period;
    let pad_c = g.pad_before * c;
    let (in_len, out_len) = (src.len(), dst.len());
    // Vectors start at f = s0 + 8i; with 8 | C every tap window then starts on a 32-byte
    // boundary of `src` (pad·C and t·dil·C are multiples of 8).
    let s0 = if c.is_multiple_of(LANES) { align_offset(src.as_ptr(), in_len, 32) } else { 0 };
    // Interior vectors: every tap window inside the row (f >= pad·C and
    // f + 8 + span - pad·C <= W·C) and the vector inside the output row.
    let i_lo = pad_c.saturating_sub(s0).div_ceil(LANES);
    let i_hi = match ((pad_c + in_len).checked_sub(span + s0), out_len.checked_sub(s0)) {
        (Some(x), Some(y)) => x.min(y) / LANES,
        _ => 0,
    };
    let (f_lo, f_hi) = if i_lo < i_hi { (s0 + LANES * i_lo, s0 + LANES * i_hi) } else { (0, 0) };
    let zero_mask = _mm256_setzero_si256();
    let pw = packed.as_ptr();
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();

    let mut f = f_lo;
    while f + RT * period <= f_hi {
        for fq in (f..f + period).step_by(LANES) {
            let wo = fq % period;
            // SAFETY: vectors fq + j·8P (j < RT) are interior (end <= f_hi): their windows
            // fq + j·8P - pad·C + t·dil·C .. +8 lie in `src` (interior definition); weights at
            // pat_w + t·S + wo + 8 <= lay.len for t < k (wo < 8P); outputs end <= f_hi <= out_len.
            unsafe {
                tap_block::<RT, false>(
                    sp.add(fq - pad_c),
                    period,
                    tap_step,
                    k,
                    pw.add(lay.pat_w + wo),
                    lay.pstride,
                    _mm256_loadu_ps(pw.add(lay.pat_bias + wo)),
                    dp.add(fq),
                    period,
                    zero_mask,
                    cl,
                );
            }
        }
        f += RT * period;
    }
    while f < f_hi {
        let wo = f % period;
        // SAFETY: as above for the single interior vector f.
        unsafe {
            tap_block::<1, false>(
                sp.add(f - pad_c),
                0,
                tap_step,
                k,
                pw.add(lay.pat_w + wo),
                lay.pstride,
                _mm256_loadu_ps(pw.add(lay.pat_bias + wo)),
                dp.add(f),
                0,
                zero_mask,
                cl,
            );
        }
        f += LANES;
    }
    // SAFETY: same contract as this function; both ranges lie within the output row.
    unsafe {
        row_flat_edge(g, lay, span, src, packed, dst, buf, 0, f_lo, cl);
        row_flat_edge(g, lay, span, src, packed, dst, buf, f_hi, out_len, cl);
    }
}

/// Outputs `f0..f1` (flat) of a stride-1 row, through a zero-padded copy of the input window
/// in `buf`.
///
/// # Safety
/// As [`row_flat`]; `f0 <= f1 <= dst.len()`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_flat_edge(
    g: &SeparablePassGeometry,
    lay: &Layout,
    span: usize,
    src: &[f32],
    packed: &[f32],
    dst: &mut [f32],
    buf: &mut [f32; EDGE_BUF],
    f0: usize,
    f1: usize,
    cl: Clamp,
) {
    let c = g.channels;
    let period = lay.period;
    let pad_c = g.pad_before * c;
    // Largest chunk of outputs (a multiple of 8) whose window fits in the buffer.
    let chunk = (EDGE_BUF - span) / LANES * LANES - LANES;
    let pw = packed.as_ptr();
    let mut a = f0;
    while a < f1 {
        let b = (a + chunk).min(f1);
        let nv = (b - a).div_ceil(LANES);
        let need = LANES * nv + span; // <= chunk + span <= EDGE_BUF - 8
        // buf[j] = padded row at a + j = src[a + j - pad·C] when inside, else 0.
        let j0 = pad_c.saturating_sub(a).min(need);
        let j1 = (pad_c + src.len()).saturating_sub(a).clamp(j0, need);
        buf[..j0].fill(0.0);
        if j0 < j1 {
            // j0 < j1 implies a + j0 >= pad·C and a + j1 <= pad·C + W·C.
            buf[j0..j1].copy_from_slice(&src[a + j0 - pad_c..a + j1 - pad_c]);
        }
        buf[j1..need].fill(0.0);
        for i in 0..nv {
            let f = a + LANES * i;
            let wo = f % period;
            let rem = b - f;
            let bp = buf.as_ptr();
            // SAFETY: window reads buf[8i + t·dil·C .. +8] for t < k end at 8i + 8 + span <=
            // need <= EDGE_BUF; weight/bias pattern reads end at offset wo + 8 <= S (wo < 8P);
            // the store covers dst[f .. f + min(8, rem)] with f + rem = b <= dst.len().
            unsafe {
                let bias = _mm256_loadu_ps(pw.add(lay.pat_bias + wo));
                let wp = pw.add(lay.pat_w + wo);
                if rem >= LANES {
                    tap_block::<1, false>(
                        bp.add(LANES * i),
                        0,
                        g.dilation * c,
                        g.kernel,
                        wp,
                        lay.pstride,
                        bias,
                        dst.as_mut_ptr().add(f),
                        0,
                        _mm256_setzero_si256(),
                        cl,
                    );
                } else {
                    tap_block::<1, true>(
                        bp.add(LANES * i),
                        0,
                        g.dilation * c,
                        g.kernel,
                        wp,
                        lay.pstride,
                        bias,
                        dst.as_mut_ptr().add(f),
                        0,
                        lane_mask(rem),
                        cl,
                    );
                }
            }
        }
        a = b;
    }
}

/// Row pass of one row, per pixel and 8-channel tile (any stride).
///
/// # Safety
/// AVX2+FMA; `src` is one input row (`W·C`), `dst` one output row (`out_w·C`) of the validated
/// geometry `g`; `packed` has `lay.len` floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn row_pixels(
    g: &SeparablePassGeometry,
    out_w: usize,
    lay: &Layout,
    src: &[f32],
    packed: &[f32],
    dst: &mut [f32],
    cl: Clamp,
) {
    let c = g.channels;
    let (k, s, dil, pad) = (g.kernel, g.stride, g.dilation, g.pad_before);
    let ntiles = lay.cpad / LANES;
    let tail = c - (ntiles - 1) * LANES; // 1..=8 channels in the last tile
    let tail_mask = lane_mask(tail);
    // Interior pixels: every tap inside the row.
    let x_lo = pad.div_ceil(s).min(out_w);
    let x_hi = (g.in_w - 1 + pad).checked_sub((k - 1) * dil).map_or(0, |x| x / s + 1).clamp(x_lo, out_w);
    let pw = packed.as_ptr();
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();

    let mut x = x_lo;
    while x + RT <= x_hi {
        for tile in 0..ntiles {
            let ch = tile * LANES;
            // SAFETY: pixels x..x+RT are interior: their taps read pixels
            // (x+j)·s + t·dil - pad in 0..W, channels ch..ch+8 (mask's lanes in the last
            // tile, so within C); weights at plain_w + t·Cp + ch + 8 <= lay.len; outputs
            // pixels x+j < out_w, same channels.
            unsafe {
                let args = (
                    sp.add((x * s - pad) * c + ch),
                    s * c,
                    dil * c,
                    k,
                    pw.add(lay.plain_w + ch),
                    lay.cpad,
                    _mm256_loadu_ps(pw.add(ch)),
                    dp.add(x * c + ch),
                    c,
                );
                if tile + 1 < ntiles || tail == LANES {
                    tap_block::<RT, false>(
                        args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7, args.8, tail_mask, cl,
                    );
                } else {
                    tap_block::<RT, true>(
                        args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7, args.8, tail_mask, cl,
                    );
                }
            }
        }
        x += RT;
    }
    for x in (0..x_lo).chain(x..out_w) {
        let (t0, t1) = tap_range(x * s, k, dil, pad, g.in_w);
        let nt = t1.saturating_sub(t0);
        for tile in 0..ntiles {
            let ch = tile * LANES;
            // SAFETY: taps t0..t1 read pixel x·s + t·dil - pad in 0..W (tap_range), channels
            // ch.. within C (masked in the last tile); when nt == 0 `src` is not read and the
            // pointer passed is the row start. Weights/bias in `packed`; output pixel x < out_w.
            unsafe {
                let first = if nt > 0 { sp.add((x * s + t0 * dil - pad) * c + ch) } else { sp };
                let args = (
                    first,
                    0,
                    dil * c,
                    nt,
                    pw.add(lay.plain_w + if nt > 0 { t0 * lay.cpad } else { 0 } + ch),
                    lay.cpad,
                    _mm256_loadu_ps(pw.add(ch)),
                    dp.add(x * c + ch),
                    0,
                );
                if tile + 1 < ntiles || tail == LANES {
                    tap_block::<1, false>(
                        args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7, args.8, tail_mask, cl,
                    );
                } else {
                    tap_block::<1, true>(
                        args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7, args.8, tail_mask, cl,
                    );
                }
            }
        }
    }
}

/// # Safety
/// AVX2+FMA; `g` validated with dims `d` and layout `lay`; `input`, `packed`, `output` have the
/// lengths `d.input_len`, `lay.len`, `d.output_len`; `g.axis` is `Column`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn col_pass_avx2(
    g: &SeparablePassGeometry,
    d: &SeparableDims,
    lay: &Layout,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) {
    let (lo, hi) = act.bounds();
    let cl = Clamp { lo: _mm256_set1_ps(lo), hi: _mm256_set1_ps(hi) };
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
                // SAFETY: AVX2+FMA (caller); `src`/`dst` are one image of the validated
                // geometry; band rows oy..oy+r < out_h.
                unsafe {
                    match r {
                        6 => col_band_rows::<6>(g, lay, src, packed, dst, oy, cl),
                        5 => col_band_rows::<5>(g, lay, src, packed, dst, oy, cl),
                        4 => col_band_rows::<4>(g, lay, src, packed, dst, oy, cl),
                        3 => col_band_rows::<3>(g, lay, src, packed, dst, oy, cl),
                        2 => col_band_rows::<2>(g, lay, src, packed, dst, oy, cl),
                        _ => col_band_rows::<1>(g, lay, src, packed, dst, oy, cl),
                    }
                }
                oy += r;
            }
        } else {
            for oy in 0..d.out_h {
                // SAFETY: AVX2+FMA (caller); one image of the validated geometry; oy < out_h.
                unsafe { col_row_taps(g, lay, src, packed, dst, oy, cl) };
            }
        }
    }
}

/// Stride-1, dilation-1 column pass of output rows `oy..oy+R` of one image.
///
/// # Safety
/// AVX2+FMA; `src` one input image (`H·W·C`), `dst` one output image (`out_h·W·C`),
/// `packed` `lay.len` floats; `oy + R <= out_h`; stride and dilation are 1.
#[target_feature(enable = "avx2,fma")]
unsafe fn col_band_rows<const R: usize>(
    g: &SeparablePassGeometry,
    lay: &Layout,
    src: &[f32],
    packed: &[f32],
    dst: &mut [f32],
    oy: usize,
    cl: Clamp,
) {
    let row = g.in_w * g.channels;
    let k = g.kernel;
    let period = lay.period;
    // Input rows of the band, relative to padded row oy: rel in 0..R+k-1, valid when
    // pad <= oy + rel < pad + H.
    let rel_lo = g.pad_before.saturating_sub(oy).min(R + k - 1);
    let rel_hi = (g.pad_before + g.in_h).saturating_sub(oy).clamp(rel_lo, R + k - 1);
    // Vectors start at f = s0 + 8i, 64-byte aligned in every input row when 16 | W·C, so that
    // a pair (f, f + 8) of the C == 1 case is exactly one cache line: with a 4 KiB row stride
    // the band's input lines share one L1 set, and a line split between two calls would be
    // evicted before the second one and fetched twice.
    let s0 = align_offset(src.as_ptr(), row, 64).min(row);
    let n = (row - s0) / LANES;
    let tail = (row - s0) % LANES;
    let pw = packed.as_ptr();
    // When no input row is valid the kernel reads nothing; point at the image start.
    // rel_lo < rel_hi implies oy + rel_lo >= pad: the input row of rel_lo.
    let sp = if rel_lo < rel_hi { src[(oy + rel_lo - g.pad_before) * row..].as_ptr() } else { src.as_ptr() };
    let dp = dst[oy * row..].as_mut_ptr();
    let zero_mask = _mm256_setzero_si256();
    // One band-wide call: vectors `V` at flat f (and f + 8P), `M`asked to `mask`.
    macro_rules! band {
        ($v:literal, $m:literal, $f:expr, $mask:expr) => {{
            let f: usize = $f;
            let wo = f % period;
            // SAFETY: input rows oy + rel - pad for rel in rel_lo..rel_hi are inside the image;
            // the vectors f (and f + 8P when V == 2) .. +8 lie within a row (masked to the
            // row's end for the head and tail vectors); weight/bias pattern reads end at
            // offset wo + 8 <= S for every tap t < k; output rows oy..oy+R < out_h, same
            // vectors.
            unsafe {
                col_band::<R, $v, $m>(
                    sp.add(f),
                    row,
                    period,
                    rel_lo,
                    rel_hi,
                    k,
                    pw.add(lay.pat_w + wo),
                    lay.pstride,
                    _mm256_loadu_ps(pw.add(lay.pat_bias + wo)),
                    dp.add(f),
                    $mask,
                    cl,
                );
            }
        }};
    }
    let mut f = 0;
    while f < s0 {
        if s0 - f >= LANES {
            band!(1, false, f, zero_mask);
        } else {
            band!(1, true, f, lane_mask(s0 - f));
        }
        f += LANES;
    }
    let end = s0 + LANES * n;
    let mut f = s0;
    while f + 2 * period <= end {
        for fq in (f..f + period).step_by(LANES) {
            band!(2, false, fq, zero_mask);
        }
        f += 2 * period;
    }
    while f < end {
        band!(1, false, f, zero_mask);
        f += LANES;
    }
    if tail > 0 {
        band!(1, true, end, lane_mask(tail));
    }
}

/// Column pass of output row `oy` of one image, tap-major over whole input rows (any stride
/// and dilation).
///
/// # Safety
/// AVX2+FMA; `src` one input image (`H·W·C`), `dst` one output image (`out_h·W·C`),
/// `packed` `lay.len` floats; `oy < out_h`.
#[target_feature(enable = "avx2,fma")]
unsafe fn col_row_taps(
    g: &SeparablePassGeometry,
    lay: &Layout,
    src: &[f32],
    packed: &[f32],
    dst: &mut [f32],
    oy: usize,
    cl: Clamp,
) {
    let row = g.in_w * g.channels;
    let period = lay.period;
    let (t0, t1) = tap_range(oy * g.stride, g.kernel, g.dilation, g.pad_before, g.in_h);
    let nt = t1.saturating_sub(t0);
    let pw = packed.as_ptr();
    let sp = if nt > 0 {
        src[(oy * g.stride + t0 * g.dilation - g.pad_before) * row..].as_ptr()
    } else {
        src.as_ptr()
    };
    let dp = dst[oy * row..].as_mut_ptr();
    let tap_step = g.dilation * row;
    let w0 = lay.pat_w + if nt > 0 { t0 * lay.pstride } else { 0 };
    let s0 = align_offset(src.as_ptr(), row, 32).min(row);
    let n = (row - s0) / LANES;
    let tail = (row - s0) % LANES;
    let zero_mask = _mm256_setzero_si256();
    macro_rules! taps {
        ($r:expr, $m:literal, $f:expr, $mask:expr) => {{
            let f: usize = $f;
            let wo = f % period;
            // SAFETY: taps t0..t1 read input rows oy·s + t·dil - pad inside the image
            // (tap_range), vectors f + j·8P .. +8 (j < R) within those rows (masked to the
            // row's end for the head and tail); weight/bias pattern reads end at offset
            // wo + 8 <= S for taps < k; outputs: row oy, the same vectors.
            unsafe {
                tap_block::<{ $r }, $m>(
                    sp.add(f),
                    period,
                    tap_step,
                    nt,
                    pw.add(w0 + wo),
                    lay.pstride,
                    _mm256_loadu_ps(pw.add(lay.pat_bias + wo)),
                    dp.add(f),
                    period,
                    $mask,
                    cl,
                );
            }
        }};
    }
    if s0 > 0 {
        taps!(1, true, 0, lane_mask(s0));
    }
    let end = s0 + LANES * n;
    let mut f = s0;
    while f + RT * period <= end {
        for fq in (f..f + period).step_by(LANES) {
            taps!(RT, false, fq, zero_mask);
        }
        f += RT * period;
    }
    while f < end {
        taps!(1, false, f, zero_mask);
        f += LANES;
    }
    if tail > 0 {
        taps!(1, true, end, lane_mask(tail));
    }
}
