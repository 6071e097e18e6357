//! `peers-rs`: times an ONNX model on tract or rten, the pure-Rust peers of
//! sepconv in the peer benchmark, and prints one line of JSON.
//!
//! Built without `-C target-cpu=native` on purpose: tract and rten both pick
//! their SIMD kernels at run time from the CPU's features, as they do for users.

mod engines;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, ValueEnum};

use engines::{Runner, Tract};
use sepconv::npy;

/// Which engine to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// tract-onnx
    Tract,
    /// rten
    Rten,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Tract => "tract",
            Engine::Rten => "rten",
        }
    }

    fn version(self) -> &'static str {
        match self {
            Engine::Tract => engines::TRACT_VERSION,
            Engine::Rten => engines::RTEN_VERSION,
        }
    }
}

/// Times one ONNX model on tract or rten and prints one line of JSON on stdout:
/// engine, engine_version, threads, iters, median_ms, min_ms, mean_ms, load_ms,
/// output_shape, notes.
#[derive(Debug, Parser)]
#[command(name = "peers-rs", version)]
struct Args {
    /// Engine to run.
    #[arg(long, value_enum)]
    engine: Engine,
    /// The .onnx model (one input, the first output is reported).
    #[arg(long)]
    model: PathBuf,
    /// Input tensor: a .npy file of little-endian float32 ('<f4'), C order, e.g. shape (1,3,224,224).
    #[arg(long)]
    input: PathBuf,
    /// Write the last run's first output here as a float32 .npy file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Threads for the engine. rten: its own ThreadPool of N threads. tract: 1 is tract's
    /// default single-thread executor; N > 1 gives tract an N-thread rayon executor
    /// (tract-linalg multithread-mm), which is NOT tract's default.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// Untimed inferences before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Keep timing until at least this many milliseconds of timed runs (and --min-iters) are done.
    #[arg(long, default_value_t = 300.0)]
    min_ms: f64,
    /// Time at least this many inferences.
    #[arg(long, default_value_t = 5)]
    min_iters: usize,
    /// Never time more than this many inferences.
    #[arg(long, default_value_t = 10000)]
    max_iters: usize,
    /// Keep glibc's default malloc thresholds. By default peers-rs raises them
    /// (mallopt M_MMAP_THRESHOLD 32 MiB, M_TRIM_THRESHOLD 1 GiB) so buffers an
    /// engine frees after a run are reused by the next run instead of being
    /// page-faulted in again.
    #[arg(long)]
    malloc_defaults: bool,
}

/// Raises glibc's malloc thresholds so that a buffer freed at the end of one
/// run is reused by the next instead of being returned to the OS and
/// page-faulted in again. With glibc's defaults, a >128 KiB buffer allocated
/// per run (tract allocates its outputs per run) is mmapped or trimmed off the
/// heap depending on heap layout, which made tract's depthwise-conv time flip
/// between 0.19 and 0.62 ms from one process to the next. ONNX Runtime (arena)
/// and sepconv (planned buffers) do not page-fault per run either.
///
/// Returns a note for the JSON report.
fn steady_malloc(keep_defaults: bool) -> String {
    if keep_defaults {
        return "malloc: glibc defaults (--malloc-defaults)".to_string();
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; called at start-up.
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30) == 1
        };
        if ok {
            "malloc: glibc M_MMAP_THRESHOLD=32MiB, M_TRIM_THRESHOLD=1GiB via mallopt, so buffers freed \
             after a run are reused instead of page-faulted in again each run (--malloc-defaults to keep \
             glibc's defaults)"
                .to_string()
        } else {
            "malloc: glibc defaults (mallopt was refused)".to_string()
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        "malloc: the platform allocator's defaults".to_string()
    }
}

/// Statistics of the timed runs, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
struct Stats {
    median: f64,
    min: f64,
    mean: f64,
}

/// Median (mean of the two middle values for an even count), minimum and mean of `times`.
fn stats(times: &[f64]) -> Option<Stats> {
    if times.is_empty() {
        return None;
    }
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    let mean = sorted.iter().sum::<f64>() / n as f64;
    Some(Stats { median, min: sorted[0], mean })
}

/// Runs `runner` until at least `min_iters` runs and `min_ms` of timed time are
/// done, or `max_iters` runs; each run is timed on its own. Returns the times in ms.
fn time_runs(runner: &mut dyn Runner, min_ms: f64, min_iters: usize, max_iters: usize) -> Result<Vec<f64>> {
    let mut times = Vec::new();
    let mut total = 0.0;
    while times.len() < max_iters && (times.len() < min_iters || total < min_ms) {
        let start = Instant::now();
        runner.run()?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        total += ms;
        times.push(ms);
    }
    Ok(times)
}

/// Rounds to microsecond resolution for the report.
fn round_ms(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e3
}

