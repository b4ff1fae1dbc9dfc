#!/usr/bin/env bash
# ESP throughput on many tunnels, the gateway free to use every CPU (issue 12: "scale with
# cores"): Portcullis (portcullisd, Release, `tun` backend) with --esp-threads 1 and with
# --esp-threads 2, and strongSwan 5.9 charon with kernel-libipsec, on ESP_SCALE_TUNNELS (8)
# tunnels, NAT-T forced (ESP-in-UDP 4500) on both, for each ESP transform in ESP_TRANSFORMS
# (aes128-sha1 3des-md5). The client is bench/espload.c, not vpnc (vpnc + iperf3 need about as
# much CPU per packet as a gateway, so on 2 CPUs they leave it one at most): espload brings the
# tunnels up with the test initiator (tests/peers/ike_initiator.c), then sends pre-encrypted ESP
# packets whose sequence number and ICV it rewrites for each packet (one HMAC and a share of a
# UDP GSO send per packet, no encryption), at a rate it steers to what the gateway delivers (so
# it spends no CPU on packets the gateway cannot take). The gateway checks and decrypts every
# packet in full and forwards the inner IPv4/UDP packet (ESP_SCALE_SIZE, 1400 bytes) to the
# inside host, where an nft rule counts and drops it (UDP port 9): delivered = that counter.
# Per transform, ESP_ROUNDS (3) rounds, alternating the order of the three gateways; each run
# ESP_SCALE_WARM (2) s of warm-up (inner packets to port 10, not counted) then ESP_SCALE_SECS
# (ESP_SECS, 5) s counted. Per run: delivered Mbit/s (the inner packets' IP bytes at the sink),
# sent vs delivered (loss), gateway CPU (user+system of the process, all threads, /proc/PID/stat,
# over the counted time) per Gbit delivered and per wall second (busy), the generator's CPU.
# No CPU placement by default: the point is using both CPUs. ESP_SCALE_PIN=1 instead gives the
# gateway (every thread) CPU ESP_SCALE_GW_CPU (1) and the generator CPU ESP_SCALE_GEN_CPU (0):
# with ESP_SCALE_TUNNELS=1 that is bench/esp1_bench.sh, one tunnel at what one CPU allows.
# ESP_SCALE_PC1_ARGS / ESP_SCALE_PC2_ARGS: portcullisd arguments of the two Portcullis runs
# ("--esp-threads 1" / "--esp-threads 2"); a portcullisd without --esp-threads (before the
# option lands) gets no argument for the first and skips the second (said in the output).
# ESP_SCALE_GEN_THREADS (1), ESP_SCALE_BATCH (8), ESP_SCALE_GSO (1), ESP_SCALE_ADAPT (1: rate
# steered; 0: as fast as the sockets take them, or ESP_SCALE_RATE packets/s): espload's options. Raw per-run lines go to
# $BENCH_WORK/esp-scale-raw.txt, espload's own lines to $BENCH_WORK/espload-scale.out (ESP_SCALE_TAG names them). Prints a
# Markdown section. Root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
source bench/lib.sh
ROUNDS=${ESP_ROUNDS:-3}
SECS=${ESP_SCALE_SECS:-${ESP_SECS:-5}}
TUNNELS=${ESP_SCALE_TUNNELS:-8}
SIZE=${ESP_SCALE_SIZE:-1400}
GEN_THREADS=${ESP_SCALE_GEN_THREADS:-1}
# 8 packets per tunnel per send: a batch the gateway reads (up to 32) then holds several tunnels'
# packets, as from independent clients (Portcullis gives each SA to one of its ESP threads);
# 32 costs the generator less per packet but gives the gateway one tunnel's packets at a time
BATCH=${ESP_SCALE_BATCH:-8}
GSO=${ESP_SCALE_GSO:-1}
ADAPT=${ESP_SCALE_ADAPT:-1}
WARM=${ESP_SCALE_WARM:-2}
GEN_OPTS=(-j "$GEN_THREADS" -B "$BATCH" -W "$WARM")
[ "$GSO" = 1 ] && GEN_OPTS+=(-G)
# a fixed offered rate (ESP_SCALE_ADAPT=0), or where the adaptive one starts
[ -n "${ESP_SCALE_RATE:-}" ] && GEN_OPTS+=(-r "$ESP_SCALE_RATE")
TRANSFORMS=${ESP_TRANSFORMS:-aes128-sha1 3des-md5}
PC1_ARGS=${ESP_SCALE_PC1_ARGS---esp-threads 1}
PC2_ARGS=${ESP_SCALE_PC2_ARGS---esp-threads 2}
PIN=${ESP_SCALE_PIN:-0}
GW_CPU=${ESP_SCALE_GW_CPU:-1}
GEN_CPU=${ESP_SCALE_GEN_CPU:-0}
GEN_PIN=()
[ "$PIN" = 1 ] && GEN_PIN=(taskset -c "$GEN_CPU")
BENCH_NCLIENTS=1
LOAD=$BENCH_WORK/espload
# names this run's files in $BENCH_WORK: esp-scale-raw.txt, espload-scale.out/.err (esp1_bench.sh: one)
TAG=${ESP_SCALE_TAG:-scale}
RAW=$BENCH_WORK/esp-$TAG-raw.txt
GEN_OUT=$BENCH_WORK/espload-$TAG.out
GEN_ERR=$BENCH_WORK/espload-$TAG.err
SINK=10.89.129.195
mkdir -p "$BENCH_WORK"
: >"$RAW"
: >"$GEN_ERR"
: >"$GEN_OUT"

