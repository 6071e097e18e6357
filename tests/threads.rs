//! Tests of multi-threaded runs (`sepconv::threads` and the ops' `run_par`).
//!
//! - Every op, planned on every tier this CPU has, gives bit-identical outputs with `run_par`
//!   (one, two and three threads; bands as fine as one row, and the default band size) and
//!   with `run`, over seeded random geometries: strides 1–2, dilation 1–2, padding 0–3,
//!   batch 1–2, heights 1–20 (the seed of each case is in the failure message).
//! - Errors: shape mismatches are still reported by `run_par` (output untouched); zero threads
//!   is refused.
//! - Panics: a panicking job (or band) resumes its panic in the caller, and the `Threads` stays
//!   usable and drops without hanging.
//!
//! The zero-allocation test has its own binary (`tests/threads_alloc.rs`): it installs a
//! counting global allocator.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use sepconv::Error;
use sepconv::dispatch::Isa;
use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
use sepconv::ops::{
    ActivationOp, Add, Conv2d, ConvPath, Dense, DepthwiseConv2d, GlobalAvgPool, PRelu, PointwiseConv2d,
    Pool2d, Resize, SeparableConv2d, SeparablePass1d, conv2d_output_shape,
};
use sepconv::tensor::{Shape4, Tensor};
use sepconv::threads::{Par, Threads};

/// Seeded cases per op and tier.
const CASES: u64 = 24;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn rand_vec(r: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| r.random_range(-1.0f32..1.0)).collect()
}

fn rand_bias(r: &mut StdRng, len: usize) -> Option<Vec<f32>> {
    r.random_bool(0.5).then(|| rand_vec(r, len))
}

fn rand_act(r: &mut StdRng) -> Activation {
    match r.random_range(0..4) {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        _ => Activation::Clamp { min: -0.4, max: 0.3 },
    }
}

fn rand_tensor(r: &mut StdRng, shape: Shape4) -> Tensor {
    let len = shape.validate().expect("valid shape");
    Tensor::from_vec(shape, rand_vec(r, len)).expect("valid shape")
}

/// One random spatial axis `(input, kernel, stride, dilation, pad_before, pad_after)` with the
/// dilated kernel fitting in the padded input; inputs up to `max_input`.
fn rand_axis(r: &mut StdRng, max_input: usize) -> (usize, usize, usize, usize, usize, usize) {
    loop {
        let input = r.random_range(1..=max_input);
        let kernel = r.random_range(1..=5);
        let stride = r.random_range(1..=2);
        let dilation = r.random_range(1..=2);
        let (pb, pa) = (r.random_range(0..=3), r.random_range(0..=3));
        if dilation * (kernel - 1) < input + pb + pa {
            return (input, kernel, stride, dilation, pb, pa);
        }
    }
}

fn rand_geometry(r: &mut StdRng, in_c: usize, out_c: usize, groups: usize) -> Conv2dGeometry {
    let batch = r.random_range(1..=2);
    let (in_h, kh, sh, dh, top, bottom) = rand_axis(r, 20);
    let (in_w, kw, sw, dw, left, right) = rand_axis(r, 9);
    Conv2dGeometry::new(batch, in_h, in_w, in_c, out_c, kh, kw)
        .with_stride(sh, sw)
        .with_dilation(dh, dw)
        .with_padding(Padding2d { top, left, bottom, right })
        .with_groups(groups)
}

/// The thread settings every case runs with: one thread; two and three threads with bands as
/// fine as one row; two threads with the default band size.
fn all_threads() -> Vec<Threads> {
    vec![
        Threads::single(),
        Threads::new(2, false).expect("2 threads").with_band_flops(0),
        Threads::new(3, false).expect("3 threads").with_band_flops(0),
        Threads::new(2, false).expect("2 threads"),
    ]
}

/// Asserts that two outputs are bit-identical.
fn assert_bits(ctx: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{ctx}: shapes differ");
    for (i, (g, w)) in got.as_slice().iter().zip(want.as_slice()).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{ctx}: element {i}: run_par gives {g}, run gives {w}");
    }
}

