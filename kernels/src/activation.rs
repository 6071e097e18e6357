//! Activations applied to a kernel's output.
//!
//! Two classes:
//! - the clamps ([`Activation::None`], [`Activation::Relu`], [`Activation::Relu6`],
//!   [`Activation::Clamp`]) are fused into every kernel's store (two compares in registers);
//! - the nonlinear functions ([`Activation::LeakyRelu`], [`Activation::HardSigmoid`],
//!   [`Activation::HardSwish`], [`Activation::Sigmoid`], [`Activation::Silu`],
//!   [`Activation::Tanh`]) are applied by every convolution entry point to the output it has
//!   just written, in the same call, by the tier's SIMD `activation` kernel (so a caller
//!   running a layer by bands of output rows gets each band activated while it is in cache).
//!
//! The SIMD math (exp, sigmoid, tanh) is written once here on the crate's f32 vector
//! (the crate's `F32Math` vector trait), instantiated by each ISA folder's `activation.rs`.

use crate::error::KernelError;
use crate::simd::F32Math;

/// The activation applied to every output element.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `min(max(x, min), max)`.
    Clamp {
        /// Lower bound (may be `-inf`).
        min: f32,
        /// Upper bound (may be `+inf`).
        max: f32,
    },
    /// `x` where `x >= 0`, else `alpha · x` (ONNX LeakyRelu).
    LeakyRelu {
        /// The slope below zero (finite).
        alpha: f32,
    },
    /// `min(max(alpha · x + beta, 0), 1)` (ONNX HardSigmoid; PyTorch's is alpha 1/6, beta 1/2).
    HardSigmoid {
        /// Slope (finite).
        alpha: f32,
        /// Offset (finite).
        beta: f32,
    },
    /// `x · min(max(x / 6 + 1/2, 0), 1)` (ONNX HardSwish, MobileNetV3).
    HardSwish,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `x · sigmoid(x)` (SiLU, Swish with β = 1).
    Silu,
    /// `tanh(x)`.
    Tanh,
}

impl Activation {
    /// Checks the parameters: a clamp's bounds are ordered and not NaN, the slopes and offsets
    /// of LeakyRelu and HardSigmoid are finite.
    pub fn validate(self) -> Result<(), KernelError> {
        match self {
            Self::Clamp { min, max } if min.is_nan() || max.is_nan() || min > max => {
                Err(KernelError::InvalidClamp { min, max })
            }
            Self::LeakyRelu { alpha } if !alpha.is_finite() => {
                Err(KernelError::InvalidActivation { name: "leaky_relu", what: "alpha", value: alpha })
            }
            Self::HardSigmoid { alpha, .. } if !alpha.is_finite() => {
                Err(KernelError::InvalidActivation { name: "hard_sigmoid", what: "alpha", value: alpha })
            }
            Self::HardSigmoid { beta, .. } if !beta.is_finite() => {
                Err(KernelError::InvalidActivation { name: "hard_sigmoid", what: "beta", value: beta })
            }
            _ => Ok(()),
        }
    }

    /// True for the clamps, which kernels fuse into their stores; false for the nonlinear
    /// functions, which they apply to their output after the stores.
    #[inline]
    pub fn is_clamp(self) -> bool {
        matches!(self, Self::None | Self::Relu | Self::Relu6 | Self::Clamp { .. })
    }

    /// The `(lower, upper)` bounds a kernel's store clamps to: the clamp's bounds, infinite
    /// for [`Activation::None`] and for the nonlinear functions (applied after the store).
    #[inline]
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Self::Relu => (0.0, f32::INFINITY),
            Self::Relu6 => (0.0, 6.0),
            Self::Clamp { min, max } => (min, max),
            _ => (f32::NEG_INFINITY, f32::INFINITY),
        }
    }

    /// Applies the activation to one value: the reference definition every SIMD kernel is
    /// tested against (the transcendental ones computed in `f64` and rounded once). NaN
    /// propagates (it is neither below nor above a bound), as IEEE 754 comparisons dictate.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        let clamp = |x: f32, lo: f32, hi: f32| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        };
        let sigmoid = |x: f64| 1.0 / (1.0 + libm::exp(-x));
        match self {
            Self::LeakyRelu { alpha } => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
            Self::HardSigmoid { alpha, beta } => {
                clamp((f64::from(alpha) * f64::from(x) + f64::from(beta)) as f32, 0.0, 1.0)
            }
            Self::HardSwish => x * clamp((f64::from(x) / 6.0 + 0.5) as f32, 0.0, 1.0),
            Self::Sigmoid => sigmoid(f64::from(x)) as f32,
            Self::Silu => (f64::from(x) * sigmoid(f64::from(x))) as f32,
            Self::Tanh => libm::tanh(f64::from(x)) as f32,
            _ => {
                let (lo, hi) = self.bounds();
                clamp(x, lo, hi)
            }
        }
    }

    /// A short lowercase name: `none`, `relu`, `relu6`, `clamp`, `leaky_relu`,
    /// `hard_sigmoid`, `hard_swish`, `sigmoid`, `silu` or `tanh`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Relu => "relu",
            Self::Relu6 => "relu6",
            Self::Clamp { .. } => "clamp",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::HardSigmoid { .. } => "hard_sigmoid",
            Self::HardSwish => "hard_swish",
            Self::Sigmoid => "sigmoid",
            Self::Silu => "silu",
            Self::Tanh => "tanh",
        }
    }
}

