//! Reference elementwise add (residual connection).

use crate::{Activation, KernelError, error::check_len};

/// `output[i] = act(a[i] + b[i])`; all three slices must have the same length (any layout,
/// as long as `a` and `b` share it).
pub fn add(a: &[f32], b: &[f32], act: Activation, output: &mut [f32]) -> Result<(), KernelError> {
    act.validate()?;
    check_len("b", a.len(), b.len())?;
    check_len("output", a.len(), output.len())?;
    for ((o, &x), &y) in output.iter_mut().zip(a).zip(b) {
        *o = act.apply(x + y);
    }
    Ok(())
}
