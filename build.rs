//! Records build facts that `sepconv info` and every benchmark report print: target triple,
//! compile-time target features, profile, rustc version. Nothing host-CPU-specific is decided
//! here: ISA selection happens at run time.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // `SEPCONV_FORCE_SCALAR_BUILD` is not read: the ISA is chosen at run time. sepconv
    // declares no custom cfgs; if one is ever added, declare it here with
    // `cargo::rustc-check-cfg` so that check-cfg keeps catching typos.

    let target = env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let profile = env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    let opt_level = env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());

    println!("cargo::rustc-env=SEPCONV_BUILD_TARGET={target}");
    println!("cargo::rustc-env=SEPCONV_BUILD_PROFILE={profile}");
    println!("cargo::rustc-env=SEPCONV_BUILD_OPT_LEVEL={opt_level}");
    println!("cargo::rustc-env=SEPCONV_BUILD_TARGET_FEATURES={features}");
    println!("cargo::rustc-env=SEPCONV_BUILD_RUSTC={rustc_version}");
}