fn run(args: &Args) -> Result<serde_json::Value> {
    let malloc_note = steady_malloc(args.malloc_defaults);
    let input = npy::read_npy_file(&args.input)?;
    let threads = usize::from(args.threads);

    let load_start = Instant::now();
    let mut runner: Box<dyn Runner> = match args.engine {
        Engine::Tract => Box::new(Tract::load(&args.model, &input, threads)?),
        Engine::Rten => Box::new(engines::Rten::load(&args.model, &input, threads)?),
    };
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;

    for _ in 0..args.warmup {
        runner.run().context("warmup run")?;
    }
    let times = time_runs(runner.as_mut(), args.min_ms, args.min_iters, args.max_iters)?;
    let stats = stats(&times).context("no timed run")?;
    let output_shape = runner.output_shape();
    if let Some(path) = &args.output {
        let data = runner.output_data()?;
        npy::write_npy_file(path, &output_shape, &data)?;
    }
    Ok(serde_json::json!({
        "engine": args.engine.name(),
        "engine_version": args.engine.version(),
        "threads": threads,
        "iters": times.len(),
        "median_ms": round_ms(stats.median),
        "min_ms": round_ms(stats.min),
        "mean_ms": round_ms(stats.mean),
        "load_ms": round_ms(load_ms),
        "output_shape": output_shape,
        "notes": format!("{}; {malloc_note}", runner.notes()),
    }))
}

/// The error and its causes on one line, `: `-separated. A cause whose text the
/// message before it already contains (rten repeats its sources) is left out,
/// and line breaks in the engines' messages become spaces.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|prev| prev.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.max_iters == 0 || args.min_iters > args.max_iters {
        Args::command()
            .error(clap::error::ErrorKind::ArgumentConflict, "--max-iters must be >= 1 and >= --min-iters")
            .exit();
    }
    if !(args.min_ms.is_finite() && args.min_ms >= 0.0) {
        Args::command()
            .error(clap::error::ErrorKind::InvalidValue, "--min-ms must be a finite number >= 0")
            .exit();
    }
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_min_mean() {
        let s = stats(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(s, Stats { median: 2.0, min: 1.0, mean: 2.0 });
        let s = stats(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s, Stats { median: 2.5, min: 1.0, mean: 2.5 });
        assert_eq!(stats(&[]), None);
    }

    struct Fake {
        runs: usize,
        sleep_ms: u64,
    }

    impl Runner for Fake {
        fn run(&mut self) -> Result<()> {
            self.runs += 1;
            std::thread::sleep(std::time::Duration::from_millis(self.sleep_ms));
            Ok(())
        }
        fn output_shape(&self) -> Vec<usize> {
            vec![]
        }
        fn output_data(&self) -> Result<Vec<f32>> {
            Ok(vec![])
        }
        fn notes(&self) -> String {
            String::new()
        }
    }

    #[test]
    fn timing_loop_honours_min_iters_min_ms_and_max_iters() {
        let mut f = Fake { runs: 0, sleep_ms: 0 };
        assert_eq!(time_runs(&mut f, 0.0, 5, 100).unwrap().len(), 5);
        let mut f = Fake { runs: 0, sleep_ms: 2 };
        let t = time_runs(&mut f, 20.0, 1, 1000).unwrap();
        assert!(t.iter().sum::<f64>() >= 20.0 && t.len() <= 11, "{t:?}");
        let mut f = Fake { runs: 0, sleep_ms: 0 };
        assert_eq!(time_runs(&mut f, 1e9, 1, 7).unwrap().len(), 7);
        assert_eq!(f.runs, 7);
    }

    #[test]
    fn versions_come_from_the_lockfile() {
        let lock = include_str!("../Cargo.lock");
        for (name, version) in [("tract-onnx", engines::TRACT_VERSION), ("rten", engines::RTEN_VERSION)] {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"\n");
            assert!(lock.contains(&entry), "{name} {version} not in Cargo.lock");
        }
        assert!(engines::TRACT_VERSION.starts_with("0.23."));
    }

    #[test]
    fn errors_print_on_one_line_without_repeated_causes() {
        let inner = anyhow::anyhow!("io error: gone");
        let e = inner.context("for path \"m\": io error: gone\n  (details)").context("cannot load m");
        assert_eq!(one_line(&e), "cannot load m: for path \"m\": io error: gone (details)");
    }

    #[test]
    fn cli_parses_defaults() {
        let a =
            Args::try_parse_from(["peers-rs", "--engine", "rten", "--model", "m.onnx", "--input", "x.npy"])
                .unwrap();
        assert_eq!((a.threads, a.warmup, a.min_iters, a.max_iters), (1, 3, 5, 10000));
        assert_eq!(a.min_ms, 300.0);
        assert!(!a.malloc_defaults && a.output.is_none());
        assert!(
            Args::try_parse_from(["peers-rs", "--engine", "onnx", "--model", "m", "--input", "x"]).is_err()
        );
        assert!(
            Args::try_parse_from([
                "peers-rs",
                "--engine",
                "tract",
                "--model",
                "m",
                "--input",
                "x",
                "--threads",
                "0"
            ])
            .is_err()
        );
    }
}
