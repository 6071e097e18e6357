#!/usr/bin/env bash
# Runs the Miri subset: the reference and portable kernels (kernels/tests/miri_subset.rs) and
# the tensor layer (tests/miri_tensor.rs) under `cargo +nightly miri test`. The AVX2 and NEON
# kernels are not covered: Miri does not implement most of their intrinsics.
# Run from anywhere: `bash scripts/miri.sh`. Needs rustup with a nightly toolchain.
set -euo pipefail

cd "$(dirname "$0")/.."

die() {
    echo "miri: FAILED: $*" >&2
    exit 1
}

command -v rustup >/dev/null 2>&1 || die "rustup is not on PATH"
rustup run nightly rustc --version >/dev/null 2>&1 \
    || die "no nightly toolchain (install it with: rustup toolchain install nightly)"

installed=$(rustup +nightly component list --installed 2>/dev/null || true)
if grep -q '^miri' <<<"$installed"; then
    echo "miri: component already installed on nightly"
else
    echo "miri: installing the miri component on nightly"
    rustup component add miri --toolchain nightly \
        || die "'rustup component add miri --toolchain nightly' failed (this nightly may lack miri; try 'rustup toolchain install nightly --component miri')"
fi
# Builds Miri's sysroot once (cached in ~/.cache/miri); quiet when it is already there.
cargo +nightly miri setup || die "'cargo +nightly miri setup' failed"

start=$SECONDS
cargo +nightly miri test -p sepconv-kernels --test miri_subset \
    || die "cargo +nightly miri test -p sepconv-kernels --test miri_subset"
echo "miri: kernels subset passed in $((SECONDS - start))s"

start=$SECONDS
cargo +nightly miri test -p sepconv --test miri_tensor \
    || die "cargo +nightly miri test -p sepconv --test miri_tensor"
echo "miri: tensor subset passed in $((SECONDS - start))s"
