#!/usr/bin/env bash
# The seed's cut-through proxy with every real part this branch has: `portcullis nat apply`
# (gateway/nat/) programs the gateway namespace from the seed's model rows (interfaces, routes,
# proxy ARP, static 192.168.1.11 -> 10.89.129.131, ACL 120, and the redirect of HTTP/FTP/Telnet
# from sources not in @uauth to UAUTH_PORT); the uauth module (driver: tests/unit/uauth_serve_test.c)
# adds and removes set elements through gateway/nat/, finds the real server through the model's
# static (uauth_config_load), and authenticates through gateway/aaa/
# against the seed's TACACS+ group AuthInbound (10.89.129.134, key secretkey; the aaa branch's
# test server tests/peers/tacacs_server.py). Clients: curl (HTTP, FTP) and a python3 telnet dialogue.
#
#   out 192.168.1.2 --- gw pcout 192.168.1.1/24 | pcin 10.89.129.194/28 --- rtr --- web 10.89.129.131
#                                                                              (+ TACACS+ .134)
set -euo pipefail

SRC=${PORTCULLIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${PORTCULLIS_BUILD_DIR:-$SRC/build/dev}
CLI=${PORTCULLIS:-$BUILD/portcullis}
DRIVER=$BUILD/uauth_serve_test
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
for f in "$SRC/tests/integration/nat_seed.sql" "$SRC/tests/integration/nat_sql.py" \
	"$SRC/tests/peers/tacacs_server.py" "$DRIVER"; do
	[ -e "$f" ] || {
		echo "uauth_seed: missing $f" >&2
		exit 1
	}
done
[ "$(id -u)" -eq 0 ] || {
	echo "uauth_seed: needs root (network namespaces)" >&2
	exit 1
}

P=pc-uas-$$
OUT=$P-out
GW=$P-gw
RT=$P-rt
WEB=$P-web
TMP=$(mktemp -d /tmp/pc-uauth-seed.XXXXXX)
DB=$TMP/pc.db
CTL=$TMP/ctl.sock
SERVE_PID=
FAILS=0

cleanup() {
	set +e
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	for ns in "$OUT" "$GW" "$RT" "$WEB"; do
		ip netns list | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for ns in "$OUT" "$GW" "$RT" "$WEB"; do
		ip netns list | grep -qw "$ns" || continue
		for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

log() { echo "== $*"; }
check() {
	local d=$1
	shift
	if "$@"; then echo "ok   - $d"; else
		echo "FAIL - $d"
		FAILS=$((FAILS + 1))
	fi
}
in_out() { ip netns exec "$OUT" "$@"; }
in_gw() { ip netns exec "$GW" "$@"; }
set_list() { in_gw nft list set ip portcullis uauth; }
in_set() {
	local l
	l=$(set_list)
	grep -qw "$1" <<<"$l"
}
not_in_set() { ! in_set "$1"; }
# the engine's set writer commits changes in batches, a few ms after the login or teardown
# that asked for them
soon() { # soon CMD...: true within 3 s
	local i
	for i in $(seq 30); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
soon_in_set() { soon in_set "$1"; }
gone_from_set() { soon not_in_set "$1"; }
http_code() {
	in_out curl -s -m 10 -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@" http://192.168.1.11/ || true
}

log "topology"
for ns in "$OUT" "$GW" "$RT" "$WEB"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add pcout netns "$GW" type veth peer name o0 netns "$OUT"
ip link add pcin netns "$GW" type veth peer name r0 netns "$RT"
ip link add r1 netns "$RT" type veth peer name w0 netns "$WEB"
ip -n "$OUT" addr add 192.168.1.2/24 dev o0
ip -n "$OUT" addr add 192.168.1.3/24 dev o0
ip -n "$OUT" link set o0 up
ip -n "$RT" addr add 10.89.129.193/28 dev r0
ip -n "$RT" addr add 10.89.129.129/27 dev r1
ip -n "$RT" link set r0 up
ip -n "$RT" link set r1 up
ip -n "$RT" route add default via 10.89.129.194
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
ip -n "$WEB" addr add 10.89.129.131/27 dev w0
ip -n "$WEB" addr add 10.89.129.134/27 dev w0
ip -n "$WEB" link set w0 up
ip -n "$WEB" route add default via 10.89.129.129

log "servers: web (http.server), FTP and Telnet stand-ins, TACACS+"
mkdir -p "$TMP/www"
echo "seed-web-page-ok" >"$TMP/www/index.html"
cat >"$TMP/svc.py" <<'EOF'
# Telnet-like line service on 23 and a one-file FTP server on 21 (USER webuser / PASS webpass).
import socket, socketserver, threading
class T(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"seed-telnet-ready\r\n")
        for raw in self.rfile:
            line = bytes(b for b in raw if 32 <= b < 127).decode()
            self.wfile.write(("echo: " + line + "\r\n").encode())
            if line == "quit":
                break
class F(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write((s + "\r\n").encode())
        w("220 seed ftp"); user = None; ok = False; pasv = None
        for raw in self.rfile:
            cmd, _, arg = raw.decode(errors="replace").strip().partition(" ")
            cmd = cmd.upper()
            if cmd == "USER": user = arg; w("331 password")
            elif cmd == "PASS":
                ok = user == "webuser" and arg == "webpass"
                w("230 logged in" if ok else "530 no")
            elif cmd == "QUIT": w("221 bye"); break
            elif not ok: w("530 login first")
            elif cmd == "EPSV":
                pasv = socket.socket(); pasv.bind(("0.0.0.0", 0)); pasv.listen(1)
                w("229 Entering Extended Passive Mode (|||%d|)" % pasv.getsockname()[1])
            elif cmd == "RETR" and pasv:
                w("150 data"); c, _ = pasv.accept(); c.sendall(b"seed-ftp-file\n"); c.close()
                pasv.close(); pasv = None; w("226 done")
            elif cmd in ("PWD",): w('257 "/"')
            elif cmd in ("TYPE",): w("200 ok")
            elif cmd == "SIZE": w("213 14")
            else: w("502 no")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
threading.Thread(target=S(("0.0.0.0", 23), T).serve_forever, daemon=True).start()
S(("0.0.0.0", 21), F).serve_forever()
EOF
(cd "$TMP/www" && ip netns exec "$WEB" "$PY" -m http.server 80 >"$TMP/http.log" 2>&1 &)
ip netns exec "$WEB" "$PY" "$TMP/svc.py" >"$TMP/svc.log" 2>&1 &
ip netns exec "$WEB" "$PY" "$SRC/tests/peers/tacacs_server.py" --listen 10.89.129.134 --port 49 \
	--key secretkey --user alice:secret --log "$TMP/tacacs.log" >"$TMP/tacacs.out" 2>&1 &
for i in $(seq 50); do
	ip netns exec "$WEB" bash -c 'exec 3<>/dev/tcp/10.89.129.131/80 && exec 4<>/dev/tcp/10.89.129.131/21 && exec 5<>/dev/tcp/10.89.129.131/23 && exec 6<>/dev/tcp/10.89.129.134/49' 2>/dev/null && break
	sleep 0.1
done

log "model: the seed's rows (tests/integration/nat_seed.sql), hostname, the TACACS+ host"
"$CLI" --db "$DB" db-init >/dev/null
"$PY" "$SRC/tests/integration/nat_sql.py" "$DB" "$SRC/tests/integration/nat_seed.sql"
"$PY" "$SRC/tests/integration/nat_sql.py" "$DB" - <<'EOF'
INSERT INTO setting (name, value) VALUES ('hostname', 'pixfirewall');
INSERT INTO aaa_server_host (group_id, address, key_secret, timeout_s) VALUES (1, '10.89.129.134', 'secretkey', 10);
EOF
"$CLI" --db "$DB" interface map ethernet0 pcout >/dev/null
"$CLI" --db "$DB" interface map ethernet1 pcin >/dev/null
UPORT=$(sed -n 's/^#define UAUTH_PORT *\([0-9]*\).*/\1/p' "$SRC/gateway/uauth/uauth.h")
check "portcullis nat apply --uauth-port $UPORT" "$CLI" --db "$DB" nat apply --netns "$GW" --uauth-port "$UPORT"
in_gw nft list ruleset >"$TMP/ruleset"
check "the ruleset redirects to the uauth port" grep -q "redirect to :$UPORT" "$TMP/ruleset"

start_uauth() {
	: >"$TMP/serve.out"
	ip netns exec "$GW" env UAUTH_SERVE=1 UAUTH_SERVE_AAA=real UAUTH_SERVE_SET_BACKEND=nat \
		UAUTH_SERVE_DB="$DB" UAUTH_SERVE_CTL="$CTL" UAUTH_SERVE_USER=unused \
		UAUTH_SERVE_PASSWORD=unused \
		"$DRIVER" >"$TMP/serve.out" 2>>"$TMP/serve.log" &
	SERVE_PID=$!
	for i in $(seq 100); do
		grep -q '^SET' "$TMP/serve.out" && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/serve.out"
	grep -q '^SET gateway/nat' "$TMP/serve.out" || {
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
	check "uauth driver stopped cleanly (exit $st, no sanitizer report)" [ "$st" = 0 ]
}
ctl() { "$PY" -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\n")
print(b"".join(iter(lambda: s.recv(4096), b"")).decode(), end="")' "$CTL" "$1"; }

start_uauth

log "HTTP through the NAT module's redirect"
code=$(http_code)
check "401 without credentials (got $code)" [ "$code" = 401 ]
check "realm names the gateway" grep -q 'WWW-Authenticate: Basic realm="Portcullis pixfirewall"' "$TMP/head"
code=$(http_code -u alice:wrong)
check "401 with a wrong password, TACACS+ said no (got $code)" [ "$code" = 401 ]
check "192.168.1.2 not in @uauth" not_in_set 192.168.1.2
code=$(http_code -u alice:secret)
check "200 with the right password (got $code)" [ "$code" = 200 ]
check "the web server's page" grep -q seed-web-page-ok "$TMP/body"
check "192.168.1.2 in @uauth (gateway/nat/ set element)" soon_in_set 192.168.1.2
code=$(http_code)
check "200 without credentials while cached (got $code)" [ "$code" = 200 ]
check "TACACS+ server saw alice" grep -q alice "$TMP/tacacs.log"

log "show uauth"
ctl show | tee "$TMP/show"
check "show uauth lists alice at 192.168.1.2" grep -q "^user 'alice' at 192.168.1.2, authenticated" "$TMP/show"

log "Xauth user (what the IKE engine calls): uauth_add_ipsec / uauth_remove_ipsec"
ctl "ipsec-add cisco_customer 10.89.129.200 vpn3000" >/dev/null
ctl show >"$TMP/show"
check "show uauth: the seed's line" grep -qx "ipsec user 'cisco_customer' at 10.89.129.200, authenticated" "$TMP/show"
check "10.89.129.200 in @uauth" soon_in_set 10.89.129.200
ctl "ipsec-del 10.89.129.200" >/dev/null
check "10.89.129.200 left @uauth when the tunnel went down" gone_from_set 10.89.129.200

log "Telnet and FTP from 192.168.1.3 (not yet authenticated)"
cat >"$TMP/tn.py" <<'EOF'
import socket
s = socket.create_connection(("192.168.1.11", 23), timeout=10, source_address=("192.168.1.3", 0))
buf = b""
def until(tok):
    global buf
    while tok not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return tok in buf
assert until(b"Username: "), buf
s.sendall(b"alice\r\n"); assert until(b"Password: "), buf
s.sendall(b"secret\r\n"); assert until(b"seed-telnet-ready"), buf
s.sendall(b"quit\r\n"); assert until(b"echo: quit"), buf
EOF
check "telnet: prompts, TACACS+ accepts, spliced to the server" in_out "$PY" "$TMP/tn.py"
check "192.168.1.3 in @uauth" soon_in_set 192.168.1.3
ctl "clear 192.168.1.3" >/dev/null
check "clear uauth 192.168.1.3 removes the element" not_in_set 192.168.1.3
out=$(in_out curl -s -m 15 --interface 192.168.1.3 -u 'alice@webuser:secret@webpass' ftp://192.168.1.11/f.txt 2>&1 || true)
check "ftp alice@webuser: file through the proxy ($out)" [ "$out" = seed-ftp-file ]
check "192.168.1.3 in @uauth after ftp" soon_in_set 192.168.1.3

log "clear uauth: prompted again"
ctl clear >/dev/null
check "set empty after clear" bash -c "! ip netns exec $GW nft list set ip portcullis uauth | grep -q 192.168.1"
code=$(http_code)
check "401 after clear (got $code)" [ "$code" = 401 ]

log "re-apply keeps authenticated users (nat apply preserves the set)"
code=$(http_code -u alice:secret)
check "200 with credentials (got $code)" [ "$code" = 200 ]
"$CLI" --db "$DB" nat apply --netns "$GW" --uauth-port "$UPORT" >/dev/null
check "192.168.1.2 still in @uauth after re-apply" in_set 192.168.1.2
stop_uauth

log "timeout uauth 0:00:04 absolute: expiry brings the challenge back"
"$PY" "$SRC/tests/integration/nat_sql.py" "$DB" - <<<"UPDATE timeout SET seconds = 4 WHERE name = 'uauth'; DELETE FROM uauth_entry;"
in_gw nft flush set ip portcullis uauth
start_uauth
code=$(http_code -u alice:secret)
check "200 with credentials (got $code)" [ "$code" = 200 ]
has_timeout4() {
	local l
	l=$(set_list)
	grep -q '192.168.1.2 timeout 4s' <<<"$l"
}
check "element timeout 4s" soon has_timeout4
sleep 5
code=$(http_code)
check "401 after expiry (got $code)" [ "$code" = 401 ]
ctl show >"$TMP/show"
check "show uauth: nobody left" grep -q '^Authenticated Users       0          1' "$TMP/show"
stop_uauth

if [ "$FAILS" -ne 0 ]; then
	echo "uauth_seed: $FAILS check(s) failed"
	tail -30 "$TMP/serve.log"
	exit 1
fi
echo "uauth_seed: all checks passed"
