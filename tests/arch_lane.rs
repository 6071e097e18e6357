//! Guards the CI lanes against misconfiguration.
//!
//! `.ci/run` sets `SEPCONV_EXPECT_ARCH` to the architecture each lane is meant to test
//! (`x86_64` for the native lane, `aarch64` for the qemu lane). If a lane silently ran the
//! wrong binaries (say, a missing `--target`), this test fails instead of passing green.
//!
//! It also sets `SEPCONV_EXPECT_ISA` to the tier the lane's CPU must select: in the x86_64
//! CPU-matrix lane (`qemu-x86_64 -cpu max,avx512f=off` must give `avx2`, `-cpu Westmere`
//! `portable`), and in the native lane the tier that the kernel's view of the CPU
//! (`/proc/cpuinfo` flags) implies. If the emulator were silently bypassed and the tests ran
//! on the host CPU, this test fails.

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

#[test]
fn selected_tier_matches_lane() {
    use sepconv::dispatch::{Isa, cpu_features};
    let best = Isa::best_available();
    match std::env::var("SEPCONV_EXPECT_ISA") {
        Ok(expected) => {
            let expected = Isa::from_name(&expected)
                .unwrap_or_else(|e| panic!("SEPCONV_EXPECT_ISA={expected:?} is not a tier: {e}"));
            assert_eq!(
                best,
                expected,
                "this lane's CPU should select `{expected}`, but `{best}` was detected (features: {:?}): \
                 is the emulator bypassed, or does it emulate another CPU than the lane says?",
                cpu_features().names()
            );
        }
        Err(std::env::VarError::NotPresent) => assert!(best.is_available()),
        Err(e) => panic!("SEPCONV_EXPECT_ISA is set but unreadable: {e}"),
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

/// On aarch64 the NEON tier is the best one, and ops planned without an explicit tier really run
/// its kernels (their names end in `/neon`) where the tier has kernels of its own.
#[cfg(target_arch = "aarch64")]
#[test]
fn aarch64_runs_the_neon_kernels() {
    use sepconv::dispatch::{Isa, kernels};
    use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
    use sepconv::ops::{Conv2d, PointwiseConv2d};
    use sepconv::tensor::Shape4;

    assert_eq!(Isa::best_available(), Isa::Neon);
    let table = kernels(Isa::Neon).expect("neon is available on aarch64");
    for name in [table.pointwise.name, table.grouped_conv.name, table.row_pass.name, table.col_pass.name] {
        assert!(name.ends_with("/neon"), "{name}");
    }
    let none = Activation::None;
    let pw =
        PointwiseConv2d::with_isa(Isa::Neon, Shape4::new(1, 4, 4, 8), 4, &[0.5; 32], None, none).unwrap();
    assert_eq!(pw.kernel_name(), "pointwise/neon");
    let g = Conv2dGeometry::new(1, 6, 6, 8, 8, 3, 3).with_groups(2).with_padding(Padding2d::uniform(1));
    let gc = Conv2d::with_isa(Isa::Neon, g, &[0.1; 8 * 9 * 4], None, none).unwrap();
    assert_eq!(gc.kernel_name(), "grouped_conv/neon");
}
