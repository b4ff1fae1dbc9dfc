#!/usr/bin/env bash
# The demo lab (the README's run command without the setup): `lab up` builds the seed's network,
# starts the gateway, servers and a vpnc client; through the API the tunnel, the uauth entries and
# the accounting records exist; the console's login page is served; `lab up` twice is safe;
# `lab down` leaves no namespace, process or nftables table behind.
source "$(dirname "$0")/../lib.sh"

export PORTCULLIS_LAB_BUILD=$PORTCULLIS_BUILD_DIR
export PORTCULLIS_LAB_DIR=$T_DIR/lab
export PORTCULLIS_LAB_NS_PREFIX=pc$$- # not the demo's pcl-: runs beside another lab
port=$(t_free_port)
export PORTCULLIS_LAB_API=127.0.0.1:$port
lab=$PORTCULLIS_SOURCE_DIR/scripts/lab.sh
api=http://$PORTCULLIS_LAB_API

lab_cleanup() { bash "$lab" down >/dev/null 2>&1 || true; }
# whatever happens, take the lab down (and keep the test's exit status for t_cleanup)
# shellcheck disable=SC2154
trap 'lab_rc=$?; lab_cleanup; set +e; (exit $lab_rc); t_cleanup' EXIT

tables_before=$(nft list tables 2>/dev/null | sort)
t_check "lab up" bash "$lab" up
t_check "lab up again (safe to repeat)" bash "$lab" up
t_check "lab status shows the gateway" bash -c "bash '$lab' status | grep -q 'process portcullisd: running'"

pw=$(cat "$PORTCULLIS_LAB_DIR/admin-password")
curl -s -c "$T_DIR/jar" -H 'Content-Type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$pw\"}" "$api/api/v1/auth/login" >"$T_DIR/login.json"
t_check "the printed admin login works" grep -q csrf_token "$T_DIR/login.json"
get() { curl -s -b "$T_DIR/jar" "$api/api/v1/$1"; }

get sa/ike >"$T_DIR/ike.json"
t_check "a tunnel: IKE SA of cisco_customer from 192.168.1.2" python3 - "$T_DIR/ike.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
assert any(i["user"] == "cisco_customer" and i["peer"] == "192.168.1.2" for i in items), items
PY
get sa/ipsec >"$T_DIR/ipsec.json"
t_check "the tunnel carried traffic (IPsec SA counters)" python3 - "$T_DIR/ipsec.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
assert any(i["assigned_address"] == "10.89.129.200" and i["packets_in"] > 0 and i["packets_out"] > 0 for i in items), items
PY
get uauth >"$T_DIR/uauth.json"
t_check "uauth: the ipsec user and the cut-through user" python3 - "$T_DIR/uauth.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
items = u["items"]
assert any(i["address"] == "10.89.129.200" and i["method"] == "ipsec" for i in items), u
assert any(i["address"] == "192.168.1.3" and i["method"] == "http" for i in items), u
assert u["current"] >= 2, u
PY
get "accounting?user=cisco_customer" >"$T_DIR/acct.json"
t_check "accounting: a start record for the tunnel, delivered" python3 - "$T_DIR/acct.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
assert any(i["record_type"] == "start" and i["caller_address"] == "10.89.129.200" for i in items), items
PY
t_check "the TACACS+ server received the start record" grep -q '"start"\|START\|start' "$PORTCULLIS_LAB_DIR/tacacs-requests.log"
get stats >"$T_DIR/stats.json"
t_check "dashboard counters: a handshake and accounting records in the last minute" python3 - "$T_DIR/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["tunnels"] >= 1 and s["handshakes_per_min"] >= 1 and s["acct_per_min"] >= 1, s
assert s["failures_per_min"] == 0, s
assert any(i["nameif"] == "outside" and i["state"] == "up" and i["rx_packets"] > 0 for i in s["interfaces"]), s
PY
code=$(curl -s -o "$T_DIR/index.html" -w '%{http_code}' "$api/")
t_check "the console's login page is served" bash -c "[ '$code' = 200 ] && grep -qi '<html' '$T_DIR/index.html'"

t_check "lab down" bash "$lab" down
left=$(ip netns list | grep -c "^$PORTCULLIS_LAB_NS_PREFIX" || true)
t_check "no lab namespace left" test "$left" -eq 0
# (pgrep itself, not through bash -c, whose own command line would match)
no_lab_process() { ! pgrep -f "$PORTCULLIS_LAB_DIR" >/dev/null; }
t_check "no lab process left" no_lab_process
t_check "no nftables table added in the root namespace" test "$(nft list tables 2>/dev/null | sort)" = "$tables_before"
t_check "lab files removed" test ! -e "$PORTCULLIS_LAB_DIR"
t_done
