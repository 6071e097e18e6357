//! Depthwise k×k convolution (depth multiplier 1), NHWC, AVX-512F: the microkernels of the
//! generic plan and driver in `crate::dwconv` (which documents the algorithm).
//!
//! # Plans
//!
//! The plan is a pure function of the canonical geometry ([`Conv2dGeometry::canonical`]), so
//! that [`dwconv_packed_len`], [`dwconv_pack`] and [`dwconv_run`] always agree:
//!
//! - **Own** (square 3×3, 5×5 or 7×7 kernels with horizontal stride 1 or 2 and horizontal
//!   dilation 1, any vertical stride and dilation, any padding, at least 16 channels: every
//!   MobileNet depthwise layer): the specialised row kernels on 16-lane ZMM registers, with this
//!   tier's 16-channel packed layout (below).
//! - **Delegated** (every other geometry: other kernel sizes, `kh ≠ kw`, horizontal stride ≥ 3,
//!   horizontal dilation ≥ 2, fewer than 16 channels): the AVX2 tier's layout and kernels
//!   ([`crate::x86_64::dwconv`]),
//!   so the packed buffer has the AVX2 8-channel layout. These shapes are rare. The entry
//!   points still require AVX-512F first, so the tier reports
//!   `IsaUnavailable { isa: "avx512" }` the same way for every geometry.
//!
//! # Packed layout (own plan)
//!
//! The layout of `crate::dwconv` with tiles of 16 channels (one ZMM register): per tile
//! `[bias × 16][tap 0 × 16]…[tap kh·kw−1 × 16]`, taps row-major; when `C % 16 != 0` the last
//! tile holds the last 16 channels. Length `ceil(C / 16) · 16 · (1 + kh·kw)`.
//!
//! # Tuning (own plan)
//!
//! Two consecutive output rows with every kernel row inside the input run together, tile by
//! tile (both rows of one tile back to back, so the input rows they share are still in L1 for
//! the second: 15–20% faster on the 14×14 to 56×56 MobileNet layers). Interior blocks of
//! `B` = 12 pixels for 3×3, 8 for 5×5 and 7×7; an interior of at least `B` columns ends with
//! one block shifted left onto its last column, a shorter one runs blocks of 8, 4, 2 and 1.
//! A channel remainder runs the shifted last tile unmasked (recomputing some channels of the
//! tile before it); only the generic path keeps masked loads and stores (`__mmask16`).

use core::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use crate::dwconv::{self as dw, Ctx, DwRows, PairFn, Plan, Row, RowFn};
use crate::x86_64::dwconv as avx2;
use crate::{Activation, Conv2dGeometry};

/// f32 lanes of a ZMM register: channels per packed tile of the own plan.
const LANES: usize = 16;

/// Interior block widths (output pixels) per (k, stride):
/// `[3×3 s1, 3×3 s2, 5×5 s1, 5×5 s2, 7×7 s1, 7×7 s2]`.
const BLOCKS: [usize; 6] = [12, 8, 8, 8, 8, 8];
/// Interior block width of the generic path (never taken by the own plan).
const NC: usize = 4;

/// Channels per packed tile for the canonical geometry `g`: 16 on the own plan, the AVX2
/// tier's 8 on the delegated one.
fn lanes_of(g: &Conv2dGeometry) -> usize {
    if dw::has_fast_kernel(&g.canonical(), LANES) { LANES } else { 8 }
}

dw::entry_points! { lanes_of lanes_of, super::ensure_available, pack checks true;
    /// Length of the AVX-512 tier's packed depthwise weights (see the module docs): on the own
    /// plan `ceil(C / 16) · 16 · (1 + kh·kw)`, on the delegated plan the AVX2 tier's length.
    ///
    /// Errors: an invalid or non-depthwise geometry, or overflow.
    packed_len;
    /// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) for
    /// [`dwconv_run`]: on the own plan into channel tiles of 16, `[bias × 16][tap 0 × 16]…`, the
    /// last one shifted onto the last 16 channels; on the delegated plan the AVX2 tier's layout
    /// (see the module docs).
    ///
    /// Errors: an invalid or non-depthwise geometry, `weights`, `bias` or `packed` of the wrong
    /// length (`packed` must have [`dwconv_packed_len`] elements), or a CPU without
    /// AVX-512F + AVX2 + FMA ([`KernelError::IsaUnavailable`](crate::KernelError::IsaUnavailable)); nothing is written then.
    pack;
    /// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
    ///
    /// - `input`: `[batch][in_h][in_w][C]`;
    /// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
    ///   that fall inside the input (padding contributes nothing).
    ///
    /// Any kernel size, stride, dilation and 4-sided padding (the shapes outside the own plan run
    /// the AVX2 kernel). Errors: an invalid or non-depthwise geometry, an invalid clamp, `packed`,
    /// `input` or `output` of the wrong length ([`KernelError::LengthMismatch`](crate::KernelError::LengthMismatch)), or a CPU without
    /// AVX-512F + AVX2 + FMA ([`KernelError::IsaUnavailable`](crate::KernelError::IsaUnavailable)); nothing is written then.
    run;
}

