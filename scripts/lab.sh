#!/usr/bin/env bash
# The demo lab: the seed's network in network namespaces linked only to each other, with the
# gateway, real clients and real servers.
#   scripts/lab.sh up       build the topology, import the seed config, start everything, connect
#                           a vpnc client, make a little traffic, print the console URL and a login
#   scripts/lab.sh down     remove every namespace, process and file the lab made
#   scripts/lab.sh status   what is running
# Environment: PORTCULLIS_LAB_BUILD (build dir with portcullisd, default build/release),
# PORTCULLIS_LAB_API (default 127.0.0.1:8080), PORTCULLIS_LAB_DIR (default /run/portcullis-lab).
# PORTCULLIS_LAB_NS_PREFIX (default pcl-: namespaces pcl-gw, pcl-out1, ...).
#
#   outside segment 192.168.1.0/24 (bridge in pcl-osw)
#     pcl-out1  192.168.1.2   VPN client host (vpnc, group vpn3000, Xauth user cisco_customer)
#     pcl-out2  192.168.1.3   outside router / internet host (cut-through user of the web server)
#     pcl-gw    eth0 192.168.1.1 (outside)   eth1 10.89.129.194/28 (inside)   portcullisd
#   inside segment 10.89.129.192/28
#     pcl-rtr   10.89.129.193  routes 10.89.129.128/28 (servers)
#   server segment 10.89.129.128/28
#     pcl-web   10.89.129.131  HTTP, FTP, Telnet
#     pcl-aaa   10.89.129.134  TACACS+ (the seed's AuthInbound group) and FreeRADIUS
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LAB_DIR=${PORTCULLIS_LAB_DIR:-/run/portcullis-lab}
API=${PORTCULLIS_LAB_API:-127.0.0.1:8080}
BUILD=${PORTCULLIS_LAB_BUILD:-$TOP/build/release}
# namespace names: ${P}gw, ${P}out1, ... (PORTCULLIS_LAB_NS_PREFIX: a test runs its own lab beside others)
P=${PORTCULLIS_LAB_NS_PREFIX:-pcl-}
NSS=("${P}osw" "${P}out1" "${P}out2" "${P}gw" "${P}rtr" "${P}web" "${P}aaa")

