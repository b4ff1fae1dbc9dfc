#!/usr/bin/env bash
# IKE responder throughput: N sequential remote-access tunnels (Aggressive Mode + Xauth + Mode
# Config + Quick Mode + DELETE, DES/MD5, DH group 2) from the test initiator
# (tests/peers/ike_initiator.c) against the in-process responder on loopback.
#   bench/ike_bench.sh [N] [BUILD_DIR]     (default 200, build/dev)
# Build without sanitizers for meaningful numbers, e.g. cmake -B build/rel -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
BUILD=${2:-build/dev}
IKE_BENCH=$N "$BUILD/ike_exchange_test"
