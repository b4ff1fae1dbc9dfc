# Shared by the bench/*_bench.sh scripts (sourced): the two gateways under test, the namespace
# topology, process accounting and statistics. Everything runs in network namespaces named
# $BP-*, linked only to each other and removed by bench_cleanup (the callers trap it).
#
#   $BP-sw   bridge br0: the outside segment 192.168.1.0/24
#   $BP-gw   eth0 192.168.1.1/24 (outside, on br0), eth1 10.89.129.194/28 (inside)
#   $BP-in   eth0 10.89.129.195/28: the inside host (iperf3 server), default via the gateway
#   $BP-c0..$BP-c7  eth0 192.168.1.10+i/24 on br0: clients (vpnc, the IKE load generator in c0,
#            which sends from 172.16.0.0/16, routed by the gateway to c0)
#
# The gateway is either portcullisd (the Release build, configuration imported from PIX text) or
# strongSwan's charon with kernel-libipsec (bench/strongswan/*.in), never both at once.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BENCH_BUILD:-$TOP/build/release}
BENCH_WORK=${BENCH_WORK:-$TOP/bench/work}
BP=pcb-$$
BENCH_PIDS=()
GW_PID=""
GW_KIND=""
BENCH_GROUP=vpn3000
BENCH_GROUP_PSK=benchsecret
BENCH_USER=benchuser
BENCH_PASSWORD=benchpass
BENCH_NCLIENTS=${BENCH_NCLIENTS:-8}

bench_log() { echo "bench: $*" >&2; }
bench_die() {
	echo "bench: $*" >&2
	exit 1
}

bench_cleanup() {
	local pid ns
	set +e
	for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$BP-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns"
	done
}

# The raw measurement lines of file $1 as a collapsed Markdown block (end of a bench section).
bench_raw_details() {
	echo "<details><summary>raw measurements</summary>"
	echo
	echo '```'
	cat "$1"
	echo '```'
	echo
	echo "</details>"
	echo
}

# median of the numbers on stdin (one per line)
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A/B with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (b + 0 == 0) print "n/a"; else printf "%.2f", a/b}'; }
# the value of key=value in a line
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# user+system CPU seconds of a process (all its threads) and its RSS in KiB
proc_cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat"; }
proc_rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

bench_topology() {
	local ns i
	for ns in sw gw in $(seq -f 'c%g' 0 $((BENCH_NCLIENTS - 1))); do
		ip netns add "$BP-$ns"
		ip -n "$BP-$ns" link set lo up
	done
	ip -n "$BP-sw" link add br0 type bridge
	ip -n "$BP-sw" link set br0 up
	ip link add o-gw netns "$BP-sw" type veth peer name eth0 netns "$BP-gw"
	ip -n "$BP-sw" link set o-gw master br0 up
	ip -n "$BP-gw" addr add 192.168.1.1/24 dev eth0
	ip -n "$BP-gw" link set eth0 up
	ip link add eth1 netns "$BP-gw" type veth peer name eth0 netns "$BP-in"
	ip -n "$BP-gw" addr add 10.89.129.194/28 dev eth1
	ip -n "$BP-gw" link set eth1 up
	ip netns exec "$BP-gw" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$BP-in" addr add 10.89.129.195/28 dev eth0
	ip -n "$BP-in" link set eth0 up
	ip -n "$BP-in" route add default via 10.89.129.194
	for i in $(seq 0 $((BENCH_NCLIENTS - 1))); do
		ip link add "o-c$i" netns "$BP-sw" type veth peer name eth0 netns "$BP-c$i"
		ip -n "$BP-sw" link set "o-c$i" master br0 up
		ip -n "$BP-c$i" addr add "192.168.1.$((10 + i))/24" dev eth0
		ip -n "$BP-c$i" link set eth0 up
	done
}

