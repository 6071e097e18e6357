//! The portable elementwise kernels (add, global average pool), which every SIMD tier uses, and
//! the portable tier's standalone activation (on clamps), against the reference oracle.
//!
//! Add and activation are exact (one IEEE add and two comparisons per element), so the outputs
//! must equal the reference bit for bit, NaN included. The average pool sums in `f32` where the
//! reference sums in `f64`: each output must be within `1e-5 · mean(|x|)` (plus 1e-30 for an
//! all-zero channel) of the reference, far below a missing or doubled pixel (`mean/pixels`
//! with at most 97 pixels here, i.e. ≥ 1e-2 · mean). Lengths sweep every remainder of the
//! 8-lane vectors and the 32-channel pool blocks. Seeds are printed on failure.

mod common;

use common::{rand_act, rand_vec, rng};
use rand::RngExt;
use sepconv_kernels::reference::{self, GlobalPoolShape};
use sepconv_kernels::{Activation, KernelError, portable, portable::elementwise as e};

const SENTINEL: f32 = -12345.625;

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

#[test]
fn add_and_activation_match_the_reference_exactly() {
    for seed in 0..400u64 {
        let mut r = rng(seed);
        let len = (seed as usize) % 70;
        let mut a = rand_vec(&mut r, len);
        let b = rand_vec(&mut r, len);
        if len > 3 && seed % 5 == 0 {
            a[r.random_range(0..len)] = f32::NAN;
            a[r.random_range(0..len)] = f32::INFINITY;
        }
        let act = rand_act(&mut r);
        let mut want = vec![0.0; len];
        let mut got = vec![SENTINEL; len];
        reference::add(&a, &b, act, &mut want).unwrap();
        e::add(&a, &b, act, &mut got).unwrap();
        assert!(same_bits(&got, &want), "add seed {seed} len {len} {act:?}: {got:?} vs {want:?}");
        reference::activation(act, &a, &mut want).unwrap();
        portable::activation::activation(act, &a, &mut got).unwrap();
        assert!(same_bits(&got, &want), "activation seed {seed} len {len} {act:?}: {got:?} vs {want:?}");
    }
}

#[test]
fn global_avg_pool_matches_the_reference() {
    for seed in 0..300u64 {
        let mut r = rng(1000 + seed);
        let s = GlobalPoolShape {
            batch: r.random_range(1..=3),
            pixels: r.random_range(1..=97),
            channels: r.random_range(1..=75),
        };
        let input = rand_vec(&mut r, s.batch * s.pixels * s.channels);
        let mut want = vec![0.0; s.batch * s.channels];
        let mut got = vec![SENTINEL; s.batch * s.channels];
        reference::global_avg_pool(&s, &input, &mut want).unwrap();
        e::global_avg_pool(&s, &input, &mut got).unwrap();
        let abs: Vec<f32> = input.iter().map(|x| x.abs()).collect();
        let mut scale = vec![0.0; s.batch * s.channels];
        reference::global_avg_pool(&s, &abs, &mut scale).unwrap();
        for (i, ((g, w), m)) in got.iter().zip(&want).zip(&scale).enumerate() {
            assert!((g - w).abs() <= 1e-5 * m + 1e-30, "seed {seed} {s:?} output {i}: {g} vs {w}");
        }
    }
    // NaN in one pixel of one channel makes exactly that channel NaN.
    let s = GlobalPoolShape { batch: 1, pixels: 5, channels: 40 };
    let mut input = vec![1.0; 200];
    input[3 * 40 + 33] = f32::NAN;
    let mut got = vec![0.0; 40];
    e::global_avg_pool(&s, &input, &mut got).unwrap();
    for (c, v) in got.iter().enumerate() {
        assert_eq!(v.is_nan(), c == 33, "channel {c}: {v}");
    }
}

#[test]
fn errors_write_nothing() {
    let mut out = vec![SENTINEL; 8];
    let untouched = |o: &[f32]| o.iter().all(|v| v.to_bits() == SENTINEL.to_bits());
    assert_eq!(
        e::add(&[0.0; 8], &[0.0; 7], Activation::None, &mut out),
        Err(KernelError::LengthMismatch { what: "b", expected: 8, actual: 7 })
    );
    assert_eq!(
        e::add(&[0.0; 9], &[0.0; 9], Activation::None, &mut out),
        Err(KernelError::LengthMismatch { what: "output", expected: 9, actual: 8 })
    );
    assert!(matches!(
        portable::activation::activation(Activation::Clamp { min: 1.0, max: 0.0 }, &[0.0; 8], &mut out),
        Err(KernelError::InvalidClamp { .. })
    ));
    let s = GlobalPoolShape { batch: 1, pixels: 2, channels: 4 };
    assert_eq!(
        e::global_avg_pool(&s, &[0.0; 7], &mut out[..4]),
        Err(KernelError::LengthMismatch { what: "input", expected: 8, actual: 7 })
    );
    assert_eq!(
        e::global_avg_pool(&GlobalPoolShape { pixels: 0, ..s }, &[], &mut out[..4]),
        Err(KernelError::Zero { what: "pixels" })
    );
    assert!(untouched(&out));
}
