#!/usr/bin/env bash
# Browser test of the web console against the real gateway: a fresh database with one admin,
# portcullisd with its data plane in a network namespace this script creates (API on 127.0.0.1),
# and headless Debian chromium driven by playwright-core (console.test.mjs).
# Env (set by ctest): PORTCULLISD, PORTCULLIS, PORTCULLIS_SOURCE_DIR.
# Screenshots of every page (desktop and 360 px) go to tests/web/artifacts/.
set -euo pipefail

SRC=${PORTCULLIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$SRC/tests/web
: "${PORTCULLISD:?PORTCULLISD must point to the built portcullisd}"
: "${PORTCULLIS:?PORTCULLIS must point to the built portcullis CLI}"

fail() {
	echo "console_test: FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (creates a network namespace)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium missing: install Debian's chromium (scripts/deps.sh)"
command -v node >/dev/null || fail "node missing"
command -v sqlite3 >/dev/null || fail "sqlite3 missing (scripts/deps.sh)"

NS=pc-web-$$
TMP=$(mktemp -d /tmp/pc-web.XXXXXX)
DB=$TMP/portcullis.db
LOG=$TMP/portcullisd.log
PID=
cleanup() {
	local rc=$?
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	if [ "$rc" -ne 0 ] && [ -f "$LOG" ]; then
		echo "---- portcullisd log (last 80 lines) ----" >&2
		tail -n 80 "$LOG" >&2 || true
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT INT TERM

# The seed's interfaces (ethernet0 -> eth0, ethernet1 -> eth1) exist only inside our namespace.
ip netns add "$NS"
ip -n "$NS" link set lo up
# veth pairs (the dummy driver is not available everywhere); the peers stay in the namespace.
ip -n "$NS" link add eth0 type veth peer name eth0-peer
ip -n "$NS" link add eth1 type veth peer name eth1-peer
for l in eth0 eth0-peer eth1 eth1-peer; do ip -n "$NS" link set "$l" up; done

"$PORTCULLIS" --db "$DB" db-init >/dev/null || fail "portcullis db-init failed"
ADMIN=webadmin
PASS="web-$(head -c 9 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf '%s\n' "$PASS" | "$PORTCULLIS" --db "$DB" admin add "$ADMIN" ||
	fail "'portcullis --db F admin add NAME' (password on stdin) failed: it comes from the api branch"

# Accounting fixture: 150 records over the last 150 minutes for three users, the way the engine
# writes them (the console must page and filter them through the real API).
now_ms=$(($(date +%s) * 1000))
{
	echo "BEGIN;"
	for i in $(seq 1 150); do
		case $((i % 3)) in 0) u=alice ;; 1) u=bob ;; *) u=cisco_customer ;; esac
		if [ $((i % 2)) -eq 0 ]; then t=stop; else t=start; fi
		if [ $((i % 5)) -eq 0 ]; then svc=ipsec; else svc=telnet; fi
		el=0 bi=0 bo=0
		[ "$t" = stop ] && el=$((30 + i)) bi=$((1000 * i)) bo=$((400 * i))
		echo "INSERT INTO acct_record (created_at_ms, record_type, session_id, task_id, username, group_name, caller_address, peer_address, nas_address, service, elapsed_s, bytes_in, bytes_out, state) VALUES ($((now_ms - (150 - i) * 60000)), '$t', 's$((i / 2))', $((100 + i)), '$u', 'vpn3000', '10.89.129.$((200 + i % 5))', '192.168.1.50', '192.168.1.1', '$svc', $el, $bi, $bo, 'delivered');"
	done
	echo "COMMIT;"
} | sqlite3 "$DB"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PORTCULLISD" --db "$DB" --api "127.0.0.1:$PORT" --netns "$NS" --webui "$SRC/webui" \
	--log-level info >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	if curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1; then break; fi
	kill -0 "$PID" 2>/dev/null || fail "portcullisd exited during startup"
	sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null || fail "API did not answer on 127.0.0.1:$PORT"
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" ||
	fail "GET / did not serve the console (webui/index.html) from the API server"
# The console is tested under the strict policy the server sends (no inline script, no eval).
csp=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$PORT/" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ss]ecurity-[Pp]olicy: //p')
case "$csp" in
*"script-src 'self'"*) ;;
*) fail "GET / must send Content-Security-Policy with script-src 'self', got '$csp'" ;;
esac

cd "$HERE"
npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci in tests/web failed"
mkdir -p "$HERE/artifacts"
PC_BASE_URL="http://127.0.0.1:$PORT/" PC_ADMIN="$ADMIN" PC_PASSWORD="$PASS" \
	PC_SEED="$SRC/tests/data/seed.cfg" PC_ARTIFACTS="$HERE/artifacts" PC_DB="$DB" \
	node --test --test-concurrency=1 --test-reporter=spec console.test.mjs

# The daemon must still be healthy and exit cleanly (sanitizers report through the exit code).
kill -0 "$PID" 2>/dev/null || fail "portcullisd died during the browser test"
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
[ "$rc" -eq 0 ] || fail "portcullisd exited with status $rc"
echo "console_test: PASS"