/// Runs a checked plan: the own plan on 16-lane tiles, or the AVX2 tier's kernels on the
/// 8-lane plan of a delegated geometry.
///
/// # Safety
/// AVX-512F, AVX2 and FMA available; `p` came from [`Plan::checked`] with [`lanes_of`] lanes
/// and the same `input`, `packed` and `output` lengths.
unsafe fn run(p: &Plan, input: &[f32], packed: &[f32], act: Activation, output: &mut [f32]) {
    // SAFETY: forwarded; the plan has the tiles of `lanes_of` (16: own, 8: the AVX2 tier's),
    // and AVX2 + FMA are part of this tier's features.
    unsafe {
        let own = p.lanes == LANES;
        if own { run_own(p, input, packed, act, output) } else { avx2::run(p, input, packed, act, output) }
    }
}

/// Entry of the target-feature code for the own plan.
///
/// # Safety
/// AVX-512F, AVX2 and FMA available; `p` came from [`Plan::checked`] with 16 lanes and the
/// same `input`, `packed` and `output` lengths.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_own(p: &Plan, input: &[f32], packed: &[f32], act: Activation, output: &mut [f32]) {
    let (lo, hi) = act.bounds();
    // rem < 16, so the shift does not overflow; rem == 0 means all lanes.
    let mask: __mmask16 = if p.rem == 0 { 0xffff } else { (1u16 << p.rem) - 1 };
    let cx = Ctx {
        p: *p,
        packed: packed.as_ptr(),
        env: Env { lo: _mm512_set1_ps(lo), hi: _mm512_set1_ps(hi), mask },
    };
    // SAFETY: forwarded from the caller; this is the tier's target-feature entry.
    unsafe { dw::run::<Avx512>(&cx, input, output) };
}

/// Clamp bounds and the channel-remainder mask of one call.
type Env = avx2::Env<__m512, __mmask16>;

avx2::x86_vec!(__m512, __mmask16, lanes LANES, overlap true,
    _mm512_setzero_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_min_ps, _mm512_max_ps,
    _mm512_storeu_ps, |p, m, x| _mm512_maskz_loadu_ps(m, p), _mm512_mask_storeu_ps(p, m, x));

/// The AVX-512 row kernels of the own plan.
struct Avx512;

impl DwRows for Avx512 {
    type Env = Env;
    const BIAS: RowFn<Self::Env> = bias_row;
    const GENERIC: RowFn<Self::Env> = generic_row;

    fn fast_row(kw: usize, sw: usize, r: usize) -> Option<RowFn<Self::Env>> {
        dw::fast_row_table!(partial fast_row, BLOCKS, kw, sw, r)
    }

    fn pair_row(kw: usize, sw: usize) -> Option<PairFn<Self::Env>> {
        dw::fast_row_table!(pair fast_pair, BLOCKS, kw, sw, kw)
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX-512.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn bias_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(cx, __m512, bias_view(cx, row.out)) }
}

/// One output row of a `KW × KW` kernel, `R` valid kernel rows, stride `S`, blocks of `B`.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX-512, the kernel chosen for `(KW, S, R)`.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn fast_row<const KW: usize, const R: usize, const S: usize, const B: usize>(
    cx: &Ctx<Env>,
    row: &Row,
) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(unmasked cx, __m512, fast_view::<KW, R, S, B>(cx, row)) }
}

/// A row of a `K × K` kernel with every kernel row valid and, if given, the next one, by tile.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX-512, the kernel chosen for `(K, S, K)`, both rows.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn fast_pair<const K: usize, const S: usize, const B: usize>(cx: &Ctx<Env>, a: &Row, b: Option<&Row>) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(unmasked cx, __m512, pair_view::<K, S, B>(cx, a, b)) }
}

/// One output row for any geometry (on the own plan: rows with fewer than `(K + 1) / 2` valid
/// kernel rows).
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX-512, a row with valid kernel rows.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn generic_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(cx, __m512, generic_view::<NC>(cx, row)) }
}