[ "$(id -u)" -eq 0 ] || bench_die "espscale: run as root (network namespaces)"
[ -f "$BUILD/libportcullis_lib.a" ] || bench_die "espscale: $BUILD/libportcullis_lib.a not built"
command -v nft >/dev/null || bench_die "espscale: nft not installed (scripts/deps.sh)"
# shellcheck disable=SC2046
cc -O2 -D_GNU_SOURCE -I. -Itests -o "$LOAD" bench/espload.c tests/peers/ike_initiator.c \
	"$BUILD/libportcullis_lib.a" $(pkg-config --libs sqlite3 libcrypto libssl libmicrohttpd jansson \
	libmnl libnftnl) $(pkg-config --libs libgcrypt 2>/dev/null) -lpthread

# Before the daemon has --esp-threads: the first Portcullis run is its only behaviour (one
# thread), the second is not run.
NOTE=""
# (getopt reads --esp-threads before --version: an unknown option fails, a known one prints the
# version)
if ! "$BUILD/portcullisd" --esp-threads 1 --version >/dev/null 2>&1; then
	NOTE="This portcullisd has no \`--esp-threads\` option (one ESP thread):"
	if [[ $PC1_ARGS == *--esp-threads* ]]; then
		NOTE="$NOTE the first Portcullis run got no \`$PC1_ARGS\`;"
		PC1_ARGS=""
	fi
	if [[ $PC2_ARGS == *--esp-threads* ]]; then
		NOTE="$NOTE the second Portcullis run (\`$PC2_ARGS\`) was skipped;"
		PC2_ARGS=skip
	fi
	NOTE="${NOTE%[:;]}."
	bench_log "espscale: $NOTE"
fi
CONFIGS=${ESP_SCALE_CONFIGS:-pc1 pc2 sw}
[ "$PC2_ARGS" = skip ] && CONFIGS="pc1 sw"

trap bench_cleanup EXIT
bench_topology
bench_client_addrs
# the sink: UDP to port 9 on the inside host is counted and dropped before any socket
ip netns exec "$BP-in" nft -f - <<'EOF'
table ip espsink {
	counter sink {
	}
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 counter name "sink" drop
		udp dport 10 drop
	}
}
EOF
# A process in the sink's namespace: espload reads that namespace's IP counters through its
# /proc/PID/net/snmp to steer its rate (ESP_SCALE_ADAPT=1).
if [ "$ADAPT" = 1 ]; then
	ip netns exec "$BP-in" sleep 100000 &
	BENCH_PIDS+=("$!")
	GEN_OPTS+=(-A "$!")