# Source addresses for the IKE load generator in c0: all of 172.16.0.0/16 is local there (a
# `local` route: bind() to any of them works), and the gateway routes it to c0. One address per
# client: Portcullis takes a new phase 1 of the same user from the same address for a phase 1
# rekey of that user's tunnel (gateway/ike/ike_cfg.c adopt_rekeyed()), as a PIX would.
bench_client_addrs() {
	ip -n "$BP-c0" route add local 172.16.0.0/16 dev lo
	ip -n "$BP-gw" route replace 172.16.0.0/16 via 192.168.1.10
}

# ESP transform of a bench mode: des-md5 (the seed's, and the only one the IKE load generator
# proposes), aes128-sha1, 3des-md5.
pix_transform() {
	case $1 in
	des-md5) echo "esp-des esp-md5-hmac" ;;
	aes128-sha1) echo "esp-aes esp-sha-hmac" ;;
	3des-md5) echo "esp-3des esp-md5-hmac" ;;
	*) bench_die "unknown ESP transform $1" ;;
	esac
}

# The PIX configuration both gateways implement: Aggressive Mode PSK group + Xauth (LOCAL) +
# Mode Config from a /16 pool; phase 1 DES/AES/3DES with MD5/SHA1 and DH group 2 (the seed's
# DES-MD5 first); ESP with the one transform $1 (see pix_transform). The Xauth user's password
# is given as its PIX-MD5 hash (`portcullis aaa hash --pix`). Dead peer detection only after an
# hour idle: the load generator does not answer R-U-THERE, and the memory run keeps its tunnels
# idle for minutes (charon's swanctl connection has no DPD either).
bench_pix_config() { # ESP
	cat <<EOF
PIX Version 6.3(3)
interface ethernet0 auto
interface ethernet1 auto
nameif ethernet0 outside security0
nameif ethernet1 inside security100
hostname benchgw
ip address outside 192.168.1.1 255.255.255.0
ip address inside 10.89.129.194 255.255.255.240
route outside 172.16.0.0 255.255.0.0 192.168.1.10 1
ip local pool BENCHpool 10.90.0.1-10.90.255.254
aaa-server LOCAL protocol local
username $BENCH_USER password $(printf '%s\n' "$BENCH_PASSWORD" | "$BUILD/portcullis" --db /dev/null aaa hash --pix "$BENCH_USER") encrypted
timeout uauth 0:05:00 absolute
sysopt connection permit-ipsec
crypto ipsec transform-set benchset $(pix_transform "$1")
crypto dynamic-map dynmap 10 set transform-set benchset
crypto map mymap 10 ipsec-isakmp dynamic dynmap
crypto map mymap client configuration address initiate
crypto map mymap client configuration address respond
crypto map mymap client authentication LOCAL
crypto map mymap interface outside
isakmp enable outside
isakmp key ******** address 0.0.0.0 netmask 0.0.0.0
isakmp identity address
isakmp keepalive 3600 3
isakmp client configuration address-pool local BENCHpool outside
isakmp policy 5 authentication pre-share
isakmp policy 5 encryption des
isakmp policy 5 hash md5
isakmp policy 5 group 2
isakmp policy 5 lifetime 86400
isakmp policy 10 authentication pre-share
isakmp policy 10 encryption aes
isakmp policy 10 hash sha
isakmp policy 10 group 2
isakmp policy 10 lifetime 86400
isakmp policy 20 authentication pre-share
isakmp policy 20 encryption 3des
isakmp policy 20 hash sha
isakmp policy 20 group 2
isakmp policy 20 lifetime 86400
isakmp policy 30 authentication pre-share
isakmp policy 30 encryption 3des
isakmp policy 30 hash md5
isakmp policy 30 group 2
isakmp policy 30 lifetime 86400
vpngroup vpn3000 address-pool BENCHpool
vpngroup vpn3000 idle-time 86400
vpngroup vpn3000 password ********
EOF
}

