//! `sepconv run`: plan a model (an ONNX file or a built-in MobileNet) once, run it many times,
//! report latency (and, with `--profile`, every layer), optionally read the input from and
//! write the output to `.npy` files. Also the default job (`sepconv` with no arguments).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::build_info;
use sepconv::Error;
use sepconv::dispatch::{self, Isa};
use sepconv::graph::{Batch, Graph, GraphOptions, Layout};
use sepconv::models::{Builtin, DEFAULT_SEED};
use sepconv::npy;
use sepconv::onnx;

use crate::source_text;

/// What to run and how (the flags of `sepconv run`).
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// An ONNX model file (f32, NCHW input; a symbolic batch binds to 1 or --batch, other
    /// symbolic dims need --input-shape).
    #[arg(value_name = "MODEL.onnx", conflicts_with = "builtin", required_unless_present = "builtin")]
    pub model: Option<PathBuf>,
    /// A built-in model instead of a file.
    #[arg(long, value_parser = ["mobilenet_v1", "mobilenet_v2"])]
    pub builtin: Option<String>,
    /// Images per run (for a model whose batch dimension is symbolic, as exported models'
    /// usually are, and for the built-in models); default: the batch of --input, else the
    /// model's (1 for a symbolic one).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub batch: Option<u32>,
    /// The ONNX model's input dims `N,C,H,W`: sizes for its symbolic dimensions (each must
    /// agree with the model's static ones).
    #[arg(long, value_name = "N,C,H,W", value_parser = parse_nchw, conflicts_with = "builtin")]
    pub input_shape: Option<[usize; 4]>,
    /// The input as a `.npy` file (f32, the model's input shape, e.g. 1×3×224×224 NCHW);
    /// without it, a deterministic pseudo-random input.
    #[arg(long, value_name = "X.npy")]
    pub input: Option<PathBuf>,
    /// Write the output as a `.npy` file in the model's layout (atomically: never half-written).
    #[arg(long, value_name = "Y.npy")]
    pub output: Option<PathBuf>,
    /// Timed runs (at least; see --min-ms).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub iters: u32,
    /// Keep timing runs until they add up to at least this many milliseconds (and at least
    /// --iters runs were timed); 0 = exactly --iters runs.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub min_ms: u64,
    /// Untimed runs first.
    #[arg(long, default_value_t = 5)]
    pub warmup: u32,
    /// Threads per op (1 = no thread pool at all).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,
    /// ISA tier (scalar|portable|avx2|avx512|neon); default: SEPCONV_ISA, else the best available.
    #[arg(long)]
    pub isa: Option<String>,
    /// Pin the pool's threads to cores.
    #[arg(long)]
    pub pin: bool,
    /// Time every layer and print a per-layer table.
    #[arg(long)]
    pub profile: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    /// The default job: the built-in MobileNetV2, one thread, with the per-layer table.
    pub fn default_job() -> Self {
        RunArgs {
            model: None,
            builtin: Some(Builtin::MobileNetV2.name().to_string()),
            batch: None,
            input_shape: None,
            input: None,
            output: None,
            iters: 50,
            min_ms: 0,
            warmup: 5,
            threads: 1,
            isa: None,
            pin: false,
            profile: true,
            json: false,
        }
    }
}

/// Parses `N,C,H,W` (four positive integers) for `--input-shape`.
fn parse_nchw(text: &str) -> Result<[usize; 4], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let dims: Vec<usize> = parts
        .iter()
        .map(|p| p.parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("`{text}` is not four positive integers N,C,H,W"))?;
    dims.try_into().map_err(|_| format!("`{text}` has {} dims; expected four: N,C,H,W", parts.len()))
}

/// Median, minimum and mean of some durations, in milliseconds.
fn stats_ms(times: &mut [Duration]) -> (f64, f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().map(|&d| ms(d)).sum::<f64>() / times.len().max(1) as f64;
    (times.get(times.len() / 2).map_or(0.0, |&d| ms(d)), times.first().map_or(0.0, |&d| ms(d)), mean)
}

