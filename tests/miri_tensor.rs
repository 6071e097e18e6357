//! A fast subset of the `sepconv::tensor` tests, small enough to run under Miri
//! (`cargo +nightly miri test -p sepconv --test miri_tensor`, see `scripts/miri.sh`): aligned
//! storage, construction from floats and from (misaligned) bytes, NCHW round trips, views and
//! error paths, all on tiny shapes.

use sepconv::tensor::{
    AlignedBuf, Shape4, Tensor, TensorError, TensorView, TensorViewMut, nchw_to_nhwc, nhwc_to_nchw,
};

fn is_aligned64(p: *const f32) -> bool {
    (p as usize).is_multiple_of(64)
}

/// `0, 1, 2, ...` as f32.
fn iota(len: usize) -> Vec<f32> {
    (0..len).map(|i| i as f32).collect()
}

/// NCHW -> NHWC by explicit index arithmetic.
fn reference_nchw_to_nhwc(s: Shape4, src: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; src.len()];
    for n in 0..s.n {
        for c in 0..s.c {
            for h in 0..s.h {
                for w in 0..s.w {
                    out[((n * s.h + h) * s.w + w) * s.c + c] = src[((n * s.c + c) * s.h + h) * s.w + w];
                }
            }
        }
    }
    out
}

const SHAPES: [Shape4; 5] = [
    Shape4 { n: 1, h: 1, w: 1, c: 1 },
    Shape4 { n: 1, h: 2, w: 3, c: 1 },
    Shape4 { n: 1, h: 1, w: 2, c: 9 },
    Shape4 { n: 2, h: 3, w: 1, c: 3 },
    Shape4 { n: 1, h: 2, w: 2, c: 5 },
];

// ---------------------------------------------------------------- AlignedBuf

#[test]
fn aligned_buf_alignment_and_padding() {
    for len in [1, 3, 15, 16, 17, 33] {
        let mut b = AlignedBuf::zeroed(len).unwrap();
        assert_eq!(b.len(), len);
        assert!(!b.is_empty());
        assert!(is_aligned64(b.as_slice().as_ptr()), "len {len}");
        assert!(b.as_slice().iter().all(|&x| x == 0.0));
        for (i, x) in b.as_mut_slice().iter_mut().enumerate() {
            *x = i as f32 + 0.5;
        }
        assert!(is_aligned64(b.as_mut_slice().as_ptr()));

        let c = b.clone();
        assert!(is_aligned64(c.as_slice().as_ptr()));
        assert_eq!(c, b);

        let src = iota(len);
        let f = AlignedBuf::from_slice(&src);
        assert_eq!(f.as_slice(), &src[..]);
        assert!(is_aligned64(f.as_slice().as_ptr()));
        assert_ne!(f, b);
    }
    assert_eq!(format!("{:?}", AlignedBuf::zeroed(3).unwrap()), "AlignedBuf { len: 3, .. }");
}

#[test]
fn aligned_buf_zero_length() {
    for b in [AlignedBuf::zeroed(0).unwrap(), AlignedBuf::from_slice(&[]), AlignedBuf::default()] {
        assert_eq!(b.len(), 0);
        assert!(b.is_empty());
        assert!(b.as_slice().is_empty());
        assert!(is_aligned64(b.as_slice().as_ptr()));
        let mut m = b.clone();
        assert!(m.as_mut_slice().is_empty());
        assert!(is_aligned64(m.as_mut_slice().as_ptr()));
        assert_eq!(m, b);
    }
}

#[test]
fn aligned_buf_too_large() {
    // Byte size above isize::MAX: refused before anything is allocated.
    for len in [usize::MAX, usize::MAX / 4, (isize::MAX as usize) / 4 + 16] {
        assert_eq!(AlignedBuf::zeroed(len), Err(TensorError::TooLarge { len }));
    }
}

// ---------------------------------------------------------------- Tensor construction

#[test]
fn tensor_from_vec_slice_buf() {
    for s in SHAPES {
        let len = s.len().unwrap();
        let v = iota(len);
        let t = Tensor::from_vec(s, v.clone()).unwrap();
        assert_eq!(t.shape(), s);
        assert_eq!(t.len(), len);
        assert!(!t.is_empty());
        assert_eq!(t.as_slice(), &v[..]);
        assert!(is_aligned64(t.as_slice().as_ptr()));
        assert_eq!(Tensor::from_slice(s, &v).unwrap(), t);

        let z = Tensor::zeros(s).unwrap();
        assert!(z.as_slice().iter().all(|&x| x == 0.0));
        assert_eq!(z.max_abs_diff(&t), Ok((len - 1) as f32));

        let buf = t.clone().into_buf();
        assert!(is_aligned64(buf.as_slice().as_ptr()));
        let back = Tensor::from_buf(s, buf).unwrap();
        assert_eq!(back, t);

        let last = (s.n - 1, s.h - 1, s.w - 1, s.c - 1);
        assert_eq!(t.get(last.0, last.1, last.2, last.3), Some((len - 1) as f32));
        assert_eq!(t.get(s.n, 0, 0, 0), None);
        assert_eq!(t.get(0, 0, 0, s.c), None);
    }
}

