//! Helpers shared by the integration tests that spawn the built `sepconv` binary
//! (`tests/cli.rs`, `tests/bad_inputs.rs`), and their `.npy` file helper.
//!
//! A test binary may run under a Cargo target runner: `qemu-aarch64` in the aarch64 lane, or
//! `qemu-x86_64 -cpu …` in the x86_64 CPU-matrix lane of `.ci/run`, which emulates a CPU
//! without AVX-512 (or without AVX2). A process spawned from inside qemu-user is *not*
//! emulated: the kernel runs it on the host CPU (or cannot run it at all, for a foreign
//! architecture). So the child must be started through the same runner, or it would detect
//! other CPU features than the test that checks its output.

// Each including test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::OnceLock;

/// The environment variable the emulated-CPU lanes of `.ci/run` set to the qemu CPU model
/// they run the x86_64 tests under (e.g. `max,avx512f=off`).
pub const EMULATED_CPU_ENV: &str = "SEPCONV_EMULATED_CPU";

/// The emulated CPU model when the tests run under one of `.ci/run`'s emulated-CPU lanes, else
/// `None`. The few tests that run whole networks many times (tens of seconds natively, minutes
/// under emulation) then run fewer cases: they prove the kernels, which do not depend on the
/// CPU model, and natively they run in full; what the emulated lanes prove is the tier choice
/// and everything that depends on it.
pub fn emulated_cpu() -> Option<String> {
    std::env::var(EMULATED_CPU_ENV).ok().filter(|v| !v.trim().is_empty())
}

/// The built CLI binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sepconv");

/// The environment variable through which Cargo's runner for this target can be given
/// (`CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER`, ...).
fn runner_var() -> String {
    let target = env!("SEPCONV_BUILD_TARGET");
    format!("CARGO_TARGET_{}_RUNNER", target.to_uppercase().replace(['-', '.'], "_"))
}

/// The command prefix that executes `BIN` on the same (possibly emulated) CPU as this test:
///
/// 1. the runner set in `CARGO_TARGET_<TRIPLE>_RUNNER`, when the environment sets one (that
///    is how `.ci/run`'s emulated lanes start the test binaries, and Cargo passes the
///    environment on to them);
/// 2. nothing, when `BIN` runs natively;
/// 3. else the `runner` of `[target.<triple>]` in the workspace's `.cargo/config.toml`.
pub fn runner() -> &'static [String] {
    static RUNNER: OnceLock<Vec<String>> = OnceLock::new();
    RUNNER.get_or_init(|| {
        let from_env = std::env::var(runner_var()).ok().filter(|r| !r.trim().is_empty());
        let runner = match from_env {
            Some(r) => r,
            None if Command::new(BIN).arg("--version").output().is_ok_and(|o| o.status.success()) => {
                String::new()
            }
            None => config_runner(env!("SEPCONV_BUILD_TARGET")).unwrap_or_default(),
        };
        runner.split_whitespace().map(String::from).collect()
    })
}

/// The `runner = "..."` of `[target.<target>]` in the workspace's `.cargo/config.toml`.
fn config_runner(target: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cargo/config.toml");
    let config = std::fs::read_to_string(path).ok()?;
    let header = format!("[target.{target}]");
    let mut lines = config.lines().map(str::trim).skip_while(|l| *l != header).skip(1);
    lines.find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "runner").then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Runs `BIN` with `args` through [`runner`], without an inherited `SEPCONV_ISA`, or with it
/// set to `isa_env`. Panics (naming the runner) if the binary could not be executed at all.
pub fn run_sepconv(args: &[&str], isa_env: Option<&str>) -> Output {
    let mut cmd = match runner() {
        [] => Command::new(BIN),
        [program, rest @ ..] => {
            let mut cmd = Command::new(program);
            cmd.args(rest).arg(BIN);
            cmd
        }
    };
    cmd.args(args).env_remove("SEPCONV_ISA");
    if let Some(v) = isa_env {
        cmd.env("SEPCONV_ISA", v);
    }
    let o = cmd.output().unwrap_or_else(|e| panic!("failed to run {BIN} (runner {:?}): {e}", runner()));
    assert!(
        !matches!(o.status.code(), Some(126 | 127)) || !o.stdout.is_empty(),
        "{BIN} could not be executed (runner {:?}): {}",
        runner(),
        describe(&o)
    );
    o
}

/// Status, stdout and stderr of a finished child, for assertion messages.
pub fn describe(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `bytes` of a float32 `.npy` file with its descriptor `'<f4'` replaced by `descr` (same
/// length, e.g. `b"<f8"`), for files of other dtypes without more fixtures.
pub fn with_descr(bytes: &[u8], descr: &[u8; 3]) -> Vec<u8> {
    let at = bytes.windows(5).position(|w| w == b"'<f4'").expect("a '<f4' header") + 1;
    let mut out = bytes.to_vec();
    out[at..at + 3].copy_from_slice(descr);
    out
}