/// Runs `run_par` under every thread setting and compares it with the expected output of
/// `run`; `par_run` fills the given output.
fn check_par(
    ctx: &str,
    threads: &[Threads],
    want: &Tensor,
    par_run: impl Fn(&mut Tensor, &Par<'_>) -> Result<(), Error> + Sync,
) {
    for t in threads {
        let mut got = Tensor::zeros(want.shape()).expect("valid shape");
        t.run(|par| par_run(&mut got, par)).unwrap_or_else(|e| panic!("{ctx}, {t:?}: {e}"));
        assert_bits(&format!("{ctx}, {t:?}"), &got, want);
    }
}

#[test]
fn conv2d_run_par_matches_run_on_every_path() {
    let threads = all_threads();
    let mut paths = [0usize; 4];
    for isa in Isa::available() {
        for case in 0..4 * CASES {
            let seed = 0x7c0_0000 + case;
            let r = &mut rng(seed);
            let (in_c, out_c, groups) = match case % 4 {
                0 => {
                    let c = r.random_range(1..=20);
                    (c, c, c)
                }
                1 => (r.random_range(1..=12), r.random_range(1..=20), 1),
                2 => {
                    let g = r.random_range(2..=4);
                    (g * r.random_range(1..=4), g * r.random_range(1..=6), g)
                }
                _ => (r.random_range(1..=16), r.random_range(1..=24), 1),
            };
            let mut g = rand_geometry(r, in_c, out_c, groups);
            if case % 4 == 3 {
                // Pointwise: 1×1, stride 1, no padding, one group.
                g = Conv2dGeometry::new(g.batch, g.in_h, g.in_w, in_c, out_c, 1, 1);
            }
            let weights = rand_vec(r, g.validate().expect("valid").weight_len);
            let bias = rand_bias(r, out_c);
            let act = rand_act(r);
            let op = Conv2d::with_isa(isa, g, &weights, bias.as_deref(), act).expect("plan");
            paths[match op.path() {
                ConvPath::Depthwise => 0,
                ConvPath::Pointwise => 1,
                ConvPath::Grouped => 2,
                ConvPath::Dense => 3,
            }] += 1;
            let input = rand_tensor(r, op.input_shape());
            let mut want = Tensor::zeros(conv2d_output_shape(&g).expect("valid")).expect("shape");
            op.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} {:?} {g:?}", op.path());
            check_par(&ctx, &threads, &want, |out, par| op.run_par(input.view(), out.view_mut(), par));
        }
    }
    assert!(paths.iter().all(|&p| p > 0), "every path was exercised: {paths:?}");
}

#[test]
fn depthwise_run_par_matches_run() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..2 * CASES {
            let seed = 0xd30_0000 + case;
            let r = &mut rng(seed);
            let c = [1, 3, 8, 13, 16, 32][r.random_range(0..6)];
            let mut g = rand_geometry(r, c, c, c);
            if case % 3 == 0 {
                // The specialised 3×3 kernels (stride 1 or 2, dilation 1).
                let s = r.random_range(1..=2);
                g = Conv2dGeometry { kernel_h: 3, kernel_w: 3, dilation_h: 1, dilation_w: 1, ..g }
                    .with_stride(s, s)
                    .with_padding(Padding2d::uniform(r.random_range(0..=1)));
                if g.validate().is_err() {
                    g.padding = Padding2d::uniform(1);
                    g.in_w = g.in_w.max(2);
                }
            }
            let weights = rand_vec(r, g.kernel_h * g.kernel_w * c);
            let bias = rand_bias(r, c);
            let act = rand_act(r);
            let op = DepthwiseConv2d::with_isa(isa, g, &weights, bias.as_deref(), act).expect("plan");
            let input = rand_tensor(r, op.input_shape());
            let mut want = Tensor::zeros(op.output_shape()).expect("shape");
            op.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} {} {g:?}", op.kernel_name());
            check_par(&ctx, &threads, &want, |out, par| op.run_par(input.view(), out.view_mut(), par));
        }
    }
}

/// Bands of exactly one output row: heights 1–6 over 3 threads (up to 12 bands), batch 2
/// (bands that span two images), and paddings that make the edge bands mostly padding.
#[test]
fn one_row_bands_match_run() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..CASES {
            let seed = 0x1_0000 + case;
            let r = &mut rng(seed);
            let c = r.random_range(1..=10);
            let (k, s): (usize, usize) = (r.random_range(1..=4), r.random_range(1..=2));
            let pad = r.random_range(0..=3).min(k - 1);
            let in_h = r.random_range(1..=6).max(k.saturating_sub(2 * pad));
            let g = Conv2dGeometry::depthwise(2, in_h, r.random_range(k..=k + 4), c, k, k)
                .with_stride(s, s)
                .with_padding(Padding2d::uniform(pad));
            let weights = rand_vec(r, k * k * c);
            let op = DepthwiseConv2d::with_isa(isa, g, &weights, None, Activation::None).expect("plan");
            let input = rand_tensor(r, op.input_shape());
            let mut want = Tensor::zeros(op.output_shape()).expect("shape");
            op.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} {g:?}");
            check_par(&ctx, &threads, &want, |out, par| op.run_par(input.view(), out.view_mut(), par));
        }
    }
}

