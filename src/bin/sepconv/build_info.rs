//! Facts about how this binary was built, recorded by `build.rs`.

/// The target triple, e.g. `x86_64-unknown-linux-gnu`.
pub const TARGET: &str = env!("SEPCONV_BUILD_TARGET");
/// Cargo's profile (`debug` or `release`).
pub const PROFILE: &str = env!("SEPCONV_BUILD_PROFILE");
/// The optimization level the crate was compiled at.
pub const OPT_LEVEL: &str = env!("SEPCONV_BUILD_OPT_LEVEL");
/// Comma-separated target features enabled at compile time (the static baseline; the SIMD
/// tiers are chosen at run time on top of it).
pub const TARGET_FEATURES: &str = env!("SEPCONV_BUILD_TARGET_FEATURES");
/// `rustc --version` of the compiler that built sepconv.
pub const RUSTC: &str = env!("SEPCONV_BUILD_RUSTC");
/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One line: `sepconv 0.1.0, x86_64-unknown-linux-gnu, release (opt-level 3), rustc 1.95.0 ...`.
pub fn summary() -> String {
    format!("sepconv {VERSION}, {TARGET}, {PROFILE} (opt-level {OPT_LEVEL}), {RUSTC}")
}
