//! Integration tests for `sepconv::tensor`.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sepconv::tensor::{
    AlignedBuf, Shape4, Tensor, TensorError, TensorView, TensorViewMut, nchw_to_nhwc, nhwc_to_nchw,
};

fn is_aligned64(p: *const f32) -> bool {
    (p as usize).is_multiple_of(64)
}

/// Reference NCHW -> NHWC conversion by explicit index arithmetic.
fn reference_nchw_to_nhwc(s: Shape4, src: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; src.len()];
    for n in 0..s.n {
        for c in 0..s.c {
            for h in 0..s.h {
                for w in 0..s.w {
                    let nchw = ((n * s.c + c) * s.h + h) * s.w + w;
                    let nhwc = ((n * s.h + h) * s.w + w) * s.c + c;
                    out[nhwc] = src[nchw];
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------- Shape4

#[test]
fn shape_basics() {
    let s = Shape4::new(1, 56, 56, 24);
    assert_eq!(s.to_string(), "1x56x56x24");
    assert_eq!(s.len(), Ok(75264));
    assert_eq!(s.validate(), Ok(75264));
    assert_eq!(s.to_nchw_dims(), [1, 24, 56, 56]);
    assert_eq!(s.to_nhwc_dims(), [1, 56, 56, 24]);
    assert_eq!(Shape4::from_nchw_dims(1, 24, 56, 56), s);
    assert_eq!(Shape4::from_nchw_dims(2, 3, 4, 5), Shape4 { n: 2, h: 4, w: 5, c: 3 });
    // len() tolerates zero dims, validate() does not.
    assert_eq!(Shape4::new(0, 3, 3, 3).len(), Ok(0));
    assert!(Shape4::new(1, 3, 0, 3).is_empty());
    assert!(!s.is_empty());
}

#[test]
fn shape_offset() {
    let s = Shape4::new(2, 3, 4, 5);
    assert_eq!(s.offset(0, 0, 0, 0), Some(0));
    assert_eq!(s.offset(0, 0, 0, 1), Some(1));
    assert_eq!(s.offset(0, 0, 1, 0), Some(5));
    assert_eq!(s.offset(0, 1, 0, 0), Some(20));
    assert_eq!(s.offset(1, 0, 0, 0), Some(60));
    assert_eq!(s.offset(1, 2, 3, 4), Some(119));
    assert_eq!(s.offset(2, 0, 0, 0), None);
    assert_eq!(s.offset(0, 3, 0, 0), None);
    assert_eq!(s.offset(0, 0, 4, 0), None);
    assert_eq!(s.offset(0, 0, 0, 5), None);
    // Overflowing shapes never panic.
    let big = Shape4::new(usize::MAX, usize::MAX, 2, 2);
    assert_eq!(big.offset(usize::MAX - 1, usize::MAX - 1, 1, 1), None);
}

// ---------------------------------------------------------------- errors

#[test]
fn error_zero_dim_each_position() {
    let cases = [
        (Shape4::new(0, 2, 2, 2), "n"),
        (Shape4::new(1, 0, 2, 2), "h"),
        (Shape4::new(1, 2, 0, 2), "w"),
        (Shape4::new(1, 2, 2, 0), "c"),
    ];
    for (shape, dim) in cases {
        let want = TensorError::ZeroDim { dim };
        assert_eq!(shape.validate(), Err(want.clone()), "{shape}");
        assert_eq!(Tensor::zeros(shape), Err(want.clone()), "{shape}");
        assert_eq!(Tensor::from_slice(shape, &[]), Err(want.clone()));
        assert_eq!(Tensor::from_vec(shape, vec![]), Err(want.clone()));
        assert_eq!(Tensor::from_nchw(shape, &[]), Err(want.clone()));
        assert_eq!(Tensor::from_le_bytes(shape, &[]), Err(want.clone()));
        assert_eq!(TensorView::new(shape, &[]).err(), Some(want.clone()));
        assert_eq!(TensorViewMut::new(shape, &mut []).err(), Some(want));
    }
    assert_eq!(
        TensorError::ZeroDim { dim: "h" }.to_string(),
        "dimension h is 0; every dimension must be at least 1"
    );
    // First zero dim (in n, h, w, c order) is reported.
    assert_eq!(Shape4::new(1, 0, 0, 0).validate(), Err(TensorError::ZeroDim { dim: "h" }));
}

#[test]
fn error_overflow() {
    let shape = Shape4::new(1 << 32, 1 << 32, 1, 1);
    let want = TensorError::Overflow { shape };
    if usize::BITS == 64 {
        assert_eq!(want.to_string(), "shape 4294967296x4294967296x1x1 overflows usize");
    }
    let shape = Shape4::new(usize::MAX, 2, 1, 1);
    let want = TensorError::Overflow { shape };
    assert_eq!(shape.len(), Err(want.clone()));
    assert_eq!(shape.validate(), Err(want.clone()));
    assert_eq!(Tensor::zeros(shape), Err(want.clone()));
    assert_eq!(Tensor::from_slice(shape, &[1.0]), Err(want.clone()));
    assert_eq!(Tensor::from_nchw(shape, &[1.0]), Err(want.clone()));
    assert_eq!(TensorView::new(shape, &[1.0]).err(), Some(want.clone()));
    let mut dst = [0.0f32; 1];
    assert_eq!(nchw_to_nhwc(shape, &[1.0], &mut dst), Err(want.clone()));
    assert_eq!(nhwc_to_nchw(shape, &[1.0], &mut dst), Err(want));
    // Overflow in the last multiplication too.
    let s = Shape4::new(2, 2, 2, usize::MAX / 4);
    assert_eq!(s.len(), Err(TensorError::Overflow { shape: s }));
}

#[test]
fn error_too_large_allocation() {
    // usize::MAX floats cannot be allocated; reported, not aborted.
    assert_eq!(AlignedBuf::zeroed(usize::MAX).err(), Some(TensorError::TooLarge { len: usize::MAX }));
    assert_eq!(
        AlignedBuf::zeroed(usize::MAX / 4 + 1).err(),
        Some(TensorError::TooLarge { len: usize::MAX / 4 + 1 })
    );
    // Valid shape whose byte size is too large.
    let s = Shape4::new(usize::MAX / 2, 1, 1, 1);
    assert_eq!(Tensor::zeros(s), Err(TensorError::TooLarge { len: usize::MAX / 2 }));
}

#[test]
fn error_length_mismatch() {
    let shape = Shape4::new(1, 56, 56, 24);
    let data = vec![0.0f32; 75000];
    let want = TensorError::LengthMismatch { shape, expected: 75264, actual: 75000 };
    assert_eq!(want.to_string(), "tensor of shape 1x56x56x24 needs 75264 elements, got 75000");
    assert_eq!(Tensor::from_slice(shape, &data), Err(want.clone()));
    assert_eq!(Tensor::from_vec(shape, data.clone()), Err(want.clone()));
    assert_eq!(Tensor::from_nchw(shape, &data), Err(want.clone()));
    assert_eq!(Tensor::from_buf(shape, AlignedBuf::from_slice(&data)), Err(want.clone()));
    assert_eq!(TensorView::new(shape, &data).err(), Some(want.clone()));
    let mut d2 = data.clone();
    assert_eq!(TensorViewMut::new(shape, &mut d2).err(), Some(want));

    // Too many elements as well.
    let s = Shape4::new(1, 1, 2, 2);
    assert_eq!(
        Tensor::from_slice(s, &[0.0; 5]),
        Err(TensorError::LengthMismatch { shape: s, expected: 4, actual: 5 })
    );
    // from_le_bytes: byte count is a multiple of 4 but the element count is
    // wrong.
    assert_eq!(
        Tensor::from_le_bytes(s, &[0u8; 12]),
        Err(TensorError::LengthMismatch { shape: s, expected: 4, actual: 3 })
    );
}

#[test]
fn error_length_mismatch_free_functions() {
    let s = Shape4::new(1, 2, 2, 3);
    let good = [0.0f32; 12];
    let mut good_dst = [0.0f32; 12];
    let mut short_dst = [0.0f32; 11];
    let src_err = TensorError::LengthMismatch { shape: s, expected: 12, actual: 13 };
    let dst_err = TensorError::LengthMismatch { shape: s, expected: 12, actual: 11 };
    assert_eq!(nchw_to_nhwc(s, &[0.0; 13], &mut good_dst), Err(src_err.clone()));
    assert_eq!(nhwc_to_nchw(s, &[0.0; 13], &mut good_dst), Err(src_err));
    assert_eq!(nchw_to_nhwc(s, &good, &mut short_dst), Err(dst_err.clone()));
    assert_eq!(nhwc_to_nchw(s, &good, &mut short_dst), Err(dst_err));
    // Zero-sized shapes are a no-op for the free functions.
    let z = Shape4::new(0, 4, 4, 4);
    assert_eq!(nchw_to_nhwc(z, &[], &mut []), Ok(()));
    assert_eq!(nhwc_to_nchw(z, &[], &mut []), Ok(()));
}

#[test]
fn error_byte_length() {
    let s = Shape4::new(1, 1, 1, 2);
    for len in [1usize, 2, 3, 5, 7, 9] {
        let bytes = vec![0u8; len];
        assert_eq!(Tensor::from_le_bytes(s, &bytes), Err(TensorError::ByteLength { len }), "len {len}");
    }
    assert_eq!(
        TensorError::ByteLength { len: 7 }.to_string(),
        "byte length 7 is not a multiple of 4 (size of f32)"
    );
}

#[test]
fn error_shape_mismatch() {
    let a = Tensor::zeros(Shape4::new(1, 2, 3, 4)).unwrap();
    let b = Tensor::zeros(Shape4::new(1, 3, 2, 4)).unwrap();
    let want = TensorError::ShapeMismatch { expected: a.shape(), actual: b.shape() };
    assert_eq!(a.max_abs_diff(&b), Err(want.clone()));
    assert_eq!(want.to_string(), "shape mismatch: expected 1x2x3x4, got 1x3x2x4");
    let mut a2 = a.clone();
    assert_eq!(a2.view_mut().copy_from(b.view()), Err(want));
}

// ---------------------------------------------------------------- AlignedBuf

#[test]
fn aligned_buf_alignment_many_lengths() {
    let lens = (0..100).chain([1000, 4095, 4096, 4097, 65_537, 1 << 20]);
    for len in lens {
        let b = AlignedBuf::zeroed(len).unwrap();
        assert_eq!(b.len(), len);
        assert_eq!(b.is_empty(), len == 0);
        assert_eq!(b.as_slice().len(), len);
        assert!(is_aligned64(b.as_slice().as_ptr()), "zeroed len {len}");
        assert!(b.as_slice().iter().all(|&x| x == 0.0), "len {len}");

        let src: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut c = AlignedBuf::from_slice(&src);
        assert_eq!(c.as_slice(), &src[..]);
        assert!(is_aligned64(c.as_slice().as_ptr()), "from_slice len {len}");
        assert!(is_aligned64(c.as_mut_slice().as_ptr()), "mut len {len}");
        assert_eq!(c.as_mut_slice().len(), len);

        let d = c.clone();
        assert!(is_aligned64(d.as_slice().as_ptr()), "clone len {len}");
        assert_eq!(d, c);

        if len > 0 {
            let t = Tensor::from_slice(Shape4::new(1, 1, 1, len), &src).unwrap();
            assert!(is_aligned64(t.as_slice().as_ptr()), "tensor len {len}");
            assert!(is_aligned64(t.as_bytes().as_ptr().cast()));
        }
    }
}

#[test]
fn aligned_buf_mutation_and_debug() {
    let mut b = AlignedBuf::zeroed(20).unwrap();
    for (i, x) in b.as_mut_slice().iter_mut().enumerate() {
        *x = i as f32;
    }
    assert_eq!(b.as_slice()[19], 19.0);
    let dbg = format!("{b:?}");
    assert!(dbg.contains("len: 20"), "{dbg}");
    assert!(!dbg.contains("19.0"), "Debug must not print contents: {dbg}");
}

// ---------------------------------------------------------------- layout

#[test]
fn nchw_to_nhwc_hand_worked() {
    // n=1, c=2, h=2, w=3. NCHW value = 100*c + 10*h + w.
    let nchw = [
        0.0, 1.0, 2.0, 10.0, 11.0, 12.0, // c=0: h0 (w0..2), h1 (w0..2)
        100.0, 101.0, 102.0, 110.0, 111.0, 112.0, // c=1
    ];
    let expected_nhwc = [
        0.0, 100.0, // h0 w0: c0, c1
        1.0, 101.0, // h0 w1
        2.0, 102.0, // h0 w2
        10.0, 110.0, // h1 w0
        11.0, 111.0, // h1 w1
        12.0, 112.0, // h1 w2
    ];
    let shape = Shape4::from_nchw_dims(1, 2, 2, 3);
    assert_eq!(shape, Shape4::new(1, 2, 3, 2));

    let mut nhwc = [0.0f32; 12];
    nchw_to_nhwc(shape, &nchw, &mut nhwc).unwrap();
    assert_eq!(nhwc, expected_nhwc);

    let mut back = [0.0f32; 12];
    nhwc_to_nchw(shape, &nhwc, &mut back).unwrap();
    assert_eq!(back, nchw);

    let t = Tensor::from_nchw(shape, &nchw).unwrap();
    assert_eq!(t.as_slice(), &expected_nhwc);
    assert_eq!(t.to_nchw(), nchw.to_vec());
    assert_eq!(t.get(0, 1, 2, 1), Some(112.0));
    assert_eq!(t.get(0, 0, 1, 0), Some(1.0));
}

#[test]
fn nchw_nhwc_round_trip_random_shapes() {
    let seed: u64 = 0x5e9c_0a11;
    let mut rng = StdRng::seed_from_u64(seed);
    for iter in 0..200 {
        let shape = Shape4::new(
            rng.random_range(1..=3),
            rng.random_range(1..=9),
            rng.random_range(1..=9),
            rng.random_range(1..=19),
        );
        let len = shape.validate().unwrap();
        let nchw: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let ctx = format!("seed {seed:#x}, iter {iter}, shape {shape}");

        let mut nhwc = vec![0.0; len];
        nchw_to_nhwc(shape, &nchw, &mut nhwc).unwrap();
        assert_eq!(nhwc, reference_nchw_to_nhwc(shape, &nchw), "{ctx}");

        let mut back = vec![0.0; len];
        nhwc_to_nchw(shape, &nhwc, &mut back).unwrap();
        assert_eq!(back, nchw, "{ctx}");

        let t = Tensor::from_nchw(shape, &nchw).unwrap();
        assert_eq!(t.as_slice(), &nhwc[..], "{ctx}");
        assert_eq!(t.to_nchw(), nchw, "{ctx}");
        // Spot-check get() against the NCHW source.
        let (n, h, w, c) = (shape.n - 1, shape.h / 2, shape.w - 1, shape.c / 2);
        let nchw_idx = ((n * shape.c + c) * shape.h + h) * shape.w + w;
        assert_eq!(t.get(n, h, w, c), Some(nchw[nchw_idx]), "{ctx}");
    }
}

// ---------------------------------------------------------------- Tensor

#[test]
fn tensor_construct_and_access() {
    let s = Shape4::new(2, 2, 2, 3);
    let data: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let mut t = Tensor::from_vec(s, data.clone()).unwrap();
    assert_eq!(t.shape(), s);
    assert_eq!(t.len(), 24);
    assert!(!t.is_empty());
    assert_eq!(t.as_slice(), &data[..]);
    assert_eq!(t, Tensor::from_slice(s, &data).unwrap());
    assert_eq!(t.get(1, 1, 1, 2), Some(23.0));
    assert_eq!(t.get(1, 0, 1, 0), Some(15.0));
    t.as_mut_slice()[0] = -1.0;
    assert_eq!(t.get(0, 0, 0, 0), Some(-1.0));

    let z = Tensor::zeros(s).unwrap();
    assert!(z.as_slice().iter().all(|&x| x == 0.0));
    assert_eq!(z.len(), 24);

    let buf = t.clone().into_buf();
    assert_eq!(buf.len(), 24);
    let t2 = Tensor::from_buf(s, buf).unwrap();
    assert_eq!(t2, t);
}

#[test]
fn tensor_get_out_of_range() {
    let t = Tensor::zeros(Shape4::new(2, 3, 4, 5)).unwrap();
    assert_eq!(t.get(1, 2, 3, 4), Some(0.0));
    assert_eq!(t.get(2, 0, 0, 0), None);
    assert_eq!(t.get(0, 3, 0, 0), None);
    assert_eq!(t.get(0, 0, 4, 0), None);
    assert_eq!(t.get(0, 0, 0, 5), None);
    assert_eq!(t.get(usize::MAX, usize::MAX, usize::MAX, usize::MAX), None);
    assert_eq!(t.view().get(0, 0, 0, 5), None);
}

#[test]
fn from_le_bytes_aligned_and_misaligned() {
    let values = [1.0f32, -2.5, 3.25e-3, f32::MAX, f32::MIN_POSITIVE, -0.0, 7.0, 1e30];
    let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let s = Shape4::new(1, 2, 2, 2);

    // Aligned (whatever the allocator gives; usually 4-aligned or better).
    let t = Tensor::from_le_bytes(s, &le).unwrap();
    assert_eq!(t.as_slice(), &values);

    // Deliberately misaligned: offset 1 into a Vec<u8>.
    let mut padded = vec![0xAAu8; le.len() + 1];
    padded[1..].copy_from_slice(&le);
    let slice = &padded[1..];
    assert_ne!(slice.as_ptr() as usize % 4, 0, "test slice must be misaligned");
    let t = Tensor::from_le_bytes(s, slice).unwrap();
    for (i, (&got, &want)) in t.as_slice().iter().zip(&values).enumerate() {
        assert_eq!(got.to_bits(), want.to_bits(), "element {i}");
    }

    // Hand-written bytes: 1.0f32 = 0x3F800000 -> LE bytes 00 00 80 3F.
    let one =
        Tensor::from_le_bytes(Shape4::new(1, 1, 1, 2), &[0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
            .unwrap();
    assert_eq!(one.as_slice(), &[1.0, -2.0]);
}

#[test]
fn as_bytes_native_endian_round_trip() {
    let s = Shape4::new(1, 1, 3, 1);
    let t = Tensor::from_slice(s, &[1.5, -0.25, 8.0]).unwrap();
    let bytes = t.as_bytes();
    assert_eq!(bytes.len(), 12);
    let expected: Vec<u8> = [1.5f32, -0.25, 8.0].iter().flat_map(|v| v.to_ne_bytes()).collect();
    assert_eq!(bytes, &expected[..]);
    #[cfg(target_endian = "little")]
    assert_eq!(Tensor::from_le_bytes(s, bytes).unwrap(), t);
}

#[test]
fn max_abs_diff_values_and_nan() {
    let s = Shape4::new(1, 1, 2, 2);
    let a = Tensor::from_slice(s, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let b = Tensor::from_slice(s, &[1.0, 2.5, 2.0, 4.0]).unwrap();
    assert_eq!(a.max_abs_diff(&a), Ok(0.0));
    assert_eq!(a.max_abs_diff(&b), Ok(1.0));
    assert_eq!(b.max_abs_diff(&a), Ok(1.0));

    let nan = Tensor::from_slice(s, &[1.0, 2.0, f32::NAN, 4.0]).unwrap();
    assert!(a.max_abs_diff(&nan).unwrap().is_nan());
    assert!(nan.max_abs_diff(&a).unwrap().is_nan());
    assert!(nan.max_abs_diff(&nan).unwrap().is_nan());

    let inf = Tensor::from_slice(s, &[f32::INFINITY, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(inf.max_abs_diff(&inf), Ok(0.0));
    assert_eq!(inf.max_abs_diff(&a), Ok(f32::INFINITY));
}

// ---------------------------------------------------------------- views

#[test]
fn views_validate_and_access() {
    let s = Shape4::new(1, 2, 2, 2);
    let data: Vec<f32> = (0..8).map(|i| i as f32).collect();
    let v = TensorView::new(s, &data).unwrap();
    assert_eq!(v.shape(), s);
    assert_eq!(v.as_slice(), &data[..]);
    assert_eq!(v.get(0, 1, 0, 1), Some(5.0));
    let v2 = v; // Copy
    assert_eq!(v2.as_slice().as_ptr(), v.as_slice().as_ptr());

    assert!(TensorView::new(s, &data[..7]).is_err());
    let mut buf = data.clone();
    buf.push(0.0);
    assert!(TensorViewMut::new(s, &mut buf).is_err());

    let mut owned = data.clone();
    let mut vm = TensorViewMut::new(s, &mut owned).unwrap();
    assert_eq!(vm.shape(), s);
    vm.as_mut_slice()[7] = 70.0;
    *vm.get_mut(0, 0, 0, 0).unwrap() = -1.0;
    assert!(vm.get_mut(1, 0, 0, 0).is_none());
    assert_eq!(vm.get(0, 1, 1, 1), Some(70.0));
    assert_eq!(vm.as_slice()[0], -1.0);
    assert_eq!(vm.as_view().get(0, 0, 0, 0), Some(-1.0));
    assert_eq!(vm.as_view().max_abs_diff(v), Ok(63.0));
}

#[test]
fn view_copy_from_checks_shape() {
    let s = Shape4::new(1, 2, 3, 4);
    let src = Tensor::from_slice(s, &(0..24).map(|i| i as f32).collect::<Vec<_>>()).unwrap();
    let mut dst = Tensor::zeros(s).unwrap();
    dst.view_mut().copy_from(src.view()).unwrap();
    assert_eq!(dst, src);

    // Same element count, different shape: rejected, nothing written.
    let other_shape = Shape4::new(1, 4, 3, 2);
    let other = Tensor::from_slice(other_shape, &[9.0; 24]).unwrap();
    let mut dst2 = Tensor::zeros(s).unwrap();
    assert_eq!(
        dst2.view_mut().copy_from(other.view()),
        Err(TensorError::ShapeMismatch { expected: s, actual: other_shape })
    );
    assert!(dst2.as_slice().iter().all(|&x| x == 0.0));

    // copy_from on a view over a plain slice.
    let mut raw = vec![0.0f32; 24];
    let mut vm = TensorViewMut::new(s, &mut raw).unwrap();
    vm.copy_from(src.view()).unwrap();
    assert_eq!(raw, src.as_slice());
}