#[test]
fn pointwise_and_dense_run_par_match_run() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..CASES {
            let seed = 0x9e0_0000 + case;
            let r = &mut rng(seed);
            let shape = Shape4::new(r.random_range(1..=2), r.random_range(1..=20), r.random_range(1..=9), 0);
            let (in_c, out_c) = (r.random_range(1..=40), r.random_range(1..=40));
            let shape = Shape4 { c: in_c, ..shape };
            let weights = rand_vec(r, in_c * out_c);
            let bias = rand_bias(r, out_c);
            let act = rand_act(r);
            let op =
                PointwiseConv2d::with_isa(isa, shape, out_c, &weights, bias.as_deref(), act).expect("plan");
            let input = rand_tensor(r, shape);
            let mut want = Tensor::zeros(op.output_shape()).expect("shape");
            op.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} pointwise {shape} -> {out_c}");
            check_par(&ctx, &threads, &want, |out, par| op.run_par(input.view(), out.view_mut(), par));

            let batch = r.random_range(1..=40);
            let dense =
                Dense::with_isa(isa, batch, in_c, out_c, &weights, bias.as_deref(), act).expect("plan");
            let input = rand_tensor(r, dense.input_shape());
            let mut want = Tensor::zeros(dense.output_shape()).expect("shape");
            dense.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} dense {batch}x{in_c} -> {out_c}");
            check_par(&ctx, &threads, &want, |out, par| dense.run_par(input.view(), out.view_mut(), par));
        }
    }
}

#[test]
fn separable_run_par_matches_run() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..2 * CASES {
            let seed = 0x5e9_0000 + case;
            let r = &mut rng(seed);
            let c = [1, 2, 3, 8, 12, 16][r.random_range(0..6)];
            let (in_h, kh, sh, dh, top, bottom) = rand_axis(r, 20);
            let (in_w, kw, sw, dw, left, right) = rand_axis(r, 12);
            let input_shape = Shape4::new(r.random_range(1..=2), in_h, in_w, c);
            let row =
                SeparablePass1d { kernel: kw, stride: sw, dilation: dw, pad_before: left, pad_after: right };
            let col =
                SeparablePass1d { kernel: kh, stride: sh, dilation: dh, pad_before: top, pad_after: bottom };
            let (rw, cw) = (rand_vec(r, kw * c), rand_vec(r, kh * c));
            let bias = rand_bias(r, c);
            let act = rand_act(r);
            let op = SeparableConv2d::with_isa(isa, input_shape, row, col, &rw, &cw, bias.as_deref(), act)
                .expect("plan");
            let input = rand_tensor(r, input_shape);
            let mut want = Tensor::zeros(op.output_shape()).expect("shape");
            op.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} {input_shape} row {row:?} col {col:?}");
            check_par(&ctx, &threads, &want, |out, par| op.run_par(input.view(), out.view_mut(), par));
            let mut scratch = vec![f32::NAN; op.scratch_len()];
            for t in &threads {
                // Poisoned, so that a band of the row pass left out would show.
                scratch.fill(f32::NAN);
                let mut got = Tensor::zeros(want.shape()).expect("shape");
                t.run(|par| op.run_par_with_scratch(input.view(), got.view_mut(), &mut scratch, par))
                    .expect("run_par_with_scratch");
                assert_bits(&format!("{ctx}, {t:?}, own scratch"), &got, &want);
            }
        }
    }
}

#[test]
fn elementwise_and_pool_run_par_match_run() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..CASES {
            let seed = 0xadd_0000 + case;
            let r = &mut rng(seed);
            let shape = Shape4::new(
                r.random_range(1..=2),
                r.random_range(1..=20),
                r.random_range(1..=20),
                r.random_range(1..=70),
            );
            let act = rand_act(r);
            let (a, b) = (rand_tensor(r, shape), rand_tensor(r, shape));

            let add = Add::with_isa(isa, shape, act).expect("plan");
            let mut want = Tensor::zeros(shape).expect("shape");
            add.run(a.view(), b.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} add {shape}");
            check_par(&ctx, &threads, &want, |out, par| add.run_par(a.view(), b.view(), out.view_mut(), par));

            let op = ActivationOp::with_isa(isa, shape, act).expect("plan");
            let mut want = Tensor::zeros(shape).expect("shape");
            op.run(a.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} activation {shape}");
            check_par(&ctx, &threads, &want, |out, par| op.run_par(a.view(), out.view_mut(), par));

            let pool = GlobalAvgPool::with_isa(isa, shape).expect("plan");
            let mut want = Tensor::zeros(pool.output_shape()).expect("shape");
            pool.run(a.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} seed {seed:#x} pool {shape}");
            check_par(&ctx, &threads, &want, |out, par| pool.run_par(a.view(), out.view_mut(), par));
        }
    }
}

