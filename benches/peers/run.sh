#!/usr/bin/env bash
# sepconv against its peers, in one command:
#
#   bash benches/peers/run.sh [--quick] [--rounds N] [--cases REGEX] [other bench.py options]
#
# 1. creates/uses the venv benches/peers/.venv with the pinned requirements.txt;
# 2. builds sepconv (cargo build --release --bin sepconv) and the Rust peer runner
#    benches/peers/rust (tract, rten), unless PEERS_RS=/path/to/peers-rs is given;
# 3. generates the ONNX models into benches/peers/out/models (skipped when up to date);
# 4. runs the benchmark (bench.py) and writes BENCHMARKS.md, benches/peers/out/results.json
#    and benches/peers/peers.svg.
#
# --quick: 2 rounds of >= 60 ms per measurement (default: 5 rounds of >= 300 ms).
# Environment: PEERS_RS (a prebuilt peers-rs binary), PYTHON (the interpreter that creates the venv).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

for arg in "$@"; do
    case "$arg" in
        -h|--help)
            sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
            exec "${PYTHON:-python3}" "$HERE/bench.py" --help
            ;;
    esac
done

start=$SECONDS
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== venv: creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "== venv: installing $HERE/requirements.txt"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$HERE/requirements.txt"
    echo "$want" > "$stamp"
else
    echo "== venv: $VENV up to date"
fi

echo "== build: cargo build --release --bin sepconv"
cargo build --release --bin sepconv

peers=()
if [ -n "${PEERS_RS:-}" ]; then
    echo "== peers-rs: using PEERS_RS=$PEERS_RS (not building benches/peers/rust)"
elif [ -f "$HERE/rust/Cargo.toml" ]; then
    echo "== build: cargo build --release --manifest-path benches/peers/rust/Cargo.toml"
    if cargo build --release --manifest-path "$HERE/rust/Cargo.toml"; then
        export PEERS_RS="$HERE/rust/target/release/peers-rs"
    else
        echo "== peers-rs: THE BUILD FAILED: tract and rten will not be run (the report says so)"
        peers=(--no-peers-rs "the build of benches/peers/rust failed")
    fi
else
    echo "== peers-rs: benches/peers/rust does not exist yet: tract and rten will not be run"
    peers=(--no-peers-rs "benches/peers/rust (the peers-rs runner) does not exist yet")
fi

echo "== benchmark: bench.py $*"
quoted="bash benches/peers/run.sh"
for arg in "$@"; do quoted+=" $(printf '%q' "$arg")"; done
"$VENV/bin/python" "$HERE/bench.py" --command "$quoted" "${peers[@]}" "$@"
elapsed=$((SECONDS - start))
echo "== done in $((elapsed / 60))m$(printf '%02d' $((elapsed % 60)))s"
