//! Depthwise k×k convolution (depth multiplier 1), NHWC, AVX2+FMA: the microkernels of the
//! generic plan and driver in [`crate::dwconv`] (which documents the algorithm).
//!
//! # Packed layout
//!
//! The channels are cut into tiles of 8 (one YMM register); the last tile is zero-padded when
//! `C % 8 != 0`. Tile `t` occupies `8 · (1 + kh·kw)` floats starting at `t · 8 · (1 + kh·kw)`:
//! `[bias × 8][tap 0 × 8][tap 1 × 8]…[tap kh·kw−1 × 8]`, taps in row-major `(ky, kx)` order
//! and lane `l` holding channel `8t + l` (zero for channels `>= C`, and a zero bias without
//! one).
//!
//! # Tuning
//!
//! The weights of every specialised kernel stay in registers for a row (the compiler folds
//! the ones that do not fit into FMA memory operands); interior blocks of `B` = 4 pixels for
//! 3×3 stride 1, 6 for 3×3 stride 2 and 5×5, 8 for 7×7 (remainders as blocks of 4, 2, 1), and
//! 4 in the generic path; 5×5 and 7×7 borders in blocks of 4 and 2. Channel remainders use
//! `_mm256_maskload_ps` / `_mm256_maskstore_ps` with a mask table.