/// `exp(x)` on one vector, for `x` clamped to `[-87, 88]` (so that `2^n` stays a normal
/// float; below, the result is `exp(-87)` ≈ 1.6e-38 instead of a denormal or 0, above
/// `exp(88)` instead of infinity, which no caller here can tell apart after its division).
/// Cody–Waite range reduction `x = n·ln2 + r` (ln 2 split in two), then the degree-5
/// minimax polynomial of Cephes' `expf` for `e^r` on `|r| <= ln2/2`: within 2 ulp.
/// NaN stays NaN (the clamp keeps it and the polynomial of NaN is NaN).
///
/// # Safety
/// The tier's features are available.
#[inline(always)]
unsafe fn exp<K: F32Math>(x: K::V) -> K::V {
    // SAFETY: (whole body) the tier's features are available (caller); no memory is touched.
    unsafe {
        let x = K::clamp(x, K::splat(-87.0), K::splat(88.0));
        let n = K::round(K::mul(x, K::splat(core::f32::consts::LOG2_E)));
        let r = K::fma(x, n, K::splat(-0.693_359_4));
        let r = K::fma(r, n, K::splat(2.121_944_4e-4));
        let mut p = K::splat(1.987_569_1e-4);
        for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
            p = K::fma(K::splat(c), p, r);
        }
        let e = K::fma(K::add(r, K::splat(1.0)), p, K::mul(r, r));
        K::mul(e, K::pow2i(n))
    }
}

/// `1 / (1 + exp(-x))` on one vector.
///
/// # Safety
/// The tier's features are available.
#[inline(always)]
unsafe fn sigmoid<K: F32Math>(x: K::V) -> K::V {
    // SAFETY: the tier's features are available (caller).
    unsafe {
        let one = K::splat(1.0);
        K::div(one, K::add(one, exp::<K>(K::sub(K::splat(0.0), x))))
    }
}

/// `tanh(x)` on one vector: the odd Taylor polynomial through `x^15` where `|x| < 1/2`
/// (relative error below 1e-8 there, no cancellation near 0), else `±(1 - 2 / (exp(2|x|) +
/// 1))` (with `|x|` capped at 9, where tanh is 1 in f32). NaN stays NaN.
///
/// # Safety
/// The tier's features are available.
#[inline(always)]
unsafe fn tanh<K: F32Math>(x: K::V) -> K::V {
    // SAFETY: the tier's features are available (caller).
    unsafe {
        let one = K::splat(1.0);
        let a = K::min(K::abs(x), K::splat(9.0));
        let big = K::sub(one, K::div(K::splat(2.0), K::add(exp::<K>(K::add(a, a)), one)));
        let big = K::select_lt(x, K::splat(0.0), K::sub(K::splat(0.0), big), big);
        let x2 = K::mul(x, x);
        let mut p = K::splat(-929_569.0 / 638_512_875.0);
        for c in [
            21_844.0 / 6_081_075.0,
            -1_382.0 / 155_925.0,
            62.0 / 2_835.0,
            -17.0 / 315.0,
            2.0 / 15.0,
            -1.0 / 3.0,
        ] {
            p = K::fma(K::splat(c), p, x2);
        }
        let small = K::fma(x, K::mul(p, x2), x);
        K::select_lt(K::abs(x), K::splat(0.5), small, big)
    }
}

/// One nonlinear activation's function and constants, splatted once per slice.
#[derive(Clone, Copy)]
struct Vectorized<V> {
    act: Activation,
    a: V,
    b: V,
}

/// Applies a nonlinear `act` to one vector (clamps are applied by the stores, never here).
///
/// # Safety
/// The tier's features are available.
#[inline(always)]
unsafe fn apply_vec<K: F32Math>(f: &Vectorized<K::V>, x: K::V) -> K::V {
    // SAFETY: the tier's features are available (caller).
    unsafe {
        let (zero, one) = (K::splat(0.0), K::splat(1.0));
        match f.act {
            Activation::LeakyRelu { .. } => K::select_lt(x, zero, K::mul(f.a, x), x),
            Activation::HardSigmoid { .. } => K::clamp(K::fma(f.b, f.a, x), zero, one),
            Activation::HardSwish => K::mul(x, K::clamp(K::fma(f.b, f.a, x), zero, one)),
            Activation::Sigmoid => sigmoid::<K>(x),
            Activation::Silu => K::mul(x, sigmoid::<K>(x)),
            Activation::Tanh => tanh::<K>(x),
            _ => {
                let (lo, hi) = f.act.bounds();
                K::clamp(x, K::splat(lo), K::splat(hi))
            }
        }
    }
}

