//! Arbitrary parameters, huge ones included, into the planners of `Conv2d`, `SeparableConv2d`
//! and `Dense`. Every bad combination must be an `Error`, never a panic; a plan that succeeds
//! with a small enough problem is also run once.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use sepconv::dispatch::Isa;
use sepconv::kernels::{
    Activation, Conv2dGeometry, Padding2d, PointwiseShape, SeparableAxis, SeparablePassGeometry,
};
use sepconv::ops::{Conv2d, Dense, SeparableConv2d, SeparablePass1d};
use sepconv::tensor::{Shape4, Tensor};

/// Weights are allocated at their true length only up to this many floats.
const MAX_WEIGHTS: usize = 1_000_000;
/// Largest intermediate / output buffer a plan may allocate here (floats).
const MAX_BUF: usize = 1 << 22;
/// Largest tensors a successful plan is run on (floats) and its largest FLOP count.
const MAX_RUN_ELEMS: usize = 1 << 16;
const MAX_RUN_FLOPS: u64 = 20_000_000;

/// A dimension: mostly small, sometimes 0, a power of two, near `usize::MAX`, or anything.
fn dim(u: &mut Unstructured) -> Result<usize> {
    Ok(match u.int_in_range(0u8..=15)? {
        0..=9 => u.int_in_range(1usize..=12)?,
        10 => 0,
        11 => 1usize << u.int_in_range(0u32..=63)?,
        12 => usize::MAX - u.int_in_range(0usize..=16)?,
        13 => usize::MAX / u.int_in_range(1usize..=1024)?,
        14 => u.int_in_range(13usize..=4096)?,
        _ => u.arbitrary()?,
    })
}

/// Padding: mostly 0..=3, sometimes huge.
fn pad(u: &mut Unstructured) -> Result<usize> {
    if u.ratio(7u8, 8u8)? { u.int_in_range(0usize..=3) } else { dim(u) }
}

fn activation(u: &mut Unstructured) -> Result<Activation> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        3 => Activation::Clamp { min: -1.0, max: 1.0 },
        // Any bounds, NaN and reversed ones included (a plan-time error).
        _ => Activation::Clamp { min: u.arbitrary()?, max: u.arbitrary()? },
    })
}

fn isa(u: &mut Unstructured) -> Result<Isa> {
    // Mostly Scalar (as the planners' validation is shared); sometimes any tier, unavailable
    // ones included, whose plan must then fail with an error.
    if u.ratio(3u8, 4u8)? { Ok(Isa::Scalar) } else { u.choose(&Isa::ALL).copied() }
}

/// Weights for a buffer of `want` floats: the true length when that is small enough (now and
/// then off by one, to hit the length check), else a short slice.
fn weights(u: &mut Unstructured, want: Option<usize>) -> Result<Vec<f32>> {
    let len = match want {
        Some(n) if n <= MAX_WEIGHTS => match u.int_in_range(0u8..=9)? {
            0 => n + 1,
            1 => n.saturating_sub(1),
            _ => n,
        },
        _ => u.int_in_range(0usize..=3)?,
    };
    let seed: u8 = u.arbitrary()?;
    Ok((0..len)
        .map(|i| ((i as u32).wrapping_mul(31).wrapping_add(seed as u32) % 17) as f32 / 8.0 - 1.0)
        .collect())
}

fn bias(u: &mut Unstructured, channels: usize) -> Result<Option<Vec<f32>>> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => None,
        1 => Some(vec![0.5; u.int_in_range(0usize..=3)?]),
        _ if channels <= MAX_WEIGHTS => Some(vec![0.25; channels]),
        _ => Some(vec![0.25; 2]),
    })
}

fn len_of(s: Shape4) -> Option<usize> {
    s.validate().ok()
}

/// Runs a plan when its tensors and work are small.
fn small(input: Shape4, output: Shape4, flops: u64) -> bool {
    matches!((len_of(input), len_of(output)), (Some(i), Some(o)) if i <= MAX_RUN_ELEMS && o <= MAX_RUN_ELEMS)
        && flops <= MAX_RUN_FLOPS
}

