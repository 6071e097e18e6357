#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60) on the nightly
# toolchain, then prints execs and corpus size per target.
#
#   scripts/fuzz.sh [SECONDS]
#
# Installs cargo-fuzz if it is missing. The onnx_load corpus is seeded from
# tests/fixtures/*.onnx. Crashes land in fuzz/artifacts/TARGET/; the script exits non-zero
# if any target crashed (after running all of them).
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS]  (SECONDS a positive integer)" >&2
    exit 2
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# Build flags shared by `fuzz build` and `fuzz run` (the same flags, so `run` does not rebuild):
# 16 codegen units instead of cargo-fuzz's default 1 (with sanitizer coverage the single-unit
# release build of the kernels crate, every AVX2/AVX-512 kernel instance, took ~14 minutes on the
# 2-core development machine; 16 units: ~8.5), and a target directory outside the checkout,
# reused by later runs on the same machine (SEPCONV_FUZZ_TARGET_DIR overrides it).
TARGET_DIR=${SEPCONV_FUZZ_TARGET_DIR:-${HOME:-/tmp}/.cache/sepconv/fuzz-target}
BUILD_FLAGS=(--codegen-units 16 --target-dir "$TARGET_DIR")

mapfile -t TARGETS < <(cargo +nightly fuzz list)
if [ "${#TARGETS[@]}" -eq 0 ]; then
    echo "fuzz: cargo fuzz list found no targets" >&2
    exit 1
fi

# Seed the ONNX importer's corpus with the test fixtures (copied under their content hash,
# as libFuzzer names corpus files, so re-seeding adds no duplicates).
mkdir -p fuzz/corpus/onnx_load
for f in tests/fixtures/*.onnx; do
    [ -e "$f" ] || continue
    cp "$f" "fuzz/corpus/onnx_load/$(sha1sum "$f" | cut -d' ' -f1)"
done

# And the .npy reader's with the numpy-written fixtures (every version, order and dtype there).
mkdir -p fuzz/corpus/npy_read
for f in tests/fixtures/npy/*.npy; do
    [ -e "$f" ] || continue
    cp "$f" "fuzz/corpus/npy_read/$(sha1sum "$f" | cut -d' ' -f1)"
done

cargo +nightly fuzz build "${BUILD_FLAGS[@]}"

LOG_DIR=fuzz/logs
mkdir -p "$LOG_DIR"
SUMMARY=()
FAILED=()
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    echo
    echo "== fuzz: $t for ${SECONDS_PER_TARGET}s"
    status=0
    cargo +nightly fuzz run "${BUILD_FLAGS[@]}" "$t" -- -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
        >"$LOG_DIR/$t.log" 2>&1 || status=$?
    tail -n 25 "$LOG_DIR/$t.log"
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$LOG_DIR/$t.log" | grep -oE '[0-9]+$' | tail -n1 || true)
    if [ -z "$execs" ]; then
        execs=$(grep -oE '^#[0-9]+' "$LOG_DIR/$t.log" | tr -d '#' | tail -n1 || true)
    fi
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    line=$(printf '%-14s execs %-10s corpus %-6s' "$t" "${execs:-?}" "$corpus")
    if [ "$status" -ne 0 ]; then
        artifact=$(grep -oE 'Test unit written to [^ ]+' "$LOG_DIR/$t.log" | tail -n1 | sed 's/Test unit written to //' || true)
        line+=" CRASHED (exit $status) ${artifact:-see $LOG_DIR/$t.log}"
        FAILED+=("$t")
    fi
    SUMMARY+=("$line")
done

echo
echo "== fuzz: summary (${SECONDS_PER_TARGET}s per target; logs in $LOG_DIR/)"
printf '%s\n' "${SUMMARY[@]}"
if [ "${#FAILED[@]}" -ne 0 ]; then
    echo "fuzz: FAILED: ${FAILED[*]} crashed" >&2
    exit 1
fi
