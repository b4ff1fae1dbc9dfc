#!/usr/bin/env bash
# The README's run command: on a fresh Debian 12 machine (as root), install what is needed, build,
# and bring up the demo lab (the seed's network in namespaces) with the gateway running in it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)"
exec bash scripts/lab.sh up