/// Larger layers with the default band size (the split used in practice).
#[test]
fn standard_layers_match_run_with_default_bands() {
    let threads = [Threads::new(2, false).expect("2 threads"), Threads::new(3, false).expect("3 threads")];
    let r = &mut rng(0x1a7e5);
    for isa in Isa::available() {
        let layers = [
            Conv2dGeometry::depthwise(1, 56, 56, 32, 3, 3).with_padding(Padding2d::uniform(1)),
            Conv2dGeometry::depthwise(1, 57, 57, 24, 3, 3)
                .with_stride(2, 2)
                .with_padding(Padding2d::uniform(1)),
            Conv2dGeometry::depthwise(2, 30, 30, 40, 5, 5).with_padding(Padding2d::uniform(2)),
            Conv2dGeometry::new(1, 56, 56, 3, 16, 3, 3).with_stride(2, 2).with_padding(Padding2d::uniform(1)),
            Conv2dGeometry::new(1, 28, 28, 32, 64, 1, 1),
            Conv2dGeometry::new(1, 28, 28, 32, 32, 3, 3).with_groups(4).with_padding(Padding2d::uniform(1)),
        ];
        for g in layers {
            let weights = rand_vec(r, g.validate().expect("valid").weight_len);
            let bias = rand_vec(r, g.out_c);
            let op = Conv2d::with_isa(isa, g, &weights, Some(&bias), Activation::Relu6).expect("plan");
            let input = rand_tensor(r, op.input_shape());
            let mut want = Tensor::zeros(op.output_shape()).expect("shape");
            op.run(input.view(), want.view_mut()).expect("run");
            let ctx = format!("{isa} {:?} {g:?}", op.path());
            check_par(&ctx, &threads, &want, |out, par| op.run_par(input.view(), out.view_mut(), par));
        }
    }
}

#[test]
fn run_par_reports_shape_mismatches_and_leaves_the_output() {
    let threads = Threads::new(2, false).expect("2 threads").with_band_flops(0);
    let g = Conv2dGeometry::depthwise(1, 8, 8, 4, 3, 3).with_padding(Padding2d::uniform(1));
    let op = DepthwiseConv2d::new(g, &[0.5; 36], None, Activation::None).expect("plan");
    let wrong = Tensor::zeros(Shape4::new(1, 7, 8, 4)).expect("shape");
    let mut out = Tensor::from_vec(op.output_shape(), vec![-7.25; 256]).expect("shape");
    for t in [&threads, &Threads::single()] {
        let err = t.run(|par| op.run_par(wrong.view(), out.view_mut(), par)).expect_err("wrong input");
        assert!(
            matches!(err, Error::ShapeMismatch { op: "DepthwiseConv2d", what: "input", .. }),
            "{t:?}: {err}"
        );
        assert!(out.as_slice().iter().all(|&v| v == -7.25), "{t:?}: the output was written to");
    }
    let input = Tensor::zeros(op.input_shape()).expect("shape");
    let mut small = Tensor::zeros(Shape4::new(1, 8, 8, 3)).expect("shape");
    let err = threads.run(|par| op.run_par(input.view(), small.view_mut(), par)).expect_err("wrong output");
    assert!(matches!(err, Error::ShapeMismatch { what: "output", .. }), "{err}");

    let add = Add::new(Shape4::new(1, 4, 4, 8), Activation::None).expect("plan");
    let a = Tensor::zeros(Shape4::new(1, 4, 4, 8)).expect("shape");
    let b = Tensor::zeros(Shape4::new(1, 4, 4, 7)).expect("shape");
    let mut o = Tensor::zeros(Shape4::new(1, 4, 4, 8)).expect("shape");
    let err = threads.run(|par| add.run_par(a.view(), b.view(), o.view_mut(), par)).expect_err("wrong b");
    assert!(matches!(err, Error::ShapeMismatch { op: "Add", what: "b", .. }), "{err}");

    let sep = SeparableConv2d::new(
        Shape4::new(1, 6, 6, 2),
        SeparablePass1d::new(3, 1),
        SeparablePass1d::new(3, 1),
        &[0.1; 6],
        &[0.1; 6],
        None,
        Activation::None,
    )
    .expect("plan");
    let x = Tensor::zeros(Shape4::new(1, 6, 6, 2)).expect("shape");
    let mut y = Tensor::zeros(sep.output_shape()).expect("shape");
    let mut scratch = vec![0.0; sep.scratch_len() - 1];
    let err = threads
        .run(|par| sep.run_par_with_scratch(x.view(), y.view_mut(), &mut scratch, par))
        .expect_err("short scratch");
    assert!(matches!(err, Error::Kernel { op: "SeparableConv2d", .. }), "{err}");
}

