#!/usr/bin/env bash
# ESP throughput through remote-access tunnels: Portcullis (portcullisd, `tun` backend: userspace
# ESP on a TUN device) against strongSwan 5.9 charon with kernel-libipsec (also userspace ESP on
# a TUN device), same machine, same client: Debian's vpnc (its own userspace ESP on a tun device),
# one vpnc per client namespace, NAT-T forced (ESP-in-UDP 4500) on both so the data path is the
# same. iperf3 TCP from the vpnc namespace (its inner address) to an iperf3 server on the inside
# host, ESP_SECS seconds, 1 tunnel and ESP_MULTI tunnels at once, for each ESP transform in
# ESP_TRANSFORMS. Gateway CPU (user+system of the gateway process, all threads) per gigabit
# carried. ESP_ROUNDS rounds, alternating which gateway goes first; medians.
# Prints a Markdown section; writes $BENCH_WORK/plot-esp.tsv. Root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
source bench/lib.sh
ROUNDS=${ESP_ROUNDS:-3}
SECS=${ESP_SECS:-5}
MULTI=${ESP_MULTI:-8}
TRANSFORMS=${ESP_TRANSFORMS:-aes128-sha1 3des-md5}
BENCH_NCLIENTS=$MULTI
RAW=$BENCH_WORK/esp-raw.txt
mkdir -p "$BENCH_WORK"
: >"$RAW"

[ "$(id -u)" -eq 0 ] || bench_die "esp_bench: run as root (network namespaces)"
command -v vpnc >/dev/null || bench_die "esp_bench: vpnc not installed (scripts/deps.sh)"
command -v iperf3 >/dev/null || bench_die "esp_bench: iperf3 not installed (scripts/deps.sh)"

trap bench_cleanup EXIT
bench_topology
VPNC_PIDS=()
IPERF_PIDS=()

# vpnc's script: the tunnel address on the tun device and the inside network through it.
cat >"$BENCH_WORK/vpnc-script.sh" <<'EOS'
#!/bin/sh
case "$reason" in
connect)
	ip link set dev "$TUNDEV" up mtu 1400
	ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
	ip route replace 10.89.129.192/28 dev "$TUNDEV" src "$INTERNAL_IP4_ADDRESS"
	echo "$INTERNAL_IP4_ADDRESS" >"$BENCH_VPNC_ADDR"
	;;
esac
exit 0
EOS
chmod +x "$BENCH_WORK/vpnc-script.sh"

start_iperf_servers() {
	local i
	for i in $(seq 0 $((MULTI - 1))); do
		ip netns exec "$BP-in" iperf3 -s -B 10.89.129.195 -p $((5201 + i)) >/dev/null 2>&1 &
		IPERF_PIDS+=("$!")
		BENCH_PIDS+=("$!")
	done
}

start_vpnc() { # i
	local i=$1 f=$BENCH_WORK/vpnc-$1
	rm -f "$f.addr"
	cat >"$f.conf" <<EOC
IPSec gateway 192.168.1.1
IPSec ID $BENCH_GROUP
IPSec secret $BENCH_GROUP_PSK
Xauth username $BENCH_USER
Xauth password $BENCH_PASSWORD
EOC
	ip netns exec "$BP-c$i" env BENCH_VPNC_ADDR="$f.addr" vpnc --no-detach --non-inter \
		--enable-weak-encryption --enable-weak-authentication --natt-mode force-natt \
		--dpd-idle 0 --script "$BENCH_WORK/vpnc-script.sh" --pid-file "$f.pid" "$f.conf" \
		>"$f.log" 2>&1 &
	VPNC_PIDS+=("$!")
	BENCH_PIDS+=("$!")
}

stop_vpncs() {
	local pid
	for pid in "${VPNC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${VPNC_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	VPNC_PIDS=()
}