#[test]
fn tensor_construction_errors() {
    let s = Shape4::new(1, 2, 2, 3);
    assert_eq!(
        Tensor::from_vec(s, vec![0.0; 11]),
        Err(TensorError::LengthMismatch { shape: s, expected: 12, actual: 11 })
    );
    assert_eq!(
        Tensor::from_buf(s, AlignedBuf::zeroed(13).unwrap()),
        Err(TensorError::LengthMismatch { shape: s, expected: 12, actual: 13 })
    );
    assert_eq!(Tensor::zeros(Shape4::new(1, 0, 2, 3)), Err(TensorError::ZeroDim { dim: "h" }));
    assert_eq!(Tensor::from_slice(Shape4::new(1, 2, 2, 0), &[]), Err(TensorError::ZeroDim { dim: "c" }));
    let huge = Shape4::new(usize::MAX, 2, 1, 1);
    assert_eq!(Tensor::zeros(huge), Err(TensorError::Overflow { shape: huge }));
    // Valid count, but too many bytes to allocate.
    let big = Shape4::new(usize::MAX / 4, 1, 1, 1);
    assert!(matches!(Tensor::zeros(big), Err(TensorError::TooLarge { .. })));
}

#[test]
fn tensor_from_le_bytes_aligned_and_misaligned() {
    let s = Shape4::new(1, 1, 3, 3);
    let values = iota(9).into_iter().map(|x| x * 1.25 - 3.0).collect::<Vec<_>>();
    let le: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();

    // The bytes at every offset 0..4 inside a larger buffer: offsets 1..3 are misaligned for f32.
    for off in 0..4 {
        let mut storage = vec![0xAAu8; le.len() + 4];
        storage[off..off + le.len()].copy_from_slice(&le);
        let t = Tensor::from_le_bytes(s, &storage[off..off + le.len()]).unwrap();
        assert_eq!(t.as_slice(), &values[..], "offset {off}");
        assert!(is_aligned64(t.as_slice().as_ptr()));
    }

    // as_bytes is native-endian, i.e. little-endian here: a round trip.
    let t = Tensor::from_slice(s, &values).unwrap();
    #[cfg(target_endian = "little")]
    assert_eq!(t.as_bytes(), &le[..]);
    assert_eq!(t.as_bytes().len(), 36);
    assert_eq!(t.as_bytes().as_ptr() as usize % 64, 0);

    assert_eq!(Tensor::from_le_bytes(s, &le[..35]), Err(TensorError::ByteLength { len: 35 }));
    assert_eq!(
        Tensor::from_le_bytes(s, &le[..32]),
        Err(TensorError::LengthMismatch { shape: s, expected: 9, actual: 8 })
    );
    assert_eq!(Tensor::from_le_bytes(Shape4::new(0, 1, 1, 1), &[]), Err(TensorError::ZeroDim { dim: "n" }));
}

// ---------------------------------------------------------------- NCHW

#[test]
fn nchw_round_trip() {
    for s in SHAPES {
        let len = s.len().unwrap();
        let nchw = iota(len);
        let want = reference_nchw_to_nhwc(s, &nchw);

        let mut nhwc = vec![f32::NAN; len];
        nchw_to_nhwc(s, &nchw, &mut nhwc).unwrap();
        assert_eq!(nhwc, want, "{s}");
        let mut back = vec![f32::NAN; len];
        nhwc_to_nchw(s, &nhwc, &mut back).unwrap();
        assert_eq!(back, nchw, "{s}");

        let t = Tensor::from_nchw(s, &nchw).unwrap();
        assert_eq!(t.as_slice(), &want[..]);
        assert_eq!(t.to_nchw(), nchw);
        let [n, c, h, w] = s.to_nchw_dims();
        assert_eq!(Shape4::from_nchw_dims(n, c, h, w), s);
    }
}