# Starts portcullisd in $BP-gw (fresh database each time) with ESP transform $1; sets GW_PID.
# BENCH_PC_ARGS: more daemon arguments (split on blanks), e.g. "--esp-threads 2".
bench_start_portcullis() {
	local d=$BENCH_WORK/pc extra=()
	read -r -a extra <<<"${BENCH_PC_ARGS:-}"
	rm -rf "$d"
	mkdir -p "$d"
	bench_pix_config "$1" >"$d/bench.cfg"
	"$BUILD/portcullis" --db "$d/pc.db" db-init >/dev/null
	"$BUILD/portcullis" --db "$d/pc.db" import "$d/bench.cfg" --apply \
		--secret "isakmp-key:0.0.0.0/0.0.0.0=benchkey" \
		--secret "vpngroup:$BENCH_GROUP=$BENCH_GROUP_PSK" >"$d/import.txt" ||
		bench_die "portcullis import failed: see $d/import.txt"
	ip netns exec "$BP-gw" "$BUILD/portcullisd" --db "$d/pc.db" --api 127.0.0.1:8080 \
		--sa-backend tun --log-level "${BENCH_PC_LOG:-warn}" "${extra[@]}" >"$d/portcullisd.log" 2>&1 &
	GW_PID=$!
	GW_KIND=portcullis
	BENCH_PIDS+=("$GW_PID")
	for _ in $(seq 1 100); do
		ip netns exec "$BP-gw" ss -uln 2>/dev/null | grep -q '192.168.1.1:500\b\|0.0.0.0:500\b' && return 0
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$d/portcullisd.log" >&2
	bench_die "portcullisd did not listen on 500"
}

# Starts charon (kernel-libipsec) in $BP-gw in its own mount namespace (private /run for its pid
# file), loads the swanctl configuration with ESP transform $1; sets GW_PID to charon's pid.
bench_start_strongswan() {
	local d=$BENCH_WORK/sw
	rm -rf "$d"
	mkdir -p "$d"
	local dhexp=""
	[ "${BENCH_SW_SHORT_DH:-0}" = 1 ] && dhexp="dh_exponent_ansi_x9_42 = no"
	sed -e "s|@DIR@|$d|g" -e "s|@DH_EXP@|$dhexp|" "$TOP/bench/strongswan/strongswan.conf.in" >"$d/strongswan.conf"
	sed -e "s|@DIR@|$d|g" -e "s|@POOL@|10.90.0.0/16|g" -e "s|@GROUP@|$BENCH_GROUP|g" \
		-e "s|@GROUP_PSK@|$BENCH_GROUP_PSK|g" -e "s|@USER@|$BENCH_USER|g" \
		-e "s|@PASSWORD@|$BENCH_PASSWORD|g" -e "s|@ESP@|$1|g" "$TOP/bench/strongswan/swanctl.conf.in" >"$d/swanctl.conf"
	ip netns exec "$BP-gw" unshare -m --propagation private sh -c "mount -t tmpfs none /run && \
		mkdir -p /run/strongswan && echo \$\$ >$d/charon.pid && \
		STRONGSWAN_CONF=$d/strongswan.conf exec /usr/lib/ipsec/charon" >"$d/stdout.log" 2>&1 &
	BENCH_PIDS+=("$!")
	for _ in $(seq 1 100); do
		[ -S "$d/charon.vici" ] && break
		sleep 0.1
	done
	[ -S "$d/charon.vici" ] || bench_die "charon did not start: see $d/charon.log"
	GW_PID=$(cat "$d/charon.pid")
	GW_KIND=strongswan
	swanctl --load-all --uri "unix://$d/charon.vici" --file "$d/swanctl.conf" >"$d/swanctl.log" 2>&1 ||
		bench_die "swanctl --load-all failed: see $d/swanctl.log"
}

bench_stop_gw() {
	[ -n "$GW_PID" ] || return 0
	kill "$GW_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$GW_PID" 2>/dev/null || true
	GW_PID=""
	sleep 0.3
}

bench_start_gw() { # portcullis|strongswan ESP_TRANSFORM
	case $1 in
	portcullis) bench_start_portcullis "$2" ;;
	strongswan) bench_start_strongswan "$2" ;;
	*) bench_die "unknown gateway $1" ;;
	esac
}
