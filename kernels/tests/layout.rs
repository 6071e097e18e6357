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

type StridedFn = fn(usize, usize, &[f32], usize, &mut [f32], usize) -> Result<(), KernelError>;

fn strided_kernels() -> Vec<(&'static str, StridedFn)> {
    #[allow(unused_mut)]
    let mut k: Vec<(&'static str, StridedFn)> =
        vec![("portable", portable::layout::transpose_strided), ("dispatched", layout::transpose_strided)];
    #[cfg(target_arch = "x86_64")]
    if sepconv_kernels::x86_64::is_available() {
        k.push(("avx2", sepconv_kernels::x86_64::layout::transpose_strided));
    }
    k
}

/// Sub-matrices at strides larger than their rows: exactly the target elements are written.
#[test]
fn strided_transposes_write_exactly_the_submatrix() {
    const SENTINEL: f32 = -7.25;
    for (name, f) in strided_kernels() {
        for rows in [1usize, 2, 3, 7, 8, 9, 16, 17, 33] {
            for cols in [1usize, 3, 8, 9, 15, 24, 31] {
                let (ld_src, ld_dst) = (cols + rows % 5, rows + cols % 3 + 1);
                let src: Vec<f32> = (0..(rows - 1) * ld_src + cols).map(|i| i as f32).collect();
                let mut dst = vec![SENTINEL; (cols - 1) * ld_dst + rows + 4];
                f(rows, cols, &src, ld_src, &mut dst, ld_dst).unwrap();
                for (i, &v) in dst.iter().enumerate() {
                    let (c, r) = (i / ld_dst, i % ld_dst);
                    if c < cols && r < rows {
                        assert_eq!(v, src[r * ld_src + c], "{name} {rows}x{cols} ({r}, {c})");
                    } else {
                        assert_eq!(
                            v.to_bits(),
                            SENTINEL.to_bits(),
                            "{name} {rows}x{cols}: stray write at {i}"
                        );
                    }
                }
            }
        }
        let mut dst = vec![SENTINEL; 12];
        let e = f(3, 4, &[0.0; 12], 3, &mut dst, 3).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "src row stride", .. }), "{name}: {e:?}");
        let e = f(3, 4, &[0.0; 11], 4, &mut dst, 3).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "src", .. }), "{name}: {e:?}");
        let e = f(3, 4, &[0.0; 12], 4, &mut dst[..11], 3).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "dst", .. }), "{name}: {e:?}");
        assert!(dst.iter().all(|v| v.to_bits() == SENTINEL.to_bits()), "{name}: written on error");
    }
}
