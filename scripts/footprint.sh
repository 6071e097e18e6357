#!/usr/bin/env bash
# Memory and size budgets of the release `sepconv` binary (issue 13, "footprint"):
#
# - peak RSS of `sepconv run --builtin mobilenet_v2 --iters 50` (VmHWM, which `run --json`
#   reports) at most the graph's packed weights + arena + 6 MiB: the model's own copy of the
#   weights is freed as they are packed (Graph::plan_owned), so nothing else may grow;
# - the stripped binary at most SIZE_BUDGET bytes.
#
#   scripts/footprint.sh [BIN=target/release/sepconv]
#
# Linux only (VmHWM). Fails (exit 1) with the numbers when a budget is exceeded.
set -euo pipefail

BIN=${1:-target/release/sepconv}
HEADROOM=$((6 * 1024 * 1024))
# The stripped size is 2,988,976 B (x86_64, rustc 1.95; 5,044,888 B before the release profile
# and dependency cuts in Cargo.toml, 4,799,936 B before the three dwconv row-kernel cuts); the
# budget is that + 3 %, under the 3 MiB (3,145,728 B) of issue 13. README "Footprint" has the
# per-crate table; lower the budget as the binary shrinks.
SIZE_BUDGET=${SIZE_BUDGET:-3078000}

fail=0
for model in mobilenet_v2 mobilenet_v1; do
    json=$("$BIN" run --builtin "$model" --iters 50 --warmup 5 --json)
    read -r weights arena rss < <(python3 -c '
import json, sys
v = json.loads(sys.argv[1])
print(v["weight_bytes"], v["arena_bytes"], v["peak_rss_bytes"])' "$json")
    budget=$((weights + arena + HEADROOM))
    printf 'footprint: %s peak RSS %d B = weights %d + arena %d + %d (budget: + %d)\n' \
        "$model" "$rss" "$weights" "$arena" $((rss - weights - arena)) "$HEADROOM"
    if [ "$rss" -gt "$budget" ]; then
        echo "footprint: FAIL: $model peak RSS $rss > weights + arena + 6 MiB = $budget" >&2
        fail=1
    fi
done

stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$BIN"
size=$(stat -c %s "$stripped")
echo "footprint: stripped binary $size B (budget $SIZE_BUDGET B)"
if [ "$size" -gt "$SIZE_BUDGET" ]; then
    echo "footprint: FAIL: stripped binary $size B > $SIZE_BUDGET B" >&2
    fail=1
fi
exit "$fail"
