//! `sepconv`: runs models (`run`; with no arguments, the built-in MobileNetV2 with a per-layer
//! profile), times the standard layer set per tier (`bench`), runs the inverted-residual block
//! per tier (`block`), and reports what the CPU supports and which kernels were chosen (`info`).

mod bench;
mod block;
mod build_info;
mod harness;
mod info;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use sepconv::dispatch::IsaSource;

#[derive(Parser)]
#[command(name = "sepconv", version, about = "SIMD CPU inference micro-runtime for separable convolutions")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Plan a model once and run it: an ONNX file or a built-in MobileNet. With no command at
    /// all, `sepconv` runs the built-in MobileNetV2 with `--profile`.
    Run(run::RunArgs),
    /// Run the built-in MobileNetV2 inverted-residual block (56×56×24, expansion 6) once per
    /// available tier and print a table.
    Block {
        /// Timed iterations per tier (after 2 warm-up runs).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        iters: u32,
    },
    /// Time the standard layer set (MobileNetV2's depthwise and pointwise layers, grouped and
    /// separable layers) on each tier and print median µs, GFLOP/s, GB/s, % of the FMA peak
    /// measured in the same run, and the speed-up over the reference kernels.
    Bench {
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Tiers to time: `all` (every available tier) or a comma-separated list.
        #[arg(long, default_value = "all")]
        isa: String,
        /// Only layers whose name contains this text.
        #[arg(long)]
        layers: Option<String>,
        /// Minimum time spent timing each layer on each tier, in milliseconds.
        #[arg(long, default_value_t = 300)]
        min_ms: u64,
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
    let result = match cli.command.unwrap_or(Command::Run(run::RunArgs::default_job())) {
        Command::Run(args) => run::run(&args),
        Command::Block { iters } => block::run_block(iters),
        Command::Info { json } => info::info(json),
        Command::Bench { json, isa, layers, min_ms } => bench::bench(json, &isa, layers.as_deref(), min_ms),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn source_text(source: IsaSource) -> &'static str {
    match source {
        IsaSource::Detected => "best available",
        IsaSource::Environment => "forced by SEPCONV_ISA",
        IsaSource::Api => "forced by the API",
    }
}