fi
sink_read() { # packets bytes
	ip netns exec "$BP-in" nft list counter ip espsink sink |
		awk '/packets/ {for (i = 1; i < NF; i++) {if ($i == "packets") p = $(i + 1); if ($i == "bytes") b = $(i + 1)}} END {printf "%.0f %.0f\n", p, b}'
}
# UDP datagrams the gateway namespace dropped because a socket's receive buffer was full
udp_drops() { ip netns exec "$BP-gw" awk '/^Udp:/ {n++; if (n == 2) print $6}' /proc/net/snmp; }
# idle + iowait CPU seconds of the whole machine (/proc/stat)
machine_idle_s() { awk -v t="$(getconf CLK_TCK)" '/^cpu / {printf "%.3f", ($5 + $6) / t}' /proc/stat; }
# "tid cpu_s" for every thread of process $1 (user+system)
thread_cpu() {
	local f
	for f in /proc/"$1"/task/*/stat; do
		awk -v t="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print FILENAME, ($12 + $13) / t}' "$f" 2>/dev/null
	done | sed 's|^/proc/[0-9]*/task/\([0-9]*\)/stat|\1|'
}
# the busiest threads between two thread_cpu snapshots, CPU s per s over $3 s: "0.98,0.40,0.02"
top_threads() {
	join <(sort "$1") <(sort "$2") | awk -v s="$3" '{d = ($3 - $2) / s; if (d > 0.005) print d}' |
		sort -gr | head -4 | awk '{printf "%s%.2f", (NR > 1 ? "," : ""), $1} END {if (NR == 0) printf "0"}'
}

# the daemon arguments of a Portcullis run, for the text
pc_args() { # pc1|pc2
	local a=$PC1_ARGS
	[ "$1" = pc2 ] && a=$PC2_ARGS
	if [ -n "$a" ]; then echo "\`$a\`"; else echo "(no extra arguments)"; fi
}
cfg_text() {
	case $1 in
	pc1 | pc2) echo "Portcullis $(pc_args "$1")" ;;
	sw) echo "strongSwan (charon, kernel-libipsec)" ;;
	esac
}

