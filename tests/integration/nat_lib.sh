# pc() runs the portcullis CLI with --netns for the gateway namespace.
# Shared by tests/integration/nat_*_test.sh: the seed's network in namespaces.
#   out  : outside hosts 192.168.1.2 and 192.168.1.3 (the gateway's default route)
#   gw   : Portcullis (pcout = ethernet0 outside, pcin = ethernet1 inside, pcx0 = tun-like VPN link)
#   rtr  : inside router 10.89.129.193/28, 10.89.129.129/28 towards the web server
#   web  : web server 10.89.129.131/28
#   vpn  : a "tunnelled client" at pool address 10.89.129.200 behind pcx0 (as the tun backend
#          would deliver decrypted packets)
set -euo pipefail

: "${PORTCULLIS:?set by ctest}"
: "${PORTCULLIS_SOURCE_DIR:?set by ctest}"
P=pc-nat-$$
NS_OUT=$P-out NS_GW=$P-gw NS_RTR=$P-rtr NS_WEB=$P-web NS_VPN=$P-vpn
WORK=$(mktemp -d /tmp/pc-nat-test.XXXXXX)
DB=$WORK/pc.db
PIDS=()
FAILS=0

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	# $! of a backgrounded inns is the subshell, not the program in the namespace: end those too
	for ns in $NS_OUT $NS_GW $NS_RTR $NS_WEB $NS_VPN; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	for ns in $NS_OUT $NS_GW $NS_RTR $NS_WEB $NS_VPN; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
inns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

build_topology() {
	for ns in $NS_OUT $NS_GW $NS_RTR $NS_WEB $NS_VPN; do
		ip netns add "$ns"
		inns "$ns" ip link set lo up
	done
	ip link add pcout netns $NS_GW type veth peer name o0 netns $NS_OUT
	ip link add pcin netns $NS_GW type veth peer name r0 netns $NS_RTR
	ip link add r1 netns $NS_RTR type veth peer name w0 netns $NS_WEB
	ip link add pcx0 netns $NS_GW type veth peer name v0 netns $NS_VPN

	inns $NS_OUT ip addr add 192.168.1.2/24 dev o0
	inns $NS_OUT ip addr add 192.168.1.3/24 dev o0
	inns $NS_OUT ip link set o0 up

	inns $NS_RTR ip addr add 10.89.129.193/28 dev r0
	inns $NS_RTR ip addr add 10.89.129.129/28 dev r1
	inns $NS_RTR ip link set r0 up
	inns $NS_RTR ip link set r1 up
	inns $NS_RTR ip route add default via 10.89.129.194
	inns $NS_RTR sysctl -qw net.ipv4.ip_forward=1

	inns $NS_WEB ip addr add 10.89.129.131/28 dev w0
	inns $NS_WEB ip link set w0 up
	inns $NS_WEB ip route add default via 10.89.129.129

	inns $NS_VPN ip addr add 10.89.129.200/32 dev v0
	inns $NS_VPN ip link set v0 up
	inns $NS_VPN ip route add default dev v0
	# pcx0 is not part of the PIX model: the SA backend owns it (here: the test)
	inns $NS_GW ip link set pcx0 up
	# a tun device has no ARP; the veth standing in for it answers for everything behind it
	inns $NS_GW sysctl -qw net.ipv4.conf.pcx0.proxy_arp=1
}

seed_db() {
	"$PORTCULLIS" --db "$DB" db-init >/dev/null
	python3 "$PORTCULLIS_SOURCE_DIR/tests/integration/nat_sql.py" "$DB" \
		"$PORTCULLIS_SOURCE_DIR/tests/integration/nat_seed.sql"
	"$PORTCULLIS" --db "$DB" interface map ethernet0 pcout >/dev/null
	"$PORTCULLIS" --db "$DB" interface map ethernet1 pcin >/dev/null
}

sql() { python3 "$PORTCULLIS_SOURCE_DIR/tests/integration/nat_sql.py" "$DB" -; }

listen() { # ns addr port name; connections are logged to $WORK/name.log
	local log=$WORK/$4.log
	: >"$log"
	inns "$1" python3 "$PORTCULLIS_SOURCE_DIR/tests/integration/nat_listen.py" "$2" "$3" "$log" "$4" \
		>"$WORK/$4.out" 2>&1 &
	PIDS+=($!)
}

wait_listen() { # ns port
	for _ in $(seq 50); do
		inns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "listener on port $2 in $1 did not start" >&2
	return 1
}

# connect ns addr port -> prints the reply line (empty on failure)
connect() { inns "$1" timeout 5 nc -w 2 "$2" "$3" </dev/null 2>/dev/null || true; }

# counter ACL ENTRY -> packets of that entry's rule (0 when absent)
counter() {
	"$PORTCULLIS" nat counters --netns $NS_GW |
		awk -v a="$1" -v e="$2" '$2 == a && $4 == e { print $6; f = 1 } END { if (!f) print 0 }'
}

ruleset() { inns $NS_GW nft list table ip portcullis | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'; }

# portcullis nat VERB --netns GW ARGS...
pcnat() {
	local verb=$1
	shift
	"$PORTCULLIS" --db "$DB" nat "$verb" --netns $NS_GW "$@"
}

# contains REGEX CMD...: CMD's output matches (no pipe into grep -q: pipefail + SIGPIPE)
contains() {
	local re=$1 out
	shift
	out=$("$@" 2>&1) || true
	grep -qE -- "$re" <<<"$out"
}