#[test]
fn zero_threads_is_an_error_and_counts_are_reported() {
    let err = Threads::new(0, false).expect_err("0 threads");
    assert!(matches!(err, Error::InvalidParam { op: "Threads", what: "threads", value: 0, .. }), "{err}");
    assert!(err.to_string().contains("threads"), "{err}");
    assert_eq!(Threads::new(1, false).expect("1 thread").count(), 1);
    assert_eq!(Threads::single().count(), 1);
    let t = Threads::new(3, false).expect("3 threads");
    assert_eq!(t.count(), 3);
    assert_eq!(t.run(|par| par.threads()), 3);
    assert_eq!(Threads::single().run(|par| (par.threads(), par.is_single())), (1, true));
}

#[test]
fn pinning_works_or_is_reported() {
    // Pinning may be refused (a restricted cpuset): then it is an error, not a panic.
    match Threads::new(2, true) {
        Ok(t) => assert_eq!(t.run(|par| par.threads()), 2),
        Err(e) => assert!(matches!(e, Error::InvalidParam { op: "Threads", .. }), "{e}"),
    }
}

#[test]
fn a_panicking_job_resumes_in_the_caller_and_the_threads_stay_usable() {
    for t in [Threads::single(), Threads::new(2, false).expect("2 threads")] {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            t.run(|_| -> u32 { panic!("job panics") });
        }));
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"job panics"));

        // A panic in one band of several.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            t.run(|par| {
                par.for_each_band(64, 1, |rows| {
                    assert!(!rows.contains(&40), "band panics");
                    Ok::<(), ()>(())
                })
            })
        }));
        assert!(caught.is_err(), "{t:?}: the band's panic reaches the caller");

        // Still usable: a full run gives the right answer.
        let mut data = vec![0usize; 1000];
        let sum = t.run(|par| {
            par.for_each_band_mut(&mut data, 4, 3, |rows, band| {
                for (row, chunk) in rows.zip(band.chunks_exact_mut(4)) {
                    chunk.fill(row);
                }
                Ok::<(), ()>(())
            })
            .expect("no error");
            data.iter().sum::<usize>()
        });
        assert_eq!(sum, 4 * (0..250).sum::<usize>(), "{t:?}");
    }
}

#[test]
fn band_errors_are_returned_and_runs_nest_and_take_turns() {
    let t = Threads::new(2, false).expect("2 threads");
    let err = t.run(|par| {
        par.for_each_band(100, 1, |rows| if rows.contains(&77) { Err(rows.start) } else { Ok(()) })
    });
    let start = err.expect_err("one band fails");
    assert!(start <= 77, "{start}");

    // A run from inside a run (on a pool thread) runs inline instead of deadlocking.
    assert_eq!(t.run(|_| t.run(|par| par.threads())), 2);

    // Concurrent callers take turns.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let t = &t;
                s.spawn(move || {
                    (0..50)
                        .map(|j| {
                            t.run(|par| {
                                let total = AtomicUsize::new(0);
                                par.for_each_band(i * 10 + j, 1, |rows| {
                                    total.fetch_add(rows.len(), Ordering::Relaxed);
                                    Ok::<(), ()>(())
                                })
                                .expect("no error");
                                total.into_inner()
                            })
                        })
                        .sum::<usize>()
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().expect("no panic"), (0..50).map(|j| i * 10 + j).sum::<usize>());
        }
    });
}

#[test]
fn dropping_threads_does_not_hang() {
    for n in [2, 3, 4] {
        let t = Threads::new(n, false).expect("threads");
        drop(t);
        // Dropped before any run, and after some.
        let t = Threads::new(n, false).expect("threads");
        for _ in 0..3 {
            t.run(|par| par.for_each_band(10, 1, |_| Ok::<(), ()>(()))).expect("run");
        }
        drop(t);
    }
}

