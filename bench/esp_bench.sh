#!/usr/bin/env bash
# ESP throughput through remote-access tunnels: Portcullis (portcullisd, `tun` backend: userspace
# ESP on a TUN device) against strongSwan 5.9 charon with kernel-libipsec (also userspace ESP on
# a TUN device), same machine, same client: Debian's vpnc (its own userspace ESP on a tun device),
# one vpnc per client namespace, NAT-T forced (ESP-in-UDP 4500) on both so the data path is the
# same. iperf3 TCP from the vpnc namespace (its inner address) to an iperf3 server on the inside
# host, ESP_SECS seconds, 1 tunnel and ESP_MULTI tunnels at once, for each ESP transform in
# ESP_TRANSFORMS. Gateway CPU (user+system of the gateway process, all threads) per gigabit
# carried. ESP_ROUNDS rounds, alternating which gateway goes first; medians.
# CPU placement for the one-tunnel runs (the same for both gateways): with 2 or more CPUs the
# gateway process (all its threads) runs on CPU ESP_GW_CPU (1) and everything else of the
# benchmark (vpnc, iperf3 client and server) on ESP_CLI_CPU (0), with taskset ("pinned"); ESP_PIN=0
# turns that off. Then once more with the gateway capped at ESP_GW_QUOTA percent (25) of its CPU
# (cgroup v1 cpu.cfs_quota_us, a cgroup of its own, removed at exit: "capped"), so that the
# gateway, not the client, is the bottleneck; ESP_GW_QUOTA=none (or no cgroup v1 cpu controller)
# skips that. The ESP_MULTI-tunnel runs have no placement ("shared"). ESP_PERF=1 (default) records
# a perf profile of portcullisd in one extra one-tunnel run per transform (not counted).
# Prints a Markdown section; writes $BENCH_WORK/plot-esp.tsv. Root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
source bench/lib.sh
ROUNDS=${ESP_ROUNDS:-3}
SECS=${ESP_SECS:-5}
MULTI=${ESP_MULTI:-8}
TRANSFORMS=${ESP_TRANSFORMS:-aes128-sha1 3des-md5}
PIN=${ESP_PIN:-1}
GW_CPU=${ESP_GW_CPU:-1}
CLI_CPU=${ESP_CLI_CPU:-0}
GW_QUOTA=${ESP_GW_QUOTA:-25}
PERF=${ESP_PERF:-1}
[ "$(nproc)" -ge 2 ] || PIN=0
CLI=() # prefix for the client-side processes
[ "$PIN" = 1 ] && CLI=(taskset -c "$CLI_CPU")
CG=""
BENCH_NCLIENTS=$MULTI
RAW=$BENCH_WORK/esp-raw.txt
mkdir -p "$BENCH_WORK"
: >"$RAW"

[ "$(id -u)" -eq 0 ] || bench_die "esp_bench: run as root (network namespaces)"
command -v vpnc >/dev/null || bench_die "esp_bench: vpnc not installed (scripts/deps.sh)"
command -v iperf3 >/dev/null || bench_die "esp_bench: iperf3 not installed (scripts/deps.sh)"

esp_cleanup() {
	set +e
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		# back to the root cgroup, then the (empty) cgroup goes
		while read -r pid; do echo "$pid" >"$(dirname "$CG")/cgroup.procs" 2>/dev/null; done <"$CG/cgroup.procs"
		rmdir "$CG" 2>/dev/null
	fi
	bench_cleanup
}
trap esp_cleanup EXIT
[ "$GW_QUOTA" = none ] && GW_QUOTA=""
if [ -n "$GW_QUOTA" ] && [ "$PIN" = 1 ] && [ ! -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
	bench_log "esp: no cgroup v1 cpu controller at /sys/fs/cgroup/cpu: no capped runs"
	GW_QUOTA=""
fi
if [ -n "$GW_QUOTA" ] && [ "$PIN" = 1 ]; then
	CG=/sys/fs/cgroup/cpu/$BP-gw
	mkdir "$CG"
	# A short period (10 ms) so that the capped gateway pauses briefly and often rather than
	# for tens of milliseconds at a time, which would overflow socket buffers and stall TCP.
	echo 10000 >"$CG/cpu.cfs_period_us"
	echo $((GW_QUOTA * 100)) >"$CG/cpu.cfs_quota_us"
fi
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
		ip netns exec "$BP-in" "${CLI[@]}" iperf3 -s -B 10.89.129.195 -p $((5201 + i)) >/dev/null 2>&1 &
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
	ip netns exec "$BP-c$i" env BENCH_VPNC_ADDR="$f.addr" "${CLI[@]}" vpnc --no-detach --non-inter \
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

# Where the processes run for one measurement (the same for both gateways):
#   capped  gateway on GW_CPU under the cgroup quota, clients and inside host on CLI_CPU
#   pinned  gateway alone on GW_CPU (no quota), clients and inside host on CLI_CPU
#   shared  no placement: everything on every CPU
placement() { # mode
	local cpus pid
	cpus=0-$(($(nproc) - 1))
	case $1 in
	capped | pinned)
		taskset -a -p -c "$GW_CPU" "$GW_PID" >/dev/null || bench_die "esp: taskset $GW_PID"
		CLI=(taskset -c "$CLI_CPU")
		for pid in "${IPERF_PIDS[@]}"; do taskset -a -p -c "$CLI_CPU" "$pid" >/dev/null; done
		;;
	shared)
		taskset -a -p -c "$cpus" "$GW_PID" >/dev/null || bench_die "esp: taskset $GW_PID"
		CLI=()
		for pid in "${IPERF_PIDS[@]}"; do taskset -a -p -c "$cpus" "$pid" >/dev/null; done
		;;
	esac
	if [ -n "$CG" ]; then
		if [ "$1" = capped ]; then
			echo "$GW_PID" >"$CG/cgroup.procs" || bench_die "esp: moving $GW_PID into $CG"
		else
			echo "$GW_PID" >"$(dirname "$CG")/cgroup.procs" || bench_die "esp: moving $GW_PID out of $CG"
		fi
	fi
}