measure() { # cfg transform round
	local cfg=$1 tf=$2 round=$3 out p0 b0 p1 b1 d0 d1 threads line up sent secs gcpu ccpu csys t0 tops wall i0 idle
	case $cfg in
	pc1) BENCH_PC_ARGS=$PC1_ARGS bench_start_gw portcullis "$tf" ;;
	pc2) BENCH_PC_ARGS=$PC2_ARGS bench_start_gw portcullis "$tf" ;;
	sw) bench_start_gw strongswan "$tf" ;;
	esac
	if [ "$PIN" = 1 ]; then
		taskset -a -p -c "$GW_CPU" "$GW_PID" >/dev/null || bench_die "espscale: taskset $GW_PID"
	fi
	sleep 0.5
	read -r p0 b0 < <(sink_read)
	d0=$(udp_drops)
	thread_cpu "$GW_PID" >"$BENCH_WORK/threads0"
	t0=$(date +%s.%N)
	i0=$(machine_idle_s)
	# a diagnostic run during the measurement (perf, ps...), GW_PID set: ESP_SCALE_DURING
	[ -n "${ESP_SCALE_DURING:-}" ] && (sleep 2 && eval "$ESP_SCALE_DURING") &
	out=$("${GEN_PIN[@]}" ip netns exec "$BP-c0" "$LOAD" -s 192.168.1.1 -g "$BENCH_GROUP" -k "$BENCH_GROUP_PSK" \
		-u "$BENCH_USER" -p "$BENCH_PASSWORD" -c "$TUNNELS" -b 172.16.0.1 -T "$tf" -S "$SIZE" \
		-d "$SINK" -t "$SECS" "${GEN_OPTS[@]}" -R "$GW_PID" 2>>"$GEN_ERR" || true)
	echo "$cfg $tf $round $out" >>"$GEN_OUT"
	thread_cpu "$GW_PID" >"$BENCH_WORK/threads1"
	wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
	idle=$(awk -v a="$i0" -v b="$(machine_idle_s)" -v w="$wall" 'BEGIN{printf "%.2f", (b - a) / w}')
	tops=$(top_threads "$BENCH_WORK/threads0" "$BENCH_WORK/threads1" "$wall")
	threads=$(ls "/proc/$GW_PID/task" 2>/dev/null | wc -l)
	sleep 0.3 # packets still in the gateway's queues
	read -r p1 b1 < <(sink_read)
	d1=$(udp_drops)
	bench_stop_gw
	up=$(kv tunnels "$out")
	sent=$(kv sent "$out")
	secs=$(kv secs "$out")
	gcpu=$(kv gw_cpu_s "$out")
	ccpu=$(kv client_cpu_s "$out")
	csys=$(kv client_sys_s "$out")
	if [ -z "$up" ] || [ "$up" -ne "$TUNNELS" ] || [ -z "$secs" ]; then
		bench_log "espscale: $cfg $tf: only ${up:-0} of $TUNNELS tunnels came up: see $GEN_ERR"
		tail -3 "$GEN_ERR" >&2
	fi
	[ -n "$secs" ] || secs=$SECS
	line=$(awk -v cfg="$cfg" -v tf="$tf" -v r="$round" -v up="${up:-0}" -v sent="${sent:-0}" \
		-v secs="$secs" -v dp=$((p1 - p0)) -v db=$((b1 - b0)) -v g="${gcpu:-0}" -v c="${ccpu:-0}" -v cs="${csys:-0}" \
		-v drops=$((d1 - d0)) -v th="$threads" 'BEGIN {
		mbps = db * 8 / secs / 1e6
		printf "scale %s tf=%s round=%s tunnels=%s sent=%s delivered=%d loss_pct=%.1f mbps=%.1f kpps=%.1f gw_cpu_s=%.2f cpu_s_per_gbit=%.2f busy=%.2f gen_cpu_s=%.2f gen_sys_s=%.2f gen_busy=%.2f gen_us_per_pkt=%.2f gw_us_per_pkt=%.2f rcvbuf_drops_with_warmup=%d gw_threads=%d secs=%.2f",
			cfg, tf, r, up, sent, dp, (sent > 0 ? 100 * (sent - dp) / sent : 0), mbps, dp / secs / 1e3, g,
			(mbps > 0 ? g / (mbps * secs / 1000) : 0), g / secs, c, cs, c / secs, (sent > 0 ? c / sent * 1e6 : 0),
			(dp > 0 ? g / dp * 1e6 : 0), drops, th, secs
	}')
	line="$line busiest_threads=$tops machine_idle=$idle"
	echo "$line" | tee -a "$RAW" >&2
}

