# Shared helpers for the shell-driven tests (sourced). Every test makes its own namespaces with a
# unique prefix and removes them, and everything it started, on exit.
set -euo pipefail

: "${PORTCULLISD:?PORTCULLISD must point to the built portcullisd (ctest sets it)}"
: "${PORTCULLIS:?PORTCULLIS must point to the built portcullis CLI (ctest sets it)}"
: "${PORTCULLIS_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/pc-${T_NAME}-XXXXXX")
T_NS=()
T_PIDS=()
T_FAILS=0
T_PASSES=0

t_cleanup() {
	local rc=$?
	for pid in "${T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${T_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${T_NS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ "$rc" -eq 0 ] && [ "$T_FAILS" -eq 0 ]; then
		rm -rf "$T_DIR"
	else
		echo "# test files kept in $T_DIR" >&2
	fi
	exit "$rc"
}
trap t_cleanup EXIT

# t_netns VAR NAME: creates namespace "pc<pid>-NAME" with lo up, removed on exit; stores its name
# in VAR (not printed: a $(...) subshell could not register it for cleanup).
t_netns() {
	local _t_ns="pc$$-$2"
	ip netns add "$_t_ns"
	T_NS+=("$_t_ns")
	ip -n "$_t_ns" link set lo up
	printf -v "$1" '%s' "$_t_ns"
}

# t_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces (addresses with /len or "").
t_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	[ -n "$3" ] && ip -n "$1" addr add "$3" dev "$2"
	[ -n "$6" ] && ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

t_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# t_wait_http URL [SECONDS]: waits until URL answers (any HTTP status).
t_wait_http() {
	local url=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 10; i++)); do
		if curl -s -o /dev/null "$url"; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for $url" >&2
	return 1
}

t_pass() {
	T_PASSES=$((T_PASSES + 1))
	echo "ok - $*"
}

t_fail() {
	T_FAILS=$((T_FAILS + 1))
	echo "not ok - $*"
}

# t_check DESCRIPTION COMMAND...: runs the command; passes if it exits 0.
t_check() {
	local what=$1
	shift
	if "$@"; then t_pass "$what"; else t_fail "$what"; fi
}

t_done() {
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}