/// Depthwise 1×k convolutions (stride 1 and no padding vertically) run the row-pass kernel and
/// k×1 ones (likewise horizontally) the column-pass kernel, on every tier: the output matches
/// the reference convolution (within `1e-5 · (|b| + Σ|x·w|)`, f32 accumulation) and `run_par`
/// is bit-identical to `run`.
#[test]
fn depthwise_1xk_and_kx1_route_to_the_separable_pass_kernels() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..2 * CASES {
            let seed = 0x5e9_0000 + case;
            let r = &mut rng(seed);
            let c = r.random_range(1..=20);
            let row = case % 2 == 0;
            let k = r.random_range(1..=7);
            let (s, d) = (r.random_range(1..=3), r.random_range(1..=2));
            let (pb, pa) = (r.random_range(0..=3), r.random_range(0..=3));
            let (h, w) = (r.random_range(1..=9), r.random_range(1..=9));
            let mut g = Conv2dGeometry::depthwise(r.random_range(1..=2), h, w, c, 1, 1);
            if row {
                g = Conv2dGeometry { kernel_w: k, ..g }.with_stride(1, s).with_dilation(1, d);
                g = g.with_padding(Padding2d { top: 0, bottom: 0, left: pb, right: pa });
            } else {
                g = Conv2dGeometry { kernel_h: k, ..g }.with_stride(s, 1).with_dilation(d, 1);
                g = g.with_padding(Padding2d { top: pb, bottom: pa, left: 0, right: 0 });
            }
            if g.validate().is_err() {
                continue; // the dilated kernel does not fit
            }
            let weights = rand_vec(r, g.validate().expect("valid").weight_len);
            let bias = rand_bias(r, c);
            let act = rand_act(r);
            let op = Conv2d::with_isa(isa, g, &weights, bias.as_deref(), act).expect("plan");
            // A 1×1 kernel with no stride or padding on either axis is a row pass.
            let plain = k == 1 && s == 1 && pb == 0 && pa == 0;
            let want_kernel = if row || plain { "row_pass/" } else { "col_pass/" };
            let ctx = format!("{isa} seed {seed:#x} {g:?}");
            assert!(op.kernel_name().starts_with(want_kernel), "{ctx}: {}", op.kernel_name());
            assert_eq!(op.path(), ConvPath::Depthwise, "{ctx}");
            let input = rand_tensor(r, op.input_shape());
            let mut got = Tensor::zeros(op.output_shape()).expect("shape");
            op.run(input.view(), got.view_mut()).expect("run");
            let mut exact = vec![0.0f32; got.as_slice().len()];
            let mut scale = vec![0.0f32; exact.len()];
            sepconv::kernels::reference::conv2d(
                &g,
                input.as_slice(),
                &weights,
                bias.as_deref(),
                act,
                &mut exact,
            )
            .expect("reference");
            let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
            let abs_bias = bias.as_deref().map(abs);
            sepconv::kernels::reference::conv2d(
                &g,
                &abs(input.as_slice()),
                &abs(&weights),
                abs_bias.as_deref(),
                Activation::None,
                &mut scale,
            )
            .expect("reference on magnitudes");
            for (i, ((x, e), m)) in got.as_slice().iter().zip(&exact).zip(&scale).enumerate() {
                assert!((x - e).abs() <= 1e-5 * m, "{ctx}: element {i}: {x} vs reference {e}");
            }
            check_par(&ctx, &threads, &got, |out, par| op.run_par(input.view(), out.view_mut(), par));
        }
    }
}

