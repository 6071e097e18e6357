//! The f32 vector every SIMD microkernel is written with, once for the whole crate.
//!
//! Each ISA folder implements [`F32Vector`] once, in its `simd.rs`, on the tier's marker type
//! (`x86_64::simd::Avx2`, `avx512::simd::Avx512`, `aarch64::simd::Neon`,
//! `portable::simd::Portable`), with the [`f32_vector!`] macro: one expression per operation.
//! The family traits (`pointwise::Microkernel`, `separable::SepVector`, `conv2d::WideKernel`,
//! ...) extend it with their tile sizes and the few kernels that are truly ISA-specific, so a
//! new ISA implements this trait once and then only the families' register tiles.

/// One tier's f32 vector and the operations the microkernels use on it.
///
/// # Safety
/// Implementors guarantee that every method is sound under its documented contract whenever
/// the tier's CPU features are available (the caller runs inside the tier's
/// `#[target_feature]` function, after the tier's `ensure_available` succeeded).
pub(crate) unsafe trait F32Vector {
    /// One vector of [`F32Vector::LANES`] f32.
    type V: Copy;
    /// The live lanes of a partial vector, built by [`F32Vector::tail`] (a lane mask, or a
    /// count on ISAs without masked memory access).
    type Tail: Copy;
    /// f32 lanes of [`F32Vector::V`].
    const LANES: usize;
    /// Every lane `x`.
    ///
    /// # Safety
    /// The tier's features are available (as for every method here).
    unsafe fn splat(x: f32) -> Self::V;
    /// Loads `LANES` floats from `p`.
    ///
    /// # Safety
    /// `p` points to `LANES` readable floats.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Every lane `*p`.
    ///
    /// # Safety
    /// `p` points to one readable float.
    unsafe fn broadcast(p: *const f32) -> Self::V;
    /// `acc + a · b`, fused.
    ///
    /// # Safety
    /// Features available.
    unsafe fn fma(acc: Self::V, a: Self::V, b: Self::V) -> Self::V;
    /// `min(hi, max(lo, x))`, bound first, so that a NaN `x` stays NaN as in
    /// [`crate::Activation::apply`].
    ///
    /// # Safety
    /// Features available.
    unsafe fn clamp(x: Self::V, lo: Self::V, hi: Self::V) -> Self::V;
    /// Stores `LANES` floats to `p`.
    ///
    /// # Safety
    /// `p` points to `LANES` writable floats.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// The first `min(n, LANES)` lanes.
    ///
    /// # Safety
    /// Features available.
    unsafe fn tail(n: usize) -> Self::Tail;
    /// Loads the lanes of `t` from `p`; the others are zero and not accessed.
    ///
    /// # Safety
    /// `p` points to as many readable floats as `t` has lanes.
    unsafe fn load_tail(p: *const f32, t: Self::Tail) -> Self::V;
    /// Stores the lanes of `t` to `p`; nothing else is written.
    ///
    /// # Safety
    /// `p` points to as many writable floats as `t` has lanes.
    unsafe fn store_tail(p: *mut f32, v: Self::V, t: Self::Tail);
}

/// Implements [`F32Vector`] for a tier from one expression per operation, written with the
/// operation's parameter names (each is the tier's intrinsic, or a few lines around one).
macro_rules! f32_vector {
    ($T:ty: $V:ty, $M:ty, $lanes:literal;
     splat($sx:ident) = $splat:expr;
     load($lp:ident) = $load:expr;
     broadcast($bp:ident) = $bc:expr;
     fma($fa:ident, $fw:ident, $fx:ident) = $fma:expr;
     clamp($cx:ident, $clo:ident, $chi:ident) = $clamp:expr;
     store($sp:ident, $sv:ident) = $store:expr;
     tail($mn:ident) = $mask:expr;
     load_tail($lmp:ident, $lmm:ident) = $lm:expr;
     store_tail($mp:ident, $mv:ident, $mm:ident) = $sm:expr;) => {
        // SAFETY: every operation is sound under its trait method's contract: the tier's
        // features are available and the pointers are valid for the lanes it touches.
        unsafe impl $crate::simd::F32Vector for $T {
            type V = $V;
            type Tail = $M;
            const LANES: usize = $lanes;
            $crate::simd::methods! {
                splat($sx: f32) -> $V = $splat;
                load($lp: *const f32) -> $V = $load;
                broadcast($bp: *const f32) -> $V = $bc;
                fma($fa: $V, $fw: $V, $fx: $V) -> $V = $fma;
                clamp($cx: $V, $clo: $V, $chi: $V) -> $V = $clamp;
                store($sp: *mut f32, $sv: $V) -> () = $store;
                // `n <= LANES` for the tier's expression.
                tail($mn: usize) -> $M = {
                    let $mn = $mn.min($lanes);
                    $mask
                };
                load_tail($lmp: *const f32, $lmm: $M) -> $V = $lm;
                store_tail($mp: *mut f32, $mv: $V, $mm: $M) -> () = $sm;
            }
        }
    };
}
pub(crate) use f32_vector;

