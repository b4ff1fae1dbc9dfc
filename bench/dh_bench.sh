#!/usr/bin/env bash
# The physical bound for IKE handshakes with DH group 2: 1024-bit modular exponentiations per
# second (OpenSSL, one core). A responder needs two per handshake.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_WORK:-/tmp}/dh_bound
cc -O2 -o "$bin" bench/dh_bound.c -lcrypto
runs=()
for _ in 1 2 3 4 5; do runs+=("$("$bin" 2)"); done
median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
[ -n "${BENCH_WORK:-}" ] && echo "$median" >"$BENCH_WORK/dh_median"
echo "## DH bound (MODP-1024 modular exponentiation)"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| modexp/s, one core (median of 5 x 2 s) | $median |"
echo "| handshake bound, one core (two modexp each) | $(awk -v m="$median" 'BEGIN{printf "%.0f", m/2}') |"
echo "| handshake bound, all $(nproc) cores | $(awk -v m="$median" -v n="$(nproc)" 'BEGIN{printf "%.0f", m/2*n}') |"
echo
