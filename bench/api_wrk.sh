#!/usr/bin/env bash
# REST API throughput with wrk: a small GET (health, no auth), an authenticated small GET (pools)
# and paged accounting queries over 1,000,000 stored records (generated with SQL).
#   bench/api_wrk.sh [BUILD_DIR]     (default: builds build/bench, Release, no sanitizers)
# Runs portcullisd inside a network namespace it creates (as root), so all traffic stays there.
# Environment: DURATION (default 10s), THREADS (2), CONNS (16), RECORDS (1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:-build/bench}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
RECORDS=${RECORDS:-1000000}

if [ "$(id -u)" -ne 0 ]; then
	echo "api_wrk.sh: run as root (it creates a network namespace)" >&2
	exit 1
fi
command -v wrk >/dev/null || { echo "api_wrk.sh: wrk not installed (scripts/deps.sh)" >&2; exit 1; }
if [ ! -x "$BUILD/portcullisd" ]; then
	CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j2 --target portcullisd portcullis >/dev/null
fi

NS="pc-api-bench-$$"
TMP=$(mktemp -d /tmp/pc-api-bench.XXXXXX)
DB="$TMP/bench.db"
PID=""
cleanup() {
	if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

"$BUILD/portcullis" --db "$DB" db-init >/dev/null
TOKEN=$("$BUILD/portcullis" --db "$DB" token create bench --read-only | tail -1)
echo "== generating $RECORDS accounting records"
t0=$(date +%s.%N)
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $RECORDS)
INSERT INTO acct_record(created_at_ms, record_type, session_id, task_id, username, group_name,
	caller_address, peer_address, nas_address, service, elapsed_s, bytes_in, bytes_out, state)
SELECT 1700000000000 + i * 1000, CASE i % 2 WHEN 0 THEN 'start' ELSE 'stop' END,
	'sess' || (i / 2), i / 2, 'user' || (i % 500), 'vpn3000',
	'10.89.129.' || (200 + i % 5), '192.168.1.' || (2 + i % 200), '10.89.129.194',
	CASE i % 3 WHEN 0 THEN 'telnet' WHEN 1 THEN 'http' ELSE 'ftp' END,
	i % 3600, i % 100000, i % 1000000, CASE WHEN i % 1000 = 0 THEN 'pending' ELSE 'delivered' END
FROM n;
COMMIT;
ANALYZE;
SQL
t1=$(date +%s.%N)
echo "   $(sqlite3 "$DB" 'SELECT count(*) FROM acct_record') rows in $(echo "$t1 - $t0" | bc) s, db $(du -h "$DB" | cut -f1)"

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" "$BUILD/portcullisd" --db "$DB" --api 127.0.0.1:8080 --log-level warn \
	>"$TMP/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	ip netns exec "$NS" curl -sf http://127.0.0.1:8080/api/v1/health >/dev/null && break
	sleep 0.1
done

run() { # NAME URL [auth]
	local name=$1 url=$2
	echo
	echo "== $name: GET $url"
	ip netns exec "$NS" curl -s -o /dev/null -w '   single request: %{http_code} in %{time_total}s, %{size_download} bytes\n' \
		-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8080$url"
	ip netns exec "$NS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
		-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8080$url" |
		grep -E 'Requests/sec|Latency |50%|99%|Non-2xx|Socket errors|requests in'
}

echo "(wrk -t$THREADS -c$CONNS -d$DURATION; $(nproc) CPUs; $(uname -r))"
run "small GET, no auth" "/api/v1/health"
run "small GET, bearer token" "/api/v1/pools"
run "accounting, newest page" "/api/v1/accounting?limit=50"
run "accounting, one user" "/api/v1/accounting?user=user42&limit=50"
run "accounting, user + time range" "/api/v1/accounting?user=user42&from=2023-11-15&to=2023-11-20&limit=50"
run "accounting, deep page (offset 500000)" "/api/v1/accounting?offset=500000&limit=50"
