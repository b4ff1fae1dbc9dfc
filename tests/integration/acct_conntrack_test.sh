#!/usr/bin/env bash
# Per-TCP-connection accounting in the demo lab (`aaa accounting include any inbound 0 0 0 0
# AuthInbound` of the seed): the vpnc client (pool address 10.89.129.200) opens a Telnet and an HTTP
# connection to the web server through the tunnel; conntrack NEW/DESTROY events in the gateway's
# namespace become START and STOP records (service telnet/http, caller 10.89.129.200, elapsed time,
# bytes both ways) that the API lists and the lab's TACACS+ server receives; a ping and a UDP
# datagram produce no record. Conntrack accounting is on in the gateway's namespace.
source "$(dirname "$0")/../lib.sh"

export PORTCULLIS_LAB_BUILD=$PORTCULLIS_BUILD_DIR
export PORTCULLIS_LAB_DIR=$T_DIR/lab
port=$(t_free_port)
export PORTCULLIS_LAB_API=127.0.0.1:$port
lab=$PORTCULLIS_SOURCE_DIR/scripts/lab.sh
api=http://$PORTCULLIS_LAB_API

# The lab's namespace names are fixed (pcl-*): wait for a lab another test is running to go away
# rather than tearing it down under it.
for _ in $(seq 1 300); do
	ip netns list 2>/dev/null | grep -q '^pcl-' || break
	sleep 2
done
if ip netns list 2>/dev/null | grep -q '^pcl-'; then
	echo "not ok - another lab (pcl-* namespaces) stayed up for 10 minutes" >&2
	exit 1
fi

