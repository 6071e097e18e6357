//! `sepconv block`: the inverted-residual block on every tier.

use std::time::Instant;

use crate::build_info;
use sepconv::Error;
use sepconv::blocks::{self, InvertedResidual};
use sepconv::dispatch::{self, Isa};
use sepconv::tensor::{Shape4, Tensor};

use crate::source_text;

/// One tier's result on the block.
struct TierRun {
    isa: Isa,
    median_s: f64,
    output: Tensor,
    kernels: Vec<&'static str>,
}

fn time_block(isa: Isa, input: &Tensor, iters: u32, flops: &mut u64) -> Result<TierRun, Error> {
    const SEED: u64 = 0x5e9c_0417;
    let mut block = InvertedResidual::seeded(isa, input.shape(), 6, 24, 1, SEED)?;
    *flops = block.flops();
    let mut output = Tensor::zeros(block.output_shape())?;
    for _ in 0..2 {
        block.run(input.view(), output.view_mut())?;
    }
    let mut times: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            block.run(input.view(), output.view_mut()).map(|()| t.elapsed().as_secs_f64())
        })
        .collect::<Result<_, _>>()?;
    times.sort_by(f64::total_cmp);
    Ok(TierRun { isa, median_s: times[times.len() / 2], output, kernels: block.kernel_names() })
}

pub fn run_block(iters: u32) -> Result<(), Error> {
    let (selected, source) = dispatch::selected_isa()?;
    let shape = Shape4::new(1, 56, 56, 24);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let input = Tensor::from_vec(shape, blocks::uniform(&mut rng, shape.validate()?, 1.0))?;

    println!("{}", build_info::summary());
    println!(
        "MobileNetV2 inverted-residual block: input {shape}, expand 24→144 (ReLU6), dw 3×3 s1 (ReLU6), project 144→24, residual add"
    );
    println!(
        "selected tier: {selected} ({}); running every available tier, {iters} timed iterations each",
        source_text(source)
    );
    let mut flops = 0;
    let runs: Vec<TierRun> = Isa::available()
        .into_iter()
        .map(|isa| time_block(isa, &input, iters, &mut flops))
        .collect::<Result<_, _>>()?;
    let reference = runs.iter().find(|r| r.isa == Isa::Scalar).map(|r| &r.output);
    println!("{:.2} MFLOP per run", flops as f64 / 1e6);
    println!();
    println!("{:<9} {:>11} {:>9} {:>16}  kernels", "tier", "median ms", "GFLOP/s", "max|diff| vs ref");
    for r in &runs {
        let diff = match reference {
            Some(reference) => r.output.max_abs_diff(reference)?,
            None => f32::NAN,
        };
        println!(
            "{:<9} {:>11.3} {:>9.2} {:>16.3e}  {}",
            r.isa.name(),
            r.median_s * 1e3,
            flops as f64 / r.median_s / 1e9,
            diff,
            r.kernels.join(", ")
        );
    }
    Ok(())
}
