//! Integration tests of the `sepconv` binary: `info` (text and JSON), the `SEPCONV_ISA`
//! override and its errors, `block`, `bench`, `run` (including `--min-ms`), and clap usage errors.
//!
//! Every child runs without an inherited `SEPCONV_ISA` unless the test sets it.
//!
//! Under a Cargo target runner (the aarch64 lane under qemu-user, the x86_64 CPU-matrix lane
//! under `qemu-x86_64 -cpu …`) the child is spawned through the same runner, so that it sees
//! the same CPU as the test that checks it (see `common::runner`).

mod common;

use std::process::Output;
use std::time::Instant;

use common::{describe, run_sepconv as sepconv, with_descr};
use sepconv::dispatch::Isa;
use serde_json::Value;

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// The tiers this CPU cannot run (derived from the detected features: `neon` on any x86_64,
/// `avx512` without AVX-512F, `avx2` without AVX2+FMA; the x86 tiers on aarch64). Never
/// empty: no CPU has both x86 and aarch64 tiers.
fn unavailable_tiers() -> Vec<Isa> {
    let tiers: Vec<Isa> = Isa::unavailable().into_iter().map(|(isa, _)| isa).collect();
    assert!(!tiers.is_empty(), "every tier is available: this cannot happen on one architecture");
    tiers
}

#[test]
fn info_prints_tiers_and_selection() {
    let o = sepconv(&["info"], None);
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    assert!(out.starts_with("sepconv "), "{out}");
    assert!(out.lines().any(|l| l.trim() == "tiers:"), "{out}");
    for isa in Isa::ALL {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(isa.name()))
            .unwrap_or_else(|| panic!("no line for tier {isa}:\n{out}"));
        if isa.is_available() {
            assert!(line.contains("available") && !line.contains("unavailable"), "{line}");
        } else {
            assert!(
                line.contains("unavailable: ") && line.contains(isa.unavailable_reason().unwrap()),
                "{line}"
            );
        }
    }
    let best = Isa::best_available();
    let selected = out.lines().find(|l| l.starts_with("selected:")).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(selected, format!("selected: {best} (best available)"));
    // One line per kernel-table entry after the `kernels (...)` header.
    let kernels: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("kernels ("))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(kernels.len(), 12, "{out}");
    assert!(kernels.iter().all(|l| l.split_whitespace().nth(1).is_some_and(|k| k.contains('/'))), "{out}");
    assert!(stderr(&o).is_empty(), "{}", describe(&o));
}

#[test]
fn info_json_is_one_object_with_every_key() {
    let o = sepconv(&["info", "--json"], None);
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "expected one line of JSON:\n{out}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
    let obj = v.as_object().unwrap_or_else(|| panic!("not a JSON object: {v}"));
    for key in ["version", "arch", "cpu_features", "tiers", "selected", "kernels", "build"] {
        assert!(obj.contains_key(key), "missing `{key}`: {v}");
    }
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["arch"], std::env::consts::ARCH);
    assert!(v["cpu_features"].as_array().is_some_and(|a| a.iter().all(Value::is_string)), "{v}");
    // The child saw the CPU this test sees: under an emulated CPU (the CPU-matrix lane of
    // `.ci/run`) a child started outside the emulator would report the host's features.
    let features = sepconv::dispatch::cpu_features().names();
    assert_eq!(v["cpu_features"], serde_json::json!(features), "the child ran on another CPU: {v}");

    let tiers = v["tiers"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(tiers.len(), Isa::ALL.len(), "{v}");
    for (t, isa) in tiers.iter().zip(Isa::ALL) {
        assert_eq!(t["tier"], isa.name(), "{t}");
        assert_eq!(t["available"], isa.is_available(), "{t}");
        match isa.unavailable_reason() {
            None => assert!(t["reason"].is_null(), "{t}"),
            Some(reason) => assert_eq!(t["reason"], reason, "{t}"),
        }
    }
    assert_eq!(v["selected"], Isa::best_available().name());
    assert_eq!(v["selected_by"], "best available");

    let kernels = v["kernels"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(kernels.len(), 12, "{v}");
    for k in kernels {
        assert!(k["op"].is_string() && k["kernel"].as_str().is_some_and(|s| s.contains('/')), "{k}");
    }

    let build = &v["build"];
    for key in ["target", "profile", "rustc"] {
        assert!(build[key].as_str().is_some_and(|s| !s.is_empty()), "build.{key}: {build}");
    }
    assert_eq!(build["target"], env!("SEPCONV_BUILD_TARGET"));
    assert!(build["rustc"].as_str().unwrap().starts_with("rustc "), "{build}");
}

/// An invalid `SEPCONV_ISA` makes `info` fail with exit code 1 and exactly one `error:` line.
fn assert_env_error(value: &str, must_name: &str) {
    for args in [&["info"][..], &["info", "--json"]] {
        let o = sepconv(args, Some(value));
        assert_eq!(o.status.code(), Some(1), "SEPCONV_ISA={value} {args:?}: {}", describe(&o));
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "SEPCONV_ISA={value}: expected one stderr line:\n{err}");
        assert!(lines[0].starts_with("error:"), "{err}");
        assert!(lines[0].contains("SEPCONV_ISA"), "{err}");
        assert!(lines[0].contains(must_name), "the error does not name `{must_name}`: {err}");
        assert!(stdout(&o).is_empty(), "{}", describe(&o));
    }
}

