//! Integration tests for `sepconv::npy`.
//!
//! The fixtures in `tests/fixtures/npy/` were written by numpy
//! (`tests/fixtures/npy/make_npy_fixtures.py`), so these tests need no Python.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sepconv::npy::{NpyArray, NpyDtype, NpyError, read_npy, read_npy_file, write_npy, write_npy_file};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy").join(name)
}

/// The values of every fixture: `arange(24) * 0.5 - 3` as 2x3x4, first row -0, inf, -inf, NaN.
fn fixture_values() -> Vec<f32> {
    let mut v: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
    v[..4].copy_from_slice(&[-0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
    v
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_fixture_array(a: &NpyArray) {
    assert_eq!(a.shape, [2, 3, 4]);
    assert_eq!(bits(&a.data), bits(&fixture_values()));
}

/// A fresh, empty directory under the target's scratch space.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("npy-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// An `.npy` file with the given version and header text, unpadded, followed by `data`.
fn npy_with_header(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    } else {
        out.extend_from_slice(&u32::try_from(header.len()).unwrap().to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn to_npy(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    write_npy(shape, data, &mut out).unwrap();
    out
}

fn malformed_reason(bytes: &[u8]) -> String {
    match read_npy(bytes) {
        Err(NpyError::MalformedHeader { reason, .. }) => reason,
        other => panic!("expected MalformedHeader, got {other:?}"),
    }
}

// ---------------------------------------------------------------- numpy fixtures

#[test]
fn reads_numpy_fixture() {
    let a = read_npy_file(&fixture("small_f32.npy")).unwrap();
    assert_fixture_array(&a);
    assert_eq!(a.len(), 24);
    assert!(!a.is_empty());
}

#[test]
fn writer_output_is_byte_identical_to_numpy_save() {
    let expected = fs::read(fixture("small_f32.npy")).unwrap();
    assert_eq!(to_npy(&[2, 3, 4], &fixture_values()), expected);
    // And reading then rewriting the numpy file reproduces it (NaN bits included).
    let a = read_npy(&expected).unwrap();
    assert_eq!(to_npy(&a.shape, &a.data), expected);
}

#[test]
fn numpy_f8_fixture_reads_as_the_f32_values() {
    // numpy's small_f32 values saved as float64: each is exactly an f32, so they come back
    // bit for bit (the NaN, infinities and -0 included).
    let a = read_npy_file(&fixture("small_f8.npy")).unwrap();
    assert_eq!(a.dtype, NpyDtype::F64);
    let b = read_npy_file(&fixture("small_f32.npy")).unwrap();
    assert_eq!(b.dtype, NpyDtype::F32);
    assert_eq!((a.shape, bits(&a.data)), (b.shape, bits(&b.data)));
}

/// An `.npy` file of `shape` with the element bytes `data` under the descriptor `descr`.
fn npy_of(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    npy_with_header(1, &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"), data)
}

#[test]
fn every_supported_dtype_converts_to_f32_in_both_byte_orders() {
    fn check<const N: usize>(descr: &str, dtype: NpyDtype, le: &[[u8; N]], want: &[f32]) {
        let shape = format!("({},)", le.len());
        let data: Vec<u8> = le.iter().flatten().copied().collect();
        let a = read_npy(&npy_of(descr, &shape, &data)).unwrap();
        assert_eq!((a.dtype, bits(&a.data)), (dtype, bits(want)), "{descr}");
        if N > 1 {
            // The same values big-endian.
            let be: Vec<u8> = le.iter().flat_map(|w| w.iter().rev().copied()).collect();
            let big = descr.replacen('<', ">", 1);
            let a = read_npy(&npy_of(&big, &shape, &be)).unwrap();
            assert_eq!((a.dtype, bits(&a.data)), (dtype, bits(want)), "{big}");
        }
        assert_eq!(dtype.size(), N, "{descr}");
    }
    check("<f4", NpyDtype::F32, &[1.5f32.to_le_bytes(), (-0.0f32).to_le_bytes()], &[1.5, -0.0]);
    // f64 -> nearest f32: 0.1 rounds, 1e300 overflows to inf, a NaN stays a NaN.
    check(
        "<f8",
        NpyDtype::F64,
        &[0.1f64.to_le_bytes(), 1e300f64.to_le_bytes(), (-2.5f64).to_le_bytes()],
        &[0.1f32, f32::INFINITY, -2.5],
    );
    check("|i1", NpyDtype::I8, &[[0x80], [0x7f], [0xff]], &[-128.0, 127.0, -1.0]);
    check("|u1", NpyDtype::U8, &[[0], [255]], &[0.0, 255.0]);
    check("<i2", NpyDtype::I16, &[i16::MIN.to_le_bytes(), 300i16.to_le_bytes()], &[-32768.0, 300.0]);
    check("<u2", NpyDtype::U16, &[u16::MAX.to_le_bytes()], &[65535.0]);
    // 2^24 + 1 is not an f32: it rounds to even (2^24).
    check("<i4", NpyDtype::I32, &[(-7i32).to_le_bytes(), 16_777_217i32.to_le_bytes()], &[-7.0, 16_777_216.0]);
    check("<u4", NpyDtype::U32, &[u32::MAX.to_le_bytes()], &[4_294_967_296.0]);
    check("<i8", NpyDtype::I64, &[i64::MIN.to_le_bytes(), 42i64.to_le_bytes()], &[-9.223_372e18, 42.0]);
    check("<u8", NpyDtype::U64, &[u64::MAX.to_le_bytes()], &[1.844_674_4e19]);
    check("|b1", NpyDtype::Bool, &[[1], [0]], &[1.0, 0.0]);
    // One-byte types may also carry '<' or '>' (numpy normalises them to '|').
    assert_eq!(read_npy(&npy_of("<u1", "(1,)", &[7])).unwrap().data, [7.0]);
    for (dtype, exact) in
        [(NpyDtype::F32, true), (NpyDtype::I16, true), (NpyDtype::F64, false), (NpyDtype::I32, false)]
    {
        assert_eq!(dtype.exact_in_f32(), exact, "{dtype}");
    }
}

#[test]
fn fortran_order_applies_to_converted_dtypes() {
    // (2, 3) int16 in Fortran order: column-major 0 3 1 4 2 5 -> C order 0 1 2 3 4 5.
    let data: Vec<u8> = [0i16, 3, 1, 4, 2, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let header = "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }";
    let a = read_npy(&npy_with_header(1, header, &data)).unwrap();
    assert_eq!((a.shape, a.data), (vec![2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
}

#[test]
fn bad_bool_bytes_and_converted_lengths_are_errors() {
    let err = read_npy(&npy_of("|b1", "(3,)", &[1, 0, 2])).unwrap_err();
    assert!(matches!(err, NpyError::BadBool { index: 2, byte: 2 }), "{err:?}");
    assert!(err.to_string().contains("element 2 is the byte 2"), "{err}");
    // The data length counts the element size of the file's type.
    let err = read_npy(&npy_of("<f8", "(2,)", &[0; 12])).unwrap_err();
    assert!(
        matches!(err, NpyError::DataLength { expected: 16, actual: 12, dtype: NpyDtype::F64, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "npy data has 12 bytes, shape [2] of float64 needs 16");
}

#[test]
fn reads_numpy_big_endian_fortran_v2_and_v3_fixtures() {
    for name in ["big_endian_f32.npy", "fortran_f32.npy", "v2_f32.npy", "v3_f32.npy"] {
        let a = read_npy_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_fixture_array(&a);
    }
    let header_of = |name: &str| fs::read(fixture(name)).unwrap()[..12].to_vec();
    assert_eq!(header_of("v2_f32.npy")[6..8], [2, 0]);
    assert_eq!(header_of("v3_f32.npy")[6..8], [3, 0]);
}

// ---------------------------------------------------------------- round trips

fn random_shape(rng: &mut StdRng) -> Vec<usize> {
    let ndim = rng.random_range(0..=4usize);
    (0..ndim).map(|_| if rng.random_range(0..8) == 0 { 0 } else { rng.random_range(1..=7usize) }).collect()
}

fn random_value(rng: &mut StdRng) -> f32 {
    match rng.random_range(0..6) {
        // Any bit pattern: NaNs with payloads, subnormals, infinities.
        0 | 1 => f32::from_bits(rng.random()),
        2 => {
            [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE, f32::MAX][rng.random_range(0..6)]
        }
        _ => rng.random_range(-1000.0..1000.0f32),
    }
}

#[test]
fn round_trips_random_shapes_and_values() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let mut saw_scalar = false;
    let mut saw_empty = false;
    for _ in 0..500 {
        let shape = random_shape(&mut rng);
        saw_scalar |= shape.is_empty();
        let n: usize = shape.iter().product();
        saw_empty |= n == 0;
        let data: Vec<f32> = (0..n).map(|_| random_value(&mut rng)).collect();
        let bytes = to_npy(&shape, &data);

        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!(bytes[6..8], [1, 0], "version 1.0");
        assert_eq!((10 + header_len) % 64, 0, "data is 64-byte aligned for {shape:?}");
        assert_eq!(bytes[10 + header_len - 1], b'\n');
        assert_eq!(bytes.len(), 10 + header_len + 4 * n);

        let a = read_npy(&bytes).unwrap();
        assert_eq!(a.shape, shape);
        assert_eq!(bits(&a.data), bits(&data), "shape {shape:?}");
    }
    assert!(saw_scalar && saw_empty);
}

#[test]
fn round_trips_special_values_bit_exactly() {
    let values: Vec<f32> = [
        0x7fc0_0000u32, // quiet NaN
        0xffc0_0000,    // negative quiet NaN
        0x7fc0_0001,    // quiet NaN with payload
        0x7f80_0001,    // signalling NaN
        0xff80_1234,    // negative signalling NaN with payload
        0x7f80_0000,    // +inf
        0xff80_0000,    // -inf
        0x8000_0000,    // -0.0
        0x0000_0001,    // smallest subnormal
        0x807f_ffff,    // negative largest subnormal
    ]
    .into_iter()
    .map(f32::from_bits)
    .collect();
    let a = read_npy(&to_npy(&[values.len()], &values)).unwrap();
    assert_eq!(bits(&a.data), bits(&values));
}

#[test]
fn scalar_and_zero_size_headers_match_numpy() {
    let scalar = to_npy(&[], &[1.5]);
    assert!(
        scalar
            .starts_with(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }")
    );
    assert_eq!(scalar.len(), 128 + 4);
    assert_eq!(read_npy(&scalar).unwrap(), NpyArray { shape: vec![], data: vec![1.5], dtype: NpyDtype::F32 });

    let one_dim = to_npy(&[3], &[1.0, 2.0, 3.0]);
    assert!(one_dim.windows(13).any(|w| w == b"'shape': (3,)"));

    let empty = to_npy(&[2, 0, 3], &[]);
    assert_eq!(empty.len(), 128);
    let a = read_npy(&empty).unwrap();
    assert_eq!(a.shape, [2, 0, 3]);
    assert!(a.is_empty());
}

#[test]
fn header_padding_is_a_full_block_when_already_aligned() {
    // numpy's padding is 64 - (preamble + len + 1) % 64, i.e. 64 spaces (never 0) when the
    // unpadded header would end exactly on a boundary, as it does for this shape: 10 bytes of
    // preamble, a 97-byte dict, 20 growth spaces and the '\n' make 128. numpy 2.4 writes a
    // header length of 182, so the data starts at 192.
    let mut shape = vec![1usize; 13];
    shape.push(100);
    let dict =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 100), }";
    assert_eq!(10 + dict.len() + 20 + 1, 128);
    let bytes = to_npy(&shape, &[0.0; 100]);
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 182);
    assert_eq!(&bytes[10..10 + dict.len()], dict.as_bytes());
    assert_eq!(bytes[..192].iter().rev().skip(1).take(84).filter(|&&b| b == b' ').count(), 84);
}

#[test]
fn writes_version_2_when_the_header_outgrows_u16() {
    // 20000 dimensions of 1: the header text alone is ~60 KB plus the dict.
    let shape = vec![1usize; 30_000];
    let bytes = to_npy(&shape, &[7.0]);
    assert_eq!(bytes[6..8], [2, 0]);
    let header_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    assert_eq!((12 + header_len) % 64, 0);
    let a = read_npy(&bytes).unwrap();
    assert_eq!(a.shape, shape);
    assert_eq!(a.data, [7.0]);
}

// ---------------------------------------------------------------- hand-built headers

#[test]
fn reads_hand_built_headers_in_every_version_with_odd_formatting() {
    let data = [1.0f32, -2.0, 3.5, 4.25, f32::NAN, -0.0];
    let headers = [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}\n",
        "{'fortran_order': False, 'shape': (2, 3,), 'descr': '<f4',}",
        "  {  \"descr\" : \"<f4\" ,\t'fortran_order' :False , 'shape' : ( 2 , 3 ) , }   \n",
        "{\n 'descr': '<f4',\n 'fortran_order': False,\n 'shape': (2, 3)\n}\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (+2, 0_3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': ((2), 3), }",
    ];
    for major in 1..=3 {
        for header in headers {
            let bytes = npy_with_header(major, header, &le_bytes(&data));
            let a = read_npy(&bytes).unwrap_or_else(|e| panic!("v{major} {header:?}: {e}"));
            assert_eq!(a.shape, [2, 3], "{header:?}");
            assert_eq!(bits(&a.data), bits(&data), "{header:?}");
        }
    }
}

#[test]
fn reads_one_tuples_scalars_and_empty_dims() {
    let cases: [(&str, &[usize]); 5] =
        [("(3,)", &[3]), ("( 3 , )", &[3]), ("()", &[]), ("( )", &[]), ("(1, 0, 4)", &[1, 0, 4])];
    for (tuple, shape) in cases {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
        let a = read_npy(&npy_with_header(1, &header, &le_bytes(&data))).unwrap();
        assert_eq!(a.shape, shape, "{tuple}");
        assert_eq!(a.data, data);
    }
}

#[test]
fn reads_big_endian_f4() {
    let data = [1.0f32, -2.5, f32::INFINITY, 1e-40];
    let be: Vec<u8> = data.iter().flat_map(|x| x.to_be_bytes()).collect();
    let header = "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }";
    let a = read_npy(&npy_with_header(1, header, &be)).unwrap();
    assert_eq!(bits(&a.data), bits(&data));
}

#[test]
fn transposes_fortran_order_into_c_order() {
    // Shape (2, 3, 4) in Fortran order: element (i, j, k) is at i + 2 j + 6 k.
    let c: Vec<f32> = (0..24).map(|x| x as f32).collect();
    let mut f = vec![0.0f32; 24];
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                f[i + 2 * j + 6 * k] = c[(i * 3 + j) * 4 + k];
            }
        }
    }
    let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }";
    let a = read_npy(&npy_with_header(1, header, &le_bytes(&f))).unwrap();
    assert_eq!(a.shape, [2, 3, 4]);
    assert_eq!(a.data, c);

    // Shapes where both orders coincide, and zero-size ones.
    let huge_empty = "(0, 1099511627776, 1099511627776)";
    for (tuple, n) in [("(5,)", 5), ("(1, 5, 1)", 5), ("()", 1), ("(3, 0, 2)", 0), (huge_empty, 0)] {
        let data: Vec<f32> = (0..n).map(|x| x as f32).collect();
        let header = format!("{{'descr': '<f4', 'fortran_order': True, 'shape': {tuple}, }}");
        assert_eq!(read_npy(&npy_with_header(1, &header, &le_bytes(&data))).unwrap().data, data);
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn bad_magic() {
    for bytes in [&b"PK\x03\x04 not npy"[..], b"\x93NUMPX\x01\x00", b"x"] {
        let err = read_npy(bytes).unwrap_err();
        assert!(matches!(err, NpyError::BadMagic { .. }), "{bytes:?}: {err:?}");
        assert!(err.to_string().contains("not an npy file"), "{err}");
    }
    let err = read_npy(b"GIF89a....").unwrap_err();
    assert!(matches!(&err, NpyError::BadMagic { found } if found == b"GIF89a"));
    assert!(err.to_string().contains("found \"GIF89a\""), "{err}");
}

#[test]
fn truncated_inputs() {
    let valid = to_npy(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let expect = |bytes: &[u8], what: &str| match read_npy(bytes) {
        Err(NpyError::Truncated { what: w, available, .. }) => {
            assert_eq!(w, what);
            assert_eq!(available, bytes.len());
        }
        other => panic!("{} bytes: expected Truncated({what}), got {other:?}", bytes.len()),
    };
    expect(b"", "magic and version");
    expect(&valid[..4], "magic and version");
    expect(&valid[..7], "magic and version");
    expect(&valid[..9], "header length");
    expect(&valid[..10], "header");
    expect(&valid[..127], "header");
    // A v2 header length claiming 4 GB.
    let mut huge = b"\x93NUMPY\x02\x00".to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(b"{}");
    expect(&huge, "header");
    let msg = read_npy(&valid[..50]).unwrap_err().to_string();
    assert!(msg.contains("needs 128 bytes") && msg.contains("only 50"), "{msg}");
}

#[test]
fn unsupported_versions() {
    for (major, minor) in [(0, 0), (1, 1), (2, 1), (4, 0), (255, 255)] {
        let mut bytes = to_npy(&[1], &[1.0]);
        bytes[6] = major;
        bytes[7] = minor;
        match read_npy(&bytes) {
            Err(NpyError::UnsupportedVersion { major: a, minor: b }) => assert_eq!((a, b), (major, minor)),
            other => panic!("{major}.{minor}: {other:?}"),
        }
    }
    let msg = read_npy(b"\x93NUMPY\x04\x00\x00\x00").unwrap_err().to_string();
    assert!(msg.contains("version 4.0"), "{msg}");
}

#[test]
fn malformed_headers() {
    let with = |dict: &str| npy_with_header(1, dict, &[0; 8]);
    let cases = [
        ("", "expected a value"),
        ("   ", "expected a value"),
        ("['descr']", "not a dict"),
        ("{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"),
        ("{'descr': '<f4', 'shape': (2,)}", "missing key 'fortran_order'"),
        ("{'fortran_order': False, 'shape': (2,)}", "missing key 'descr'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unexpected key 'x'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}", "duplicate key 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "'shape' must be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "'shape' must be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "'shape' must be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "negative dimension -2"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}", "only integers"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}", "tuple of ints"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}", "expected a value"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", "expected a value"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "must be True or False"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", "unknown name \"false\""),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", "expected '}' or ','"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected '}'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", "unexpected 'x'"),
        ("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", "expected '}' or ','"),
        ("{'descr: '<f4'}", "expected ':'"),
        ("{'descr", "unterminated string"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}", "does not fit"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1e3,)}", "only integers"),
    ];
    for (dict, needle) in cases {
        let reason = malformed_reason(&with(dict));
        assert!(reason.contains(needle), "{dict:?}: reason {reason:?} lacks {needle:?}");
    }

    // Deep nesting is refused, not a stack overflow.
    let deep = format!("{{'descr': {}1{}}}", "(".repeat(100_000), ")".repeat(100_000));
    let bytes = npy_with_header(2, &deep, &[]);
    assert!(malformed_reason(&bytes).contains("nesting deeper"));

    // The message quotes the header, abridged.
    let long = format!("{{'descr': '<f4', 'junk': '{}'}}", "z".repeat(5000));
    let err = read_npy(&with(&long)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("malformed npy header: unexpected key 'junk'"), "{msg}");
    assert!(msg.contains("...") && msg.len() < 400, "{msg}");

    // Version 3.0 headers must be UTF-8; 1.0 and 2.0 are Latin-1 (any byte decodes).
    let mut bad_utf8 = npy_with_header(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", &[0; 8]);
    bad_utf8[20] = 0xff;
    assert!(malformed_reason(&bad_utf8).contains("UTF-8"));
    let mut latin1 = npy_with_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", &[0; 8]);
    latin1[13] = 0xe9; // inside 'descr' -> 'd\u{e9}scr'
    assert!(malformed_reason(&latin1).contains("unexpected key 'd\\u{e9}scr'"));
}

#[test]
fn unsupported_dtypes() {
    let cases = [
        ("'=f8'", "'=f8'"),
        ("'|i4'", "'|i4'"),
        ("'<c8'", "'<c8'"),
        ("'<U3'", "'<U3'"),
        ("'<i3'", "'<i3'"),
        ("'=f4'", "'=f4'"),
        ("'|f4'", "'|f4'"),
        ("'f4'", "'f4'"),
        ("'float32'", "'float32'"),
        ("'<f2'", "'<f2'"),
        ("[('x', '<f4')]", "[('x', '<f4')]"),
        ("None", "None"),
        ("('<f4', (2,))", "('<f4', (2,))"),
    ];
    for (descr, shown) in cases {
        let header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}");
        let err = read_npy(&npy_with_header(1, &header, &[0; 8])).unwrap_err();
        match &err {
            NpyError::UnsupportedDtype { descr: d } => assert_eq!(d, shown),
            other => panic!("{descr}: {other:?}"),
        }
        assert!(err.to_string().contains("supported are float32, float64"), "{err}");
    }
}

#[test]
fn shape_overflow() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }";
    let err = read_npy(&npy_with_header(1, header, &[])).unwrap_err();
    assert!(matches!(&err, NpyError::ShapeOverflow { shape } if shape.len() == 3), "{err:?}");
    assert!(err.to_string().contains("overflows"), "{err}");
    // Elements fit in usize but bytes do not.
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}", usize::MAX / 2);
    assert!(matches!(read_npy(&npy_with_header(1, &header, &[])), Err(NpyError::ShapeOverflow { .. })));
    // On writing too, before anything is written.
    let mut out = Vec::new();
    let err = write_npy(&[usize::MAX, 2], &[], &mut out).unwrap_err();
    assert!(matches!(err, NpyError::ShapeOverflow { .. }), "{err:?}");
    assert!(out.is_empty());
}

