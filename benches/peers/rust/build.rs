//! Reads the versions of `tract-onnx` and `rten` that are actually linked from
//! this package's `Cargo.lock` and exposes them to the binary as
//! `PEERS_TRACT_VERSION` and `PEERS_RTEN_VERSION`, so the JSON report's
//! `engine_version` can never drift from the build.

use std::env;
use std::fs;
use std::path::Path;

/// Version of the package `name` in a `Cargo.lock` text, if exactly one is locked.
fn locked_version(lock: &str, name: &str) -> Result<String, String> {
    let mut found = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut pkg_name = None;
        let mut version = None;
        for line in block.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("name = ") {
                pkg_name = Some(v.trim_matches('"'));
            } else if let Some(v) = line.strip_prefix("version = ") {
                version = Some(v.trim_matches('"'));
            }
        }
        if pkg_name == Some(name)
            && let Some(v) = version
        {
            found.push(v.to_string());
        }
    }
    match found.as_slice() {
        [v] => Ok(v.clone()),
        [] => Err(format!("{name} is not in Cargo.lock")),
        _ => Err(format!("{name} is locked at several versions: {found:?}")),
    }
}

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock_path = Path::new(&dir).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let lock =
        fs::read_to_string(&lock_path).unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display()));
    for (name, var) in [("tract-onnx", "PEERS_TRACT_VERSION"), ("rten", "PEERS_RTEN_VERSION")] {
        let version = locked_version(&lock, name).unwrap_or_else(|e| panic!("{e}"));
        println!("cargo:rustc-env={var}={version}");
    }
}
