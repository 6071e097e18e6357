//! Guards the CI lanes against misconfiguration.
//!
//! `.ci/run` sets `SEPCONV_EXPECT_ARCH` to the architecture each lane is meant to test
//! (`x86_64` for the native lane, `aarch64` for the qemu lane). If a lane silently ran the
//! wrong binaries (say, a missing `--target`), this test fails instead of passing green.

/// Architecture name derived from the compile-time `target_arch`.
fn compiled_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "aarch64") {
        "aarch64"
    } else if cfg!(target_arch = "x86") {
        "x86"
    } else if cfg!(target_arch = "arm") {
        "arm"
    } else {
        "other"
    }
}

#[test]
fn arch_matches_lane() {
    let actual = std::env::consts::ARCH;
    match std::env::var("SEPCONV_EXPECT_ARCH") {
        Ok(expected) => assert_eq!(
            actual, expected,
            "SEPCONV_EXPECT_ARCH={expected:?} but this test binary is built for {actual:?}: \
             the CI lane is misconfigured (wrong or missing --target?)"
        ),
        Err(std::env::VarError::NotPresent) => {
            assert_eq!(actual, compiled_arch(), "std::env::consts::ARCH disagrees with cfg!(target_arch)")
        }
        Err(e) => panic!("SEPCONV_EXPECT_ARCH is set but unreadable: {e}"),
    }
}

#[cfg(target_arch = "aarch64")]
#[test]
fn aarch64_has_neon() {
    assert!(
        std::arch::is_aarch64_feature_detected!("neon"),
        "NEON not detected on this aarch64 machine; the NEON kernels cannot be tested here"
    );
}
