#!/usr/bin/env bash
# Same-run A/B of two sepconv binaries: rounds of `sepconv bench --json --layers L` for every
# standard layer L and `sepconv run --builtin mobilenet_v{1,2} --json` on the given tiers, the
# two binaries back to back for each (the order alternates), then a table of the best median
# per binary and the ratio new/base. The machine is shared and noisy: only ratios from one such
# run mean anything.
#
#   [MIN_MS=200] scripts/ab_bench.sh BASE_BIN NEW_BIN [ROUNDS=3] [TIERS=avx2,avx512] [LAYERS=<all>]
#
# MIN_MS is the time spent on each layer per tier and round (longer: less noise).
#
# e.g. build the base at an older commit into /tmp/base (git worktree + cargo build --release),
# then: scripts/ab_bench.sh /tmp/base/target/release/sepconv target/release/sepconv 5
set -euo pipefail

BASE=${1:?usage: scripts/ab_bench.sh BASE_BIN NEW_BIN [ROUNDS] [TIERS] [LAYERS]}
NEW=${2:?usage: scripts/ab_bench.sh BASE_BIN NEW_BIN [ROUNDS] [TIERS] [LAYERS]}
ROUNDS=${3:-3}
TIERS=${4:-avx2,avx512}
LAYERS=${5:-}
MIN_MS=${MIN_MS:-200}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Interleaved per layer (each layer's base and new runs back to back, order alternating), so
# that a slow spell of the shared machine hits both binaries of a row rather than one whole
# bench. LAYERS (one substring, as `bench --layers`) narrows the set.
layers=$("$NEW" bench --json --isa "${TIERS%%,*}" --min-ms 1 ${LAYERS:+--layers "$LAYERS"} |
    python3 -c 'import json, sys; print(" ".join(r["layer"] for r in json.load(sys.stdin)["rows"]))')
pick() { if [ $(($1 % 2)) -eq 0 ]; then echo "base new"; else echo "new base"; fi; }
bin_of() { if [ "$1" = new ]; then echo "$NEW"; else echo "$BASE"; fi; }
for r in $(seq 1 "$ROUNDS"); do
    i=0
    for l in $layers; do
        i=$((i + 1))
        for w in $(pick $((r + i))); do
            "$(bin_of "$w")" bench --json --isa "$TIERS" --min-ms "$MIN_MS" --layers "$l" >"$OUT/bench_${w}_${r}_$i.json"
        done
    done
    for m in mobilenet_v2 mobilenet_v1; do
        for isa in ${TIERS//,/ }; do
            i=$((i + 1))
            for w in $(pick $((r + i))); do
                "$(bin_of "$w")" run --builtin "$m" --isa "$isa" --iters 30 --min-ms 600 --warmup 5 --json \
                    >"$OUT/run_${w}_${m}_${isa}_$r.json"
            done
        done
    done
    echo "round $r of $ROUNDS done" >&2
done

python3 - "$OUT" <<'PY'
import collections, glob, json, os, sys
out = sys.argv[1]
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for f in glob.glob(os.path.join(out, "bench_*.json")):
    who = os.path.basename(f).split("_")[1]
    for r in json.load(open(f))["rows"]:
        rows[(r["layer"], r["tier"])][who].append(r["median_us"])
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for f in glob.glob(os.path.join(out, "run_*.json")):
    p = os.path.basename(f)[:-5].split("_")
    runs[("_".join(p[2:4]), p[4])][p[1]].append(json.load(open(f))["median_ms"])
print("| layer | tier | base µs | new µs | new/base |\n|---|---|---|---|---|")
worst = 0.0
for k in sorted(rows):
    b, n = min(rows[k]["base"]), min(rows[k]["new"])
    worst = max(worst, n / b)
    print(f"| {k[0]} | {k[1]} | {b:.1f} | {n:.1f} | {n / b:.3f} |")
print("\n| model | tier | base ms | new ms | new/base |\n|---|---|---|---|---|")
for k in sorted(runs):
    b, n = min(runs[k]["base"]), min(runs[k]["new"])
    print(f"| {k[0]} | {k[1]} | {b:.3f} | {n:.3f} | {n / b:.3f} |")
print(f"\nworst layer ratio {worst:.3f} (best median of the rounds per binary)")
PY