fn conv(u: &mut Unstructured) -> Result<()> {
    let geom = Conv2dGeometry {
        batch: dim(u)?,
        in_h: dim(u)?,
        in_w: dim(u)?,
        in_c: dim(u)?,
        out_c: dim(u)?,
        kernel_h: dim(u)?,
        kernel_w: dim(u)?,
        stride_h: dim(u)?,
        stride_w: dim(u)?,
        dilation_h: dim(u)?,
        dilation_w: dim(u)?,
        padding: Padding2d { top: pad(u)?, left: pad(u)?, bottom: pad(u)?, right: pad(u)? },
        groups: if u.ratio(1u8, 3u8)? { dim(u)? } else { 1 },
    };
    let isa = isa(u)?;
    let act = activation(u)?;
    let want = geom.validate().ok().map(|d| d.weight_len);
    let w = weights(u, want)?;
    let b = bias(u, geom.out_c)?;
    if let Ok(op) = Conv2d::with_isa(isa, geom, &w, b.as_deref(), act) {
        if small(op.input_shape(), op.output_shape(), op.flops()) {
            let Ok(input) = Tensor::zeros(op.input_shape()) else { return Ok(()) };
            let Ok(mut output) = Tensor::zeros(op.output_shape()) else { return Ok(()) };
            op.run(input.view(), output.view_mut()).expect("planned Conv2d failed to run on planned shapes");
        }
    }
    Ok(())
}

fn pass(u: &mut Unstructured) -> Result<SeparablePass1d> {
    Ok(SeparablePass1d {
        kernel: dim(u)?,
        stride: dim(u)?,
        dilation: dim(u)?,
        pad_before: pad(u)?,
        pad_after: pad(u)?,
    })
}

fn pass_geometry(p: &SeparablePass1d, axis: SeparableAxis, s: Shape4) -> SeparablePassGeometry {
    SeparablePassGeometry {
        axis,
        batch: s.n,
        in_h: s.h,
        in_w: s.w,
        channels: s.c,
        kernel: p.kernel,
        stride: p.stride,
        dilation: p.dilation,
        pad_before: p.pad_before,
        pad_after: p.pad_after,
    }
}

fn separable(u: &mut Unstructured) -> Result<()> {
    let input = Shape4::new(dim(u)?, dim(u)?, dim(u)?, dim(u)?);
    let (row, col) = (pass(u)?, pass(u)?);
    let isa = isa(u)?;
    let act = activation(u)?;
    // The plan allocates its N×H×OW×C intermediate buffer: give it weights of the right
    // length (so that it gets that far) only when that buffer is small.
    let row_dims = pass_geometry(&row, SeparableAxis::Row, input).validate().ok();
    let buf_ok = row_dims.is_some_and(|d| d.output_len <= MAX_BUF);
    let (rw, cw) = if buf_ok {
        let n = |k: usize| k.checked_mul(input.c);
        (n(row.kernel), n(col.kernel))
    } else {
        (None, None)
    };
    let rw = weights(u, rw)?;
    let cw = weights(u, cw)?;
    // Short random weights can still have exactly the right length (k·C is tiny): then the plan
    // would allocate the huge buffer, which the library refuses natively (`TooLarge`) but which
    // AddressSanitizer aborts on before the error can be returned. Skip that case.
    let right_len = |w: &[f32], k: usize| k.checked_mul(input.c) == Some(w.len());
    if !buf_ok && right_len(&rw, row.kernel) && right_len(&cw, col.kernel) {
        return Ok(());
    }
    let b = bias(u, input.c)?;
    if let Ok(op) = SeparableConv2d::with_isa(isa, input, row, col, &rw, &cw, b.as_deref(), act) {
        if small(op.input_shape(), op.output_shape(), op.flops()) {
            let Ok(x) = Tensor::zeros(op.input_shape()) else { return Ok(()) };
            let Ok(mut y) = Tensor::zeros(op.output_shape()) else { return Ok(()) };
            op.run(x.view(), y.view_mut()).expect("planned SeparableConv2d failed to run on planned shapes");
        }
    }
    Ok(())
}

fn dense(u: &mut Unstructured) -> Result<()> {
    let (batch, in_f, out_f) = (dim(u)?, dim(u)?, dim(u)?);
    let isa = isa(u)?;
    let act = activation(u)?;
    let ok = PointwiseShape { pixels: batch, in_c: in_f, out_c: out_f }.validate().is_ok();
    let w = weights(u, if ok { in_f.checked_mul(out_f) } else { None })?;
    let b = bias(u, out_f)?;
    if let Ok(op) = Dense::with_isa(isa, batch, in_f, out_f, &w, b.as_deref(), act) {
        if small(op.input_shape(), op.output_shape(), op.flops()) {
            let Ok(x) = Tensor::zeros(op.input_shape()) else { return Ok(()) };
            let Ok(mut y) = Tensor::zeros(op.output_shape()) else { return Ok(()) };
            op.run(x.view(), y.view_mut()).expect("planned Dense failed to run on planned shapes");
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = match u.int_in_range(0u8..=2) {
        Ok(0) => conv(&mut u),
        Ok(1) => separable(&mut u),
        Ok(_) => dense(&mut u),
        Err(_) => Ok(()),
    };
});
