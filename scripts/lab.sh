#!/usr/bin/env bash
# The demo lab: the seed's network in network namespaces linked only to each other.
#   scripts/lab.sh up [--build DIR]   build the topology, import the seed config, start everything
#   scripts/lab.sh down                remove every namespace, process and file the lab made
#   scripts/lab.sh status              what is running
#
#   outside segment 192.168.1.0/24 (bridge in pcl-osw)
#     pcl-out1  192.168.1.2   VPN client host (vpnc)
#     pcl-out2  192.168.1.3   outside router / internet host
#     pcl-gw    eth0 192.168.1.1 (outside)   eth1 10.89.129.194/28 (inside)   portcullisd
#   inside segment 10.89.129.192/28
#     pcl-rtr   10.89.129.193  routes 10.89.129.128/28 (servers)
#   server segment 10.89.129.128/28
#     pcl-web   10.89.129.131  HTTP, FTP, Telnet
#     pcl-aaa   10.89.129.134  FreeRADIUS and the TACACS+ test server
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LAB_DIR=${PORTCULLIS_LAB_DIR:-/run/portcullis-lab}
API=${PORTCULLIS_LAB_API:-127.0.0.1:8080}
BUILD=${PORTCULLIS_LAB_BUILD:-$TOP/build/release}
# Demo secrets (the seed masks its keys; the founding document gives cisco1234 and secretkey).
LAB_WILDCARD_KEY=cisco1234
LAB_GROUP_PASSWORD=vpn3000secret
LAB_TACACS_KEY=secretkey
LAB_USER=cisco_customer
LAB_PASSWORD=cisco
NSS=(pcl-osw pcl-out1 pcl-out2 pcl-gw pcl-rtr pcl-web pcl-aaa)

