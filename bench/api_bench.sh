#!/usr/bin/env bash
# Markdown section for bench/run.sh: REST API throughput with wrk, measured by bench/api_wrk.sh
# (its logic: portcullisd in a namespace, 1,000,000 generated accounting records, wrk per URL).
# Environment: API_DURATION (default 5s), API_RECORDS (default 1000000), THREADS, CONNS.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-$PWD/build/release}
export DURATION=${API_DURATION:-5s} RECORDS=${API_RECORDS:-1000000}
out=$(bash bench/api_wrk.sh "$BUILD" 2>"${BENCH_WORK:-/tmp}/api.err")
echo "## REST API with wrk"
echo
echo "\`bench/api_wrk.sh\`: portcullisd (Release) in a namespace, database with $RECORDS generated"
echo "accounting records; $(grep -m1 '^(wrk' <<<"$out" | tr -d '()'). Read-only bearer token on every request but health."
echo
echo "| request | req/s | p50 | p99 | non-2xx / errors |"
echo "|---|---:|---:|---:|---|"
awk '
/^== / { if (rps != "") print row(); name = $0; sub(/^== /, "", name); rps = p50 = p99 = ""; bad = "-" }
/Requests\/sec/ { rps = $2 }
/^ +50%/ { p50 = $2 }
/^ +99%/ { p99 = $2 }
/Non-2xx|Socket errors/ { bad = $0; gsub(/^ +/, "", bad) }
function row() { return "| " name " | " rps " | " p50 " | " p99 " | " bad " |" }
END { if (rps != "") print row() }' <<<"$out"
echo
grep -m1 'rows in' <<<"$out" | sed 's/^ *//; s/^/Generating the records: /'
echo
