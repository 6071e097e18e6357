//! Reference standalone activation.

use crate::{Activation, KernelError, error::check_len};

/// `output[i] = act(input[i])`; the slices must have the same length.
pub fn activation(act: Activation, input: &[f32], output: &mut [f32]) -> Result<(), KernelError> {
    act.validate()?;
    check_len("output", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        *o = act.apply(x);
    }
    Ok(())
}

/// `data[i] = act(data[i])`.
pub fn activation_in_place(act: Activation, data: &mut [f32]) -> Result<(), KernelError> {
    act.validate()?;
    for x in data.iter_mut() {
        *x = act.apply(*x);
    }
    Ok(())
}