fn dims_text(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// Runs `sepconv run` with `args`.
pub fn run(args: &RunArgs) -> Result<(), Error> {
    let (selected, source) = dispatch::selected_isa()?;
    let (isa, isa_source) = match &args.isa {
        Some(name) => (Isa::from_name(name)?.ensure_available()?, "--isa"),
        None => (selected, source_text(source)),
    };
    let (model, model_label) = match (&args.builtin, &args.model) {
        (Some(name), _) => {
            let builtin = Builtin::from_name(name).ok_or_else(|| Error::UnknownModel(name.clone()))?;
            (builtin.model(DEFAULT_SEED), format!("{name} (built-in)"))
        }
        (None, Some(path)) => {
            let mut options = onnx::ImportOptions::default();
            if let Some(dims) = args.input_shape {
                options = options.with_input_shape(dims);
            }
            (onnx::load_model_file_with(path, &options)?, path.display().to_string())
        }
        (None, None) => return Err(Error::UnknownModel("no model given".into())),
    };
    let threads = args.threads as usize;
    let input_file = match &args.input {
        Some(path) => {
            let array = npy::read_npy_file(path)?;
            if array.dtype != npy::NpyDtype::F32 {
                let rounding = if array.dtype.exact_in_f32() { "exactly" } else { "rounded to the nearest" };
                eprintln!(
                    "note: {} holds {}; converted to float32 ({rounding})",
                    path.display(),
                    array.dtype
                );
            }
            Some((path, array))
        }
        None => None,
    };
    let batch = args.batch.map(|n| n as usize);
    if let (Some(n), Some([given, ..])) = (batch, args.input_shape)
        && n != given
    {
        return Err(Error::Batch { requested: n, reason: format!("--input-shape gives batch {given}") });
    }
    // An open batch with no --batch or --input-shape: as many images as the input file holds.
    let batch = match (&model.batch, &input_file) {
        (Batch::Symbolic { .. }, Some((_, array)))
            if batch.is_none() && args.input_shape.is_none() && array.shape.len() == 4 =>
        {
            array.shape.first().copied().filter(|&n| n > 0)
        }
        _ => batch,
    };
    let options =
        GraphOptions::default().with_isa(isa).with_threads(threads).with_pin(args.pin).with_batch(batch);
    // Consumed: the model's weights are freed as they are packed (the peak-memory budget).
    let mut graph = Graph::plan_owned(model, options)?;
    let in_dims = graph.input_dims();
    let out_dims = graph.output_dims();

    let input = match input_file {
        Some((path, array)) => {
            if array.shape != in_dims {
                return Err(Error::InputShape {
                    path: path.display().to_string(),
                    actual: array.shape,
                    expected: in_dims.clone(),
                });
            }
            array.data
        }
        None => {
            let mut rng = StdRng::seed_from_u64(7);
            (0..graph.input_shape().validate()?).map(|_| rng.random_range(-1.0f32..=1.0)).collect()
        }
    };
    let mut output = vec![0.0f32; graph.output_shape().validate()?];

    for _ in 0..args.warmup {
        graph.run(&input, &mut output)?;
    }
    let steps = graph.steps().count();
    let mut times = Vec::with_capacity(args.iters as usize);
    let mut layer_times: Vec<Vec<Duration>> = vec![Vec::with_capacity(args.iters as usize); steps];
    let min_time = Duration::from_millis(args.min_ms);
    let mut timed = Duration::ZERO;
    while times.len() < args.iters as usize || timed < min_time {
        let start = Instant::now();
        if args.profile {
            graph.run_profiled(&input, &mut output)?;
        } else {
            graph.run(&input, &mut output)?;
        }
        let elapsed = start.elapsed();
        timed += elapsed;
        times.push(elapsed);
        if args.profile {
            for (acc, &t) in layer_times.iter_mut().zip(graph.last_profile()) {
                acc.push(t);
            }
        }
    }
    if let Some(path) = &args.output {
        npy::write_npy_file(path, &out_dims, &output)?;
    }

    let (median_ms, min_ms, mean_ms) = stats_ms(&mut times);
    let flops = graph.flops();
    let gflops = flops as f64 / (median_ms * 1e-3) / 1e9;
    let layers: Vec<(sepconv::graph::StepInfo<'_>, f64)> = graph
        .steps()
        .zip(layer_times.iter_mut())
        .map(|(info, t)| {
            let (median, _, _) = stats_ms(t);
            (info, median)
        })
        .collect();
    let layer_total: f64 = layers.iter().map(|(_, ms)| ms).sum();

    if args.json {
        let mut obj = json!({
            "model": model_label,
            "isa": isa.name(),
            "threads": threads,
            "iters": times.len(),
            "median_ms": median_ms,
            "min_ms": min_ms,
            "mean_ms": mean_ms,
            "gflops": gflops,
            "mflop": flops as f64 / 1e6,
            "input_shape": in_dims,
            "output_shape": out_dims,
            "arena_bytes": graph.arena_bytes(),
            "weight_bytes": graph.weight_bytes(),
            "peak_rss_bytes": peak_rss_bytes(),
        });
        if args.profile {
            obj["layers"] = layers
                .iter()
                .map(|(info, ms)| {
                    let s = info.output_shape;
                    json!({
                        "name": info.name,
                        "op": info.op,
                        "kernel": info.kernel,
                        "output_shape": [s.n, s.h, s.w, s.c],
                        "median_us": ms * 1e3,
                        "gflops": if *ms > 0.0 { info.flops as f64 / (ms * 1e-3) / 1e9 } else { 0.0 },
                        "share": if layer_total > 0.0 { ms / layer_total } else { 0.0 },
                    })
                })
                .collect();
        }
        println!("{obj}");
        return Ok(());
    }

    println!("{}", build_info::summary());
    let layout = match graph.layout() {
        Layout::Nchw => "NCHW",
        Layout::Nhwc => "NHWC",
    };
    println!("model: {model_label}, input {} {layout}, output {}", dims_text(&in_dims), dims_text(&out_dims));
    println!(
        "tier: {isa} ({isa_source}), threads: {threads}{}, {:.1} MFLOP per run, weights {:.2} MB, arena {:.2} MB in {} buffers",
        if args.pin { " (pinned)" } else { "" },
        flops as f64 / 1e6,
        graph.weight_bytes() as f64 / 1e6,
        graph.arena_bytes() as f64 / 1e6,
        graph.arena_buffers()
    );
    if args.profile {
        println!();
        println!(
            "{:>3} {:<22} {:<16} {:<16} {:<22} {:>10} {:>8} {:>6}",
            "#", "node", "op", "output (NHWC)", "kernel", "median µs", "GFLOP/s", "share"
        );
        for (i, (info, ms)) in layers.iter().enumerate() {
            let s = info.output_shape;
            let gf = if *ms > 0.0 { info.flops as f64 / (ms * 1e-3) / 1e9 } else { 0.0 };
            println!(
                "{:>3} {:<22} {:<16} {:<16} {:<22} {:>10.1} {:>8.1} {:>5.1}%",
                i,
                info.name,
                info.op,
                format!("{}x{}x{}x{}", s.n, s.h, s.w, s.c),
                info.kernel,
                ms * 1e3,
                gf,
                if layer_total > 0.0 { 100.0 * ms / layer_total } else { 0.0 }
            );
        }
        println!();
    }
    println!(
        "end to end: median {median_ms:.3} ms, min {min_ms:.3} ms, mean {mean_ms:.3} ms over {} runs; {gflops:.1} GFLOP/s",
        times.len()
    );
    if let Some(rss) = peak_rss_bytes() {
        println!("peak memory (RSS) of the process: {:.2} MB", rss as f64 / 1e6);
    }
    if let Some(path) = &args.output {
        println!("output written to {}", path.display());
    }
    Ok(())
}

/// The process's peak resident set size so far (`VmHWM` of `/proc/self/status`), where the
/// OS reports it (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}
