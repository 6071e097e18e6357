//! Activations fused into a kernel's store.

use crate::error::KernelError;

/// The activation applied to every output element as it is stored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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
}

impl Activation {
    /// Checks that a clamp's bounds are ordered and not NaN.
    pub fn validate(self) -> Result<(), KernelError> {
        match self {
            Self::Clamp { min, max } if min.is_nan() || max.is_nan() || min > max => {
                Err(KernelError::InvalidClamp { min, max })
            }
            _ => Ok(()),
        }
    }

    /// The `(lower, upper)` bounds this activation clamps to (infinite where it does not).
    #[inline]
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Self::None => (f32::NEG_INFINITY, f32::INFINITY),
            Self::Relu => (0.0, f32::INFINITY),
            Self::Relu6 => (0.0, 6.0),
            Self::Clamp { min, max } => (min, max),
        }
    }

    /// Applies the activation to one value. NaN propagates (it is neither below nor above a
    /// bound), as IEEE 754 comparisons dictate.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        let (lo, hi) = self.bounds();
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    }

    /// A short lowercase name: `none`, `relu`, `relu6` or `clamp`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Relu => "relu",
            Self::Relu6 => "relu6",
            Self::Clamp { .. } => "clamp",
        }
    }
}
