//! Depthwise k×k convolution (depth multiplier 1), NHWC, AVX2+FMA: the microkernels of the
//! generic plan and driver in `crate::dwconv` (which documents the algorithm).
//!
//! # Packed layout
//!
//! The layout of `crate::dwconv` with tiles of 8 channels (one YMM register): per tile
//! `[bias × 8][tap 0 × 8]…[tap kh·kw−1 × 8]`, taps row-major, lane `l` holding channel `8t + l`
//! (the last tile shifted onto the last 8 channels, or zero-padded below 8). Length `ceil(C / 8) · 8 · (1 + kh·kw)`.
//!
//! # Tuning
//!
//! The weights of every specialised kernel stay in registers for a row (the compiler folds
//! the ones that do not fit into FMA memory operands); interior blocks of `B` = 4 pixels for
//! 3×3 stride 1, 6 for 3×3 stride 2 and 5×5, 8 for 7×7 (remainders as blocks of 4, 2, 1), and
//! 4 in the generic path; 5×5 and 7×7 borders in blocks of 4 and 2. A channel remainder runs
//! the shifted last tile unmasked; fewer than 8 channels take the generic path with
//! `_mm256_maskload_ps` / `_mm256_maskstore_ps` and a mask table.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_si256, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

use crate::Activation;
use crate::dwconv::{self as dw, Ctx, DwRows, Plan, Row, RowFn};

/// f32 lanes of a YMM register: channels per packed tile.
const LANES: usize = 8;

/// Interior block widths (output pixels) of the specialised kernels, per (k, stride):
/// `[3×3 s1, 3×3 s2, 5×5 s1, 5×5 s2, 7×7 s1, 7×7 s2]`.
const BLOCKS: [usize; 6] = [4, 6, 6, 6, 8, 8];

/// Output pixels per interior block of the generic path.
const NC: usize = 4;

/// `MASK_TABLE[8 - r..8 - r + 8]` has `r` leading all-ones lanes (`r` in `1..=8`).
static MASK_TABLE: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

dw::entry_points! { LANES, super::ensure_available;
    /// Length of the AVX2 tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)` (see
    /// the module docs for the layout).
    ///
    /// Errors: an invalid or non-depthwise geometry, or overflow.
    packed_len;
    /// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
    /// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, the last
    /// tile shifted onto the last 8 channels or zero-padded (see the module docs).
    ///
    /// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
    /// length (`packed` must have [`dwconv_packed_len`] elements); nothing is written then.
    pack;
    /// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
    ///
    /// - `input`: `[batch][in_h][in_w][C]`;
    /// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
    ///   that fall inside the input (padding contributes nothing).
    ///
    /// Any kernel size, stride, dilation and 4-sided padding. Errors: an invalid or non-depthwise
    /// geometry, an invalid clamp, `packed`, `input` or `output` of the wrong length
    /// ([`KernelError::LengthMismatch`](crate::KernelError::LengthMismatch)), or a CPU without AVX2+FMA
    /// ([`KernelError::IsaUnavailable`](crate::KernelError::IsaUnavailable)); nothing is written then.
    run;
}

/// Runs a checked 8-lane plan (also the AVX-512 tier's plan for the shapes it delegates).
///
/// # Safety
/// AVX2 and FMA available; `p` came from [`Plan::checked`] with 8 lanes and the same `input`,
/// `packed` and `output` lengths.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn run(p: &Plan, input: &[f32], packed: &[f32], act: Activation, output: &mut [f32]) {
    let (lo, hi) = act.bounds();
    let at = if p.rem == 0 { 0 } else { LANES - p.rem };
    // SAFETY: `at` is in 0..8, so the 8 lanes read are in bounds of the 16.
    let mask = unsafe { _mm256_loadu_si256(MASK_TABLE.as_ptr().add(at).cast()) };
    let cx = Ctx {
        p: *p,
        packed: packed.as_ptr(),
        env: Env { lo: _mm256_set1_ps(lo), hi: _mm256_set1_ps(hi), mask },
    };
    // SAFETY: forwarded from the caller; this is the tier's target-feature entry.
    unsafe { dw::run::<Avx2>(&cx, input, output) };
}

