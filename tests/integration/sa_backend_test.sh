#!/usr/bin/env bash
# SA backend selection in portcullisd on this machine's kernel. Without kernel ESP (this machine):
# `--sa-backend xfrm` refuses to start and names what is missing, `auto` runs with tun and says
# why. With kernel ESP (tests/vm/xfrm_vpnc_vm_test.sh covers that end to end): both pick xfrm.
source "$(dirname "$0")/../lib.sh"

t_netns ns gw
probe=$(ip netns exec "$ns" "$PORTCULLIS" ipsec-probe)
echo "# probe: $probe"
if grep -q "^kernel ESP: yes" <<<"$probe"; then esp=yes; else esp=no; fi

# --sa-backend xfrm
db=$T_DIR/xfrm.db
port=$(t_free_port)
log=$T_DIR/xfrm.log
timeout 30 "$PORTCULLISD" --db "$db" --api "127.0.0.1:$port" --netns "$ns" --sa-backend xfrm \
	--log-level info >"$log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
if [ "$esp" = no ]; then
	rc=0
	wait "$pid" || rc=$?
	T_PIDS=()
	sed 's/^/# xfrm: /' "$log" | grep -i "backend\|error" || true
	t_check "xfrm without kernel ESP: portcullisd refuses to start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	t_check "the refusal names the missing ESP support" \
		grep -q "xfrm backend unavailable: .*no ESP support (esp4 module, CONFIG_INET_ESP)" "$log"
	t_check "the API never came up" bash -c "! curl -s -o /dev/null http://127.0.0.1:$port/api/v1/health"
else
	t_wait_http "http://127.0.0.1:$port/api/v1/health"
	t_check "xfrm with kernel ESP: health reports xfrm" bash -c \
		"curl -s http://127.0.0.1:$port/api/v1/health | grep -q '\"sa_backend\": *\"xfrm\"'"
	kill -TERM "$pid"
	wait "$pid" || true
	T_PIDS=()
fi

# --sa-backend auto (the default)
db=$T_DIR/auto.db
port=$(t_free_port)
log=$T_DIR/auto.log
"$PORTCULLISD" --db "$db" --api "127.0.0.1:$port" --netns "$ns" --log-level info >"$log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
t_wait_http "http://127.0.0.1:$port/api/v1/health"
health=$(curl -s "http://127.0.0.1:$port/api/v1/health")
echo "# auto health: $health"
want=tun
[ "$esp" = yes ] && want=xfrm
t_check "auto picks $want (health)" python3 -c "
import json,sys; h=json.loads(sys.argv[1]); assert h['sa_backend']==sys.argv[2], h" "$health" "$want"
t_check "auto logs its choice and the reason" grep -q "SA backend: auto: $want, because" "$log"
if [ "$esp" = no ]; then
	t_check "auto's reason names the missing ESP support" grep -q "auto: tun, because .*no ESP support" "$log"
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
T_PIDS=()
t_check "auto: SIGTERM exits 0" test "$rc" -eq 0
t_check "no sanitizer reports" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$T_DIR/xfrm.log' '$log'"
t_done
