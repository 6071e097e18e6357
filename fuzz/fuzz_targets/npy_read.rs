//! Arbitrary bytes into the `.npy` reader; a file that reads is written back as float32 and
//! must read again to the same shape and bits. Errors are fine, panics and mismatches are bugs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sepconv::npy::{NpyDtype, read_npy, write_npy};

fuzz_target!(|data: &[u8]| {
    let Ok(array) = read_npy(data) else { return };
    assert_eq!(array.data.len(), array.shape.iter().product::<usize>());
    let mut bytes = Vec::new();
    write_npy(&array.shape, &array.data, &mut bytes).expect("a read array writes");
    let again = read_npy(&bytes).expect("a written array reads");
    assert_eq!(again.dtype, NpyDtype::F32);
    assert_eq!(again.shape, array.shape);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&again.data), bits(&array.data));
});
