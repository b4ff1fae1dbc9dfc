#!/usr/bin/env bash
#
# A real Cisco-VPN-Client-compatible peer (Debian's vpnc) connects to portcullisd with the seed's
# group vpn3000 (Aggressive Mode, group password, Xauth, Mode Config); the browser test
# (lab_console.test.mjs) then sees the client on the dashboard, in the uauth table and on the
# VPN sessions page, and disconnects it from there; this script checks vpnc was torn down.
#
# Topology (namespaces made here, linked only to each other):
#   pc-wl-$$-cli  eth0 192.168.1.50/24  <-veth->  pc-wl-$$-gw eth0 192.168.1.1/24 (outside)
#                                                  pc-wl-$$-gw eth1 10.89.129.194/28 (inside, veth)
# Xauth is checked against the LOCAL group (a local user made through the API) so no TACACS+
# server is needed; everything else is the seed as imported through the console's API.
# When the demo lab script lands (scripts/lab.sh or similar), switch the topology to it.
set -euo pipefail

SRC=${PORTCULLIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$SRC/tests/web
: "${PORTCULLISD:?}" "${PORTCULLIS:?}"

fail() {
	echo "lab_console: FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "must run as root"
command -v vpnc >/dev/null || fail "vpnc missing (scripts/deps.sh)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium missing"

GW=pc-wl-$$-gw
CLI=pc-wl-$$-cli
TMP=$(mktemp -d /tmp/pc-wl.XXXXXX)
DB=$TMP/portcullis.db
PID=
VPNC_PID=
cleanup() {
	local rc=$?
	[ -n "$VPNC_PID" ] && kill "$VPNC_PID" 2>/dev/null || true
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	ip netns del "$GW" 2>/dev/null || true
	ip netns del "$CLI" 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		for f in "$TMP"/portcullisd.log "$TMP"/vpnc.log; do
			[ -f "$f" ] && { echo "---- $f (last 60 lines) ----" >&2; tail -n 60 "$f" >&2; }
		done
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT INT TERM

ip netns add "$GW"
ip netns add "$CLI"
ip -n "$GW" link set lo up
ip -n "$CLI" link set lo up
ip link add "wl$$g" netns "$GW" type veth peer name "wl$$c" netns "$CLI"
ip -n "$GW" link set "wl$$g" name eth0
ip -n "$CLI" link set "wl$$c" name eth0
ip -n "$GW" link add eth1 type veth peer name eth1-peer
for l in eth0 eth1 eth1-peer; do ip -n "$GW" link set "$l" up; done
ip -n "$CLI" addr add 192.168.1.50/24 dev eth0
ip -n "$CLI" link set eth0 up

"$PORTCULLIS" --db "$DB" db-init >/dev/null
ADMIN=labadmin
PASS="lab-$(head -c 9 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf '%s\n' "$PASS" | "$PORTCULLIS" --db "$DB" admin add "$ADMIN" || fail "portcullis admin add failed"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PORTCULLISD" --db "$DB" --api "127.0.0.1:$PORT" --netns "$GW" --webui "$SRC/webui" \
	--log-level info,ike=debug >"$TMP/portcullisd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1 && break
	kill -0 "$PID" 2>/dev/null || fail "portcullisd exited during startup"
	sleep 0.1
done

# Seed + secrets through the API (session cookie + CSRF, as the console does).
JAR=$TMP/cookies
API=http://127.0.0.1:$PORT/api/v1
CSRF=$(curl -fsS -c "$JAR" -H 'Content-Type: application/json' \
	-d "{\"username\":\"$ADMIN\",\"password\":\"$PASS\"}" "$API/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
call() { # METHOD PATH [JSON]
	curl -fsS -b "$JAR" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -X "$1" \
		${3:+-d "$3"} "$API$2" || fail "$1 $2 failed"
}
curl -fsS -b "$JAR" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: text/plain' --data-binary @"$SRC/tests/data/seed.cfg" \
	"$API/config/pix?apply=true" >/dev/null || fail "seed import failed"
GROUP_PW=lab-group-$$
USER_PW=lab-user-$$
VG_ID=$(call GET '/vpngroups?q=vpn3000' | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
call PATCH "/vpngroups/$VG_ID" "{\"password\":\"$GROUP_PW\"}" >/dev/null
call POST /local-users "{\"name\":\"cisco_customer\",\"password\":\"$USER_PW\",\"privilege\":2}" >/dev/null
call PATCH /crypto-map-options/mymap '{"client_auth_group":"LOCAL"}' >/dev/null

cat >"$TMP/vpnc.conf" <<CONF
IPSec gateway 192.168.1.1
IPSec ID vpn3000
IPSec secret $GROUP_PW
Xauth username cisco_customer
Xauth password $USER_PW
IKE DH Group dh2
Perfect Forward Secrecy nopfs
NAT Traversal Mode none
Local Port 0
Script /usr/share/vpnc-scripts/vpnc-script
CONF
chmod 600 "$TMP/vpnc.conf"
ip netns exec "$CLI" vpnc --no-detach --debug 1 --pid-file "$TMP/vpnc.pid" \
	--enable-1des --enable-weak-authentication "$TMP/vpnc.conf" >"$TMP/vpnc.log" 2>&1 &
VPNC_PID=$!
for _ in $(seq 1 150); do
	ip -n "$CLI" -4 addr show | grep -q '10\.89\.129\.20[0-4]' && break
	kill -0 "$VPNC_PID" 2>/dev/null ||
		fail "vpnc exited before the tunnel came up: the IKE engine / lab is not ready (see vpnc.log)"
	sleep 0.2
done
ip -n "$CLI" -4 addr show | grep -q '10\.89\.129\.20[0-4]' ||
	fail "vpnc got no pool address within 30 s: the IKE engine / lab is not ready"

cd "$HERE"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
mkdir -p "$HERE/artifacts"
PC_BASE_URL="http://127.0.0.1:$PORT/" PC_ADMIN="$ADMIN" PC_PASSWORD="$PASS" PC_ARTIFACTS="$HERE/artifacts" \
	PC_VPN_USER=cisco_customer node --test --test-concurrency=1 --test-reporter=spec lab_console.test.mjs

# The console's Disconnect deleted the SAs: vpnc notices the DELETE and exits (or loses its
# tunnel address); either way the client must be gone within 30 s.
for _ in $(seq 1 150); do
	if ! kill -0 "$VPNC_PID" 2>/dev/null || ! ip -n "$CLI" -4 addr show | grep -q '10\.89\.129\.20[0-4]'; then
		echo "lab_console: PASS"
		exit 0
	fi
	sleep 0.2
done
fail "vpnc is still connected 30 s after Disconnect"