for tf in $TRANSFORMS; do
	for r in $(seq 1 "$ROUNDS"); do
		order=$CONFIGS
		[ $((r % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$CONFIGS" | tac | tr '\n' ' ')
		for cfg in $order; do measure "$cfg" "$tf" "$r"; done
	done
done

vals() { grep "^scale $1 tf=$2 " "$RAW" | tr ' ' '\n' | sed -n "s/^$3=//p"; }
med() { # cfg tf key [decimals]
	vals "$1" "$2" "$3" | median | awk -v d="${4:-1}" '{if ($1 == "nan") print "-"; else printf "%.*f\n", d, $1}'
}
# the value of the first round (for lists, which have no median)
first() { vals "$1" "$2" "$3" | head -1 | tr ',' ' '; }
rng() { vals "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR > 1) printf " (%s-%s)", lo, hi}'; }

if [ "$PIN" = 1 ]; then
	echo "## ESP on $TUNNELS tunnel(s), gateway on one CPU, generator on the other: Portcullis vs strongSwan"
	echo
	echo "The gateway-bound counterpart of the iperf3 runs above (where vpnc and iperf3 on the other"
	echo "CPU limit the pinned runs): the same cheap generator as the next section, the gateway alone"
	echo "on CPU $GW_CPU (every thread, taskset), the generator on CPU $GEN_CPU."
	echo
else
	echo "## ESP on $TUNNELS tunnels, gateway on every CPU: Portcullis --esp-threads 1 / 2 vs strongSwan"
	echo
fi
echo "How it was measured: \`bench/espload\` brings up $TUNNELS tunnel(s) (the test initiator: Aggressive Mode"
echo "PSK + Xauth + Mode Config + Quick Mode, NAT-T forced as \`vpnc --natt-mode force-natt\` does, so ESP"
echo "goes in UDP to port 4500 on both gateways), each from its own source address, then sends, round"
echo "robin over the tunnels, batches of $BATCH ESP packets per tunnel (one UDP GSO send each), each"
echo "carrying a ${SIZE}-byte inner IPv4/UDP packet to the inside host's port 9, where an nft rule counts"
echo "and drops them. The generator encrypts each tunnel's packet once, and for every packet sent only"
echo "writes the next sequence number and recomputes the ICV (HMAC-96); the gateways check the ICV"
echo "and the replay window and decrypt every packet in full, as for real traffic (the inner payloads"
echo "repeat, which no IPsec gateway checks). Its rate follows what the gateway takes: every 50 ms it"
echo "reads the sink namespace's IP counter and the gateway's UDP receive-buffer drops, and goes up"
echo "3%, or down when more than 2% of the interval's packets were dropped at the gateway's socket"
echo "(by that share and 2% more) or a backlog inside the gateway grows (10%: charon queues), after ${WARM} s of"
echo "warm-up (not counted) to settle; so each gateway is offered about what it can take and the"
if [ "$PIN" = 1 ]; then
	echo "generator burns no CPU on packets it cannot. Counted: $SECS s per run. The gateway's threads on CPU"
	echo "$GW_CPU, the generator on CPU $GEN_CPU (the kernel's work for a packet runs on the CPU of the thread that"
	echo "sends it: delivery into the gateway's socket on the generator's). $ROUNDS round(s) per transform, alternating"
else
	echo "generator burns no CPU on packets it cannot. Counted: $SECS s per run. No CPU placement: gateway,"
	echo "generator and the kernel's forwarding share the $(nproc) CPUs. $ROUNDS round(s) per transform, alternating"
fi
echo "the order of the gateways; cells are medians, with the range over the rounds in brackets."
echo "Delivered: inner packets counted at the sink (Mbit/s of their IP bytes). Loss: sent but not"
echo "delivered (the controller's probing above the gateway's rate). Gateway CPU: user+system seconds"
echo "of the gateway process, all threads, while counting, per Gbit delivered; busy: that CPU time over"
echo "the wall time (2.00 = both CPUs). Generator busy: espload's own CPU time over the wall time."
echo "Busiest gateway threads: the CPU s per s of its busiest threads over the whole espload run"
echo "(handshakes and warm-up included), first round. Machine idle: idle CPU s per s of the whole"
echo "machine over that run (what neither the gateway nor the generator nor anything else used)."
echo "The machine is shared with other jobs (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end): a gateway that"
echo "gets less CPU delivers less, so throughput moves between rounds; CPU per Gbit much less."
echo
[ -n "$NOTE" ] && echo "$NOTE" && echo
echo "| transform | gateway | delivered Mbit/s | kpps | loss | gateway CPU s/Gbit | gateway busy (CPU s / s) | gateway CPU µs/packet | busiest gateway threads (CPU s / s) | generator busy (CPU s / s) | generator CPU µs/packet | machine idle (CPU s / s) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for tf in $TRANSFORMS; do
	for cfg in $CONFIGS; do
		echo "| $tf | $(cfg_text "$cfg") | $(med "$cfg" "$tf" mbps)$(rng "$cfg" "$tf" mbps) | $(med "$cfg" "$tf" kpps) | $(med "$cfg" "$tf" loss_pct)% | $(med "$cfg" "$tf" cpu_s_per_gbit 2)$(rng "$cfg" "$tf" cpu_s_per_gbit) | $(med "$cfg" "$tf" busy 2) | $(med "$cfg" "$tf" gw_us_per_pkt 2) | $(first "$cfg" "$tf" busiest_threads) | $(med "$cfg" "$tf" gen_busy 2) | $(med "$cfg" "$tf" gen_us_per_pkt 2) | $(med "$cfg" "$tf" machine_idle 2) |"
	done
done
echo
for tf in $TRANSFORMS; do
	p1=$(med pc1 "$tf" mbps)
	sw=$(med sw "$tf" mbps)
	p1c=$(med pc1 "$tf" cpu_s_per_gbit 2)
	swc=$(med sw "$tf" cpu_s_per_gbit 2)
	# What two CPUs allow at best: with one ESP thread the gateway is held to one CPU (the
	# generator on the other); with more, gateway and generator share all CPUs, so at most
	# nproc / (gateway + generator CPU per packet) against 1 / (gateway CPU per packet).
	gu1=$(med pc1 "$tf" gw_us_per_pkt 2)
	cu1=$(med pc1 "$tf" gen_us_per_pkt 2)
	bound=$(awk -v g="$gu1" -v c="$cu1" -v n="$(nproc)" 'BEGIN{if (g + 0 <= 0) print "n/a"; else {b = n * g / (g + c); if (b > 2) b = 2; printf "%.2f", b}}')
	if [ "$PIN" = 1 ]; then
		echo "- **$tf**, gateway on one CPU: Portcullis $(pc_args pc1) / strongSwan: **$(ratio "$p1" "$sw")x** throughput ($p1 vs $sw Mbit/s, busy $(med pc1 "$tf" busy 2) vs $(med sw "$tf" busy 2) CPU s/s), CPU per Gbit $(ratio "$p1c" "$swc")x."
	elif [[ " $CONFIGS " == *" pc2 "* ]]; then
		p2=$(med pc2 "$tf" mbps)
		p2c=$(med pc2 "$tf" cpu_s_per_gbit 2)
		echo "- **$tf**: scaling, Portcullis $(pc_args pc2) / $(pc_args pc1): **$(ratio "$p2" "$p1")x** throughput (busy $(med pc2 "$tf" busy 2) vs $(med pc1 "$tf" busy 2) CPU s/s, CPU per Gbit $(ratio "$p2c" "$p1c")x); Portcullis $(pc_args pc2) / strongSwan: **$(ratio "$p2" "$sw")x** throughput, CPU per Gbit $(ratio "$p2c" "$swc")x (Portcullis $(pc_args pc1) / strongSwan: $(ratio "$p1" "$sw")x). The most 2 threads can gain on $(nproc) CPUs with this generator: ${bound}x ($(nproc) CPUs / (gateway $gu1 + generator $cu1 µs per packet) against 1 CPU / $gu1 µs, from the $(pc_args pc1) runs; less the CPU other jobs take)."
	else
		echo "- **$tf**: Portcullis $(pc_args pc1) / strongSwan: **$(ratio "$p1" "$sw")x** throughput, CPU per Gbit $(ratio "$p1c" "$swc")x; no second Portcullis run (see above)."
	fi
done
echo
gb=$(grep '^scale ' "$RAW" | tr ' ' '\n' | sed -n 's/^gen_busy=//p' | median)
gu=$(for tf in $TRANSFORMS; do echo "$tf $(grep "^scale [a-z0-9]* tf=$tf " "$RAW" | tr ' ' '\n' | sed -n 's/^gen_us_per_pkt=//p' | median)"; done)
echo "What the generator costs: espload was busy $(awk -v g="$gb" 'BEGIN{printf "%.2f", g}') CPU s per second (median over all runs) of the $(nproc) CPUs,"
echo "i.e. µs of its CPU per packet sent: $(awk '{printf "%s%s %.2f", (NR > 1 ? ", " : ""), $1, $2}' <<<"$gu") (most of it system time: on veth"
echo "the kernel's delivery of each packet up to the gateway's socket runs in the sender's context),"
echo "against the gateways' CPU µs per packet delivered in the table. That CPU is not"
if [ "$PIN" = 1 ]; then
	echo "available to the gateway only in the section below (here each has its own CPU)."
else
	echo "available to the gateway: a gateway can use at most $(nproc) minus the generator's busy, and \"busy\""
	echo "above shows how much it did use."
fi
echo
bench_raw_details "$RAW"