/// The arithmetic the SIMD activations ([`crate::activation`]) need on top of
/// [`F32Vector`]: written once per ISA with [`f32_math!`], one expression per operation.
///
/// # Safety
/// As [`F32Vector`]: every method is sound whenever the tier's features are available. Each
/// method's own contract (`unsafe`): the tier's features are available.
pub(crate) unsafe trait F32Math: F32Vector {
    /// `a + b`.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b` (IEEE division, not an estimate).
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `min(a, b)`; where `a` is NaN the result is NaN.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// `|x|`.
    unsafe fn abs(x: Self::V) -> Self::V;
    /// `x` rounded to the nearest integer (ties to even).
    unsafe fn round(x: Self::V) -> Self::V;
    /// `2^n` for integral `n` in `[-126, 127]` (built from the exponent bits; other lanes give
    /// some finite value).
    unsafe fn pow2i(n: Self::V) -> Self::V;
    /// `t` in the lanes where `a < b` (false for NaN), else `f`.
    unsafe fn select_lt(a: Self::V, b: Self::V, t: Self::V, f: Self::V) -> Self::V;
}

/// Implements [`F32Math`] for a tier from one expression per operation.
macro_rules! f32_math {
    ($T:ty: $V:ty;
     add($aa:ident, $ab:ident) = $add:expr;
     sub($sa:ident, $sb:ident) = $sub:expr;
     mul($ma:ident, $mb:ident) = $mul:expr;
     div($da:ident, $db:ident) = $div:expr;
     min($na:ident, $nb:ident) = $min:expr;
     abs($bx:ident) = $abs:expr;
     round($rx:ident) = $round:expr;
     pow2i($pn:ident) = $pow2i:expr;
     select_lt($la:ident, $lb:ident, $lt:ident, $lf:ident) = $sel:expr;) => {
        // SAFETY: every operation is register-only and sound when the tier's features are
        // available, which each method's caller guarantees.
        unsafe impl $crate::simd::F32Math for $T {
            $crate::simd::methods! {
                add($aa: $V, $ab: $V) -> $V = $add;
                sub($sa: $V, $sb: $V) -> $V = $sub;
                mul($ma: $V, $mb: $V) -> $V = $mul;
                div($da: $V, $db: $V) -> $V = $div;
                min($na: $V, $nb: $V) -> $V = $min;
                abs($bx: $V) -> $V = $abs;
                round($rx: $V) -> $V = $round;
                pow2i($pn: $V) -> $V = $pow2i;
                select_lt($la: $V, $lb: $V, $lt: $V, $lf: $V) -> $V = $sel;
            }
        }
    };
}
pub(crate) use f32_math;

/// The methods of an impl of [`F32Vector`] or [`F32Math`] from [`f32_vector!`] and
/// [`f32_math!`]: `name(params) -> type = body;`, each `#[inline(always)]` with its body (the
/// tier's intrinsic) run under the trait method's contract.
macro_rules! methods {
    ($($name:ident($($a:ident: $t:ty),*) -> $r:ty = $body:expr;)*) => {$(
        #[inline(always)]
        #[allow(unused_unsafe)]
        unsafe fn $name($($a: $t),*) -> $r {
            // SAFETY: the trait method's contract, which the caller upholds: the tier's
            // features are available and every lane the operation reads or writes is valid.
            unsafe { $body }
        }
    )*};
}
pub(crate) use methods;