#[test]
fn data_length_mismatch() {
    let valid = to_npy(&[1, 3, 10, 10], &[0.5; 300]);
    let err = read_npy(&valid[..valid.len() - 4]).unwrap_err();
    assert_eq!(err.to_string(), "npy data has 1196 bytes, shape [1, 3, 10, 10] of float32 needs 1200");
    let mut longer = valid.clone();
    longer.push(0);
    match read_npy(&longer) {
        Err(NpyError::DataLength { shape, expected, actual, .. }) => {
            assert_eq!((shape, expected, actual), (vec![1, 3, 10, 10], 1200, 1201));
        }
        other => panic!("{other:?}"),
    }
    // A scalar needs exactly one element.
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (), }";
    assert!(matches!(
        read_npy(&npy_with_header(1, header, &[])),
        Err(NpyError::DataLength { expected: 4, .. })
    ));
}

#[test]
fn write_shape_mismatch_writes_nothing() {
    let mut out = Vec::new();
    let err = write_npy(&[2, 3], &[0.0; 5], &mut out).unwrap_err();
    assert!(matches!(&err, NpyError::ShapeMismatch { expected: 6, actual: 5, .. }), "{err:?}");
    assert_eq!(err.to_string(), "cannot write npy: shape [2, 3] has 6 elements, but the data has 5");
    assert!(out.is_empty());
    // A scalar holds one value.
    assert!(matches!(write_npy(&[], &[], &mut out), Err(NpyError::ShapeMismatch { expected: 1, .. })));
}

