#!/usr/bin/env bash
# ESP through one tunnel with the gateway bound by its own CPU (issue 12: "at least 1.5x strongSwan
# kernel-libipsec on one tunnel"): the iperf3 runs of esp_bench.sh go through vpnc, which on the
# other CPU limits the pinned runs before either gateway does (its capped runs compare the
# gateways at a quarter of a CPU). Here bench/espscale_bench.sh runs with one tunnel, Portcullis
# with one ESP thread vs strongSwan's charon, every gateway thread on one CPU (ESP_SCALE_GW_CPU,
# 1) and the generator bench/espload on the other (ESP_SCALE_GEN_CPU, 0); same variables
# otherwise (ESP_ROUNDS, ESP_SECS, ESP_TRANSFORMS...). Raw lines: $BENCH_WORK/esp-one-raw.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export ESP_SCALE_TUNNELS=${ESP_ONE_TUNNELS:-1} ESP_SCALE_CONFIGS="pc1 sw" ESP_SCALE_PIN=1 ESP_SCALE_TAG=one
exec bash bench/espscale_bench.sh