/// `dst[i] = act(src[i])` for `i < n`, one vector at a time with a partial tail; `src` may be
/// `dst` (in place).
///
/// # Safety
/// The tier's features are available; `src` points to `n` readable floats and `dst` to `n`
/// writable floats, the two either identical or disjoint.
#[inline(always)]
pub(crate) unsafe fn run<K: F32Math>(act: Activation, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: (whole body) the tier's features are available (caller); every access is to
    // element `i + l < n` of `src` / `dst` (full vectors while `i + LANES <= n`, then the
    // `n - i` lanes of the tail), which the caller guarantees.
    unsafe {
        let (a, b) = match act {
            Activation::LeakyRelu { alpha } => (alpha, 0.0),
            Activation::HardSigmoid { alpha, beta } => (alpha, beta),
            Activation::HardSwish => (1.0 / 6.0, 0.5),
            _ => (0.0, 0.0),
        };
        let f = Vectorized { act, a: K::splat(a), b: K::splat(b) };
        let mut i = 0;
        while i + 2 * K::LANES <= n {
            let (x0, x1) = (K::load(src.add(i)), K::load(src.add(i + K::LANES)));
            let (y0, y1) = (apply_vec::<K>(&f, x0), apply_vec::<K>(&f, x1));
            K::store(dst.add(i), y0);
            K::store(dst.add(i + K::LANES), y1);
            i += 2 * K::LANES;
        }
        while i < n {
            let t = K::tail(n - i);
            K::store_tail(dst.add(i), apply_vec::<K>(&f, K::load_tail(src.add(i), t)), t);
            i += K::LANES;
        }
    }
}

/// Defines a tier's safe activation entry points, `activation` and `activation_in_place`,
/// and the crate-internal `epilogue` that every convolution entry point of the tier calls on
/// its output: `$T` is the tier's [`F32Math`] type, `$check` its CPU check and `$features`
/// (optional) its `#[target_feature]` list.
macro_rules! entry_points {
    ($T:ty, $check:path $(, $features:literal)?) => {
        $(#[target_feature(enable = $features)])?
        /// # Safety
        /// The tier's features are available; as [`crate::activation::run`].
        unsafe fn run_raw(act: $crate::Activation, src: *const f32, dst: *mut f32, n: usize) {
            // SAFETY: the caller's contract is `run`'s.
            unsafe { $crate::activation::run::<$T>(act, src, dst, n) }
        }

        /// `output[i] = act(input[i])` (any activation; the slices have the same length).
        /// Errors: invalid activation parameters, a length mismatch or a CPU without this
        /// tier's features; nothing is written then.
        pub fn activation(
            act: $crate::Activation,
            input: &[f32],
            output: &mut [f32],
        ) -> Result<(), $crate::KernelError> {
            act.validate()?;
            $crate::error::check_len("output", input.len(), output.len())?;
            $check()?;
            // SAFETY: the features were checked just above; `input` and `output` (a unique
            // borrow, so disjoint from `input`) both hold `input.len()` floats.
            unsafe { run_raw(act, input.as_ptr(), output.as_mut_ptr(), input.len()) };
            Ok(())
        }

        /// `data[i] = act(data[i])` (any activation). Errors: invalid activation parameters or
        /// a CPU without this tier's features; nothing is written then.
        pub fn activation_in_place(act: $crate::Activation, data: &mut [f32]) -> Result<(), $crate::KernelError> {
            act.validate()?;
            $check()?;
            // SAFETY: the features were checked just above; `data` holds `data.len()` floats,
            // read and written in place.
            unsafe { run_raw(act, data.as_ptr(), data.as_mut_ptr(), data.len()) };
            Ok(())
        }

        /// Applies a nonlinear `act` to the output a convolution entry point of this tier has
        /// just written (nothing for a clamp, which the stores applied). The caller has
        /// validated `act` and checked the CPU.
        #[inline]
        pub(crate) fn epilogue(act: $crate::Activation, output: &mut [f32]) {
            if !act.is_clamp() {
                // SAFETY: the calling entry point checked this tier's features before its
                // kernel ran; `output` holds `output.len()` floats, activated in place.
                unsafe { run_raw(act, output.as_ptr(), output.as_mut_ptr(), output.len()) };
            }
        }
    };
}
pub(crate) use entry_points;
