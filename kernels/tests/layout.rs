//! The transpose kernels used for NCHW <-> NHWC conversion, against a naive transpose: every
//! row and column count 1..=40 (every remainder of the 8×8 AVX2 blocks and the 16×16 portable
//! blocks) plus a few large shapes; the result must be an exact copy. Error paths write nothing.

use sepconv_kernels::{KernelError, layout, portable};

type TransposeFn = fn(usize, usize, &[f32], &mut [f32]) -> Result<(), KernelError>;

fn kernels() -> Vec<(&'static str, TransposeFn)> {
    #[allow(unused_mut)]
    let mut k: Vec<(&'static str, TransposeFn)> =
        vec![("portable", portable::layout::transpose), ("dispatched", layout::transpose)];
    #[cfg(target_arch = "x86_64")]
    if sepconv_kernels::x86_64::is_available() {
        k.push(("avx2", sepconv_kernels::x86_64::layout::transpose));
    }
    k
}

fn check(name: &str, f: TransposeFn, rows: usize, cols: usize) {
    let src: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.5 - 3.0).collect();
    let mut dst = vec![f32::NAN; rows * cols];
    f(rows, cols, &src, &mut dst).unwrap();
    for r in 0..rows {
        for c in 0..cols {
            assert_eq!(
                dst[c * rows + r].to_bits(),
                src[r * cols + c].to_bits(),
                "{name} {rows}x{cols} at ({r}, {c})"
            );
        }
    }
}

#[test]
fn transposes_are_exact_for_every_remainder() {
    for (name, f) in kernels() {
        for rows in 1..=40 {
            for cols in 1..=40 {
                check(name, f, rows, cols);
            }
        }
        for (rows, cols) in
            [(3, 50176), (50176, 3), (32, 12544), (12544, 32), (1, 1000), (1000, 1), (97, 131)]
        {
            check(name, f, rows, cols);
        }
    }
}

#[test]
fn errors_write_nothing() {
    for (name, f) in kernels() {
        let mut dst = vec![7.0f32; 6];
        let e = f(2, 3, &[0.0; 5], &mut dst).unwrap_err();
        assert_eq!(e, KernelError::LengthMismatch { what: "src", expected: 6, actual: 5 }, "{name}");
        let e = f(2, 3, &[0.0; 6], &mut dst[..5]).unwrap_err();
        assert_eq!(e, KernelError::LengthMismatch { what: "dst", expected: 6, actual: 5 }, "{name}");
        assert!(matches!(f(usize::MAX, 2, &[], &mut []), Err(KernelError::Overflow { .. })), "{name}");
        assert!(dst.iter().all(|&v| v == 7.0), "{name}");
        f(0, 5, &[], &mut []).unwrap();
    }
}