#[test]
fn info_rejects_an_unavailable_or_unknown_tier() {
    for bad in unavailable_tiers() {
        // The error names the tier and the reason (e.g. `the CPU lacks AVX-512F`).
        assert_env_error(bad.name(), bad.name());
        assert_env_error(bad.name(), bad.unavailable_reason().unwrap());
    }
    assert_env_error("bogus", "bogus");
    // The block job refuses them too.
    let o = sepconv(&["block", "--iters", "1"], Some("bogus"));
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    assert!(stderr(&o).starts_with("error:"), "{}", describe(&o));
}

#[test]
fn info_honours_a_valid_sepconv_isa() {
    let o = sepconv(&["info"], Some("scalar"));
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l.starts_with("selected: scalar")), "{out}");
    assert!(out.contains("selected: scalar (forced by SEPCONV_ISA)"), "{out}");

    // Case-insensitive; the JSON says who chose the tier.
    let o = sepconv(&["info", "--json"], Some("PORTABLE"));
    assert!(o.status.success(), "{}", describe(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["selected"], "portable");
    assert_eq!(v["selected_by"], "forced by SEPCONV_ISA");

    // Set but empty means unset.
    let o = sepconv(&["info", "--json"], Some(""));
    assert!(o.status.success(), "{}", describe(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["selected"], Isa::best_available().name());
    assert_eq!(v["selected_by"], "best available");

    if Isa::Avx2Fma.is_available() {
        let o = sepconv(&["info", "--json"], Some("avx2fma"));
        assert!(o.status.success(), "{}", describe(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["selected"], "avx2");
    }
}

#[test]
fn block_runs_every_tier_and_agrees_with_the_reference() {
    let t = Instant::now();
    let o = sepconv(&["block", "--iters", "1"], None);
    let elapsed = t.elapsed();
    assert!(o.status.success(), "{}", describe(&o));
    let out = stdout(&o);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.starts_with("tier "))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let available = Isa::available();
    assert_eq!(rows.len(), available.len(), "one row per available tier:\n{out}");
    for (row, isa) in rows.iter().zip(&available) {
        // tier, median ms, GFLOP/s, max|diff| vs ref, kernels...
        assert_eq!(row[0], isa.name(), "{out}");
        let ms: f64 = row[1].parse().unwrap_or_else(|e| panic!("median `{}`: {e}\n{out}", row[1]));
        assert!(ms >= 0.0, "{out}");
        let diff: f32 = row[3].parse().unwrap_or_else(|e| panic!("max|diff| `{}`: {e}\n{out}", row[3]));
        // The scalar row is the reference (exactly 0). The SIMD tiers accumulate in f32 in
        // another order: the block's outputs are O(1)–O(10) with ~150-term sums, so 1e-4 is
        // ~100× the f32 rounding they can accumulate, and far below any real error.
        if *isa == Isa::Scalar {
            assert_eq!(diff, 0.0, "{out}");
        }
        assert!(diff <= 1e-4, "{isa}: max|diff| {diff}\n{out}");
        assert!(row.len() >= 5 && row[4].contains('/'), "no kernel names: {out}");
    }
    assert!(out.contains("MFLOP per run"), "{out}");
    // The debug-built binary is slow; keep an eye on it (not an assertion).
    if elapsed.as_secs() > 5 {
        eprintln!("note: `sepconv block --iters 1` took {elapsed:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in
        [&["bogus-command"][..], &["block", "--iters", "0"], &["block", "--iters", "x"], &["info", "--bogus"]]
    {
        let o = sepconv(args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", describe(&o));
        assert!(stderr(&o).contains("error"), "{args:?}: {}", describe(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: {}", describe(&o));
    }
    let o = sepconv(&["--version"], None);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(stdout(&o).contains(env!("CARGO_PKG_VERSION")), "{}", describe(&o));
}

#[test]
fn bench_json_reports_every_requested_tier_and_layer() {
    let o = sepconv(&["bench", "--json", "--isa", "all", "--layers", "dw_c960_7", "--min-ms", "1"], None);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let v: Value =
        serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| panic!("{e}: {}", describe(&o)));
    // The FMA probes: the 256-bit one on an x86_64 CPU with AVX2+FMA, the 128-bit one on
    // aarch64 (a positive number), null elsewhere (an SSE-only x86_64 CPU); the 512-bit one
    // only with AVX-512F (the avx512 rows' % of peak).
    let probe_runs = Isa::Avx2Fma.is_available() || Isa::Neon.is_available();
    for (key, runs) in
        [("fma_peak_gflops", probe_runs), ("fma_peak_gflops_avx512", Isa::Avx512.is_available())]
    {
        match v[key].as_f64() {
            Some(p) => assert!(runs && p > 0.0 && p.is_finite(), "{key}: {v}"),
            None => assert!(!runs && v[key].is_null(), "{key}: {v}"),
        }
    }
    // The tiers left out of `all`, each with the reason.
    let unavailable = v["unavailable"].as_array().expect("unavailable");
    let want: Vec<Value> = unavailable_tiers()
        .into_iter()
        .map(|isa| serde_json::json!({ "tier": isa.name(), "reason": isa.unavailable_reason().unwrap() }))
        .collect();
    assert_eq!(unavailable, &want, "{v}");
    let rows = v["rows"].as_array().expect("rows");
    let tiers: Vec<&str> = rows.iter().map(|r| r["tier"].as_str().expect("tier")).collect();
    let want: Vec<&str> = Isa::available().iter().map(|i| i.name()).collect();
    assert_eq!(tiers, want, "{v}");
    for r in rows {
        assert_eq!(r["layer"], "dw_c960_7_s1", "{r}");
        assert_eq!(r["op"], "dwconv", "{r}");
        assert!(r["kernel"].as_str().expect("kernel").starts_with("dwconv3x3s1/"), "{r}");
        for key in ["median_us", "gflops", "gbps", "speedup_vs_reference"] {
            assert!(r[key].as_f64().is_some_and(|x| x > 0.0 && x.is_finite()), "{key}: {r}");
        }
        // Every tier computes the same layer as the reference, to within f32 rounding.
        assert!(r["max_abs_diff"].as_f64().is_some_and(|d| d < 1e-4), "{r}");
    }
}

#[test]
fn bench_text_names_the_unavailable_tiers_with_their_reason() {
    let o = sepconv(&["bench", "--isa", "all", "--layers", "dw_c960_7", "--min-ms", "1"], None);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let out = stdout(&o);
    for isa in Isa::ALL {
        let note = format!("tier {isa}: unavailable here (");
        match isa.unavailable_reason() {
            Some(reason) => assert!(out.contains(&format!("{note}{reason}), no rows")), "{isa}:\n{out}"),
            None => {
                assert!(!out.contains(&note), "{isa}:\n{out}");
                let row = out.lines().find(|l| l.split_whitespace().next() == Some(isa.name()));
                assert!(row.is_some_and(|l| l.contains("dw_c960_7_s1")), "no row for {isa}:\n{out}");
            }
        }
    }
}

#[test]
fn bench_rejects_an_unknown_or_unavailable_tier() {
    let mut specs = vec![("bogus".to_string(), "bogus")];
    for isa in unavailable_tiers() {
        specs.push((isa.name().to_string(), isa.unavailable_reason().unwrap()));
        // One unavailable tier in a list of available ones refuses the whole run.
        specs.push((format!("scalar,{}", isa.name()), isa.unavailable_reason().unwrap()));
    }
    for (spec, reason) in &specs {
        let o = sepconv(&["bench", "--isa", spec, "--min-ms", "1"], None);
        assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
        let err = stderr(&o);
        let named = spec.rsplit(',').next().unwrap();
        assert!(err.starts_with("error:") && err.lines().count() == 1, "{err}");
        assert!(err.contains(named) && err.contains(reason), "{spec}: {err}");
        assert!(stdout(&o).is_empty(), "{}", describe(&o));
    }
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory for one test.
fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sepconv-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `sepconv run NAME.onnx --input NAME.input.npy --output ...` with `extra` flags and
/// checks the output against ONNX Runtime's `NAME.output.npy` (max |diff| <= 1e-4).
fn run_matches_onnx_runtime(name: &str, extra: &[&str], output_shape: &[usize]) {
    let dir = temp_dir(&format!("run-ok-{name}-{}", extra.len()));
    let out = dir.join("y.npy");
    let model = fixture(&format!("{name}.onnx"));
    let input = fixture(&format!("{name}.input.npy"));
    let mut args = vec!["run", &model, "--input", &input, "--output", out.to_str().unwrap()];
    args.extend(["--iters", "3", "--warmup", "1", "--json", "--profile"]);
    args.extend(extra);
    let o = sepconv(&args, None);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", describe(&o));
    let v: Value =
        serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| panic!("{e}: {}", describe(&o)));
    for key in
        ["model", "isa", "threads", "iters", "median_ms", "min_ms", "mean_ms", "gflops", "output_shape"]
    {
        assert!(!v[key].is_null(), "{key} missing: {v}");
    }
    assert_eq!(v["output_shape"], serde_json::json!(output_shape));
    // Memory: packed weights and arena, and the process's peak RSS (Linux reports it) above
    // them both.
    let bytes = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} missing: {v}"));
    assert!(bytes("weight_bytes") > 0 && bytes("arena_bytes") > 0, "{v}");
    if cfg!(target_os = "linux") {
        assert!(bytes("peak_rss_bytes") > bytes("weight_bytes") + bytes("arena_bytes"), "{v}");
    }
    assert_eq!(v["iters"], 3);
    assert!(v["layers"].as_array().is_some_and(|l| !l.is_empty()), "{v}");
    let got = sepconv::npy::read_npy_file(&out).unwrap();
    let want =
        sepconv::npy::read_npy_file(std::path::Path::new(&fixture(&format!("{name}.output.npy")))).unwrap();
    assert_eq!(got.shape, want.shape);
    let diff = got.data.iter().zip(&want.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff <= 1e-4, "{args:?}: max|diff| vs ONNX Runtime {diff}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_onnx_model_writes_onnx_runtimes_answer() {
    run_matches_onnx_runtime("mobilenet_tiny", &[], &[1, 10]);
}

#[test]
fn run_converts_a_float64_input_with_a_note() {
    // mobilenet_tiny's input as float64 (numpy's default dtype): the same output as from the
    // float32 file, bit for bit (each value is exactly an f32), and a note on stderr.
    let dir = temp_dir("run-f64");
    let f32_input = fixture("mobilenet_tiny.input.npy");
    let f32_file = std::fs::read(&f32_input).unwrap();
    let input = sepconv::npy::read_npy(&f32_file).unwrap();
    let header_end = f32_file.len() - 4 * input.data.len();
    let mut f64_file = with_descr(&f32_file[..header_end], b"<f8");
    f64_file.extend(input.data.iter().flat_map(|&v| f64::from(v).to_le_bytes()));
    let f64_path = dir.join("x64.npy");
    std::fs::write(&f64_path, &f64_file).unwrap();
    let model = fixture("mobilenet_tiny.onnx");
    let (y32, y64) = (dir.join("y32.npy"), dir.join("y64.npy"));
    for (inp, out) in [(f32_input.as_str(), &y32), (f64_path.to_str().unwrap(), &y64)] {
        let args = ["run", &model, "--input", inp, "--output", out.to_str().unwrap(), "--iters", "1"];
        let o = sepconv(&args, None);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", describe(&o));
        let noted = stderr(&o).contains("holds float64; converted to float32 (rounded to the nearest)");
        assert_eq!(noted, out == &y64, "{args:?}: {}", describe(&o));
    }
    let (a, b) = (sepconv::npy::read_npy_file(&y32).unwrap(), sepconv::npy::read_npy_file(&y64).unwrap());
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_symbolic_batch_model_takes_the_batch_of_its_input_or_of_batch() {
    // The model's batch is "batch_size"; its stored input holds 4 images.
    run_matches_onnx_runtime("mobilenet_tiny_dyn", &[], &[4, 10]);
    run_matches_onnx_runtime("mobilenet_tiny_dyn", &["--batch", "4"], &[4, 10]);
    run_matches_onnx_runtime("mobilenet_tiny_dyn", &["--input-shape", "4,3,32,32"], &[4, 10]);
    // Without an input file: --batch sets the shapes (and the built-in models take it too).
    // Under an emulated CPU the built-in case (two MobileNetV1 images, minutes there) is left
    // out: what it checks does not depend on the CPU, and it runs natively in full.
    let model = fixture("mobilenet_tiny_dyn.onnx");
    let mut cases = vec![
        (vec!["run", &model, "--iters", "1", "--warmup", "0", "--json"], [1, 10]),
        (vec!["run", &model, "--batch", "3", "--iters", "1", "--warmup", "0", "--json"], [3, 10]),
    ];
    if common::emulated_cpu().is_none() {
        cases.push((
            vec![
                "run",
                "--builtin",
                "mobilenet_v1",
                "--batch",
                "2",
                "--iters",
                "1",
                "--warmup",
                "0",
                "--json",
            ],
            [2, 1000],
        ));
    }
    for (args, shape) in cases {
        let o = sepconv(&args, None);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", describe(&o));
        let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(v["output_shape"], serde_json::json!(shape), "{args:?}");
    }
}

#[test]
fn run_min_ms_keeps_timing_until_both_bounds_are_met() {
    let model = fixture("mobilenet_tiny.onnx");
    let o = sepconv(&["run", &model, "--iters", "2", "--warmup", "0", "--min-ms", "40", "--json"], None);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let v: Value =
        serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| panic!("{e}: {}", describe(&o)));
    let iters = v["iters"].as_u64().unwrap();
    let mean_ms = v["mean_ms"].as_f64().unwrap();
    assert!(iters >= 2, "{v}");
    assert!(iters as f64 * mean_ms >= 40.0 * 0.999, "timed time below --min-ms: {v}");
    // Without --min-ms, exactly --iters runs are timed.
    let o = sepconv(&["run", &model, "--iters", "3", "--warmup", "0", "--json"], None);
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["iters"], 3);
    let help = stdout(&sepconv(&["run", "--help"], None));
    assert!(help.contains("--min-ms <MS>"), "{help}");
}

#[test]
fn run_builtin_prints_the_layer_table_and_latency() {
    // A whole MobileNetV1 (tens of seconds to minutes under an emulated CPU, where
    // tests/graph.rs already runs a built-in network on the emulated tier): natively only.
    if common::emulated_cpu().is_some() {
        eprintln!("skipped under the emulated CPU: runs natively in step 3 of .ci/run");
        return;
    }
    let o =
        sepconv(&["run", "--builtin", "mobilenet_v1", "--iters", "1", "--warmup", "0", "--profile"], None);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let out = stdout(&o);
    assert!(out.contains("mobilenet_v1 (built-in)") && out.contains("[1, 1000]"), "{out}");
    assert!(out.contains("conv/depthwise") && out.contains("end to end: median"), "{out}");
}

#[test]
fn run_refuses_bad_inputs_with_one_line_and_writes_nothing() {
    let dir = temp_dir("run-bad");
    let out = dir.join("y.npy");
    let out_s = out.to_str().unwrap();
    let wrong_shape = fixture("dw_same.input.npy");
    let f2 = dir.join("x_f2.npy"); // float16: not a supported dtype
    std::fs::write(&f2, with_descr(&std::fs::read(fixture("npy/small_f32.npy")).unwrap(), b"<f2")).unwrap();
    let f2 = f2.to_str().unwrap().to_owned();
    let truncated = dir.join("truncated.npy");
    let bytes = std::fs::read(fixture("mobilenet_tiny.input.npy")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let model = fixture("mobilenet_tiny.onnx");
    let dynamic = fixture("mobilenet_tiny_dyn.onnx");
    let four_images = fixture("mobilenet_tiny_dyn.input.npy");
    let opset10 = fixture("clip_attrs_opset10.onnx");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", &model, "--batch", "2", "--output", out_s], "fixed at 1 by graph input \"input\""),
        (vec!["run", &dynamic, "--batch", "2", "--input", &four_images, "--output", out_s], "shape"),
        (
            vec!["run", &dynamic, "--batch", "3", "--input-shape", "2,3,32,32", "--output", out_s],
            "--input-shape gives batch 2",
        ),
        (vec!["run", &model, "--input-shape", "1,4,32,32", "--output", out_s], "dimension 1 is 3"),
        (vec!["run", "/nonexistent/model.onnx", "--output", out_s], "model.onnx"),
        (vec!["run", &model, "--input", &wrong_shape, "--output", out_s], "shape"),
        (vec!["run", &model, "--input", &f2, "--output", out_s], "'<f2'"),
        (vec!["run", &model, "--input", truncated.to_str().unwrap(), "--output", out_s], "npy"),
        (vec!["run", &model, "--isa", "bogus", "--output", out_s], "bogus"),
        (vec!["run", &opset10, "--output", out_s], "opset"),
        (vec!["run", &model, "--iters", "1", "--output", "/nonexistent-dir/y.npy"], "nonexistent-dir"),
    ];
    for (args, needle) in cases {
        let o = sepconv(&args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", describe(&o));
        let err = stderr(&o);
        assert!(err.starts_with("error:") && err.lines().count() == 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
        assert!(!out.exists(), "{args:?}: an output file was written");
    }
    // Usage errors exit 2: no model, and a model and --builtin together.
    assert_eq!(sepconv(&["run"], None).status.code(), Some(2));
    assert_eq!(sepconv(&["run", &model, "--builtin", "mobilenet_v2"], None).status.code(), Some(2));
    // ... and malformed or misplaced --batch / --input-shape.
    for bad in [
        vec!["run", &model, "--batch", "0"],
        vec!["run", &model, "--input-shape", "1,3,32"],
        vec!["run", &model, "--input-shape", "1,3,0,32"],
        vec!["run", "--builtin", "mobilenet_v2", "--input-shape", "1,3,224,224"],
    ] {
        assert_eq!(sepconv(&bad, None).status.code(), Some(2), "{bad:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
