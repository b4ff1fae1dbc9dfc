#!/usr/bin/env bash
# Cut-through proxy end to end in the seed's topology, in network namespaces made here:
#
#   out (192.168.1.2, .20-.29) --- gw (outside 192.168.1.1/24, inside 10.89.129.194/28)
#        --- rt (10.89.129.193/28, 10.89.129.129/27) --- web (10.89.129.131: http 80, ftp 21, telnet 23)
#
# The gateway namespace does what the NAT module will do (until the nat branch is wired, the
# rules are written here with the nft CLI): static 192.168.1.11 -> 10.89.129.131, and HTTP/FTP/
# Telnet to it from sources not in set @uauth redirected to the uauth listeners. The uauth module
# runs inside the gateway namespace through the driver in tests/unit/uauth_serve_test.c
# (UAUTH_SERVE=1): its configuration (timeout uauth, the seed's three `aaa authentication include`
# rules, hostname) comes from a real Portcullis database, its set operations are `nft` commands
# (the nat branch is not merged here), and authentication goes through the real gateway/aaa/ to
# the seed's TACACS+ server group AuthInbound: 10.89.129.134, key secretkey, served by the aaa
# branch's test server tests/peers/tacacs_server.py (user alice, password secret).
# Real clients: curl (HTTP, FTP), the Debian telnet client and small python3 socket scripts.
# Servers: python3 -m http.server, python3 stand-ins for FTP and Telnet (busybox has no ftpd here).
set -euo pipefail