/// Clamp bounds and the channel-remainder mask of one call (AVX2 and AVX-512).
pub(crate) struct Env<V, K> {
    pub(crate) lo: V,
    pub(crate) hi: V,
    /// Lanes `0..rem` set (all lanes when `rem == 0`).
    pub(crate) mask: K,
}

/// Implements [`DwVec`] for an x86 vector type from its intrinsics (here for AVX2, in
/// `crate::avx512::dwconv` for AVX-512: the two differ only in names, lanes and mask type).
/// `$ml` and `$ms` are the masked load and store, written with the names `$p`, `$m`, `$v`.
macro_rules! x86_vec {
    ($v:ty, $k:ty, lanes $lanes:expr, overlap $ov:expr,
     $zero:ident, $load:ident, $fma:ident, $add:ident, $min:ident, $max:ident, $store:ident,
     |$p:ident, $m:ident, $x:ident| $ml:expr, $ms:expr) => {
        impl $crate::dwconv::DwVec for $v {
            type Env = $crate::x86_64::dwconv::Env<$v, $k>;
            const TAP_STRIDE: usize = $lanes;
            const OVERLAP: bool = $ov;

            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: the tier's features (the caller's contract); no memory access.
                unsafe { $zero() }
            }

            #[inline(always)]
            unsafe fn load($p: *const f32) -> Self {
                // SAFETY: the tier's features and all lanes readable (the caller's contract).
                unsafe { $load($p) }
            }

            #[inline(always)]
            unsafe fn load_in<const M: bool>($p: *const f32, env: &Self::Env) -> Self {
                let $m = env.mask;
                // SAFETY: the caller guarantees the features and that the accessed lanes are
                // readable; masked-off lanes are not accessed (fault suppression).
                unsafe { if M { $ml } else { $load($p) } }
            }

            #[inline(always)]
            unsafe fn fma(acc: Self, x: Self, w: Self) -> Self {
                // SAFETY: the tier's features (the caller's contract); no memory access.
                unsafe { $fma(x, w, acc) }
            }

            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                // SAFETY: the tier's features (the caller's contract); no memory access.
                unsafe { $add(a, b) }
            }

            #[inline(always)]
            unsafe fn store<const M: bool>($p: *mut f32, v: Self, env: &Self::Env) {
                let $m = env.mask;
                // SAFETY: the caller guarantees the features and that the written lanes are
                // writable; masked-off lanes are not accessed. The bound is the first operand
                // of max/min (which return the second on NaN), so a NaN accumulator propagates.
                unsafe {
                    let $x = $min(env.hi, $max(env.lo, v));
                    if M { $ms } else { $store($p, $x) }
                }
            }
        }
    };
}
pub(crate) use x86_vec;

x86_vec!(__m256, __m256i, lanes LANES, overlap false,
    _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_min_ps, _mm256_max_ps,
    _mm256_storeu_ps, |p, m, x| _mm256_maskload_ps(p, m), _mm256_maskstore_ps(p, m, x));

/// The AVX2 row kernels.
struct Avx2;

impl DwRows for Avx2 {
    type Env = Env<__m256, __m256i>;
    const BIAS: RowFn<Self::Env> = bias_row;
    const GENERIC: RowFn<Self::Env> = generic_row;

    fn fast_row(kw: usize, sw: usize, r: usize) -> Option<RowFn<Self::Env>> {
        dw::fast_row_table!(full fast_row, BLOCKS, kw, sw, r)
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX2.
#[target_feature(enable = "avx2,fma")]
unsafe fn bias_row(cx: &Ctx<Env<__m256, __m256i>>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(cx, __m256, bias_view(cx, row.out)) }
}

/// One output row of a `KW × KW` kernel, `R` valid kernel rows, stride `S`, blocks of `B`.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX2, the kernel chosen for `(KW, S, R)`.
#[target_feature(enable = "avx2,fma")]
unsafe fn fast_row<const KW: usize, const R: usize, const S: usize, const B: usize>(
    cx: &Ctx<Env<__m256, __m256i>>,
    row: &Row,
) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(unmasked cx, __m256, fast_view::<KW, R, S, B>(cx, row)) }
}

/// One output row for any kernel size, stride and dilation.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX2, a row with valid kernel rows.
#[target_feature(enable = "avx2,fma")]
unsafe fn generic_row(cx: &Ctx<Env<__m256, __m256i>>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::each_tile!(cx, __m256, generic_view::<NC>(cx, row)) }
}
