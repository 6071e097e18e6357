//! Integration tests of the ISA dispatcher (`sepconv::dispatch`): tier names, availability,
//! the per-tier kernel tables, and the `force_isa` override.
//!
//! `force_isa` sets a process-global override and the tests of one binary run on parallel
//! threads, so every use of it (and of anything that reads it: `selected_isa`,
//! `selected_kernels`, the ops' `new`) is in the single test `force_isa_override_sequence`. The
//! other tests here only use explicit tiers.

use sepconv::Error;
use sepconv::dispatch::{self, ISA_ENV, Isa, IsaSource, force_isa, kernels, selected_isa};
use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
use sepconv::ops::{
    ActivationOp, Add, Conv2d, Dense, DepthwiseConv2d, GlobalAvgPool, PointwiseConv2d, SeparableConv2d,
    SeparablePass1d,
};
use sepconv::tensor::Shape4;

/// The first tier this CPU cannot run (`None` if there is none).
fn unavailable_tier() -> Option<Isa> {
    unavailable_tiers().into_iter().next()
}

/// Every tier this CPU cannot run, lowest first.
fn unavailable_tiers() -> Vec<Isa> {
    Isa::unavailable().into_iter().map(|(isa, _)| isa).collect()
}

/// The tiers that must be unavailable here with their reasons, derived from the CPU features
/// as `std` detects them (not from `sepconv::dispatch`), so the test holds on any CPU: an
/// AVX-512 machine, an AVX2-only one, an SSE-only one, an aarch64 board.
fn expected_unavailable() -> Vec<(Isa, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let mut want = Vec::new();
        let avx2_fma = has!("avx2") && has!("fma");
        if !has!("avx2") {
            want.push((Isa::Avx2Fma, "the CPU lacks AVX2"));
        } else if !has!("fma") {
            want.push((Isa::Avx2Fma, "the CPU lacks FMA"));
        }
        if !has!("avx512f") {
            want.push((Isa::Avx512, "the CPU lacks AVX-512F"));
        } else if !avx2_fma {
            want.push((Isa::Avx512, "the CPU lacks AVX2 or FMA"));
        }
        want.push((Isa::Neon, "not an aarch64 CPU"));
        want
    }
    #[cfg(target_arch = "aarch64")]
    {
        vec![(Isa::Avx2Fma, "not an x86_64 CPU"), (Isa::Avx512, "not an x86_64 CPU")]
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        vec![
            (Isa::Avx2Fma, "not an x86_64 CPU"),
            (Isa::Avx512, "not an x86_64 CPU"),
            (Isa::Neon, "not an aarch64 CPU"),
        ]
    }
}