# tunnels gw transform round mode [perf.data]: N vpnc up, N iperf3 in parallel, sum of received
# rates; with a perf file, a profile of the gateway is recorded instead of a counted measurement.
measure() {
	local n=$1 gw=$2 tf=$3 round=$4 mode=$5 perf=${6:-} i c0 c1 bps=0 b ok=0
	placement "$mode"
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
		echo "esp $gw tf=$tf tunnels=$n mode=$mode round=$round mbps=0 cpu_s=0 cpu_s_per_gbit=nan busy=0 up=$ok" >>"$RAW"
		stop_vpncs
		return 0
	fi
	for i in $(seq 0 $((n - 1))); do
		ip netns exec "$BP-c$i" ping -c 1 -W 2 10.89.129.195 >/dev/null 2>&1 || true
	done
	c0=$(proc_cpu_s "$GW_PID")
	for i in $(seq 0 $((n - 1))); do
		ip netns exec "$BP-c$i" "${CLI[@]}" iperf3 -c 10.89.129.195 -p $((5201 + i)) -t "$SECS" -J \
			>"$BENCH_WORK/iperf-$i.json" 2>&1 &
	done
	if [ -n "$perf" ]; then
		sleep 1
		perf record -q -g -p "$GW_PID" -o "$perf" -- sleep $((SECS > 3 ? SECS - 2 : 1)) >/dev/null 2>&1 || true
	fi
	wait_iperf=$(jobs -p | grep -v -F -x -f <(printf '%s\n' "${BENCH_PIDS[@]}") || true)
	for p in $wait_iperf; do wait "$p" 2>/dev/null || true; done
	c1=$(proc_cpu_s "$GW_PID")
	for i in $(seq 0 $((n - 1))); do
		b=$(python3 -c 'import json,sys
try: print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception: print(0)' "$BENCH_WORK/iperf-$i.json")
		bps=$(awk -v a="$bps" -v b="$b" 'BEGIN{print a + b}')
	done
	[ -n "$perf" ] && mode=profile
	echo "esp $gw tf=$tf tunnels=$n mode=$mode round=$round mbps=$bps cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b - a}') cpu_s_per_gbit=$(awk -v a="$c0" -v b="$c1" -v m="$bps" -v s="$SECS" 'BEGIN{printf "%.2f", (m > 0) ? (b - a) / (m * s / 1000) : 0}') busy=$(awk -v a="$c0" -v b="$c1" -v s="$SECS" 'BEGIN{printf "%.0f%%", 100 * (b - a) / s}') up=$ok" | tee -a "$RAW" >&2
	stop_vpncs
}

ONE_MODES=shared
[ "$PIN" = 1 ] && ONE_MODES=pinned
[ "$PIN" = 1 ] && [ -n "$CG" ] && ONE_MODES="capped pinned"
start_iperf_servers
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="portcullis strongswan"; else order="strongswan portcullis"; fi
	for tf in $TRANSFORMS; do
		for gw in $order; do
			bench_start_gw "$gw" "$tf"
			sleep 0.5
			for mode in $ONE_MODES; do measure 1 "$gw" "$tf" "$r" "$mode"; done
			[ "$MULTI" -gt 1 ] && measure "$MULTI" "$gw" "$tf" "$r" shared
			bench_stop_gw
		done
	done
done
# Profiles (not counted above): portcullisd during one more one-tunnel run per transform, in the
# first one-tunnel placement.
PERF_DONE=()
if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
	for tf in $TRANSFORMS; do
		bench_start_gw portcullis "$tf"
		sleep 0.5
		measure 1 portcullis "$tf" 0 "${ONE_MODES%% *}" "$BENCH_WORK/esp-perf-$tf.data"
		bench_stop_gw
		[ -s "$BENCH_WORK/esp-perf-$tf.data" ] && PERF_DONE+=("$tf")
	done
fi

vals() { grep "^esp $1 tf=$2 tunnels=$3 mode=$4 " "$RAW" | tr ' ' '\n' | sed -n "s/^$5=//p" | tr -d '%'; }
# median, rounded for the table: Mbit/s to 0.1, CPU/Gbit to 0.01, busy to 1
med() {
	local d=1
	case $5 in cpu_s_per_gbit) d=2 ;; busy) d=0 ;; esac
	vals "$@" | median | awk -v d="$d" '{if ($1 == "nan") print $1; else printf "%.*f\n", d, $1}'
}
rng() { vals "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR > 1) printf "%s-%s", lo, hi}'; }
cell() { # value with the range over rounds
	local m r
	m=$(med "$@")
	r=$(rng "$@")
	if [ -n "$r" ]; then echo "$m ($r)"; else echo "$m"; fi
}
mode_text() {
	case $1 in
	capped) echo "1 CPU, capped at ${GW_QUOTA}%" ;;
	pinned) echo "1 CPU" ;;
	shared) echo "shared" ;;
	esac
}
echo "## ESP throughput: Portcullis tun backend vs strongSwan kernel-libipsec"
echo
echo "How it was measured: vpnc $(dpkg-query -W -f='${Version}' vpnc 2>/dev/null) is the client for both gateways (userspace ESP"
echo "on a tun device, NAT-T forced: ESP-in-UDP 4500 on both); an iperf3 TCP client in the vpnc"
echo "namespace sends to an iperf3 server on the inside host, $SECS s per measurement; with $MULTI tunnels,"
echo "$MULTI vpnc (one per namespace) and $MULTI iperf3 streams at once (sum). $ROUNDS rounds, alternating which"
echo "gateway goes first; each cell is the median with the range over the rounds in brackets. CPU/Gbit:"
echo "user+system seconds of the gateway process (all threads) per gigabit carried; busy: its CPU time"
echo "over the wall time. The machine has $(nproc) CPUs, shared with other jobs (load average"
echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end), so throughput moves between rounds; CPU/Gbit much less."
echo
echo "Placement (the same for both gateways, taskset and a cgroup v1 CPU quota):"
echo
if [ "$PIN" = 1 ]; then
	echo "- **1 CPU**: the gateway process alone on CPU $GW_CPU; vpnc, both iperf3 ends (and the kernel work"
	echo "  done in their system calls) on CPU $CLI_CPU. Here the client side is the bottleneck (vpnc needs"
	echo "  about as much CPU per packet as a gateway, and CPU $CLI_CPU also runs TCP at both ends), so"
	echo "  throughput says little about the gateways (an idle gateway may even do worse than a busy one:"
	echo "  it sleeps between packets, and waking an idle vCPU adds latency): CPU/Gbit and busy are the"
	echo "  figures that compare them here."