log() { echo "lab: $*"; }
die() {
	echo "lab: $*" >&2
	exit 1
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

lab_down() {
	if [ -d "$LAB_DIR/pids" ]; then
		for f in "$LAB_DIR"/pids/*; do
			[ -e "$f" ] || continue
			kill "$(cat "$f")" 2>/dev/null || true
		done
		sleep 0.3
		for f in "$LAB_DIR"/pids/*; do
			[ -e "$f" ] || continue
			kill -9 "$(cat "$f")" 2>/dev/null || true
		done
	fi
	for ns in "${NSS[@]}"; do
		if ns_exists "$ns"; then
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
			ip netns del "$ns"
		fi
	done
	rm -rf "$LAB_DIR"
	log "down: namespaces, processes and $LAB_DIR removed"
}

link() { # NS1 IF1 NS2 IF2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

start_bg() { # NAME NS COMMAND... (logs to $LAB_DIR/NAME.log, pid in $LAB_DIR/pids/NAME)
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$LAB_DIR/$name.log" 2>&1 &
	echo $! >"$LAB_DIR/pids/$name"
}

topology() {
	for ns in "${NSS[@]}"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	# outside segment: a bridge in its own namespace
	ip -n pcl-osw link add br0 type bridge
	ip -n pcl-osw link set br0 up
	link pcl-osw o-gw pcl-gw eth0
	link pcl-osw o-out1 pcl-out1 eth0
	link pcl-osw o-out2 pcl-out2 eth0
	for p in o-gw o-out1 o-out2; do ip -n pcl-osw link set "$p" master br0; done
	ip -n pcl-out1 addr add 192.168.1.2/24 dev eth0
	ip -n pcl-out1 route add default via 192.168.1.1
	ip -n pcl-out2 addr add 192.168.1.3/24 dev eth0
	# inside segment: gateway eth1 <-> router
	link pcl-gw eth1 pcl-rtr eth0
	ip -n pcl-rtr addr add 10.89.129.193/28 dev eth0
	# server segment behind the router (a bridge in the router namespace)
	ip -n pcl-rtr link add br1 type bridge
	ip -n pcl-rtr link set br1 up
	ip -n pcl-rtr addr add 10.89.129.129/28 dev br1
	link pcl-rtr s-web pcl-web eth0
	link pcl-rtr s-aaa pcl-aaa eth0
	ip -n pcl-rtr link set s-web master br1
	ip -n pcl-rtr link set s-aaa master br1
	ip netns exec pcl-rtr sysctl -qw net.ipv4.ip_forward=1
	ip -n pcl-rtr route add default via 10.89.129.194
	ip -n pcl-web addr add 10.89.129.131/28 dev eth0
	ip -n pcl-web route add default via 10.89.129.129
	ip -n pcl-aaa addr add 10.89.129.134/28 dev eth0
	ip -n pcl-aaa route add default via 10.89.129.129
}

services() {
	mkdir -p "$LAB_DIR/www"
	echo "<h1>Portcullis demo web server 10.89.129.131</h1>" >"$LAB_DIR/www/index.html"
	start_bg web pcl-web python3 -m http.server 80 --bind 10.89.129.131 --directory "$LAB_DIR/www"
	start_bg tacacs pcl-aaa python3 "$TOP/tests/peers/tacacs_server.py" --listen 10.89.129.134 \
		--port 49 --key "$LAB_TACACS_KEY" --user "$LAB_USER:$LAB_PASSWORD" \
		--log "$LAB_DIR/tacacs-requests.log"
}

import_seed() {
	local db=$1
	"$BUILD/portcullis" --db "$db" import "$TOP/tests/data/seed.cfg" --apply \
		--secret "isakmp-key:0.0.0.0/0.0.0.0=$LAB_WILDCARD_KEY" \
		--secret "vpngroup:vpn3000=$LAB_GROUP_PASSWORD" \
		--secret "aaa-server:AuthInbound/10.89.129.134=$LAB_TACACS_KEY" >"$LAB_DIR/import.txt"
}

lab_up() {
	[ "$(id -u)" -eq 0 ] || die "run as root (it creates network namespaces)"
	[ -x "$BUILD/portcullisd" ] || die "no $BUILD/portcullisd: build first (scripts/demo.sh does)"
	if ns_exists pcl-gw; then
		log "already up: taking it down first"
		lab_down
	fi
	mkdir -p "$LAB_DIR/pids"
	topology
	services
	local db=$LAB_DIR/portcullis.db
	"$BUILD/portcullis" --db "$db" db-init >/dev/null
	import_seed "$db"
	# portcullisd starts in the root namespace so its API listens on the host's loopback, and
	# enters pcl-gw for the data plane.
	"$BUILD/portcullisd" --db "$db" --api "$API" --netns pcl-gw --log-level info \
		>"$LAB_DIR/portcullisd.log" 2>&1 &
	echo $! >"$LAB_DIR/pids/portcullisd"
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null "http://$API/api/v1/health" && break
		sleep 0.1
	done
	curl -sf -o /dev/null "http://$API/api/v1/health" || die "portcullisd did not answer; see $LAB_DIR/portcullisd.log"
	log "up: console and API at http://$API/ (health: $(curl -s "http://$API/api/v1/health"))"
	log "logs in $LAB_DIR; take it down with: bash scripts/lab.sh down"
}

lab_status() {
	local any=0
	for ns in "${NSS[@]}"; do
		if ns_exists "$ns"; then
			any=1
			echo "namespace $ns: up"
		fi
	done
	[ "$any" -eq 1 ] || {
		echo "lab is down"
		return 0
	}
	for f in "$LAB_DIR"/pids/*; do
		[ -e "$f" ] || continue
		if kill -0 "$(cat "$f")" 2>/dev/null; then
			echo "process $(basename "$f"): running (pid $(cat "$f"))"
		else
			echo "process $(basename "$f"): NOT running (see $LAB_DIR/$(basename "$f").log)"
		fi
	done
	curl -s "http://$API/api/v1/health" && echo
}

case "${1:-}" in
up) lab_up ;;
down) lab_down ;;
status) lab_status ;;
*)
	echo "usage: scripts/lab.sh up|down|status" >&2
	exit 2
	;;
esac