/// A batch-1 dense layer with many outputs (a classifier head) is planned as column chunks so
/// that threads can split the outputs: on every tier it matches the reference dense layer
/// (within `1e-5 · (|b| + Σ|x·w|)`), and `run_par` is bit-identical to `run`. Output counts
/// with 4, 2 and no chunks (and a short weight slice is still an error).
#[test]
fn batch_one_dense_splits_its_outputs_across_threads() {
    let threads = all_threads();
    for isa in Isa::available() {
        for (case, out_c) in [1000usize, 1024, 600, 256, 130, 17].into_iter().enumerate() {
            let seed = 0xde_0000 + case as u64;
            let r = &mut rng(seed);
            let in_c = r.random_range(1..=70);
            let weights = rand_vec(r, in_c * out_c);
            let bias = rand_bias(r, out_c);
            let act = rand_act(r);
            let dense = Dense::with_isa(isa, 1, in_c, out_c, &weights, bias.as_deref(), act).expect("plan");
            let input = rand_tensor(r, dense.input_shape());
            let mut got = Tensor::zeros(dense.output_shape()).expect("shape");
            dense.run(input.view(), got.view_mut()).expect("run");
            let shape = sepconv::kernels::PointwiseShape { pixels: 1, in_c, out_c };
            let mut exact = vec![0.0f32; out_c];
            let mut scale = vec![0.0f32; out_c];
            sepconv::kernels::reference::pointwise(
                &shape,
                input.as_slice(),
                &weights,
                bias.as_deref(),
                act,
                &mut exact,
            )
            .expect("reference");
            let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
            let abs_bias = bias.as_deref().map(abs);
            sepconv::kernels::reference::pointwise(
                &shape,
                &abs(input.as_slice()),
                &abs(&weights),
                abs_bias.as_deref(),
                Activation::None,
                &mut scale,
            )
            .expect("reference on magnitudes");
            let ctx = format!("{isa} seed {seed:#x} dense 1x{in_c} -> {out_c}");
            for (i, ((x, e), m)) in got.as_slice().iter().zip(&exact).zip(&scale).enumerate() {
                assert!((x - e).abs() <= 1e-5 * m, "{ctx}: output {i}: {x} vs reference {e}");
            }
            check_par(&ctx, &threads, &got, |out, par| dense.run_par(input.view(), out.view_mut(), par));
            let short = Dense::with_isa(isa, 1, in_c, out_c, &weights[1..], bias.as_deref(), act);
            assert!(short.is_err(), "{ctx}: a short weight slice was accepted");
        }
    }
}

/// Per-channel PRelu: `run` is `x` where `x >= 0` (NaN kept) and `slope[c] · x` below, for
/// random shapes on every tier; `run_par` matches it bit for bit under every thread setting.
/// A slope of the wrong length or with a non-finite value is refused when planning.
#[test]
fn prelu_channels_run_is_exact_and_run_par_matches_it() {
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..CASES {
            let seed = 0x7e1_0000 + case;
            let r = &mut rng(seed);
            let shape = Shape4::new(
                r.random_range(1..=2),
                r.random_range(1..=7),
                r.random_range(1..=9),
                r.random_range(1..=19),
            );
            let slope: Vec<f32> = (0..shape.c).map(|_| r.random_range(-2.0..2.0f32)).collect();
            let mut data: Vec<f32> =
                (0..shape.validate().unwrap()).map(|_| r.random_range(-3.0..3.0f32)).collect();
            data[0] = f32::NAN;
            let x = Tensor::from_vec(shape, data).unwrap();
            let op = PRelu::with_isa(isa, shape, &slope).unwrap();
            let mut want = Tensor::zeros(shape).unwrap();
            op.run(x.view(), want.view_mut()).unwrap();
            for (i, (&y, &v)) in want.as_slice().iter().zip(x.as_slice()).enumerate() {
                let e = if v < 0.0 { v * slope[i % shape.c] } else { v };
                assert!(
                    y.to_bits() == e.to_bits(),
                    "seed {seed:#x}, {isa}, {shape}: element {i}: {y} != {e}"
                );
            }
            check_par(&format!("prelu seed {seed:#x}, {isa}, {shape}"), &threads, &want, |out, par| {
                op.run_par(x.view(), out.view_mut(), par)
            });
        }
    }
    let shape = Shape4::new(1, 2, 2, 3);
    assert!(PRelu::with_isa(Isa::Scalar, shape, &[0.1, 0.2]).is_err());
    assert!(PRelu::with_isa(Isa::Scalar, shape, &[0.1, f32::INFINITY, 0.3]).is_err());
}

