//! The error every checked kernel entry point returns.

use core::fmt;

/// Why a kernel refused its arguments. Every message names the offending value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum KernelError {
    /// A size or count that must be at least 1 was 0 (`what` names it, e.g. `"kernel_h"`).
    Zero {
        /// The parameter's name.
        what: &'static str,
    },
    /// A slice's length does not match the length the geometry implies.
    LengthMismatch {
        /// Which slice (e.g. `"input"`, `"weights"`, `"bias"`, `"output"`).
        what: &'static str,
        /// The length the geometry implies.
        expected: usize,
        /// The slice's actual length.
        actual: usize,
    },
    /// A product of dimensions (a buffer length or an index) overflows `usize`.
    Overflow {
        /// The quantity that overflowed.
        what: &'static str,
    },
    /// `groups` does not divide a channel count.
    GroupsMismatch {
        /// The group count.
        groups: usize,
        /// The channel count it must divide.
        channels: usize,
        /// Which channel count (`"in_c"` or `"out_c"`).
        what: &'static str,
    },
    /// The dilated kernel is larger than the padded input along one axis.
    KernelLargerThanInput {
        /// `"height"` or `"width"`.
        axis: &'static str,
        /// Dilated kernel extent: `dilation * (kernel - 1) + 1`.
        kernel_extent: usize,
        /// Padded input extent: `input + pad_before + pad_after`.
        padded_input: usize,
    },
    /// A geometry that a kernel family does not accept (e.g. depthwise with `out_c != in_c`).
    Unsupported {
        /// The kernel family.
        kernel: &'static str,
        /// The parameter that does not fit.
        what: &'static str,
        /// Its value.
        value: usize,
        /// What the kernel needs instead.
        expected: usize,
    },
    /// An ISA-specific kernel was called on a CPU that lacks the instructions it needs.
    IsaUnavailable {
        /// The ISA tier (`avx2`, `neon`).
        isa: &'static str,
    },
    /// A clamp activation whose bounds are NaN or inverted (`min > max`).
    InvalidClamp {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// An activation parameter is not finite (LeakyRelu's alpha, HardSigmoid's alpha or beta).
    InvalidActivation {
        /// The activation's name (`leaky_relu`, `hard_sigmoid`).
        name: &'static str,
        /// The parameter.
        what: &'static str,
        /// Its value.
        value: f32,
    },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero { what } => write!(f, "{what} is 0; it must be at least 1"),
            Self::LengthMismatch { what, expected, actual } => {
                write!(f, "{what} has {actual} elements but the shape needs {expected}")
            }
            Self::Overflow { what } => write!(f, "{what} overflows usize"),
            Self::GroupsMismatch { groups, channels, what } => {
                write!(f, "groups = {groups} does not divide {what} = {channels}")
            }
            Self::KernelLargerThanInput { axis, kernel_extent, padded_input } => write!(
                f,
                "dilated kernel {axis} {kernel_extent} is larger than the padded input {axis} {padded_input}"
            ),
            Self::Unsupported { kernel, what, value, expected } => {
                write!(f, "{kernel} needs {what} = {expected}, got {value}")
            }
            Self::IsaUnavailable { isa } => write!(f, "this CPU cannot run the {isa} kernels"),
            Self::InvalidClamp { min, max } => {
                write!(f, "clamp bounds must be ordered and not NaN, got min = {min}, max = {max}")
            }
            Self::InvalidActivation { name, what, value } => {
                write!(f, "{name}: {what} must be finite, got {value}")
            }
        }
    }
}

impl core::error::Error for KernelError {}

/// Returns `Ok(())` when `actual == expected`, else a [`KernelError::LengthMismatch`].
#[inline]
pub fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), KernelError> {
    if expected == actual { Ok(()) } else { Err(KernelError::LengthMismatch { what, expected, actual }) }
}

/// Returns `Ok(())` when `value >= 1`, else a [`KernelError::Zero`].
#[inline]
pub fn check_nonzero(what: &'static str, value: usize) -> Result<(), KernelError> {
    if value == 0 { Err(KernelError::Zero { what }) } else { Ok(()) }
}

/// Multiplies `factors` with overflow checking.
#[inline]
pub fn checked_product(what: &'static str, factors: &[usize]) -> Result<usize, KernelError> {
    factors.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x)).ok_or(KernelError::Overflow { what })
}

/// Checks a strided transpose's arguments: strides at least the row lengths, and the last
/// row of each matrix ending inside its slice (an empty matrix needs nothing). Shared by the
/// transpose dispatcher (`crate::layout`) and every ISA's transpose, which import it from here.
pub(crate) fn check_strided(
    rows: usize,
    cols: usize,
    src_len: usize,
    ld_src: usize,
    dst_len: usize,
    ld_dst: usize,
) -> Result<(), KernelError> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    if ld_src < cols {
        return Err(KernelError::LengthMismatch { what: "src row stride", expected: cols, actual: ld_src });
    }
    if ld_dst < rows {
        return Err(KernelError::LengthMismatch { what: "dst row stride", expected: rows, actual: ld_dst });
    }
    let end = |n: usize, ld: usize, len: usize| {
        (n - 1)
            .checked_mul(ld)
            .and_then(|x| x.checked_add(len))
            .ok_or(KernelError::Overflow { what: "matrix extent" })
    };
    let src_need = end(rows, ld_src, cols)?;
    let dst_need = end(cols, ld_dst, rows)?;
    if src_len < src_need {
        return Err(KernelError::LengthMismatch { what: "src", expected: src_need, actual: src_len });
    }
    if dst_len < dst_need {
        return Err(KernelError::LengthMismatch { what: "dst", expected: dst_need, actual: dst_len });
    }
    Ok(())
}
