#!/usr/bin/env bash
# Markdown section for bench/run.sh: AAA authentication latency and accounting delivery, measured
# by bench/aaa_measure.sh (its logic: test TACACS+ server and FreeRADIUS in a namespace of its
# own, `portcullis aaa test --repeat N`, `portcullis aaa account-test --count 5N`).
# Environment: AAA_N (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-$PWD/build/release}
N=${AAA_N:-200}
out=$(PORTCULLIS=$BUILD/portcullis bash bench/aaa_measure.sh "$N" 2>"${BENCH_WORK:-/tmp}/aaa.err")
echo "## AAA: authentication latency and accounting delivery"
echo
echo "\`bench/aaa_measure.sh $N\`: $N sequential authentications in one \`portcullis aaa test --repeat\`"
echo "process against the test TACACS+ server (tests/peers/tacacs_server.py) and FreeRADIUS on a"
echo "namespace's loopback, LOCAL hashes; then $((N * 5)) accounting records queued durably (fsync each)"
echo "and delivered to each server (16 in flight). Latency per request, not capacity."
echo
echo "| request | accepted | ms/auth |"
echo "|---|---:|---:|"
grep 'accepted' <<<"$out" | sed -E 's/^(.*[^ ]) +([0-9]+\/[0-9]+) accepted +([0-9.]+) ms\/auth$/| \1 | \2 | \3 |/'
echo
echo "Accounting outbox (queue = time to queue all records durably; then delivery):"
echo
echo '```'
grep -E '^(TAC|RAD):' <<<"$out" || echo "(no accounting output)"
echo '```'
echo
