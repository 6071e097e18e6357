//! Differential: small random convolutions through every tier this CPU has, each compared with
//! the Scalar tier. `Conv2d` is steered to each of its paths (depthwise, pointwise, grouped,
//! dense); `SeparableConv2d` gets random row and column passes. A mismatch beyond
//! `1e-4 · (1 + max |reference|)` is a bug.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use sepconv::dispatch::Isa;
use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
use sepconv::ops::{Conv2d, ConvPath, SeparableConv2d, SeparablePass1d};
use sepconv::tensor::{Shape4, Tensor};

const MAX_DIM: usize = 9;
const MAX_C: usize = 24;

/// Values in [-1, 1) from a seed in the input (xorshift64*), so that short inputs still get
/// dense, varied weights.
struct Values(u64);

impl Values {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn activation(u: &mut Unstructured) -> Result<Activation> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        _ => {
            let a = u.int_in_range(-8i8..=8)? as f32 / 4.0;
            let b = u.int_in_range(-8i8..=8)? as f32 / 4.0;
            Activation::Clamp { min: a.min(b), max: a.max(b) }
        }
    })
}

fn pad(u: &mut Unstructured) -> Result<usize> {
    u.int_in_range(0usize..=3)
}

fn within(reference: &[f32], got: &[f32]) -> std::result::Result<(), String> {
    let max_ref = reference.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let tol = 1e-4 * (1.0 + max_ref);
    for (i, (r, g)) in reference.iter().zip(got).enumerate() {
        if (r - g).abs() > tol || r.is_nan() != g.is_nan() {
            return Err(format!("element {i}: scalar {r} vs {g} (tolerance {tol})"));
        }
    }
    if reference.len() != got.len() {
        return Err(format!("lengths {} vs {}", reference.len(), got.len()));
    }
    Ok(())
}

fn conv(u: &mut Unstructured, vals: &mut Values) -> Result<()> {
    let path = *u.choose(&[ConvPath::Depthwise, ConvPath::Pointwise, ConvPath::Grouped, ConvPath::Dense])?;
    let batch = u.int_in_range(1usize..=2)?;
    let (in_h, in_w) = (u.int_in_range(1..=MAX_DIM)?, u.int_in_range(1..=MAX_DIM)?);
    let mut g = Conv2dGeometry::new(batch, in_h, in_w, 1, 1, 1, 1);
    match path {
        ConvPath::Pointwise => {
            g.in_c = u.int_in_range(1..=MAX_C)?;
            g.out_c = u.int_in_range(1..=MAX_C)?;
        }
        _ => {
            g.kernel_h = u.int_in_range(1..=MAX_DIM)?;
            g.kernel_w = u.int_in_range(1..=MAX_DIM)?;
            g.stride_h = u.int_in_range(1..=3)?;
            g.stride_w = u.int_in_range(1..=3)?;
            g.dilation_h = u.int_in_range(1..=3)?;
            g.dilation_w = u.int_in_range(1..=3)?;
            g.padding = Padding2d { top: pad(u)?, left: pad(u)?, bottom: pad(u)?, right: pad(u)? };
            match path {
                ConvPath::Depthwise => {
                    let c = u.int_in_range(1..=MAX_C)?;
                    (g.in_c, g.out_c, g.groups) = (c, c, c);
                }
                ConvPath::Grouped => {
                    let groups = u.int_in_range(2usize..=MAX_C / 2)?;
                    g.groups = groups;
                    g.in_c = groups * u.int_in_range(1..=(MAX_C / groups))?;
                    g.out_c = groups * u.int_in_range(1..=(MAX_C / groups))?;
                }
                _ => {
                    g.in_c = u.int_in_range(1..=MAX_C)?;
                    g.out_c = u.int_in_range(1..=MAX_C)?;
                }
            }
        }
    }
    let act = activation(u)?;
    let Ok(dims) = g.validate() else { return Ok(()) };
    let weights = vals.vec(dims.weight_len);
    let bias = if u.arbitrary()? { Some(vals.vec(g.out_c)) } else { None };
    let input_data = vals.vec(dims.input_len);

    let run = |isa: Isa| -> (ConvPath, Tensor) {
        let op = Conv2d::with_isa(isa, g, &weights, bias.as_deref(), act)
            .unwrap_or_else(|e| panic!("{isa}: plan failed for {g:?}: {e}"));
        let input = Tensor::from_slice(op.input_shape(), &input_data).expect("input tensor");
        let mut output = Tensor::zeros(op.output_shape()).expect("output tensor");
        op.run(input.view(), output.view_mut())
            .unwrap_or_else(|e| panic!("{isa}: run failed for {g:?}: {e}"));
        (op.path(), output)
    };
    let (ref_path, reference) = run(Isa::Scalar);
    // The path is the geometry's (a grouped one with groups == in_c == out_c is depthwise,
    // a 1×1 stride-1 unpadded dense one pointwise), the same on every tier.
    for isa in Isa::available().into_iter().filter(|&i| i != Isa::Scalar) {
        let (p, out) = run(isa);
        assert_eq!(p, ref_path, "{isa}: path differs from scalar for {g:?}");
        if let Err(msg) = within(reference.as_slice(), out.as_slice()) {
            panic!(
                "Conv2d {ref_path:?} {isa} vs scalar mismatch, {g:?} {act:?} bias={}: {msg}",
                bias.is_some()
            );
        }
    }
    Ok(())
}

