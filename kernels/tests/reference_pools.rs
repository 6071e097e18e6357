//! Hand-worked cases for the reference max and average pools.

use sepconv_kernels::reference::{avg_pool, max_pool};
use sepconv_kernels::{Conv2dGeometry, KernelError, Padding2d};

/// 1 channel, 3×3 input 1..9 (row-major):
/// ```text
/// 1 2 3
/// 4 5 6
/// 7 8 9
/// ```
const X: [f32; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];

#[test]
fn max_pool_2x2_stride_1() {
    let g = Conv2dGeometry::depthwise(1, 3, 3, 1, 2, 2);
    let mut out = [0.0; 4];
    max_pool(&g, &X, &mut out).unwrap();
    // Windows {1,2,4,5} {2,3,5,6} {4,5,7,8} {5,6,8,9}.
    assert_eq!(out, [5.0, 6.0, 8.0, 9.0]);
}

#[test]
fn max_pool_3x3_stride_2_pad_1_never_picks_padding() {
    // Negative inputs: a zero from the padding would win if padding counted.
    let x: Vec<f32> = X.iter().map(|v| -v).collect();
    let g = Conv2dGeometry::depthwise(1, 3, 3, 1, 3, 3).with_stride(2, 2).with_padding(Padding2d::uniform(1));
    let mut out = [0.0; 4];
    max_pool(&g, &x, &mut out).unwrap();
    // out (0,0): window rows -1..1, cols -1..1 → {-1,-2,-4,-5} → -1; (0,1): cols 1..3 → {-2,-3,-5,-6} → -2.
    assert_eq!(out, [-1.0, -2.0, -4.0, -5.0]);
}

#[test]
fn max_pool_two_channels_and_nan() {
    // 2 channels interleaved (NHWC), 2×1 image, window 2×1.
    let x = [1.0, f32::NAN, 3.0, 2.0];
    let g = Conv2dGeometry::depthwise(1, 2, 1, 2, 2, 1);
    let mut out = [0.0; 2];
    max_pool(&g, &x, &mut out).unwrap();
    assert_eq!(out[0], 3.0);
    assert!(out[1].is_nan());
}

#[test]
fn avg_pool_2x2_stride_2_pad_right_bottom() {
    let g = Conv2dGeometry::depthwise(1, 3, 3, 1, 2, 2).with_stride(2, 2).with_padding(Padding2d {
        top: 0,
        left: 0,
        bottom: 1,
        right: 1,
    });
    let mut excl = [0.0; 4];
    avg_pool(&g, false, &X, &mut excl).unwrap();
    // (0,0): (1+2+4+5)/4 = 3; (0,1): (3+6)/2 = 4.5; (1,0): (7+8)/2 = 7.5; (1,1): 9/1 = 9.
    assert_eq!(excl, [3.0, 4.5, 7.5, 9.0]);
    let mut incl = [0.0; 4];
    avg_pool(&g, true, &X, &mut incl).unwrap();
    // Divisor always 4: 12/4, 9/4, 15/4, 9/4.
    assert_eq!(incl, [3.0, 2.25, 3.75, 2.25]);
}

#[test]
fn avg_pool_3x3_pad_1_counts() {
    let g = Conv2dGeometry::depthwise(1, 3, 3, 1, 3, 3).with_padding(Padding2d::uniform(1));
    let mut out = [0.0; 9];
    avg_pool(&g, false, &X, &mut out).unwrap();
    // Corner (0,0): {1,2,4,5}/4 = 3; centre: 45/9 = 5; edge (0,1): {1,2,3,4,5,6}/6 = 3.5.
    assert_eq!(out[0], 3.0);
    assert_eq!(out[4], 5.0);
    assert_eq!(out[1], 3.5);
}

#[test]
fn pools_refuse_bad_geometry_and_lengths() {
    let mut out = [7.0; 4];
    let not_dw = Conv2dGeometry::new(1, 3, 3, 1, 2, 2, 2);
    assert!(matches!(max_pool(&not_dw, &X, &mut out), Err(KernelError::Unsupported { .. })));
    let g = Conv2dGeometry::depthwise(1, 3, 3, 1, 2, 2);
    assert!(matches!(
        avg_pool(&g, true, &X[..8], &mut out),
        Err(KernelError::LengthMismatch { what: "input", expected: 9, actual: 8 })
    ));
    assert!(matches!(
        max_pool(&g, &X, &mut out[..3]),
        Err(KernelError::LengthMismatch { what: "output", expected: 4, actual: 3 })
    ));
    assert_eq!(out, [7.0; 4]);
}
