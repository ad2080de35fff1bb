#!/bin/bash
# The cost of one checkpoint with 1,000,000 live keys after a batch that
# changed 10,000 of them, and the bytes on disk per live key (see
# checkpoint_cost.c). Not a test.
#   tests/bench/checkpoint.sh [LIVE_KEYS [CHANGED]]    (BUILD=build by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ninja -C "$BUILD" tests/bench/checkpoint-cost >/dev/null
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/sensord-checkpoint-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); state on $(df --output=fstype "$dir" | tail -1)"
"$BUILD/tests/bench/checkpoint-cost" "$dir" "${1:-1000000}" "${2:-10000}"