# tunnels gw transform round: N vpnc up, N iperf3 in parallel, sum of received rates
measure() {
	local n=$1 gw=$2 tf=$3 round=$4 i c0 c1 bps=0 b ok=0
	for i in $(seq 0 $((n - 1))); do start_vpnc "$i"; done
	for _ in $(seq 1 150); do
		ok=0
		for i in $(seq 0 $((n - 1))); do [ -s "$BENCH_WORK/vpnc-$i.addr" ] && ok=$((ok + 1)); done
		[ "$ok" -eq "$n" ] && break
		sleep 0.1
	done
	if [ "$ok" -ne "$n" ]; then
		bench_log "esp: $gw $tf: only $ok of $n vpnc tunnels came up"
		tail -5 "$BENCH_WORK/vpnc-0.log" >&2
		echo "esp $gw tf=$tf tunnels=$n round=$round mbps=0 cpu_s=0 cpu_s_per_gbit=nan up=$ok" >>"$RAW"
		stop_vpncs
		return 0
	fi
	for i in $(seq 0 $((n - 1))); do
		ip netns exec "$BP-c$i" ping -c 1 -W 2 10.89.129.195 >/dev/null 2>&1 || true
	done
	c0=$(proc_cpu_s "$GW_PID")
	for i in $(seq 0 $((n - 1))); do
		ip netns exec "$BP-c$i" iperf3 -c 10.89.129.195 -p $((5201 + i)) -t "$SECS" -J \
			>"$BENCH_WORK/iperf-$i.json" 2>&1 &
	done
	wait_iperf=$(jobs -p | grep -v -F -x -f <(printf '%s\n' "${BENCH_PIDS[@]}") || true)
	for p in $wait_iperf; do wait "$p" 2>/dev/null || true; done
	c1=$(proc_cpu_s "$GW_PID")
	for i in $(seq 0 $((n - 1))); do
		b=$(python3 -c 'import json,sys
try: print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception: print(0)' "$BENCH_WORK/iperf-$i.json")
		bps=$(awk -v a="$bps" -v b="$b" 'BEGIN{print a + b}')
	done
	echo "esp $gw tf=$tf tunnels=$n round=$round mbps=$bps cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b - a}') cpu_s_per_gbit=$(awk -v a="$c0" -v b="$c1" -v m="$bps" -v s="$SECS" 'BEGIN{printf "%.2f", (m > 0) ? (b - a) / (m * s / 1000) : 0}') up=$ok" | tee -a "$RAW" >&2
	stop_vpncs
}

start_iperf_servers
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="portcullis strongswan"; else order="strongswan portcullis"; fi
	for tf in $TRANSFORMS; do
		for gw in $order; do
			bench_start_gw "$gw" "$tf"
			sleep 0.5
			measure 1 "$gw" "$tf" "$r"
			[ "$MULTI" -gt 1 ] && measure "$MULTI" "$gw" "$tf" "$r"
			bench_stop_gw
		done
	done
done

med() { grep "^esp $1 tf=$2 tunnels=$3 " "$RAW" | tr ' ' '\n' | sed -n "s/^$4=//p" | median; }
echo "## ESP throughput: Portcullis tun backend vs strongSwan kernel-libipsec"
echo
echo "vpnc $(dpkg-query -W -f='${Version}' vpnc 2>/dev/null) as the client on both (userspace ESP on a tun device, NAT-T forced:"
echo "ESP-in-UDP 4500 on both gateways); iperf3 TCP client in the vpnc namespace to an iperf3 server on"
echo "the inside host, $SECS s per measurement; with $MULTI tunnels, $MULTI vpnc (one per namespace) and"
echo "$MULTI iperf3 streams at once (sum). Medians of $ROUNDS rounds, alternating which gateway goes"
echo "first. CPU/Gbit: user+system seconds of the gateway process per gigabit carried. The client"
echo "(vpnc, single-threaded, doing its own ESP) and iperf3 share the $(nproc) CPUs with the gateway, so"
echo "at one tunnel vpnc is often the bottleneck for both gateways: CPU/Gbit is the fairer figure."
echo
echo "| transform | tunnels | Portcullis Mbit/s | strongSwan Mbit/s | ratio | Portcullis CPU s/Gbit | strongSwan CPU s/Gbit | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
: >"$BENCH_WORK/plot-esp.tsv"
for tf in $TRANSFORMS; do
	for n in 1 $([ "$MULTI" -gt 1 ] && echo "$MULTI"); do
		pm=$(med portcullis "$tf" "$n" mbps)
		sm=$(med strongswan "$tf" "$n" mbps)
		pc=$(med portcullis "$tf" "$n" cpu_s_per_gbit)
		sc=$(med strongswan "$tf" "$n" cpu_s_per_gbit)
		echo "| $tf | $n | $pm | $sm | $(ratio "$pm" "$sm") | $pc | $sc | $(ratio "$pc" "$sc") |"
		printf '%s, %s tunnel(s)\tPortcullis\t%s\n%s, %s tunnel(s)\tstrongSwan\t%s\n' "$tf" "$n" "$pm" "$tf" "$n" "$sm" >>"$BENCH_WORK/plot-esp.tsv"
	done
done
echo
first=${TRANSFORMS%% *}
r1=$(ratio "$(med portcullis "$first" 1 mbps)" "$(med strongswan "$first" 1 mbps)")
echo "Target: one tunnel at least 1.5x strongSwan ($first): **$(awk -v r="$r1" 'BEGIN{print (r >= 1.5) ? "met" : "not met"}') (${r1}x)**."
if [ "$MULTI" -gt 1 ]; then
	pm1=$(med portcullis "$first" 1 mbps)
	pmn=$(med portcullis "$first" "$MULTI" mbps)
	echo "Scaling: Portcullis $MULTI tunnels / 1 tunnel = $(ratio "$pmn" "$pm1")x on $(nproc) CPUs shared with the clients."
fi
echo
echo "<details><summary>raw measurements</summary>"
echo
echo '```'
cat "$RAW"
echo '```'
echo
echo "</details>"
echo