fi
if [ -n "$CG" ] && [ "$PIN" = 1 ]; then
	echo "- **1 CPU, capped at ${GW_QUOTA}%**: as above, and the gateway process may use at most ${GW_QUOTA}% of its CPU"
	echo "  (cpu.cfs_quota_us over a 10 ms period), well under what the client side can feed, so the"
	echo "  gateway is the bottleneck (busy at the cap for both) and the throughput ratio is the"
	echo "  gateways' own. This is the one-tunnel target's figure."
fi
echo "- **shared**: no placement, every process on every CPU (the $MULTI-tunnel runs): $MULTI vpnc, $MULTI iperf3"
echo "  pairs and the gateway compete for $(nproc) CPUs, so this shows contention, not scaling with cores."
echo
echo "| transform | tunnels | placement | Portcullis Mbit/s | strongSwan Mbit/s | ratio | Portcullis CPU s/Gbit | strongSwan CPU s/Gbit | ratio | busy Portcullis / strongSwan |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
: >"$BENCH_WORK/plot-esp.tsv"
for tf in $TRANSFORMS; do
	for nm in $(for m in $ONE_MODES; do echo "1:$m"; done) $([ "$MULTI" -gt 1 ] && echo "$MULTI:shared"); do
		n=${nm%%:*} m=${nm#*:}
		pm=$(med portcullis "$tf" "$n" "$m" mbps)
		sm=$(med strongswan "$tf" "$n" "$m" mbps)
		pc=$(med portcullis "$tf" "$n" "$m" cpu_s_per_gbit)
		sc=$(med strongswan "$tf" "$n" "$m" cpu_s_per_gbit)
		echo "| $tf | $n | $(mode_text "$m") | $(cell portcullis "$tf" "$n" "$m" mbps) | $(cell strongswan "$tf" "$n" "$m" mbps) | $(ratio "$pm" "$sm") | $(cell portcullis "$tf" "$n" "$m" cpu_s_per_gbit) | $(cell strongswan "$tf" "$n" "$m" cpu_s_per_gbit) | $(ratio "$pc" "$sc") | $(med portcullis "$tf" "$n" "$m" busy)% / $(med strongswan "$tf" "$n" "$m" busy)% |"
		if [ "$m" != pinned ] || [ "$ONE_MODES" = pinned ]; then
			printf '%s, %s tunnel(s), %s\tPortcullis\t%s\n%s, %s tunnel(s), %s\tstrongSwan\t%s\n' "$tf" "$n" "$(mode_text "$m")" "$pm" "$tf" "$n" "$(mode_text "$m")" "$sm" >>"$BENCH_WORK/plot-esp.tsv"
		fi
	done
done
echo
tm=${ONE_MODES%% *}
for tf in $TRANSFORMS; do
	r1=$(ratio "$(med portcullis "$tf" 1 "$tm" mbps)" "$(med strongswan "$tf" 1 "$tm" mbps)")
	bound=""
	if [ "$tm" = capped ]; then
		# The ratio is the gateways' own only if both were held at the cap (within 3 points).
		pb=$(med portcullis "$tf" 1 capped busy)
		sb=$(med strongswan "$tf" 1 capped busy)
		if awk -v p="$pb" -v s="$sb" -v q="$GW_QUOTA" 'BEGIN{exit !(p >= q - 3 && s >= q - 3)}'; then
			bound="; both gateways at the ${GW_QUOTA}% cap (busy $pb% / $sb%), so they were the bottleneck"
		else
			bound="; **not both at the ${GW_QUOTA}% cap** (busy $pb% / $sb%): the client limited at least one of them, so the ratio is not the gateways' own (lower ESP_GW_QUOTA)"
		fi
	fi
	echo "Target, one tunnel at least 1.5x strongSwan, $tf ($(mode_text "$tm")): **$(awk -v r="$r1" 'BEGIN{print (r >= 1.5) ? "met" : "not met"}') (${r1}x)**$bound."
	echo
done
if [ "$MULTI" -gt 1 ]; then
	for tf in $TRANSFORMS; do
		p1=$(med portcullis "$tf" 1 "${ONE_MODES##* }" mbps)
		pn=$(med portcullis "$tf" "$MULTI" shared mbps)
		s1=$(med strongswan "$tf" 1 "${ONE_MODES##* }" mbps)
		sn=$(med strongswan "$tf" "$MULTI" shared mbps)
		echo "Scaling, $tf: $MULTI tunnels (shared) / 1 tunnel ($(mode_text "${ONE_MODES##* }")): Portcullis $(ratio "$pn" "$p1")x, strongSwan $(ratio "$sn" "$s1")x, on $(nproc) CPUs shared with the clients: not a test of scaling with cores (the clients take most of the CPUs; see the espscale section)."
		echo
	done
fi
# Three views of a profile (a pipeline cut short by head must not end the script).
perf_views() { # perf.data
	set +o pipefail
	perf report -i "$1" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' | head -8
	echo
	perf report -i "$1" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep '%' | head -20
	echo
	perf report -i "$1" --children --sort sym --stdio -g none 2>/dev/null | grep '%' |
		grep -E 'libc_(write|read|recvmsg)|sendmmsg|tun_get_user|tun_do_read|netif_receive_skb$|ip_forward$|tcp_v4_rcv|udp_recvmsg|udp_send_skb|esp_encap|esp_decap|esp_icv|esp_cbc|tun_readable|on_read' | head -20
	set -o pipefail
	return 0
}
for tf in "${PERF_DONE[@]}"; do
	echo "<details><summary>perf profile of portcullisd, $tf, one tunnel ($(mode_text "${ONE_MODES%% *}")), $(grep "^esp portcullis tf=$tf tunnels=1 mode=profile " "$RAW" | tr ' ' '\n' | grep '^mbps=' | cut -d= -f2) Mbit/s</summary>"
	echo
	echo "Self time by object, then by symbol (libcrypto has no symbols on Debian: its share is the"
	echo "crypto), then inclusive time of the system calls (children included):"
	echo
	echo '```'
	perf_views "$BENCH_WORK/esp-perf-$tf.data"
	echo '```'
	echo
	echo "</details>"
	echo
done
echo
bench_raw_details "$RAW"