#[test]
fn nchw_zero_size_and_errors() {
    // Zero-sized shapes are accepted by the free functions (nothing copied).
    let empty = Shape4::new(1, 0, 3, 2);
    let mut dst: [f32; 0] = [];
    nchw_to_nhwc(empty, &[], &mut dst).unwrap();
    nhwc_to_nchw(empty, &[], &mut dst).unwrap();

    let s = Shape4::new(1, 2, 1, 3);
    let mut out = [7.0f32; 6];
    assert_eq!(
        nchw_to_nhwc(s, &[0.0; 5], &mut out),
        Err(TensorError::LengthMismatch { shape: s, expected: 6, actual: 5 })
    );
    assert_eq!(
        nhwc_to_nchw(s, &[0.0; 6], &mut out[..4]),
        Err(TensorError::LengthMismatch { shape: s, expected: 6, actual: 4 })
    );
    assert_eq!(out, [7.0; 6], "an error wrote to dst");
    let huge = Shape4::new(usize::MAX, usize::MAX, 1, 1);
    assert_eq!(nchw_to_nhwc(huge, &[], &mut []), Err(TensorError::Overflow { shape: huge }));
    assert_eq!(Tensor::from_nchw(s, &[0.0; 7]).unwrap_err().to_string(), {
        TensorError::LengthMismatch { shape: s, expected: 6, actual: 7 }.to_string()
    });
}

// ---------------------------------------------------------------- views

#[test]
fn views_read_write_copy() {
    let s = Shape4::new(1, 2, 3, 2);
    let mut t = Tensor::from_vec(s, iota(12)).unwrap();
    {
        let v = t.view();
        assert_eq!(v.shape(), s);
        assert_eq!(v.as_slice().len(), 12);
        assert_eq!(v.get(0, 1, 2, 1), Some(11.0));
        assert_eq!(v.get(0, 2, 0, 0), None);
    }
    {
        let mut m = t.view_mut();
        assert_eq!(m.shape(), s);
        *m.get_mut(0, 1, 0, 1).unwrap() = -1.0;
        assert!(m.get_mut(1, 0, 0, 0).is_none());
        assert_eq!(m.get(0, 1, 0, 1), Some(-1.0));
        m.as_mut_slice()[0] = 100.0;
        assert_eq!(m.as_slice()[0], 100.0);
        assert_eq!(m.as_view().get(0, 0, 0, 0), Some(100.0));
    }
    assert_eq!(t.get(0, 1, 0, 1), Some(-1.0));

    // copy_from between a tensor's view and a stack buffer.
    let mut buf = [0.0f32; 12];
    let mut dst = TensorViewMut::new(s, &mut buf).unwrap();
    dst.copy_from(t.view()).unwrap();
    assert_eq!(&buf[..], t.as_slice());

    // A view over part of a larger, unaligned slice.
    let backing = iota(13);
    let v = TensorView::new(s, &backing[1..]).unwrap();
    assert_eq!(v.get(0, 0, 0, 0), Some(1.0));
    assert_eq!(v.max_abs_diff(TensorView::new(s, &backing[..12]).unwrap()), Ok(1.0));
}

#[test]
fn view_errors_and_diff() {
    let s = Shape4::new(1, 1, 2, 2);
    let other = Shape4::new(1, 2, 1, 2);
    let data = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(
        TensorView::new(s, &data[..3]).unwrap_err(),
        TensorError::LengthMismatch { shape: s, expected: 4, actual: 3 }
    );
    let mut m = [0.0f32; 4];
    assert_eq!(
        TensorViewMut::new(Shape4::new(1, 1, 0, 4), &mut m).unwrap_err(),
        TensorError::ZeroDim { dim: "w" }
    );

    let a = TensorView::new(s, &data).unwrap();
    let b = TensorView::new(other, &data).unwrap();
    assert_eq!(a.max_abs_diff(b), Err(TensorError::ShapeMismatch { expected: s, actual: other }));
    let mut dst = TensorViewMut::new(other, &mut m).unwrap();
    assert_eq!(dst.copy_from(a), Err(TensorError::ShapeMismatch { expected: other, actual: s }));
    assert_eq!(m, [0.0; 4], "a failed copy_from wrote");

    // NaN propagates; equal infinities differ by 0.
    let nan = [1.0, f32::NAN, 3.0, 4.0];
    assert!(a.max_abs_diff(TensorView::new(s, &nan).unwrap()).unwrap().is_nan());
    let inf = [f32::INFINITY, 2.0, 3.0, f32::NEG_INFINITY];
    let inf_v = TensorView::new(s, &inf).unwrap();
    assert_eq!(inf_v.max_abs_diff(inf_v), Ok(0.0));

    let t = Tensor::zeros(s).unwrap();
    let u = Tensor::zeros(other).unwrap();
    assert_eq!(t.max_abs_diff(&u), Err(TensorError::ShapeMismatch { expected: s, actual: other }));
}