use core::arch::x86_64::{
    __m256, __m256i, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_loadu_si256, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

use crate::dwconv::{self as dw, Ctx, DwRows, DwVec, Plan, Row, RowFn};
use crate::{Activation, Conv2dGeometry, KernelError};

/// f32 lanes of a YMM register: channels per packed tile.
const LANES: usize = 8;

/// Interior block widths (output pixels) of the specialised kernels, per (k, stride):
/// `[3×3 s1, 3×3 s2, 5×5 s1, 5×5 s2, 7×7 s1, 7×7 s2]`.
const BLOCKS: [usize; 6] = [4, 6, 6, 6, 8, 8];

/// Output pixels per interior block of the generic path.
const NC: usize = 4;

/// `MASK_TABLE[8 - r..8 - r + 8]` has `r` leading all-ones lanes (`r` in `1..=8`).
static MASK_TABLE: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Length of the AVX2 tier's packed depthwise weights: `ceil(C / 8) · 8 · (1 + kh·kw)` (see
/// the module docs for the layout).
///
/// Errors: an invalid or non-depthwise geometry, or overflow.
pub fn dwconv_packed_len(g: &Conv2dGeometry) -> Result<usize, KernelError> {
    dw::packed_len(g, LANES)
}

/// Packs depthwise weights `[kh][kw][C]` and an optional bias `[C]` (zeros without one) into
/// channel tiles of 8 for [`dwconv_run`]: per tile `[bias × 8][tap 0 × 8]…`, zero-padded at
/// the channel remainder (see the module docs).
///
/// Errors: an invalid or non-depthwise geometry, or `weights`, `bias` or `packed` of the wrong
/// length (`packed` must have [`dwconv_packed_len`] elements); nothing is written then.
pub fn dwconv_pack(
    g: &Conv2dGeometry,
    weights: &[f32],
    bias: Option<&[f32]>,
    packed: &mut [f32],
) -> Result<(), KernelError> {
    dw::pack(g, LANES, weights, bias, packed)
}

/// Depthwise convolution on weights packed by [`dwconv_pack`] (same geometry), NHWC:
///
/// - `input`: `[batch][in_h][in_w][C]`;
/// - `output`: `[batch][out_h][out_w][C]`, each `act(bias + Σ input · weight)` over the taps
///   that fall inside the input (padding contributes nothing).
///
/// Any kernel size, stride, dilation and 4-sided padding. Errors: an invalid or non-depthwise
/// geometry, an invalid clamp, `packed`, `input` or `output` of the wrong length
/// ([`KernelError::LengthMismatch`]), or a CPU without AVX2+FMA
/// ([`KernelError::IsaUnavailable`]); nothing is written then.
pub fn dwconv_run(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    act: Activation,
    output: &mut [f32],
) -> Result<(), KernelError> {
    let plan = Plan::checked(g, LANES, input, packed, act, output)?;
    super::ensure_available()?;
    // SAFETY: the CPU has AVX2 and FMA (ensure_available above); the plan checked `input`,
    // `packed` and `output` against the geometry with 8-lane tiles.
    unsafe { run(&plan, input, packed, act, output) };
    Ok(())
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

/// Clamp bounds and the channel-remainder mask of one call.
pub(crate) struct Env {
    lo: __m256,
    hi: __m256,
    /// Lanes `0..rem` set (all lanes when `rem == 0`).
    mask: __m256i,
}

impl DwVec for __m256 {
    type Env = Env;
    const TAP_STRIDE: usize = LANES;
    const HOIST_K: usize = dw::MAX_FAST_K;
    const SWEEP: bool = false;
    const OVERLAP: bool = false;
    const EDGE_BLOCKS: bool = true;

    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: AVX available (the caller's contract); no memory access.
        unsafe { _mm256_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: AVX available and 8 floats readable (the caller's contract).
        unsafe { _mm256_loadu_ps(p) }
    }

    #[inline(always)]
    unsafe fn load_in<const M: bool>(p: *const f32, env: &Env) -> Self {
        // SAFETY: the caller guarantees the features and that the accessed lanes are
        // readable; masked-off lanes are not accessed by vmaskmovps.
        unsafe { if M { _mm256_maskload_ps(p, env.mask) } else { _mm256_loadu_ps(p) } }
    }

    #[inline(always)]
    unsafe fn fma(acc: Self, x: Self, w: Self) -> Self {
        // SAFETY: FMA available (the caller's contract); no memory access.
        unsafe { _mm256_fmadd_ps(x, w, acc) }
    }

    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: AVX available (the caller's contract); no memory access.
        unsafe { _mm256_add_ps(a, b) }
    }

    #[inline(always)]
    unsafe fn store<const M: bool>(p: *mut f32, v: Self, env: &Env) {
        // SAFETY: the caller guarantees the features and that the written lanes are
        // writable; masked-off lanes are not accessed. The bound is the first operand of
        // max/min, so a NaN accumulator propagates.
        unsafe {
            let v = _mm256_min_ps(env.hi, _mm256_max_ps(env.lo, v));
            if M { _mm256_maskstore_ps(p, env.mask, v) } else { _mm256_storeu_ps(p, v) }
        }
    }
}

/// The AVX2 row kernels.
struct Avx2;

impl DwRows for Avx2 {
    type Env = Env;
    const BIAS: RowFn<Env> = bias_row;
    const GENERIC: RowFn<Env> = generic_row;

    fn fast_row(kw: usize, sw: usize, r: usize) -> Option<RowFn<Env>> {
        dw::fast_row_table!(fast_row, BLOCKS, kw, sw, r)
    }
}

/// An output row with every tap in the padding: `act(bias)` everywhere.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX2.
#[target_feature(enable = "avx2,fma")]
unsafe fn bias_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::bias_tiles::<__m256>(cx, row) }
}

/// One output row of a `KW × KW` kernel, `R` valid kernel rows, stride `S`, blocks of `B`.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX2, the kernel chosen for `(KW, S, R)`.
#[target_feature(enable = "avx2,fma")]
unsafe fn fast_row<const KW: usize, const R: usize, const S: usize, const B: usize>(
    cx: &Ctx<Env>,
    row: &Row,
) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::fast_tiles::<__m256, KW, R, S, B>(cx, row) }
}

/// One output row for any kernel size, stride and dilation.
///
/// # Safety
/// The [`DwRows`] row-kernel contract for AVX2, a row with valid kernel rows.
#[target_feature(enable = "avx2,fma")]
unsafe fn generic_row(cx: &Ctx<Env>, row: &Row) {
    // SAFETY: forwarded from the caller.
    unsafe { dw::generic_tiles::<__m256, NC>(cx, row) }
}