/// A writer that accepts `limit` bytes and then fails.
struct FailingWriter {
    limit: usize,
    written: usize,
}

impl io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written >= self.limit {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.limit - self.written);
        self.written += n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn writer_errors_are_stream_errors() {
    for limit in [0, 50, 128, 1000] {
        let mut w = FailingWriter { limit, written: 0 };
        let err = write_npy(&[100, 100], &vec![1.0; 10_000], &mut w).unwrap_err();
        assert!(matches!(&err, NpyError::Stream(_)), "{err:?}");
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}

#[test]
fn io_errors_name_the_path() {
    let dir = scratch_dir("io-errors");
    let missing = dir.join("no-such-file.npy");
    let err = read_npy_file(&missing).unwrap_err();
    match &err {
        NpyError::Io { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("no-such-file.npy"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- atomic writes

#[test]
fn write_file_round_trips_and_leaves_no_temp_files() {
    let dir = scratch_dir("roundtrip");
    let path = dir.join("out.npy");
    let data: Vec<f32> = (0..60).map(|x| x as f32 * 0.25).collect();
    write_npy_file(&path, &[3, 4, 5], &data).unwrap();
    assert_eq!(fs::read(&path).unwrap(), to_npy(&[3, 4, 5], &data));
    assert_eq!(read_npy_file(&path).unwrap(), NpyArray { shape: vec![3, 4, 5], data, dtype: NpyDtype::F32 });
    assert_eq!(dir_entries(&dir), ["out.npy"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_file_into_a_nonexistent_directory_fails_and_creates_nothing() {
    let dir = scratch_dir("nodir");
    let target = dir.join("missing").join("sub").join("out.npy");
    let err = write_npy_file(&target, &[2], &[1.0, 2.0]).unwrap_err();
    match &err {
        NpyError::Io { path, source } => {
            assert_eq!(path, &target);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("out.npy"), "{err}");
    assert!(!dir.join("missing").exists());
    assert!(dir_entries(&dir).is_empty());
    // A path that names no file.
    assert!(matches!(write_npy_file(Path::new("/"), &[1], &[1.0]), Err(NpyError::Io { .. })));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn overwriting_replaces_the_file_fully() {
    let dir = scratch_dir("overwrite");
    let path = dir.join("out.npy");
    write_npy_file(&path, &[100, 100], &vec![9.0; 10_000]).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 128 + 40_000);
    write_npy_file(&path, &[2], &[1.0, 2.0]).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes, to_npy(&[2], &[1.0, 2.0]));
    assert_eq!(read_npy(&bytes).unwrap().data, [1.0, 2.0]);
    assert_eq!(dir_entries(&dir), ["out.npy"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_writes_leave_the_target_untouched() {
    let dir = scratch_dir("failed");
    let path = dir.join("out.npy");
    fs::write(&path, b"previous contents, not even npy").unwrap();

    // Refused before any file is created.
    let err = write_npy_file(&path, &[2, 2], &[1.0; 3]).unwrap_err();
    assert!(matches!(err, NpyError::ShapeMismatch { .. }), "{err:?}");
    let err = write_npy_file(&path, &[usize::MAX, 3], &[]).unwrap_err();
    assert!(matches!(err, NpyError::ShapeOverflow { .. }), "{err:?}");
    assert_eq!(fs::read(&path).unwrap(), b"previous contents, not even npy");
    assert_eq!(dir_entries(&dir), ["out.npy"]);

    // Failing at the rename, after the temporary file was written: the target is a
    // non-empty directory. The temporary file is removed.
    let target_dir = dir.join("is-a-dir.npy");
    fs::create_dir(&target_dir).unwrap();
    fs::write(target_dir.join("keep"), b"k").unwrap();
    let err = write_npy_file(&target_dir, &[2], &[1.0, 2.0]).unwrap_err();
    assert!(matches!(&err, NpyError::Io { path, .. } if path == &target_dir), "{err:?}");
    assert_eq!(dir_entries(&dir), ["is-a-dir.npy", "out.npy"]);
    assert_eq!(dir_entries(&target_dir), ["keep"]);
    fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- fuzzing

/// Reads `bytes` (which must not panic) and checks the invariants of a successful read.
fn read_checked(bytes: &[u8]) {
    if let Ok(a) = read_npy(bytes) {
        assert_eq!(a.data.len(), a.shape.iter().product::<usize>());
    }
}

#[test]
fn fuzz_random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    for i in 0..4000 {
        let len = rng.random_range(0..400usize);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Half of them get a valid magic and version, so the header parser is reached.
        if i % 2 == 0 && bytes.len() >= 12 {
            bytes[..6].copy_from_slice(b"\x93NUMPY");
            bytes[6] = rng.random_range(1..=3);
            bytes[7] = 0;
            let room = (bytes.len() - 12) as u32;
            let hlen = rng.random_range(0..=room);
            if bytes[6] == 1 {
                bytes[8..10].copy_from_slice(&(hlen as u16).to_le_bytes());
            } else {
                bytes[8..12].copy_from_slice(&hlen.to_le_bytes());
            }
        }
        read_checked(&bytes);
    }
}

#[test]
fn fuzz_mutations_of_a_valid_file_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let valid = to_npy(&[2, 3, 4], &fixture_values());
    // Every truncation.
    for len in 0..=valid.len() {
        read_checked(&valid[..len]);
    }
    // Header characters that steer the parser into its different branches.
    const ALPHABET: &[u8] = b"{}()[]',:\" \n\t-+_0123456789LTFNxe.\\\x93\xff";
    let mut ok = 0;
    for i in 0..6000 {
        let mut bytes = valid.clone();
        let mutations = 1 + (i % 3);
        for _ in 0..mutations {
            // Mostly within the preamble and header, sometimes anywhere.
            let end = if rng.random_range(0..4) == 0 { bytes.len() } else { 128.min(bytes.len()) };
            if end == 0 {
                break;
            }
            let at = rng.random_range(0..end);
            let byte =
                if rng.random() { ALPHABET[rng.random_range(0..ALPHABET.len())] } else { rng.random::<u8>() };
            match rng.random_range(0..4) {
                0 => bytes.truncate(at),
                1 => bytes.insert(at, byte),
                2 => {
                    bytes.remove(at);
                }
                _ => bytes[at] = byte,
            }
        }
        if read_npy(&bytes).is_ok() {
            ok += 1;
        }
        read_checked(&bytes);
    }
    // Mutations of padding spaces and data bytes keep some files valid.
    assert!(ok > 0);
}