/// Resize, nearest and bilinear over random shapes and scales on every tier: `run_par`
/// matches `run` bit for bit under every thread setting.
#[test]
fn resize_run_par_matches_run() {
    use sepconv::graph::{NearestRounding, ResizeCoord, ResizeMode, ResizeSpec};
    let threads = all_threads();
    let modes = [
        ResizeMode::Linear,
        ResizeMode::Nearest(NearestRounding::RoundPreferFloor),
        ResizeMode::Nearest(NearestRounding::Ceil),
    ];
    let coords = [
        ResizeCoord::HalfPixel,
        ResizeCoord::PytorchHalfPixel,
        ResizeCoord::AlignCorners,
        ResizeCoord::Asymmetric,
    ];
    for isa in Isa::available() {
        for case in 0..CASES {
            let seed = 0x7e2_0000 + case;
            let r = &mut rng(seed);
            let shape = Shape4::new(
                r.random_range(1..=2),
                r.random_range(1..=8),
                r.random_range(1..=8),
                r.random_range(1..=11),
            );
            let (out_h, out_w) = (r.random_range(1..=13), r.random_range(1..=13));
            let spec = ResizeSpec {
                out_h,
                out_w,
                scale_h: out_h as f32 / shape.h as f32,
                scale_w: out_w as f32 / shape.w as f32,
                mode: modes[case as usize % modes.len()],
                coord: coords[case as usize / modes.len() % coords.len()],
            };
            let x = rand_tensor(r, shape);
            let op = Resize::with_isa(isa, shape, &spec).unwrap();
            let mut want = Tensor::zeros(op.output_shape()).unwrap();
            op.run(x.view(), want.view_mut()).unwrap();
            check_par(
                &format!("resize seed {seed:#x}, {isa}, {shape}, {spec:?}"),
                &threads,
                &want,
                |out, par| op.run_par(x.view(), out.view_mut(), par),
            );
        }
    }
}

/// Windowed max and average pools over random geometries (window, stride, dilation, padding,
/// windows wholly in the padding included) on every tier: max equals the reference bit for
/// bit (NaN inputs included: NaN propagates); the mean is within 1e-6 of the reference's
/// (which sums in f64) relative to the window's sum of magnitudes; `run_par` matches `run`
/// bit for bit under every thread setting.
#[test]
fn pools_match_the_reference_and_run_par_matches_run() {
    use sepconv::graph::PoolKind;
    use sepconv::kernels::reference;
    let threads = all_threads();
    for isa in Isa::available() {
        for case in 0..2 * CASES {
            let seed = 0x7e3_0000 + case;
            let r = &mut rng(seed);
            let c = r.random_range(1..=13);
            let (in_h, kh, sh, dh, top, bottom) = rand_axis(r, 9);
            let (in_w, kw, sw, dw, left, right) = rand_axis(r, 9);
            let g = Conv2dGeometry::depthwise(r.random_range(1..=2), in_h, in_w, c, kh, kw)
                .with_stride(sh, sw)
                .with_dilation(dh, dw)
                .with_padding(Padding2d { top, left, bottom, right });
            let shape = Shape4::new(g.batch, in_h, in_w, c);
            let mut x = rand_tensor(r, shape);
            if case % 3 == 0 {
                let len = x.as_slice().len();
                x.as_mut_slice()[r.random_range(0..len)] = f32::NAN;
            }
            let kinds = [
                PoolKind::Max,
                PoolKind::Avg { count_include_pad: true },
                PoolKind::Avg { count_include_pad: false },
            ];
            for kind in kinds {
                let ctx = format!("seed {seed:#x}, {isa}, {g:?}, {kind:?}");
                let op = Pool2d::with_isa(isa, g, kind).unwrap();
                let mut got = Tensor::zeros(op.output_shape()).unwrap();
                op.run(x.view(), got.view_mut()).unwrap();
                let mut want = vec![0.0; got.as_slice().len()];
                match kind {
                    PoolKind::Max => reference::max_pool(&g, x.as_slice(), &mut want).unwrap(),
                    PoolKind::Avg { count_include_pad } => {
                        reference::avg_pool(&g, count_include_pad, x.as_slice(), &mut want).unwrap()
                    }
                }
                let abs: Vec<f32> = x.as_slice().iter().map(|v| v.abs()).collect();
                let mut mag = vec![0.0; want.len()];
                reference::avg_pool(&g, true, &abs, &mut mag).unwrap();
                let window = (kh * kw) as f32;
                for (i, (&a, &b)) in got.as_slice().iter().zip(&want).enumerate() {
                    let same = a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
                    let close = kind != PoolKind::Max && (a - b).abs() <= 1e-6 * (mag[i] * window).max(1e-30);
                    assert!(same || close, "{ctx}: element {i}: {a} vs reference {b}");
                }
                check_par(&ctx, &threads, &got, |out, par| op.run_par(x.view(), out.view_mut(), par));
            }
        }
    }
    let g = Conv2dGeometry::new(1, 4, 4, 4, 8, 2, 2).with_groups(4);
    assert!(Pool2d::with_isa(Isa::Scalar, g, PoolKind::Max).is_err());
}
