//! `sepconv`: runs the built-in inverted-residual block on every tier this CPU has (the
//! default), or reports what the CPU supports and which kernels were chosen (`info`).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use serde_json::json;

use sepconv::blocks::InvertedResidual;
use sepconv::build_info;
use sepconv::dispatch::{self, Isa, IsaSource};
use sepconv::tensor::{Shape4, Tensor};
use sepconv::{Error, blocks};

#[derive(Parser)]
#[command(name = "sepconv", version, about = "SIMD CPU inference micro-runtime for separable convolutions")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in MobileNetV2 inverted-residual block (56×56×24, expansion 6) once per
    /// available tier and print a table (the default when no command is given).
    Block {
        /// Timed iterations per tier (after 2 warm-up runs).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        iters: u32,
    },
    /// Print the CPU's features, the available and selected tiers, the kernel chosen per op
    /// class, and the build facts.
    Info {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Block { iters: 20 }) {
        Command::Block { iters } => run_block(iters),
        Command::Info { json } => info(json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn source_text(source: IsaSource) -> &'static str {
    match source {
        IsaSource::Detected => "best available",
        IsaSource::Environment => "forced by SEPCONV_ISA",
        IsaSource::Api => "forced by the API",
    }
}

fn info(as_json: bool) -> Result<(), Error> {
    let (selected, source) = dispatch::selected_isa()?;
    let table = dispatch::kernels(selected)?;
    let features = dispatch::cpu_features();
    let tiers: Vec<_> = Isa::ALL.iter().map(|isa| (isa.name(), isa.unavailable_reason())).collect();
    if as_json {
        let obj = json!({
            "version": build_info::VERSION,
            "arch": std::env::consts::ARCH,
            "cpu_features": features.names(),
            "tiers": tiers.iter().map(|(name, why)| json!({
                "tier": name,
                "available": why.is_none(),
                "reason": why,
            })).collect::<Vec<_>>(),
            "selected": selected.name(),
            "selected_by": source_text(source),
            "kernels": table.entries().iter().map(|(op, k)| json!({"op": op, "kernel": k})).collect::<Vec<_>>(),
            "build": {
                "target": build_info::TARGET,
                "profile": build_info::PROFILE,
                "opt_level": build_info::OPT_LEVEL,
                "target_features": build_info::TARGET_FEATURES.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                "rustc": build_info::RUSTC,
            },
        });
        println!("{obj}");
        return Ok(());
    }
    println!("{}", build_info::summary());
    println!("static target features: {}", build_info::TARGET_FEATURES.replace(',', " "));
    println!("cpu: {} with {}", std::env::consts::ARCH, features.names().join(" "));
    println!("tiers:");
    for (name, why) in &tiers {
        match why {
            None => println!("  {name:<9} available"),
            Some(reason) => println!("  {name:<9} unavailable: {reason}"),
        }
    }
    println!("selected: {selected} ({})", source_text(source));
    println!("kernels ({selected}):");
    for (op, kernel) in table.entries() {
        println!("  {op:<16} {kernel}");
    }
    if table.entries().iter().all(|(_, k)| k.ends_with("/reference")) && selected != Isa::Scalar {
        println!("note: tier {selected} has no SIMD kernels yet; it runs the scalar reference kernels");
    }
    Ok(())
}

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

fn run_block(iters: u32) -> Result<(), Error> {
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