# Demo secrets. The seed masks its keys; the founding document gives cisco1234 (wildcard key) and
# secretkey (TACACS+). The group password and user are the lab's own.
LAB_WILDCARD_KEY=cisco1234
LAB_GROUP_PASSWORD=vpn3000secret
LAB_TACACS_KEY=secretkey
LAB_RADIUS_SECRET=radiussecret
LAB_USER=cisco_customer
LAB_PASSWORD=cisco

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
		for _ in $(seq 1 50); do
			alive=0
			for f in "$LAB_DIR"/pids/*; do
				[ -e "$f" ] || continue
				kill -0 "$(cat "$f")" 2>/dev/null && alive=1
			done
			[ "$alive" -eq 0 ] && break
			sleep 0.1
		done
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

start_bg() { # NAME NS COMMAND... (output in $LAB_DIR/NAME.log, pid in $LAB_DIR/pids/NAME)
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$LAB_DIR/$name.log" 2>&1 &
	echo $! >"$LAB_DIR/pids/$name"
}

wait_tcp() { # NS ADDR PORT
	for _ in $(seq 1 100); do
		ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
		sleep 0.1
	done
	die "nothing answers on $2:$3 in $1"
}

topology() {
	for ns in "${NSS[@]}"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip -n "${P}osw" link add br0 type bridge
	ip -n "${P}osw" link set br0 up
	link "${P}osw" o-gw "${P}gw" eth0
	link "${P}osw" o-out1 "${P}out1" eth0
	link "${P}osw" o-out2 "${P}out2" eth0
	for p in o-gw o-out1 o-out2; do ip -n "${P}osw" link set "$p" master br0; done
	ip -n "${P}out1" addr add 192.168.1.2/24 dev eth0
	ip -n "${P}out2" addr add 192.168.1.3/24 dev eth0
	link "${P}gw" eth1 "${P}rtr" eth0
	ip -n "${P}rtr" addr add 10.89.129.193/28 dev eth0
	ip -n "${P}rtr" link add br1 type bridge
	ip -n "${P}rtr" link set br1 up
	ip -n "${P}rtr" addr add 10.89.129.129/28 dev br1
	link "${P}rtr" s-web "${P}web" eth0
	link "${P}rtr" s-aaa "${P}aaa" eth0
	ip -n "${P}rtr" link set s-web master br1
	ip -n "${P}rtr" link set s-aaa master br1
	ip netns exec "${P}rtr" sysctl -qw net.ipv4.ip_forward=1
	ip -n "${P}rtr" route add default via 10.89.129.194
	ip -n "${P}web" addr add 10.89.129.131/28 dev eth0
	ip -n "${P}web" route add default via 10.89.129.129
	ip -n "${P}aaa" addr add 10.89.129.134/28 dev eth0
	ip -n "${P}aaa" route add default via 10.89.129.129
}

services() {
	mkdir -p "$LAB_DIR/www"
	echo "<h1>Portcullis demo web server 10.89.129.131</h1>" >"$LAB_DIR/www/index.html"
	start_bg web "${P}web" python3 -m http.server 80 --bind 10.89.129.131 --directory "$LAB_DIR/www"
	start_bg ftp "${P}web" python3 "$TOP/tests/peers/web_ftpd.py" webuser webpass 10.89.129.131
	start_bg telnet "${P}web" python3 "$TOP/tests/peers/web_telnetd.py" 10.89.129.131
	start_bg tacacs "${P}aaa" python3 "$TOP/tests/peers/tacacs_server.py" --listen 10.89.129.134 \
		--port 49 --key "$LAB_TACACS_KEY" --user "$LAB_USER:$LAB_PASSWORD" \
		--log "$LAB_DIR/tacacs-requests.log"
	bash "$TOP/tests/peers/freeradius_conf.sh" "$LAB_DIR/radius" 10.89.129.134 1645 1646 \
		"$LAB_RADIUS_SECRET" "$LAB_DIR/radius-detail" "$LAB_USER:$LAB_PASSWORD" >/dev/null
	sed -i 's|ipaddr = 127.0.0.0/8|ipaddr = 10.89.129.192/28|' "$LAB_DIR/radius/clients.conf"
	# log every Access-Accept / Access-Reject (Login OK / Login incorrect) to radius.log
	sed -i 's/^\(\s*auth\) = no/\1 = yes/' "$LAB_DIR/radius/radiusd.conf"
	start_bg freeradius "${P}aaa" freeradius -f -d "$LAB_DIR/radius" -l "$LAB_DIR/radius/radius.log"
	wait_tcp "${P}web" 10.89.129.131 80
	wait_tcp "${P}aaa" 10.89.129.134 49
}

import_seed() {
	local db=$1
	"$BUILD/portcullis" --db "$db" import "$TOP/tests/data/seed.cfg" --apply \
		--secret "isakmp-key:0.0.0.0/0.0.0.0=$LAB_WILDCARD_KEY" \
		--secret "vpngroup:vpn3000=$LAB_GROUP_PASSWORD" \
		--secret "aaa-server:AuthInbound/10.89.129.134=$LAB_TACACS_KEY" >"$LAB_DIR/import.txt"
	# The seed's RADIUS group has no host; the lab's FreeRADIUS serves it for anyone who points
	# the crypto map or an aaa rule at it.
	"$BUILD/portcullis" --db "$db" import - --apply >>"$LAB_DIR/import.txt" <<EOF
$(cat "$TOP/tests/data/seed.cfg" | sed '/^: end/d;/^Cryptochecksum/d')
aaa-server RADIUS (inside) host 10.89.129.134 $LAB_RADIUS_SECRET timeout 5
EOF
}

vpn_client() {
	mkdir -p "$LAB_DIR/vpnc"
	cat >"$LAB_DIR/vpnc/vpnc.conf" <<EOF
IPSec gateway 192.168.1.1
IPSec ID vpn3000
IPSec secret $LAB_GROUP_PASSWORD
Xauth username $LAB_USER
Xauth password $LAB_PASSWORD
EOF
	chmod 600 "$LAB_DIR/vpnc/vpnc.conf"
	# vpnc's own script would rewrite the host's /etc/resolv.conf: this one only sets up the tunnel
	cat >"$LAB_DIR/vpnc/script.sh" <<'EOF'
#!/bin/sh
env | grep -E '^(INTERNAL_|CISCO_|reason|TUNDEV|VPNGATEWAY)' | sort >"$(dirname "$0")/env-$reason"
case "$reason" in
connect)
	ip link set dev "$TUNDEV" up mtu 1400
	ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
	ip route add 10.89.129.128/25 dev "$TUNDEV"
	;;
disconnect) ip link del "$TUNDEV" 2>/dev/null ;;
esac
exit 0
EOF
	chmod +x "$LAB_DIR/vpnc/script.sh"
	start_bg vpnc "${P}out1" vpnc --no-detach --debug 1 --enable-weak-encryption \
		--enable-weak-authentication --script "$LAB_DIR/vpnc/script.sh" \
		--pid-file "$LAB_DIR/vpnc/vpnc.pid" "$LAB_DIR/vpnc/vpnc.conf"
	for _ in $(seq 1 150); do
		[ -f "$LAB_DIR/vpnc/env-connect" ] && break
		sleep 0.1
	done
	[ -f "$LAB_DIR/vpnc/env-connect" ] || die "vpnc did not connect; see $LAB_DIR/vpnc.log and $LAB_DIR/portcullisd.log"
	log "vpnc connected: $(grep INTERNAL_IP4_ADDRESS "$LAB_DIR/vpnc/env-connect")"
}

traffic() {
	# through the tunnel: ping and a page from the web server
	ip netns exec "${P}out1" ping -c 3 -i 0.3 -W 2 10.89.129.131 >"$LAB_DIR/traffic.log" 2>&1 ||
		die "ping through the tunnel failed; see $LAB_DIR/traffic.log"
	ip netns exec "${P}out1" curl -s -m 5 -o /dev/null http://10.89.129.131/ >>"$LAB_DIR/traffic.log" 2>&1 ||
		die "HTTP through the tunnel failed"
	# cut-through: the internet host authenticates to reach the web server's static address
	ip netns exec "${P}out2" curl -s -m 10 -o /dev/null -w '%{http_code}\n' \
		-u "$LAB_USER:$LAB_PASSWORD" -L http://192.168.1.11/ >>"$LAB_DIR/traffic.log" 2>&1 ||
		log "cut-through HTTP from 192.168.1.3 failed (see $LAB_DIR/traffic.log)"
}

lab_up() {
	[ "$(id -u)" -eq 0 ] || die "run as root (it creates network namespaces)"
	[ -x "$BUILD/portcullisd" ] || die "no $BUILD/portcullisd: build first (scripts/demo.sh does)"
	if ns_exists "${P}gw" || [ -d "$LAB_DIR" ]; then
		log "already up: taking it down first"
		lab_down
	fi
	mkdir -p "$LAB_DIR/pids"
	chmod 700 "$LAB_DIR"
	topology
	services
	local db=$LAB_DIR/portcullis.db
	import_seed "$db"
	local pw
	pw=$(openssl rand -base64 12 | tr -d '/+=' | cut -c1-14)
	echo "$pw" | "$BUILD/portcullis" --db "$db" admin add admin >/dev/null
	echo "$pw" >"$LAB_DIR/admin-password"
	chmod 600 "$LAB_DIR/admin-password"
	# portcullisd starts in the root namespace so its API listens on the host's loopback, and
	# enters "${P}gw" for the data plane.
	"$BUILD/portcullisd" --db "$db" --api "$API" --netns "${P}gw" --log-level info \
		>"$LAB_DIR/portcullisd.log" 2>&1 &
	echo $! >"$LAB_DIR/pids/portcullisd"
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null "http://$API/api/v1/health" && break
		sleep 0.1
	done
	curl -sf -o /dev/null "http://$API/api/v1/health" ||
		die "portcullisd did not answer; see $LAB_DIR/portcullisd.log"
	vpn_client
	traffic
	log "up: the seed's network runs in namespaces ${NSS[*]}"
	log "console: http://$API/   login: admin   password: $pw"
	log "health: $(curl -s "http://$API/api/v1/health")"
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
