#!/usr/bin/env bash
# Markdown section for bench/run.sh: the ESP transform alone (esp_encap()/esp_decap() of the tun
# backend), one core, in place, no I/O: bench/esp_bench.c. Environment: ESPX_SIZE (1400),
# ESPX_SECS (0.5 per case).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-$PWD/build/release}
bin=${BENCH_WORK:-/tmp}/esp_transform
# libgcrypt too, for a library built with PORTCULLIS_HAVE_GCRYPT (3DES); unused otherwise.
# shellcheck disable=SC2046
cc -O2 -D_GNU_SOURCE -I. -o "$bin" bench/esp_bench.c "$BUILD/libportcullis_lib.a" -lcrypto -lmnl \
	$(pkg-config --libs libgcrypt 2>/dev/null)
echo "## ESP transform alone (one core, no I/O)"
echo
echo "\`bench/esp_bench.c\`: packets/s and inner Gbit/s of \`esp_encap()\`/\`esp_decap()\` per algorithm"
echo "pair, ${ESPX_SIZE:-1400}-byte packets: the ceiling of the tun backend's crypto. For AES it is far"
echo "above the tunnel figures (the data path, not the transform, limits them); for 3DES the transform"
echo "is most of the gateway's cost (see the ESP profiles). Then the heap one SA pair"
echo "takes (both directions, with OpenSSL's contexts: glibc mallinfo2 over 1,000 pairs)."
echo
echo '```'
"$bin" "${ESPX_SIZE:-1400}" "${ESPX_SECS:-0.5}"
echo '```'
echo
