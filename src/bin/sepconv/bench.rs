//! `sepconv bench`: the standard layer set on every tier.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::json;

use crate::build_info;
use crate::harness::{PlannedLayer, STANDARD_LAYERS, fma_peak_gflops, fma_peak_gflops_for, time_runs};
use sepconv::Error;
use sepconv::dispatch::{self, Isa};

/// Parses `--isa`: `all` or a comma-separated list of tiers, each of which must be available.
pub fn parse_tiers(spec: &str) -> Result<Vec<Isa>, Error> {
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
pub struct Progress {
    total: usize,
    done: usize,
    enabled: bool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Self { total, done: 0, enabled: std::io::stderr().is_terminal() }
    }

    pub fn step(&mut self, label: &str) {
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

    pub fn finish(&self) {
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
    /// Fastest run and number of runs timed (JSON only).
    min_us: f64,
    runs: usize,
    gflops: f64,
    gbps: f64,
    peak_pct: Option<f64>,
    speedup: f64,
    max_abs_diff: f32,
}

pub fn bench(as_json: bool, isa_spec: &str, filter: Option<&str>, min_ms: u64) -> Result<(), Error> {
    dispatch::selected_isa()?; // an invalid SEPCONV_ISA is an error here too
    let tiers = parse_tiers(isa_spec)?;
    // The tiers `--isa all` leaves out, with the reason: a reader of an AVX2-only machine's
    // report sees that the avx512 rows are missing because the CPU lacks AVX-512F.
    let unavailable = Isa::unavailable();
    let layers: Vec<_> =
        STANDARD_LAYERS.iter().filter(|l| filter.is_none_or(|f| l.name.contains(f))).collect();
    let min_time = Duration::from_millis(min_ms);
    let peak = fma_peak_gflops();
    // The AVX-512 tier is judged against the 512-bit FMA peak, every other against `peak`.
    let peak512 = if tiers.contains(&Isa::Avx512) { fma_peak_gflops_for(Isa::Avx512) } else { None };
    let peak_of = |tier: Isa| if tier == Isa::Avx512 { peak512 } else { peak };
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
                min_us: t.min.as_secs_f64() * 1e6,
                runs: t.runs,
                gflops,
                gbps: planned.bytes() as f64 / secs / 1e9,
                peak_pct: peak_of(tier).map(|p| 100.0 * gflops / p),
                speedup: ref_time.median.as_secs_f64() / secs,
                max_abs_diff: planned.output().max_abs_diff(reference.output())?,
            });
        }
    }
    progress.finish();

    if as_json {
        let obj = json!({
            "fma_peak_gflops": peak,
            "fma_peak_gflops_avx512": peak512,
            "build": build_info::summary(),
            "unavailable": unavailable.iter().map(|(isa, reason)| json!({
                "tier": isa.name(),
                "reason": reason,
            })).collect::<Vec<_>>(),
            "rows": rows.iter().map(|r| json!({
                "tier": r.tier.name(),
                "layer": r.layer,
                "op": r.op,
                "kernel": r.kernel,
                "median_us": r.median_us,
                "min_us": r.min_us,
                "runs": r.runs,
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
    for (isa, reason) in &unavailable {
        println!("tier {isa}: unavailable here ({reason}), no rows");
    }
    if let Some(p) = peak512 {
        println!("FMA peak of 512-bit FMAs (this run, 1 thread, the avx512 rows' % peak): {p:.1} GFLOP/s");
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
