# shellcheck shell=bash disable=SC2154
# Helpers for the IKE real-peer tests (sourced after tests/lib.sh): a private copy of the demo lab
# (scripts/lab.sh with this test's own namespace prefix, so it runs beside other labs), the API,
# and extra vpnc clients.
export PORTCULLIS_LAB_BUILD=$PORTCULLIS_BUILD_DIR
export PORTCULLIS_LAB_DIR=$T_DIR/lab
export PORTCULLIS_LAB_NS_PREFIX=pc$$-
IKE_API_PORT=$(t_free_port)
export PORTCULLIS_LAB_API=127.0.0.1:$IKE_API_PORT
IKE_LAB=$PORTCULLIS_SOURCE_DIR/scripts/lab.sh
IKE_API=http://$PORTCULLIS_LAB_API
IKE_P=$PORTCULLIS_LAB_NS_PREFIX # namespaces ${IKE_P}gw, ${IKE_P}out1, ${IKE_P}out2, ...
IKE_LOG=$PORTCULLIS_LAB_DIR/portcullisd.log

ike_lab_down() {
	local f i
	cp "$IKE_LOG" "$T_DIR/portcullisd.log" 2>/dev/null || true
	# this test's own vpnc clients first (while the gateway still answers their DELETEs)
	for f in "$T_DIR"/vpnc-*/pid; do
		[ -e "$f" ] || continue
		kill -CONT "$(cat "$f")" 2>/dev/null || true
		kill -TERM "$(cat "$f")" 2>/dev/null || true
	done
	for f in "$T_DIR"/vpnc-*/pid; do
		[ -e "$f" ] || continue
		for ((i = 0; i < 30; i++)); do
			kill -0 "$(cat "$f")" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	bash "$IKE_LAB" down >"$T_DIR/lab-down.log" 2>&1 || true
}

# ike_lab_up: the lab (gateway with the seed config, TACACS+, web server, vpnc in out1 with
# 10.89.129.200) and an admin API session; exits the test if it does not come up.
ike_lab_up() {
	trap 'ike_rc=$?; ike_lab_down; set +e; (exit $ike_rc); t_cleanup' EXIT
	if ! bash "$IKE_LAB" up >"$T_DIR/lab-up.log" 2>&1; then
		cat "$T_DIR/lab-up.log" >&2
		tail -n 40 "$IKE_LOG" >&2 || true
		t_fail "lab up"
		exit 1
	fi
	t_pass "lab up (gateway, TACACS+, vpnc in ${IKE_P}out1)"
	local pw
	pw=$(cat "$PORTCULLIS_LAB_DIR/admin-password")
	curl -s -c "$T_DIR/jar" -H 'Content-Type: application/json' \
		-d "{\"username\":\"admin\",\"password\":\"$pw\"}" "$IKE_API/api/v1/auth/login" >"$T_DIR/login.json"
	IKE_CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf_token"])' "$T_DIR/login.json")
}

ike_get() { curl -s -b "$T_DIR/jar" "$IKE_API/api/v1/$1"; }

# ike_post PATH JSON: prints the HTTP status
ike_post() {
	curl -s -o "$T_DIR/post.out" -w '%{http_code}' -b "$T_DIR/jar" -H "X-CSRF-Token: $IKE_CSRF" \
		-H 'Content-Type: application/json' -d "$2" "$IKE_API/api/v1/$1"
}

# ike_py 'python expression over j' RESOURCE: passes if the expression is true for the JSON of
# GET RESOURCE (j); prints the JSON when it is not.
ike_py() {
	ike_get "$2" >"$T_DIR/q.json"
	python3 - "$T_DIR/q.json" "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
items = j.get("items", [])
ok = eval(sys.argv[2])
if not ok:
    print("  condition false: %s\n  on: %s" % (sys.argv[2], json.dumps(j)[:1500]), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# ike_wait SECONDS COMMAND...: retries the command every half second until it passes.
ike_wait() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 2; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.5
	done
	"$@"
}

# ike_vpnc NAME NS SECRET USER PASSWORD [vpnc options...]: starts a vpnc client (group vpn3000)
# in NS, files in $T_DIR/vpnc-NAME (env-connect once connected, vpnc.log, pid).
ike_vpnc() {
	local name=$1 ns=$2 secret=$3 user=$4 pass=$5
	shift 5
	local d=$T_DIR/vpnc-$name
	mkdir -p "$d"
	rm -f "$d"/env-*
	printf 'IPSec gateway 192.168.1.1\nIPSec ID vpn3000\nIPSec secret %s\nXauth username %s\nXauth password %s\n' \
		"$secret" "$user" "$pass" >"$d/vpnc.conf"
	chmod 600 "$d/vpnc.conf"
	# the lab's script: only the tunnel device, address and route (never the host's resolv.conf)
	cp "$PORTCULLIS_LAB_DIR/vpnc/script.sh" "$d/script.sh"
	ip netns exec "$ns" vpnc --no-detach --debug 1 --enable-weak-encryption \
		--enable-weak-authentication --script "$d/script.sh" --pid-file "$d/vpnc.pid" \
		"$@" "$d/vpnc.conf" </dev/null >>"$d/vpnc.log" 2>&1 &
	echo $! >"$d/pid"
	T_PIDS+=($!)
}

# ike_vpnc_connected NAME [SECONDS]: waits for the connect script; prints the assigned address.
ike_vpnc_connected() {
	local d=$T_DIR/vpnc-$1 secs=${2:-15} i
	for ((i = 0; i < secs * 10; i++)); do
		if [ -f "$d/env-connect" ]; then
			sed -n 's/^INTERNAL_IP4_ADDRESS=//p' "$d/env-connect"
			return 0
		fi
		kill -0 "$(cat "$d/pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "vpnc $1 did not connect; its log:" >&2
	tail -n 5 "$d/vpnc.log" >&2
	return 1
}

# ike_vpnc_exited NAME [SECONDS]: waits for vpnc to exit; prints its exit status.
ike_vpnc_exited() {
	local pid secs=${2:-15} i rc
	pid=$(cat "$T_DIR/vpnc-$1/pid")
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			echo "$rc"
			return 0
		fi
		sleep 0.1
	done
	echo "vpnc $1 still running after ${secs}s" >&2
	return 1
}

# ike_log_mark: the current length of the gateway log (for ike_log_since).
ike_log_mark() { wc -l <"$IKE_LOG"; }
# ike_log_since MARK: the gateway log lines written after MARK.
ike_log_since() { tail -n +"$(($1 + 1))" "$IKE_LOG"; }