fn pass(u: &mut Unstructured) -> Result<SeparablePass1d> {
    Ok(SeparablePass1d {
        kernel: u.int_in_range(1..=MAX_DIM)?,
        stride: u.int_in_range(1..=3)?,
        dilation: u.int_in_range(1..=3)?,
        pad_before: pad(u)?,
        pad_after: pad(u)?,
    })
}

fn separable(u: &mut Unstructured, vals: &mut Values) -> Result<()> {
    let input = Shape4::new(
        u.int_in_range(1..=2)?,
        u.int_in_range(1..=MAX_DIM)?,
        u.int_in_range(1..=MAX_DIM)?,
        u.int_in_range(1..=MAX_C)?,
    );
    let (row, col) = (pass(u)?, pass(u)?);
    let act = activation(u)?;
    let rw = vals.vec(row.kernel * input.c);
    let cw = vals.vec(col.kernel * input.c);
    let bias = if u.arbitrary()? { Some(vals.vec(input.c)) } else { None };
    let input_data = vals.vec(input.n * input.h * input.w * input.c);

    let plan = |isa: Isa| SeparableConv2d::with_isa(isa, input, row, col, &rw, &cw, bias.as_deref(), act);
    // Kernels larger than the padded input are a plan-time error on every tier alike.
    let reference_op = match plan(Isa::Scalar) {
        Ok(op) => op,
        Err(_) => {
            for isa in Isa::available() {
                assert!(plan(isa).is_err(), "{isa}: planned what scalar rejected: {input} {row:?} {col:?}");
            }
            return Ok(());
        }
    };
    let x = Tensor::from_slice(input, &input_data).expect("input tensor");
    let mut reference = Tensor::zeros(reference_op.output_shape()).expect("output tensor");
    reference_op.run(x.view(), reference.view_mut()).expect("scalar separable run");
    for isa in Isa::available().into_iter().filter(|&i| i != Isa::Scalar) {
        let op = plan(isa).unwrap_or_else(|e| panic!("{isa}: plan failed where scalar's succeeded: {e}"));
        let mut out = Tensor::zeros(op.output_shape()).expect("output tensor");
        op.run(x.view(), out.view_mut()).unwrap_or_else(|e| panic!("{isa}: run failed: {e}"));
        if let Err(msg) = within(reference.as_slice(), out.as_slice()) {
            panic!(
                "SeparableConv2d {isa} vs scalar mismatch, input {input} row {row:?} col {col:?} {act:?} bias={}: {msg}",
                bias.is_some()
            );
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(seed) = u.arbitrary::<u64>() else { return };
    let mut vals = Values(seed | 1);
    let _ = if u.arbitrary::<bool>().unwrap_or(false) {
        conv(&mut u, &mut vals)
    } else {
        separable(&mut u, &mut vals)
    };
});