#[test]
fn from_name_round_trips_and_rejects_unknown_names() {
    assert_eq!(Isa::ALL.map(Isa::name), ["scalar", "portable", "avx2", "avx512", "neon"]);
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Ok(isa));
        assert_eq!(Isa::from_name(&isa.name().to_uppercase()), Ok(isa));
        assert_eq!(isa.to_string(), isa.name(), "Display is the SEPCONV_ISA spelling");
    }
    assert_eq!(Isa::from_name("Portable"), Ok(Isa::Portable));
    assert_eq!(Isa::from_name("NeOn"), Ok(Isa::Neon));
    assert_eq!(Isa::from_name("avx2fma"), Ok(Isa::Avx2Fma));
    assert_eq!(Isa::from_name("AVX2FMA"), Ok(Isa::Avx2Fma));
    assert_eq!(Isa::from_name("avx512f"), Ok(Isa::Avx512));
    assert_eq!(Isa::from_name(" scalar\n"), Ok(Isa::Scalar), "surrounding whitespace is ignored");

    for bad in ["bogus", "", "avx", "avx512bw", "sse", "scalar2", "neon64"] {
        let err = Isa::from_name(bad).unwrap_err();
        assert_eq!(err, Error::UnknownIsa(bad.to_string()));
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{bad}`")), "{msg}");
        for isa in Isa::ALL {
            assert!(msg.contains(isa.name()), "the message does not list `{isa}`: {msg}");
        }
    }
}

#[test]
fn availability_matches_the_cpu() {
    let available = Isa::available();
    assert!(Isa::Scalar.is_available() && Isa::Portable.is_available());
    assert_eq!(Isa::Scalar.unavailable_reason(), None);
    assert_eq!(Isa::Portable.unavailable_reason(), None);
    assert_eq!(&available[..2], &[Isa::Scalar, Isa::Portable]);
    // Lowest first, no duplicates, exactly the available tiers.
    assert!(available.windows(2).all(|w| w[0] < w[1]), "{available:?}");
    for isa in Isa::ALL {
        assert_eq!(available.contains(&isa), isa.is_available(), "{isa}");
        assert_eq!(isa.is_available(), isa.unavailable_reason().is_none(), "{isa}");
        assert_eq!(isa.ensure_available().is_ok(), isa.is_available(), "{isa}");
    }
    let best = Isa::best_available();
    assert!(available.contains(&best), "{best} not in {available:?}");
    assert_eq!(Some(&best), available.last(), "best_available is the highest available tier");

    #[cfg(target_arch = "x86_64")]
    {
        let avx2_fma =
            std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        assert_eq!(Isa::Avx2Fma.is_available(), avx2_fma);
        let f = dispatch::cpu_features();
        assert_eq!(f.avx2, std::arch::is_x86_feature_detected!("avx2"));
        assert_eq!(f.fma, std::arch::is_x86_feature_detected!("fma"));
        assert!(!f.neon && !f.asimddp && !f.fp16, "{f:?}");
        assert_eq!(f.names().contains(&"avx2"), f.avx2);
        assert_eq!(Isa::Neon.unavailable_reason(), Some("not an aarch64 CPU"));
        let avx512 = avx2_fma && std::arch::is_x86_feature_detected!("avx512f");
        assert_eq!(Isa::Avx512.is_available(), avx512);
        assert_eq!(f.avx512f, std::arch::is_x86_feature_detected!("avx512f"));
        let want = match (avx512, avx2_fma) {
            (true, _) => Isa::Avx512,
            (false, true) => Isa::Avx2Fma,
            (false, false) => Isa::Portable,
        };
        assert_eq!(best, want);
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Isa::Neon.is_available(), "NEON is mandatory on aarch64");
        assert_eq!(Isa::Avx2Fma.unavailable_reason(), Some("not an x86_64 CPU"));
        assert_eq!(Isa::Avx512.unavailable_reason(), Some("not an x86_64 CPU"));
        assert!(dispatch::cpu_features().neon);
        assert_eq!(best, Isa::Neon);
    }
}

#[test]
fn unavailable_tiers_match_the_cpu_features() {
    let got = Isa::unavailable();
    assert_eq!(got, expected_unavailable(), "features: {:?}", dispatch::cpu_features());
    assert!(!got.is_empty(), "every tier is available: this cannot happen on one architecture");
    // `unavailable` and `available` split `Isa::ALL`, each in its order, and agree with
    // `unavailable_reason`.
    for isa in Isa::ALL {
        let reason = got.iter().find(|(t, _)| *t == isa).map(|(_, r)| *r);
        assert_eq!(reason, isa.unavailable_reason(), "{isa}");
        assert_eq!(Isa::available().contains(&isa), reason.is_none(), "{isa}");
    }
}

#[test]
fn unavailable_tier_is_an_error_not_a_table() {
    for isa in unavailable_tiers() {
        assert_refused(isa);
    }
}

/// `isa` is unavailable: asking for its table, or planning any op on it, is an error that
/// names the tier and the reason.
fn assert_refused(isa: Isa) {
    let reason = isa.unavailable_reason().unwrap();
    let want = Error::IsaUnavailable { isa, reason };
    assert_eq!(isa.ensure_available().unwrap_err(), want);
    assert_eq!(kernels(isa).unwrap_err(), want);
    let msg = want.to_string();
    assert!(msg.contains(&format!("`{}`", isa.name())) && msg.contains(reason), "{msg}");

    // Every op refuses to plan for it, before looking at anything else.
    let none = Activation::None;
    let g = Conv2dGeometry::depthwise(1, 8, 8, 4, 3, 3).with_padding(Padding2d::uniform(1));
    let s = Shape4::new(1, 4, 4, 4);
    let p = SeparablePass1d::new(3, 1);
    let errs = [
        DepthwiseConv2d::with_isa(isa, g, &[0.0; 36], None, none).unwrap_err(),
        Conv2d::with_isa(isa, g, &[0.0; 36], None, none).unwrap_err(),
        PointwiseConv2d::with_isa(isa, s, 2, &[0.0; 8], None, none).unwrap_err(),
        SeparableConv2d::with_isa(isa, s, p, p, &[0.0; 12], &[0.0; 12], None, none).unwrap_err(),
        ActivationOp::with_isa(isa, s, none).unwrap_err(),
        Add::with_isa(isa, s, none).unwrap_err(),
        GlobalAvgPool::with_isa(isa, s).unwrap_err(),
        Dense::with_isa(isa, 1, 4, 2, &[0.0; 8], None, none).unwrap_err(),
        // Even with invalid parameters, the tier is reported first.
        DepthwiseConv2d::with_isa(isa, g, &[], None, none).unwrap_err(),
    ];
    for err in errs {
        assert_eq!(err, want);
    }
}

/// The op classes for which `isa` has kernels of its own (not the reference).
fn own_kernels(isa: Isa) -> &'static [&'static str] {
    match isa {
        Isa::Portable | Isa::Avx2Fma | Isa::Neon => &[
            "conv2d",
            "grouped_conv",
            "dwconv3x3s1",
            "dwconv3x3s2",
            "dwconv",
            "pointwise",
            "row_pass",
            "col_pass",
            "dense",
            "activation",
        ],
        // The AVX-512 tier has its own GEMM and dense/grouped convolution (whose narrow plan
        // runs the AVX2 code under the `grouped_conv/avx512` name); its other ops are the AVX2
        // kernels.
        Isa::Avx512 => &[
            "conv2d",
            "grouped_conv",
            "pointwise",
            "dense",
            "dwconv3x3s1",
            "dwconv3x3s2",
            "dwconv",
            "activation",
        ],
        Isa::Scalar => &[],
        other => panic!("tier {other} is new: list the op classes it has own kernels for here"),
    }
}

/// The implementations a tier's table may name besides its own: the reference, the portable
/// elementwise kernels (every SIMD tier), and for the AVX-512 tier the AVX2 kernels (every
/// AVX-512F CPU here also has AVX2 and FMA).
fn borrowed_impls(isa: Isa) -> &'static [&'static str] {
    match isa {
        Isa::Scalar => &["reference"],
        Isa::Avx512 => &["reference", "portable", "avx2"],
        _ => &["reference", "portable"],
    }
}

#[test]
fn kernel_tables_name_every_entry_op_slash_impl() {
    for isa in Isa::available() {
        let table = kernels(isa).unwrap();
        assert_eq!(table.isa, isa);
        let entries = table.entries();
        assert_eq!(entries.len(), 12);
        let classes: Vec<&str> = entries.iter().map(|(class, _)| *class).collect();
        assert_eq!(
            classes,
            [
                "conv2d",
                "grouped_conv",
                "dwconv3x3s1",
                "dwconv3x3s2",
                "dwconv",
                "pointwise",
                "row_pass",
                "col_pass",
                "dense",
                "activation",
                "add",
                "global_avg_pool",
            ]
        );
        for (class, name) in entries {
            let (op, imp) = name.split_once('/').unwrap_or_else(|| panic!("{isa}: `{name}` is not op/impl"));
            assert!(!op.is_empty() && !imp.is_empty() && !imp.contains('/'), "{isa}: `{name}`");
            // A specialised kernel may refine its class (e.g. `dwconv3x3s1/avx2`), never rename it.
            assert!(op.starts_with(class), "{isa}: `{name}` in entry `{class}`");
            // Scalar is the reference kernels. A SIMD tier names its own implementation (its
            // tier name) where it has one, `/reference` where it does not yet — and the op
            // classes listed in `own_kernels` must be its own.
            let own = if isa == Isa::Scalar { "reference" } else { isa.name() };
            assert!(borrowed_impls(isa).contains(&imp) || imp == own, "{isa}: `{name}`");
            if own_kernels(isa).contains(&class) {
                assert_eq!(imp, own, "{isa}: `{name}` should be the tier's own kernel");
            }
        }
        // The struct fields and `entries()` agree.
        assert_eq!(table.conv2d.name, entries[0].1);
        assert_eq!(table.dwconv3x3s1.name, entries[2].1);
        assert_eq!(table.dense.name, entries[8].1);
        assert_eq!(format!("{:?}", table.pointwise), table.pointwise.name);
    }
}

/// The one test that touches the process-global override (see the module docs).
#[test]
fn force_isa_override_sequence() {
    // What the process selects without an API override: `SEPCONV_ISA` if set (this test may
    // run under a CI lane that sets it), else detection.
    let env = std::env::var(ISA_ENV).ok().filter(|v| !v.trim().is_empty());
    let env_isa = env.as_deref().map(|v| Isa::from_name(v).and_then(Isa::ensure_available));
    let baseline = match &env_isa {
        None => Some((Isa::best_available(), IsaSource::Detected)),
        Some(Ok(isa)) => Some((*isa, IsaSource::Environment)),
        Some(Err(_)) => None, // an invalid SEPCONV_ISA: selected_isa() errors
    };
    let check_baseline = || match baseline {
        Some(b) => assert_eq!(selected_isa().unwrap(), b),
        None => assert!(matches!(selected_isa(), Err(Error::IsaEnv(_))), "{:?}", selected_isa()),
    };
    check_baseline();

    let result = std::panic::catch_unwind(|| {
        let Some(_) = baseline else {
            // An invalid SEPCONV_ISA is an error even with an API override, so that a typo is
            // never silently ignored.
            force_isa(Some(Isa::Scalar)).unwrap();
            assert!(matches!(selected_isa(), Err(Error::IsaEnv(_))));
            assert!(
                DepthwiseConv2d::new(
                    Conv2dGeometry::depthwise(1, 4, 4, 2, 3, 3),
                    &[0.0; 18],
                    None,
                    Activation::None
                )
                .is_err()
            );
            return;
        };

        for isa in Isa::available() {
            force_isa(Some(isa)).unwrap();
            assert_eq!(selected_isa().unwrap(), (isa, IsaSource::Api));
            assert_eq!(dispatch::selected_kernels().unwrap().isa, isa);
            assert_planned_on(isa);
        }

        // Forcing Scalar, then an unavailable tier: an error, and Scalar stays in force.
        force_isa(Some(Isa::Scalar)).unwrap();
        assert_eq!(selected_isa().unwrap(), (Isa::Scalar, IsaSource::Api));
        assert_planned_on(Isa::Scalar);
        if let Some(bad) = unavailable_tier() {
            let err = force_isa(Some(bad)).unwrap_err();
            assert!(matches!(err, Error::IsaUnavailable { isa, .. } if isa == bad), "{err:?}");
            assert_eq!(selected_isa().unwrap(), (Isa::Scalar, IsaSource::Api));
            assert_planned_on(Isa::Scalar);
        }
        // Forcing Portable replaces Scalar.
        force_isa(Some(Isa::Portable)).unwrap();
        assert_eq!(selected_isa().unwrap(), (Isa::Portable, IsaSource::Api));
        assert_planned_on(Isa::Portable);

        // Lifting the override: back to SEPCONV_ISA or detection; idempotent.
        force_isa(None).unwrap();
        check_baseline();
        assert_planned_on(baseline.unwrap().0);
        force_isa(None).unwrap();
        check_baseline();
    });
    // Restore the default even when an assertion failed.
    force_isa(None).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    check_baseline();
}

/// Plans every op with `new(...)` (the selected tier) and checks that each reports `isa`.
fn assert_planned_on(isa: Isa) {
    let none = Activation::None;
    let s = Shape4::new(1, 4, 4, 4);
    let p = SeparablePass1d::new(3, 1);
    let dw = Conv2dGeometry::depthwise(1, 4, 4, 4, 3, 3).with_padding(Padding2d::uniform(1));
    let dense = Conv2dGeometry::new(1, 4, 4, 4, 2, 3, 3);
    let op = DepthwiseConv2d::new(dw, &[0.0; 36], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "dwconv3x3s1", op.kernel_name());
    let op = Conv2d::new(dw, &[0.0; 36], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "dwconv3x3s1", op.kernel_name());
    let op = Conv2d::new(dense, &[0.0; 72], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "conv2d", op.kernel_name());
    // Grouped, wide plan (4 → 8 channels per group) and narrow plan (2 → 2 per group, which
    // the AVX-512 tier delegates to the AVX2 code under its own entry's name).
    let wide = Conv2dGeometry::new(1, 4, 4, 8, 16, 3, 3).with_groups(2);
    let op = Conv2d::new(wide, &[0.0; 576], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "grouped_conv", op.kernel_name());
    let narrow = Conv2dGeometry::new(1, 4, 4, 8, 8, 3, 3).with_groups(4);
    let op = Conv2d::new(narrow, &[0.0; 144], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "grouped_conv", op.kernel_name());
    let op = PointwiseConv2d::new(s, 2, &[0.0; 8], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "pointwise", op.kernel_name());
    let op = SeparableConv2d::new(s, p, p, &[0.0; 12], &[0.0; 12], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "row_pass", op.kernel_names()[0]);
    assert_ran_on(isa, "col_pass", op.kernel_names()[1]);
    assert_eq!(ActivationOp::new(s, none).unwrap().isa(), isa);
    assert_eq!(Add::new(s, none).unwrap().isa(), isa);
    assert_eq!(GlobalAvgPool::new(s).unwrap().isa(), isa);
    let op = Dense::new(1, 4, 2, &[0.0; 8], None, none).unwrap();
    assert_eq!(op.isa(), isa);
    assert_ran_on(isa, "dense", op.kernel_name());
}

/// An op planned for a forced tier really runs that tier's kernel: its name is
/// `class/<tier>` where the tier has its own kernel for the class (see `own_kernels`).
fn assert_ran_on(isa: Isa, class: &str, kernel: &str) {
    let (op, imp) = kernel.split_once('/').unwrap_or_else(|| panic!("{isa}: `{kernel}` is not op/impl"));
    assert_eq!(op, class, "{isa}: `{kernel}`");
    if own_kernels(isa).contains(&class) {
        assert_eq!(imp, isa.name(), "{isa}: `{kernel}` is not the forced tier's kernel");
    } else if isa == Isa::Avx512 {
        assert_eq!(imp, "avx2", "{isa}: `{kernel}` (the AVX-512 tier borrows the AVX2 kernels)");
    } else {
        assert_eq!(imp, "reference", "{isa}: `{kernel}`");
    }
}
