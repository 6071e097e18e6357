//! `sepconv`: runs the built-in inverted-residual block on every tier this CPU has (the
//! default), or reports what the CPU supports and which kernels were chosen (`info`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::json;

use sepconv::bench::{PlannedLayer, STANDARD_LAYERS, fma_peak_gflops, time_runs};
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
    let result = match cli.command.unwrap_or(Command::Block { iters: 20 }) {
        Command::Block { iters } => run_block(iters),
        Command::Info { json } => info(json),
        Command::Bench { json, isa, layers, min_ms } => bench(json, &isa, layers.as_deref(), min_ms),
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

/// Parses `--isa`: `all` or a comma-separated list of tiers, each of which must be available.
fn parse_tiers(spec: &str) -> Result<Vec<Isa>, Error> {
    if spec.trim().eq_ignore_ascii_case("all") {
        return Ok(Isa::available());
    }
    let mut tiers = Vec::new();
    for name in spec.split(',') {
        let isa = Isa::from_name(name)?.ensure_available()?;
        if !tiers.contains(&isa) {
            tiers.push(isa);
        }
    }
    Ok(tiers)
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: usize,
    done: usize,
    enabled: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self { total, done: 0, enabled: std::io::stderr().is_terminal() }
    }

    fn step(&mut self, label: &str) {
        if !self.enabled {
            return;
        }
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done / self.total.max(1);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:>3}/{} {:<40}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.done,
            self.total,
            label
        );
        let _ = err.flush();
        self.done += 1;
    }

    fn finish(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:80}\r", "");
            let _ = err.flush();
        }
    }
}

/// One timed (tier, layer) cell.
struct BenchRow {
    tier: Isa,
    layer: &'static str,
    op: &'static str,
    kernel: String,
    median_us: f64,
    gflops: f64,
    gbps: f64,
    peak_pct: Option<f64>,
    speedup: f64,
    max_abs_diff: f32,
}

fn bench(as_json: bool, isa_spec: &str, filter: Option<&str>, min_ms: u64) -> Result<(), Error> {
    dispatch::selected_isa()?; // an invalid SEPCONV_ISA is an error here too
    let tiers = parse_tiers(isa_spec)?;
    let layers: Vec<_> =
        STANDARD_LAYERS.iter().filter(|l| filter.is_none_or(|f| l.name.contains(f))).collect();
    let min_time = Duration::from_millis(min_ms);
    let peak = fma_peak_gflops();
    let mut progress = Progress::new(layers.len() * (tiers.len() + 1));
    let mut rows = Vec::new();
    for layer in &layers {
        // The reference (scalar) timing and output every tier is compared with.
        progress.step(&format!("reference {}", layer.name));
        let mut reference = PlannedLayer::new(layer, Isa::Scalar)?;
        let ref_time = time_runs(|| reference.run(), 3, min_time)?;
        for &tier in &tiers {
            progress.step(&format!("{tier} {}", layer.name));
            // The scalar tier is the reference: report the timing above rather than a second,
            // differently noisy one.
            let mut planned = PlannedLayer::new(layer, tier)?;
            let t = if tier == Isa::Scalar { ref_time } else { time_runs(|| planned.run(), 10, min_time)? };
            if tier == Isa::Scalar {
                planned.run()?;
            }
            let secs = t.median.as_secs_f64();
            let gflops = planned.flops() as f64 / secs / 1e9;
            rows.push(BenchRow {
                tier,
                layer: layer.name,
                op: layer.op(),
                kernel: planned.kernel_name(),
                median_us: secs * 1e6,
                gflops,
                gbps: planned.bytes() as f64 / secs / 1e9,
                peak_pct: peak.map(|p| 100.0 * gflops / p),
                speedup: ref_time.median.as_secs_f64() / secs,
                max_abs_diff: planned.output().max_abs_diff(reference.output())?,
            });
        }
    }
    progress.finish();

    if as_json {
        let obj = json!({
            "fma_peak_gflops": peak,
            "build": build_info::summary(),
            "rows": rows.iter().map(|r| json!({
                "tier": r.tier.name(),
                "layer": r.layer,
                "op": r.op,
                "kernel": r.kernel,
                "median_us": r.median_us,
                "gflops": r.gflops,
                "gbps": r.gbps,
                "peak_pct": r.peak_pct,
                "speedup_vs_reference": r.speedup,
                "max_abs_diff": r.max_abs_diff,
            })).collect::<Vec<_>>(),
        });
        println!("{obj}");
        return Ok(());
    }
    println!("{}", build_info::summary());
    match peak {
        Some(p) => println!("FMA peak (this run, 1 thread): {p:.1} GFLOP/s"),
        None => println!("FMA peak: no probe for this CPU"),
    }
    println!(
        "{:<9} {:<20} {:>11} {:>9} {:>8} {:>7} {:>8} {:>10}  kernel",
        "tier", "layer", "median µs", "GFLOP/s", "GB/s", "% peak", "vs ref", "max|diff|"
    );
    for r in &rows {
        let pct = r.peak_pct.map_or_else(|| "-".to_string(), |p| format!("{p:.1}"));
        println!(
            "{:<9} {:<20} {:>11.1} {:>9.2} {:>8.2} {:>7} {:>7.1}x {:>10.2e}  {}",
            r.tier.name(),
            r.layer,
            r.median_us,
            r.gflops,
            r.gbps,
            pct,
            r.speedup,
            r.max_abs_diff,
            r.kernel
        );
    }
    Ok(())
}
