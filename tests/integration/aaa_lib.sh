# Shared helpers for the AAA integration tests (sourced, not run).
# Needs: PORTCULLIS (the CLI), PORTCULLIS_SOURCE_DIR; runs as root; makes one network namespace.
set -euo pipefail

: "${PORTCULLIS:?set PORTCULLIS to the portcullis CLI}"
: "${PORTCULLIS_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PEERS=$PORTCULLIS_SOURCE_DIR/tests/peers
NS=pc-aaa-$$-${AAA_TEST_NAME:-t}
TMP=$(mktemp -d /tmp/pc-aaa-XXXXXX)
DB=$TMP/pc.db
PIDS=()
FAILS=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 127.0.0.2/8 dev lo 2>/dev/null || true

nsx() { ip netns exec "$NS" "$@"; }

pc() { nsx "$PORTCULLIS" --db "$DB" "$@"; }

dbconf() { python3 "$PEERS/aaa_dbconf.py" "$DB" "$1"; }

pass() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# expect_auth RESULT GROUP USER PASSWORD [opts]: runs "aaa test", checks the first word.
expect_auth() {
	local want=$1 group=$2 user=$3 pw=$4 out
	shift 4
	out=$(printf '%s\n' "$pw" | pc aaa test "$@" "$group" "$user" 2>"$TMP/last.err" || true)
	if grep -q 'Sanitizer\|runtime error' "$TMP/last.err"; then
		fail "sanitizer report: $(grep -m3 'Sanitizer\|runtime error' "$TMP/last.err")"
	elif [ "${out%%:*}" = "$want" ]; then
		pass "auth $user@$group -> $out"
	else
		fail "auth $user@$group: want $want, got '$out' $(tail -3 "$TMP/last.err")"
	fi
}

# wait_for FILE PATTERN SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_radius NAME ADDR AUTHPORT ACCTPORT: a FreeRADIUS in the namespace; sets RAD_PID_<NAME>
start_radius() {
	local name=$1 dir=$TMP/radius-$1
	if [ ! -d "$dir" ]; then
		bash "$PEERS/freeradius_conf.sh" "$dir" "$2" "$3" "$4" "$RAD_SECRET" "$dir/detail" \
			"alice:wonder" "bob:builder"
	fi
	: >"$dir/out.log"
	ip netns exec "$NS" freeradius -X -d "$dir" >"$dir/out.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	eval "RAD_PID_$name=$pid"
	wait_for "$dir/out.log" "Ready to process requests" 15 || {
		tail -20 "$dir/out.log"
		fail "FreeRADIUS $name did not start"
		exit 1
	}
}

# start_badradius NAME PORT MODE
start_badradius() {
	ip netns exec "$NS" python3 "$PEERS/radius_bad_server.py" --port "$2" --secret "$RAD_SECRET" \
		--mode "$3" >"$TMP/badrad-$1.out" 2>&1 &
	PIDS+=("$!")
	wait_for "$TMP/badrad-$1.out" "listening" 10 || fail "bad RADIUS server $1 did not start"
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# start_tacacs NAME PORT MODE [extra args]: sets TAC_PID_<NAME>, log in $TMP/tac-NAME.log
start_tacacs() {
	local name=$1 port=$2 mode=$3
	shift 3
	ip netns exec "$NS" python3 "$PEERS/tacacs_server.py" --listen 127.0.0.1 --port "$port" --key "$TAC_KEY" \
		--user alice:wonder --user bob:builder --mode "$mode" --log "$TMP/tac-$name.log" "$@" \
		>"$TMP/tac-$name.out" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	eval "TAC_PID_$name=$pid"
	wait_for "$TMP/tac-$name.out" "listening" 10 || {
		cat "$TMP/tac-$name.out"
		fail "TACACS+ server $name did not start"
		exit 1
	}
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}