SRC=${PORTCULLIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${PORTCULLIS_BUILD_DIR:-$SRC/build/dev}
CLI=${PORTCULLIS:-$BUILD/portcullis}
DRIVER=$BUILD/uauth_serve_test
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

for tool in ip nft curl telnet sqlite3 "$PY"; do
	command -v "$tool" >/dev/null || {
		echo "uauth_cut_through: missing $tool" >&2
		exit 1
	}
done
[ -x "$DRIVER" ] || {
	echo "uauth_cut_through: driver $DRIVER not built" >&2
	exit 1
}
if [ "$(id -u)" -ne 0 ]; then
	echo "uauth_cut_through: needs root (network namespaces)" >&2
	exit 1
fi

P=pc-ua-$$
OUT=$P-out
GW=$P-gw
RT=$P-rt
WEB=$P-web
TMP=$(mktemp -d /tmp/pc-uauth-it.XXXXXX)
DB=$TMP/portcullis.db
CTL=$TMP/ctl.sock
SERVE_PID=
FAILS=0

cleanup() {
	set +e
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	for ns in "$OUT" "$GW" "$RT" "$WEB"; do
		if ip netns list | grep -qw "$ns"; then
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
		fi
	done
	sleep 0.2
	for ns in "$OUT" "$GW" "$RT" "$WEB"; do
		if ip netns list | grep -qw "$ns"; then
			for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
			ip netns del "$ns"
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

log() { echo "== $*"; }
ok() { echo "ok   - $*"; }
bad() {
	echo "FAIL - $*"
	FAILS=$((FAILS + 1))
}
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

in_out() { ip netns exec "$OUT" "$@"; }
in_gw() { ip netns exec "$GW" "$@"; }

# ---- topology ----
log "namespaces $OUT $GW $RT $WEB"
for ns in "$OUT" "$GW" "$RT" "$WEB"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n "$OUT" link add eth0 type veth peer name outside netns "$GW"
ip -n "$GW" link add inside type veth peer name eth0 netns "$RT"
ip -n "$RT" link add eth1 type veth peer name eth0 netns "$WEB"

ip -n "$OUT" addr add 192.168.1.2/24 dev eth0
for i in $(seq 20 29); do ip -n "$OUT" addr add 192.168.1.$i/24 dev eth0; done
ip -n "$OUT" link set eth0 up
ip -n "$OUT" route add default via 192.168.1.1
# the PIX answers ARP for its static's global address; here the outside host routes it instead
ip -n "$OUT" route add 192.168.1.11/32 via 192.168.1.1

ip -n "$GW" addr add 192.168.1.1/24 dev outside
ip -n "$GW" addr add 10.89.129.194/28 dev inside
ip -n "$GW" link set outside up
ip -n "$GW" link set inside up
ip -n "$GW" route add 10.89.129.128/25 via 10.89.129.193
in_gw sysctl -qw net.ipv4.ip_forward=1

ip -n "$RT" addr add 10.89.129.193/28 dev eth0
ip -n "$RT" addr add 10.89.129.129/27 dev eth1
ip -n "$RT" link set eth0 up
ip -n "$RT" link set eth1 up
ip -n "$RT" route add default via 10.89.129.194
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1

ip -n "$WEB" addr add 10.89.129.131/27 dev eth0
ip -n "$WEB" addr add 10.89.129.134/27 dev eth0 # the seed's TACACS+ server, same inside LAN
ip -n "$WEB" link set eth0 up
ip -n "$WEB" route add default via 10.89.129.129

# ---- the NAT side, by hand (gateway/nat/ will emit the same) ----
cat >"$TMP/gw.nft" <<'EOF'
table ip pcuauth {
	set uauth {
		type ipv4_addr
		flags timeout
	}
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		# aaa authentication include http|ftp|telnet outside 10.89.129.131/32 0/0 AuthInbound
		# (one listener port, UAUTH_PORT; the original port tells it HTTP, FTP or Telnet)
		iifname "outside" ip daddr 192.168.1.11 tcp dport 80 ip saddr != @uauth redirect to :1080
		iifname "outside" ip daddr 192.168.1.11 tcp dport 21 ip saddr != @uauth redirect to :1080
		iifname "outside" ip daddr 192.168.1.11 tcp dport 23 ip saddr != @uauth redirect to :1080
		# static (inside,outside) 192.168.1.11 10.89.129.131
		ip daddr 192.168.1.11 dnat to 10.89.129.131
	}
	chain filt {
		type filter hook forward priority filter; policy accept;
	}
}
EOF
in_gw nft -f "$TMP/gw.nft"

# ---- web server host: HTTP, FTP and Telnet services ----
mkdir -p "$TMP/www"
echo "portcullis-uauth-web-ok" >"$TMP/www/index.html"
(cd "$TMP/www" && ip netns exec "$WEB" "$PY" -m http.server 80 --bind 0.0.0.0 >"$TMP/http.log" 2>&1 &)
ip netns exec "$WEB" "$PY" "$SRC/tests/peers/web_ftpd.py" >"$TMP/ftpd.log" 2>&1 &
ip netns exec "$WEB" "$PY" "$SRC/tests/peers/web_telnetd.py" >"$TMP/telnetd.log" 2>&1 &
ip netns exec "$WEB" "$PY" "$SRC/tests/peers/tacacs_server.py" --listen 10.89.129.134 --port 49 \
	--key secretkey --user alice:secret --log "$TMP/tacacs.log" >"$TMP/tacacs.out" 2>&1 &
for i in $(seq 50); do grep -q listening "$TMP/tacacs.out" && break; sleep 0.1; done
for i in $(seq 50); do
	if ip netns exec "$WEB" bash -c 'exec 3<>/dev/tcp/127.0.0.1/80 && exec 4<>/dev/tcp/127.0.0.1/21 && exec 5<>/dev/tcp/127.0.0.1/23' 2>/dev/null; then break; fi
	sleep 0.1
done

# ---- configuration: a Portcullis database with the seed's lines ----
"$CLI" --db "$DB" db-init >/dev/null
cat >"$TMP/seed.sql" <<'EOF'
INSERT INTO setting (name, value) VALUES ('hostname', 'pixfirewall');
INSERT INTO timeout (name, seconds, option) VALUES ('uauth', 300, 'absolute');
INSERT INTO aaa_server_group (id, name, protocol) VALUES (1, 'AuthInbound', 'tacacs+');
INSERT INTO aaa_server_host (group_id, address, key_secret, timeout_s) VALUES
	(1, '10.89.129.134', 'secretkey', 10);
INSERT INTO aaa_rule (kind, action, service, direction, local_address, local_netmask,
	foreign_address, foreign_netmask, group_id, position) VALUES
	('authentication', 'include', 'http', 'inbound', '10.89.129.131', '255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 1),
	('authentication', 'include', 'ftp', 'inbound', '10.89.129.131', '255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 2),
	('authentication', 'include', 'telnet', 'inbound', '10.89.129.131', '255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 3);
EOF

SQL_ONCE=$TMP/seed.sql
start_uauth() {
	: >"$TMP/serve.out"
	ip netns exec "$GW" env UAUTH_SERVE=1 UAUTH_SERVE_AAA=real UAUTH_SERVE_SQL="$SQL_ONCE" UAUTH_SERVE_DB="$DB" UAUTH_SERVE_CTL="$CTL" \
		UAUTH_SERVE_USER=unused UAUTH_SERVE_PASSWORD=unused \
		UAUTH_SERVE_STATIC=192.168.1.11=10.89.129.131 UAUTH_SERVE_SET="ip pcuauth uauth" \
		"$DRIVER" >"$TMP/serve.out" 2>>"$TMP/serve.log" &
	SERVE_PID=$!
	for i in $(seq 100); do
		grep -q READY "$TMP/serve.out" && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	SQL_ONCE=/dev/null
	grep READY "$TMP/serve.out" || {
		cat "$TMP/serve.log"
		echo "uauth driver did not start" >&2
		exit 1
	}
}
stop_uauth() {
	local st=0
	kill "$SERVE_PID"
	wait "$SERVE_PID" || st=$?
	SERVE_PID=
	# the driver is built with ASan/UBSan: a leak or error report makes it exit non-zero
	check "uauth driver stopped cleanly (exit $st, no sanitizer report)" [ "$st" = 0 ]
}
ctl() { "$PY" -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\n")
print(b"".join(iter(lambda: s.recv(4096), b"")).decode(), end="")' "$CTL" "$1"; }
in_set() { # (no `nft | grep -q` under pipefail: grep -q exiting early makes nft die of SIGPIPE)
	local l
	l=$(in_gw nft list set ip pcuauth uauth)
	grep -qw "$1" <<<"$l"
}
http_code() { # http_code SRC [curl args...]
	local src=$1
	shift
	in_out curl -s -m 10 --interface "$src" -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@" http://192.168.1.11/ || true
}

# ---- phase 1: timeout uauth 0:05:00 absolute ----
start_uauth

log "HTTP: no credentials -> 401 with a Basic challenge naming the gateway"
code=$(http_code 192.168.1.2)
check "401 without credentials (got $code)" [ "$code" = 401 ]
check "WWW-Authenticate: Basic realm=\"Portcullis pixfirewall\"" grep -q 'WWW-Authenticate: Basic realm="Portcullis pixfirewall"' "$TMP/head"

log "HTTP: wrong password -> 401 again, source stays out of the set"
code=$(http_code 192.168.1.2 -u alice:wrong)
check "401 with a wrong password (got $code)" [ "$code" = 401 ]
check "192.168.1.2 not in @uauth" bash -c "! ip netns exec $GW nft list set ip pcuauth uauth | grep -qw 192.168.1.2"

log "HTTP: right credentials -> the web server's page, source joins the set"
code=$(http_code 192.168.1.2 -u alice:secret)
check "200 with credentials (got $code)" [ "$code" = 200 ]
check "body is the web server's page" grep -q portcullis-uauth-web-ok "$TMP/body"
check "192.168.1.2 in @uauth" in_set 192.168.1.2
check "element timeout is the uauth timeout (300s)" bash -c "ip netns exec $GW nft list set ip pcuauth uauth | grep -Eq '192.168.1.2 timeout 5m|192.168.1.2 timeout 300s'"

log "HTTP: cached -> further requests pass straight through without credentials"
before=$(grep -c '192.168.1.2' "$TMP/http.log" || true)
code=$(http_code 192.168.1.2)
check "200 without credentials while cached (got $code)" [ "$code" = 200 ]
after=$(grep -c '192.168.1.2' "$TMP/http.log" || true)
check "the web server saw the client's own address (not proxied)" [ "$after" -gt "$before" ]

log "show uauth (PIX text) and the API JSON"
ctl show >"$TMP/show"
cat "$TMP/show"
check "show uauth: counts header" grep -q '^Authenticated Users       1          1' "$TMP/show"
check "show uauth: alice at 192.168.1.2" grep -q "^user 'alice' at 192.168.1.2, authenticated" "$TMP/show"
ctl "ipsec-add cisco_customer 10.89.129.200 vpn3000" >/dev/null
ctl show >"$TMP/show"
check "show uauth: the seed's ipsec line" grep -qx "ipsec user 'cisco_customer' at 10.89.129.200, authenticated" "$TMP/show"
check "ipsec user in @uauth without timeout" bash -c "ip netns exec $GW nft list set ip pcuauth uauth | grep -Eq '10.89.129.200([^ ]|$| *[,}])' && ! ip netns exec $GW nft list set ip pcuauth uauth | grep -q '10.89.129.200 timeout'"
ctl json >"$TMP/json"
check "JSON: current 2 with both items" "$PY" -c "import json,sys; v=json.load(open('$TMP/json')); assert v['current']==2 and v['most_seen']==2, v; m={i['address']:i for i in v['items']}; assert m['192.168.1.2']['method']=='http' and m['192.168.1.2']['absolute'] is True and m['192.168.1.2']['timeout_s']==300 and m['192.168.1.2']['group']=='AuthInbound'; assert m['10.89.129.200']['method']=='ipsec' and m['10.89.129.200']['expires'] is None"
ctl "ipsec-del 10.89.129.200" >/dev/null
check "ipsec user removed from @uauth" bash -c "! ip netns exec $GW nft list set ip pcuauth uauth | grep -qw 10.89.129.200"

log "clear uauth forces a new prompt"
out=$(ctl "clear alice")
check "clear uauth alice ($out)" [ "$out" = "cleared 1" ]
check "192.168.1.2 left @uauth" bash -c "! ip netns exec $GW nft list set ip pcuauth uauth | grep -qw 192.168.1.2"
code=$(http_code 192.168.1.2)
check "401 again after clear (got $code)" [ "$code" = 401 ]

log "Telnet: Username/Password prompts, wrong password refused, then spliced to the server"
cat >"$TMP/tn.py" <<'EOF'
import socket, sys, time
src, user, pw = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.create_connection(("192.168.1.11", 23), timeout=10, source_address=(src, 0))
buf = b""
def until(tok):
    global buf
    while tok not in buf:
        d = s.recv(4096)
        if not d: break
        buf += d
    return tok in buf
assert until(b"Username: "), buf
s.sendall(b"alice\r\n"); assert until(b"Password: "), buf
s.sendall(b"wrong\r\n"); assert until(b"Authentication failed\r\n\r\nUsername: "), buf
buf = b""
s.sendall(user.encode() + b"\r\n"); assert until(b"Password: "), buf
s.sendall(pw.encode() + b"\r\n")
assert until(b"web-telnet-service ready"), buf
s.sendall(b"hello\r\n"); assert until(b"echo: hello"), buf
s.sendall(b"quit\r\n"); until(b"\0")
print("telnet ok")
EOF
ip -n "$OUT" addr add 192.168.1.3/24 dev eth0
check "telnet prompts, refuses, accepts and splices" in_out "$PY" "$TMP/tn.py" 192.168.1.3 alice secret
check "192.168.1.3 in @uauth after telnet" in_set 192.168.1.3

log "Telnet with the real telnet client (option negotiation), from 192.168.1.4"
ip -n "$OUT" addr add 192.168.1.4/24 dev eth0
(sleep 1; echo alice; sleep 0.7; echo secret; sleep 1; echo hi-from-telnet; sleep 1) |
	in_out telnet -b 192.168.1.4 192.168.1.11 23 >"$TMP/telnet.out" 2>&1 || true
check "telnet client: Username prompt" grep -q 'Username:' "$TMP/telnet.out"
check "telnet client: reached the server" grep -q 'web-telnet-service ready' "$TMP/telnet.out"
check "telnet client: spliced both ways" grep -q 'echo: hi-from-telnet' "$TMP/telnet.out"
grep -q 'echo: hi-from-telnet' "$TMP/telnet.out" || cat -A "$TMP/telnet.out"

log "the TACACS+ server answered the gateway"
check "TACACS+ server log has alice's authentications" grep -q alice "$TMP/tacacs.log"
check "the password never appears in its log" bash -c "! grep -q secret '$TMP/tacacs.log'"

log "FTP: USER local@remote / PASS localpass@remotepass, logged in on to the server"
ip -n "$OUT" addr add 192.168.1.5/24 dev eth0
out=$(in_out curl -s -m 15 --interface 192.168.1.5 -u 'alice@webuser:wrong@webpass' ftp://192.168.1.11/hello.txt 2>&1; echo "rc=$?")
check "FTP wrong password refused (curl: $out)" bash -c "[[ '$out' == *rc=67* ]]"
check "192.168.1.5 not in @uauth" bash -c "! ip netns exec $GW nft list set ip pcuauth uauth | grep -qw 192.168.1.5"
out=$(in_out curl -s -m 15 --interface 192.168.1.5 -u 'alice@webuser:secret@webpass' ftp://192.168.1.11/hello.txt 2>&1 || true)
check "FTP download through the proxy ($out)" [ "$out" = ftp-file-content-ok ]
check "the FTP server saw USER webuser" grep -q 'ftpd: USER webuser' "$TMP/ftpd.log"
check "192.168.1.5 in @uauth after ftp" in_set 192.168.1.5

log "ten parallel clients authenticate independently"
pids=()
for i in $(seq 20 29); do
	(in_out curl -s -m 15 --interface 192.168.1.$i -u alice:secret -o /dev/null -w '%{http_code}' http://192.168.1.11/ >"$TMP/par.$i" 2>/dev/null || true) &
	pids+=($!)
done
wait "${pids[@]}"
sleep 0.5
n200=0
for i in $(seq 20 29); do [ "$(cat "$TMP/par.$i" 2>/dev/null)" = 200 ] && n200=$((n200 + 1)); done
check "10 of 10 parallel clients got 200 (got $n200)" [ "$n200" = 10 ]
nset=0
for i in $(seq 20 29); do in_set 192.168.1.$i && nset=$((nset + 1)); done
check "10 parallel sources in @uauth (got $nset)" [ "$nset" = 10 ]

log "restart: entries survive in SQLite and are restored to the set"
stop_uauth
in_gw nft flush set ip pcuauth uauth
check "stored rows after stop" [ "$(sqlite3 "$DB" 'SELECT count(*) FROM uauth_entry')" -ge 12 ]
"$CLI" --db "$DB" uauth show >"$TMP/cli-show" 2>&1 || true
check "portcullis --db uauth show lists alice at 192.168.1.5" grep -q "user 'alice' at 192.168.1.5, authenticated" "$TMP/cli-show"
start_uauth
check "192.168.1.20 restored to @uauth" in_set 192.168.1.20
check "192.168.1.5 restored to @uauth" in_set 192.168.1.5
code=$(http_code 192.168.1.21)
check "restored source passes without credentials (got $code)" [ "$code" = 200 ]
log "portcullis --api: show uauth / clear uauth against a stand-in of GET/DELETE /api/v1/uauth"
ctl json >"$TMP/api.json"
cat >"$TMP/api.py" <<'EOF'
# Serves the contract's GET /api/v1/uauth (the live JSON captured from uauth_to_json) and
# records DELETEs, with the Authorization header, like the API would see them.
import http.server, sys
body, log = open(sys.argv[1], "rb").read(), open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def rec(self):
        log.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Authorization")))
        log.flush()
    def do_GET(self):
        self.rec()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_DELETE(self):
        self.rec()
        self.send_response(204); self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8099), H).serve_forever()
EOF
in_gw "$PY" "$TMP/api.py" "$TMP/api.json" "$TMP/api.log" &
for i in $(seq 50); do in_gw bash -c 'exec 3<>/dev/tcp/127.0.0.1/8099' 2>/dev/null && break; sleep 0.1; done
in_gw "$CLI" --api http://127.0.0.1:8099 --token tok123 uauth show >"$TMP/api-show" 2>&1 || true
check "CLI --api show: counts" grep -q '^Authenticated Users       13' "$TMP/api-show"
check "CLI --api show: user line" grep -q "^user 'alice' at 192.168.1.21, authenticated" "$TMP/api-show"
check "CLI sent the bearer token" grep -q '^GET /api/v1/uauth Bearer tok123' "$TMP/api.log"
id21=$("$PY" -c "import json; print([i['id'] for i in json.load(open('$TMP/api.json'))['items'] if i['address']=='192.168.1.21'][0])")
in_gw "$CLI" --api http://127.0.0.1:8099 --token tok123 uauth clear 192.168.1.21 >"$TMP/api-clear" 2>&1 || true
check "CLI --api clear 192.168.1.21: DELETE /api/v1/uauth/$id21" grep -q "^DELETE /api/v1/uauth/$id21 Bearer tok123" "$TMP/api.log"
in_gw "$CLI" --api http://127.0.0.1:8099 --token tok123 uauth clear >/dev/null 2>&1 || true
check "CLI --api clear (all): DELETE /api/v1/uauth" grep -q "^DELETE /api/v1/uauth Bearer" "$TMP/api.log"
check "CLI --api clear nobody: refused" bash -c "! ip netns exec $GW '$CLI' --api http://127.0.0.1:8099 uauth clear nobody 2>/dev/null"

ctl "clear" >/dev/null
check "clear uauth (all) empties the set" bash -c "[ -z \"\$(ip netns exec $GW nft -j list set ip pcuauth uauth | $PY -c 'import json,sys; v=json.load(sys.stdin); print(\"\".join(str(x) for i in v[\"nftables\"] if \"set\" in i for x in i[\"set\"].get(\"elem\", [])))')\" ]"
stop_uauth

log "phase 2: timeout uauth 0:00:04 absolute -> the kernel expires the entry, the challenge returns"
sqlite3 "$DB" "UPDATE timeout SET seconds = 4 WHERE name = 'uauth'"
start_uauth
code=$(http_code 192.168.1.2 -u alice:secret)
check "200 with credentials (got $code)" [ "$code" = 200 ]
code=$(http_code 192.168.1.2)
check "200 without credentials while cached (got $code)" [ "$code" = 200 ]
sleep 5
check "kernel expired 192.168.1.2 from @uauth" bash -c "! ip netns exec $GW nft list set ip pcuauth uauth | grep -qw 192.168.1.2"
code=$(http_code 192.168.1.2)
check "401 after expiry (got $code)" [ "$code" = 401 ]
ctl show >"$TMP/show"
check "show uauth: nobody authenticated after expiry" grep -q '^Authenticated Users       0          1' "$TMP/show"
stop_uauth

log "phase 3: timeout uauth 0:00:04 inactivity -> traffic keeps the entry, idleness expires it"
sqlite3 "$DB" "UPDATE timeout SET seconds = 4, option = 'inactivity' WHERE name = 'uauth'"
# what the NAT module emits for inactivity: refresh the element on the user's traffic
in_gw nft add rule ip pcuauth filt ip saddr @uauth update @uauth { ip saddr timeout 4s }
start_uauth
code=$(http_code 192.168.1.2 -u alice:secret)
check "200 with credentials (got $code)" [ "$code" = 200 ]
alive=1
for i in 1 2 3 4; do
	sleep 2
	code=$(http_code 192.168.1.2)
	[ "$code" = 200 ] || alive=0
done
check "8 s of traffic every 2 s kept the 4 s inactivity entry" [ "$alive" = 1 ]
ctl show >"$TMP/show"
check "show uauth still lists alice (uauth followed the kernel)" grep -q "user 'alice' at 192.168.1.2" "$TMP/show"
sleep 6
code=$(http_code 192.168.1.2)
check "401 after 6 s idle (got $code)" [ "$code" = 401 ]
stop_uauth

log "phase 4: timeout uauth 0 -> no cache, every connection authenticates and is spliced"
sqlite3 "$DB" "UPDATE timeout SET seconds = 0, option = 'absolute' WHERE name = 'uauth'"
start_uauth
code=$(http_code 192.168.1.2 -u alice:secret)
check "200 with credentials, spliced (got $code)" [ "$code" = 200 ]
check "body from the web server" grep -q portcullis-uauth-web-ok "$TMP/body"
check "nothing in @uauth" bash -c "! ip netns exec $GW nft list set ip pcuauth uauth | grep -qw 192.168.1.2"
code=$(http_code 192.168.1.2)
check "401 on the next connection without credentials (got $code)" [ "$code" = 401 ]
stop_uauth

if [ "$FAILS" -ne 0 ]; then
	echo "uauth_cut_through: $FAILS check(s) failed; driver log:"
	grep -E 'failed|error|ERROR' "$TMP/serve.log" | head -20
	tail -30 "$TMP/serve.log"
	exit 1
fi
echo "uauth_cut_through: all checks passed"