# the lab's logs stay in $T_DIR (kept when something failed)
lab_cleanup() {
	cp "$PORTCULLIS_LAB_DIR"/*.log "$T_DIR/" 2>/dev/null || true
	bash "$lab" down >/dev/null 2>&1 || true
}
trap 'lab_rc=$?; lab_cleanup; set +e; (exit $lab_rc); t_cleanup' EXIT

t_check "lab up" bash "$lab" up
t_check "conntrack accounting turned on in the gateway's namespace" \
	test "$(ip netns exec pcl-gw cat /proc/sys/net/netfilter/nf_conntrack_acct)" = 1
# A closed TCP connection lingers in TIME_WAIT (120 s by default) before conntrack destroys it;
# shorten that in the lab's gateway namespace so the STOP records come quickly.
for s in time_wait close fin_wait close_wait last_ack; do
	ip netns exec pcl-gw sysctl -qw "net.netfilter.nf_conntrack_tcp_timeout_$s=1"
done

pw=$(cat "$PORTCULLIS_LAB_DIR/admin-password")
curl -s -c "$T_DIR/jar" -H 'Content-Type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$pw\"}" "$api/api/v1/auth/login" >"$T_DIR/login.json"
t_check "admin login" grep -q csrf_token "$T_DIR/login.json"
get() { curl -s -b "$T_DIR/jar" "$api/api/v1/$1"; }

# Through the tunnel from the pool address: a Telnet session held open for 2 s, then HTTP.
t_check "telnet through the tunnel" ip netns exec pcl-out1 python3 - <<'PY'
import socket, time
s = socket.create_connection(("10.89.129.131", 23), timeout=5)
assert s.getsockname()[0] == "10.89.129.200", s.getsockname()
banner = s.recv(200)
assert b"ready" in banner, banner
s.sendall(b"hello portcullis\r\n")
time.sleep(2)
s.sendall(b"quit\r\n")
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
assert b"echo: hello portcullis" in data, data
s.close()
PY
t_check "HTTP through the tunnel" ip netns exec pcl-out1 curl -s -m 5 -o /dev/null http://10.89.129.131/
t_check "ping through the tunnel" ip netns exec pcl-out1 ping -c 2 -i 0.3 -W 2 10.89.129.131
t_check "a UDP datagram through the tunnel" ip netns exec pcl-out1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"not accounted", ("10.89.129.131", 5353))'

# STOP records come when conntrack destroys the connections (after the shortened TIME_WAIT).
ok=0
for _ in $(seq 1 90); do
	get "accounting?user=cisco_customer&limit=200" >"$T_DIR/acct.json" || true
	if python3 - "$T_DIR/acct.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
stops = {i["service"] for i in items if i["record_type"] == "stop" and i["caller_address"] == "10.89.129.200"}
sys.exit(0 if {"telnet", "http"} <= stops else 1)
PY
	then
		ok=1
		break
	fi
	sleep 2
done
t_check "stop records for the telnet and http connections appeared" test "$ok" -eq 1
t_check "telnet: start and stop of one session, caller 10.89.129.200, elapsed and bytes" \
	python3 - "$T_DIR/acct.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
tel = [i for i in items if i["service"] == "telnet" and i["caller_address"] == "10.89.129.200"]
starts = [i for i in tel if i["record_type"] == "start"]
stops = [i for i in tel if i["record_type"] == "stop"]
assert len(starts) == 1 and len(stops) == 1, tel
st, sp = starts[0], stops[0]
assert st["session_id"] == sp["session_id"] and st["task_id"] == sp["task_id"], (st, sp)
assert sp["protocol"] == "tcp" and sp["server_group"] == "AuthInbound", sp
assert 2 <= sp["elapsed_s"] <= 4, sp
# the client sent its SYN, the line, "quit" and ACKs; the server the banner and the echo
assert sp["bytes_in"] > 60 and sp["bytes_out"] > 60, sp
assert sp["packets_in"] > 3 and sp["packets_out"] > 3, sp
PY
t_check "http: start and stop with bytes (the page came back: out > in)" \
	python3 - "$T_DIR/acct.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
h = [i for i in items if i["service"] == "http" and i["caller_address"] == "10.89.129.200"]
stops = [i for i in h if i["record_type"] == "stop"]
assert any(i["record_type"] == "start" for i in h), h
assert stops and all(s["bytes_out"] > s["bytes_in"] > 0 for s in stops), stops
starts = {i["session_id"] for i in h if i["record_type"] == "start"}
assert all(s["session_id"] in starts for s in stops), h
# the elapsed time ends when the connection closed, not when conntrack forgot it
assert any(s["elapsed_s"] <= 1 for s in stops), stops
PY
t_check "no record for ICMP or UDP" python3 - "$T_DIR/acct.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
bad = [i for i in items if i["service"] not in ("ipsec", "telnet", "http")
       or i["protocol"] not in ("ip", "tcp")]
assert not bad, bad
PY
# delivered to the TACACS+ server: a start and a stop with service=telnet and the byte counts
ok=0
for _ in $(seq 1 30); do
	if python3 - "$PORTCULLIS_LAB_DIR/tacacs-requests.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tel = [r for r in recs if r.get("type") == "acct" and "service=telnet" in r.get("args", [])]
kinds = {r["flags"] for r in tel}
stop_ok = any(r["flags"] == "stop" and any(a.startswith("bytes_in=") and a != "bytes_in=0" for a in r["args"])
              for r in tel)
sys.exit(0 if {"start", "stop"} <= kinds and stop_ok else 1)
PY
	then
		ok=1
		break
	fi
	sleep 1
done
t_check "the TACACS+ server received the telnet start and stop records" test "$ok" -eq 1
get "accounting?user=cisco_customer&limit=200" >"$T_DIR/acct.json"
t_check "the API shows them delivered to the TACACS+ server" python3 - "$T_DIR/acct.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
tel = [i for i in items if i["service"] == "telnet"]
assert len(tel) == 2 and all(i["state"] == "delivered" for i in tel), tel
PY

cp "$PORTCULLIS_LAB_DIR"/*.log "$T_DIR/" 2>/dev/null || true
t_check "lab down" bash "$lab" down
t_done
