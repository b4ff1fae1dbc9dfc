#!/usr/bin/env bash
# Xauth against RADIUS with real peers: in the demo lab the crypto map's client authentication is
# switched (through the REST API) to the seed's RADIUS group, served by FreeRADIUS at
# 10.89.129.134. A second vpnc client (192.168.1.3) authenticates through it and gets the next
# pool address; FreeRADIUS logs the Access-Accept; a wrong password is refused by FreeRADIUS and
# the client gets no address.
source "$(dirname "$0")/../lib.sh"

export PORTCULLIS_LAB_BUILD=$PORTCULLIS_BUILD_DIR
export PORTCULLIS_LAB_DIR=$T_DIR/lab
port=$(t_free_port)
export PORTCULLIS_LAB_API=127.0.0.1:$port
export PORTCULLIS_LAB_NS_PREFIX=pcr$$-
lab=$PORTCULLIS_SOURCE_DIR/scripts/lab.sh
api=http://$PORTCULLIS_LAB_API/api/v1
trap 'lab_rc=$?; bash "$lab" down >/dev/null 2>&1 || true; set +e; (exit $lab_rc); t_cleanup' EXIT

t_check "lab up" bash "$lab" up
pw=$(cat "$PORTCULLIS_LAB_DIR/admin-password")
curl -s -c "$T_DIR/jar" -H 'Content-Type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$pw\"}" "$api/auth/login" >"$T_DIR/login.json"
csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf_token"])' "$T_DIR/login.json")
code=$(curl -s -o "$T_DIR/patch.json" -w '%{http_code}' -b "$T_DIR/jar" -H "X-CSRF-Token: $csrf" \
	-H 'Content-Type: application/json' -X PATCH -d '{"client_auth_group":"RADIUS"}' \
	"$api/crypto-map-options/mymap")
t_check "crypto map client authentication set to RADIUS through the API ($code)" test "$code" = 200

client() { # NAME PASSWORD: runs vpnc in pcl-out2, waits for connect or exit
	local d=$T_DIR/$1
	mkdir -p "$d"
	cat >"$d/vpnc.conf" <<EOC
IPSec gateway 192.168.1.1
IPSec ID vpn3000
IPSec secret vpn3000secret
Xauth username cisco_customer
Xauth password $2
EOC
	cat >"$d/script.sh" <<'EOS'
#!/bin/sh
env | grep -E '^(INTERNAL_|reason|TUNDEV)' | sort >"$(dirname "$0")/env-$reason"
[ "$reason" = connect ] && ip link set dev "$TUNDEV" up && ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
exit 0
EOS
	chmod +x "$d/script.sh"
	ip netns exec "${PORTCULLIS_LAB_NS_PREFIX}out2" vpnc --no-detach --non-inter --debug 1 --enable-weak-encryption \
		--enable-weak-authentication --script "$d/script.sh" --pid-file "$d/vpnc.pid" \
		--ifname "tun-$1" "$d/vpnc.conf" >"$d/vpnc.log" 2>&1 &
	echo $! >"$d/pid"
	for _ in $(seq 1 150); do
		[ -f "$d/env-connect" ] && return 0
		kill -0 "$(cat "$d/pid")" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

t_check "a RADIUS user connects" client good cisco
t_check "and gets the next pool address (10.89.129.201)" grep -q 'INTERNAL_IP4_ADDRESS=10.89.129.201' "$T_DIR/good/env-connect"
t_check "FreeRADIUS accepted it" grep -q 'Login OK: \[cisco_customer' "$PORTCULLIS_LAB_DIR/radius/radius.log"
kill "$(cat "$T_DIR/good/pid")" 2>/dev/null || true
wait "$(cat "$T_DIR/good/pid")" 2>/dev/null || true

if client bad wrongpass; then
	t_fail "a wrong RADIUS password does not connect"
else
	t_pass "a wrong RADIUS password does not connect"
fi
t_check "FreeRADIUS refused it" grep -q 'Login incorrect' "$PORTCULLIS_LAB_DIR/radius/radius.log"
t_check "the gateway says why" grep -q "rejected by RADIUS" "$PORTCULLIS_LAB_DIR/portcullisd.log"
kill "$(cat "$T_DIR/bad/pid" 2>/dev/null)" 2>/dev/null || true
t_done
