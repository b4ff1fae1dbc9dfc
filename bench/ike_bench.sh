#!/usr/bin/env bash
# IKE handshake benchmark: Portcullis (portcullisd, Release) against strongSwan 5.9 (charon,
# kernel-libipsec), same machine, same client, same service: Aggressive Mode PSK group + Xauth
# (LOCAL users / swanctl secrets) + Mode Config from a /16 pool + Quick Mode, DH group 2.
# The client is bench/ikeload.c (the test initiator, tests/peers/ike_initiator.c, in C threads,
# each handshake from its own source address in 172.16.0.0/16). Rounds alternate which gateway goes first. Per round and
# gateway: a fresh gateway takes IKE_RATE_N handshakes at IKE_CONC concurrency (each tunnel
# deleted once up): rate, p50/p99 latency, gateway CPU per handshake (/proc/PID/stat, all
# threads); then a fresh gateway is filled with tunnels (kept) and its RSS read at each size of
# IKE_TUNNELS: memory per tunnel = (RSS - RSS at start) / tunnels.
# Prints a Markdown section; writes $BENCH_WORK/plot-ike-*.tsv for bench/plot.py. Root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
source bench/lib.sh
ROUNDS=${IKE_ROUNDS:-3}
CONC=${IKE_CONC:-64}
RATE_N=${IKE_RATE_N:-1500}
# charon's setup rate with thousands of tunnels of one identity falls to a few per second, so each
# fill phase stops after IKE_FILL_SECS and reports what it reached.
TUNNELS=${IKE_TUNNELS:-1000 10000}
MEM_ROUNDS=${IKE_MEM_ROUNDS:-1}
BENCH_NCLIENTS=1
LOAD=$BENCH_WORK/ikeload
RAW=$BENCH_WORK/ike-raw.txt
mkdir -p "$BENCH_WORK"
: >"$RAW"
: >"$BENCH_WORK/ikeload.err"

[ "$(id -u)" -eq 0 ] || bench_die "ike_bench: run as root (network namespaces)"
[ -f "$BUILD/libportcullis_lib.a" ] || bench_die "ike_bench: $BUILD/libportcullis_lib.a not built"
# shellcheck disable=SC2046
cc -O2 -D_GNU_SOURCE -I. -Itests -o "$LOAD" bench/ikeload.c tests/peers/ike_initiator.c \
	"$BUILD/libportcullis_lib.a" $(pkg-config --libs sqlite3 libcrypto libssl libmicrohttpd jansson \
	libmnl libnftnl) $(pkg-config --libs libgcrypt 2>/dev/null) -lpthread
# Portcullis' IKE SA table is a fixed size: fill it at most to that.
PC_MAX=$(sed -n 's/^#define IKE_MAX_SAS *\([0-9]*\).*/\1/p' gateway/ike/ike_int.h)
PC_MAX=${PC_MAX:-1000000}

trap bench_cleanup EXIT
bench_topology
bench_client_addrs

# With PIN set (a CPU list for taskset), the client runs there.
load() { # extra args
	${PIN:+taskset -c "$PIN"} ip netns exec "$BP-c0" "$LOAD" -s 192.168.1.1 -g "$BENCH_GROUP" -k "$BENCH_GROUP_PSK" \
		-u "$BENCH_USER" -p "$BENCH_PASSWORD" -b 172.16.0.1 -a 65000 -t 3000 -X "$@" 2>>"$BENCH_WORK/ikeload.err" || true
}

# UDP datagrams the gateway namespace dropped because a socket's receive buffer was full
udp_drops() { ip netns exec "$BP-gw" awk '/^Udp:/ {n++; if (n == 2) print $6}' /proc/net/snmp; }

rate_run() { # gw round [pinned|shortdh]: pinned: the gateway (all its threads) on CPU 1, the
	# client on CPU 0; shortdh: charon with dh_exponent_ansi_x9_42 = no
	local gw=$1 c0 c1 out ok d0 d1 kind=rate PIN=""
	if [ "${3:-}" = shortdh ]; then
		kind=shortrate
		BENCH_SW_SHORT_DH=1 bench_start_gw "$gw" des-md5
	else
		bench_start_gw "$gw" des-md5
	fi
	sleep 0.5
	if [ "${3:-}" = pinned ]; then
		kind=pinrate
		PIN=0
		taskset -a -p -c 1 "$GW_PID" >/dev/null
	fi
	c0=$(proc_cpu_s "$GW_PID")
	d0=$(udp_drops)
	out=$(load -c "$CONC" -n "$RATE_N")
	c1=$(proc_cpu_s "$GW_PID")
	d1=$(udp_drops)
	bench_stop_gw
	ok=$(kv ok "$out")
	echo "$kind $gw round=$2 $out cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.3f", b-a}') cpu_ms_per_hs=$(awk -v a="$c0" -v b="$c1" -v n="$ok" 'BEGIN{printf "%.3f", n ? (b-a)*1000/n : 0}') client_ms_per_hs=$(awk -v c="$(kv client_cpu_s "$out")" -v n="$ok" 'BEGIN{printf "%.3f", n ? c*1000/n : 0}') busy_pct=$(awk -v a="$c0" -v b="$c1" -v t="$(kv secs "$out")" 'BEGIN{printf "%.0f", t ? (b-a)*100/t : 0}') rcvbuf_drops=$((d1 - d0))" | tee -a "$RAW" >&2
}

mem_run() { # gw round: one ikeload keeps every tunnel open and reads the gateway's RSS at each size
	local gw=$1 round=$2 r0 t want sizes="" line
	bench_start_gw "$gw" des-md5
	sleep 1
	r0=$(proc_rss_kb "$GW_PID")
	for t in $TUNNELS; do
		want=$t
		if [ "$gw" = portcullis ] && [ "$want" -gt "$PC_MAX" ]; then want=$((PC_MAX - 96)); fi
		sizes=${sizes:+$sizes,}$want
	done
	set -- $TUNNELS
	load -c "$CONC" -n "$sizes" -K -R "$GW_PID" -D "${IKE_FILL_SECS:-120}" | while read -r line; do
		echo "mem $gw round=$round target=$1 rss0_kb=$r0 $line kb_per_tunnel=$(awk -v a="$r0" -v b="$(kv rss_kb "$line")" -v n="$(kv ok "$line")" 'BEGIN{printf "%.2f", n ? (b-a)/n : 0}')"
		shift
	done | tee -a "$RAW" >&2
	bench_stop_gw
}

for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="portcullis strongswan"; else order="strongswan portcullis"; fi
	for gw in $order; do rate_run "$gw" "$r"; done
done
# strongSwan with short DH exponents too (charon.dh_exponent_ansi_x9_42 = no), as Portcullis
for r in $(seq 1 "${IKE_SHORTDH_ROUNDS:-$ROUNDS}"); do rate_run strongswan "$r" shortdh; done
# the same with one CPU each for gateway and client (needs 2 CPUs): equal CPU for both gateways,
# and the client no longer takes the gateway's CPU time
if [ "$(nproc)" -ge 2 ]; then
	for r in $(seq 1 "${IKE_PIN_ROUNDS:-$ROUNDS}"); do
		if [ $((r % 2)) -eq 1 ]; then order="portcullis strongswan"; else order="strongswan portcullis"; fi
		for gw in $order; do rate_run "$gw" "$r" pinned; done
	done
fi
for r in $(seq 1 "$MEM_ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="portcullis strongswan"; else order="strongswan portcullis"; fi
	for gw in $order; do mem_run "$gw" "$r"; done
done

# Where Portcullis' time goes: perf profile (CPU) and fdatasync count (blocking the event loop)
# during one more rate run. IKE_PROFILE=0 skips it.
profile() {
	local pd=$BENCH_WORK/ike-perf.data rec st out ok
	bench_start_gw portcullis des-md5
	sleep 0.5
	perf record -F 999 -g -p "$GW_PID" -o "$pd" >/dev/null 2>&1 &
	rec=$!
	perf stat -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_pwrite64 \
		-p "$GW_PID" -o "$BENCH_WORK/ike-perf-stat.txt" >/dev/null 2>&1 &
	st=$!
	sleep 0.3
	out=$(load -c "$CONC" -n "$RATE_N")
	kill -INT "$rec" "$st" 2>/dev/null || true
	wait "$rec" "$st" 2>/dev/null || true
	bench_stop_gw
	ok=$(kv ok "$out")
	{
		echo "Profile run: $out"
		echo
		awk -v n="$ok" '/syscalls:sys_enter/ {gsub(",", "", $1); printf "%s: %s calls = %.2f per handshake\n", $2, $1, n ? $1/n : 0}' "$BENCH_WORK/ike-perf-stat.txt"
		echo
		echo "CPU samples by object (perf report --sort dso):"
		perf report -i "$pd" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -8
		echo
		echo "Top call-graph entries including callees (perf report --children --sort sym, >= 3%):"
		perf report -i "$pd" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%' |
			grep -v '0x0000\|\[k\] entry_SYSCALL\|do_syscall_64' | awk '$1 + 0 >= 3' | head -25
	} >"$BENCH_WORK/ike-profile.txt"
}
if [ "${IKE_PROFILE:-1}" = 1 ] && command -v perf >/dev/null; then profile || true; fi

# Where Portcullis' memory per tunnel goes: valgrind massif while IKE_MASSIF_N tunnels are kept.
massif() {
	local d=$BENCH_WORK/pc n=${IKE_MASSIF_N:-300} pid
	bench_start_gw portcullis des-md5 # writes the database and config; replaced under massif
	bench_stop_gw
	ip netns exec "$BP-gw" valgrind --tool=massif --massif-out-file="$BENCH_WORK/massif.out" \
		"$BUILD/portcullisd" --db "$d/pc.db" --api 127.0.0.1:8080 --sa-backend tun --log-level warn \
		>"$d/massif.log" 2>&1 &
	pid=$!
	BENCH_PIDS+=("$pid")
	for _ in $(seq 1 300); do
		ip netns exec "$BP-gw" ss -uln | grep -q '192.168.1.1:500\b' && break
		sleep 0.1
	done
	load -c 16 -n "$n" -K -t 20000 >/dev/null
	sleep 1
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	python3 bench/massif_top.py "$BENCH_WORK/massif.out" "$n" >"$BENCH_WORK/ike-massif.txt"
}
if [ "${IKE_MASSIF:-1}" = 1 ] && command -v valgrind >/dev/null; then massif || true; fi

# medians over the rounds
med() { # kind gw key [size]
	if [ -n "${4:-}" ]; then
		grep "^$1 $2 .* target=$4 " "$RAW" || true
	else
		grep "^$1 $2 " "$RAW" || true
	fi | tr ' ' '\n' | sed -n "s/^$3=//p" | median
}
# the DH bound: dh_bench.sh's median when it ran in this invocation, else one 2 s measurement
if [ -s "$BENCH_WORK/dh_median" ]; then
	dh=$(cat "$BENCH_WORK/dh_median")
else
	dh=$(cc -O2 -o "$BENCH_WORK/dh_bound" bench/dh_bound.c -lcrypto && "$BENCH_WORK/dh_bound" 2)
fi
declare -A M
for gw in portcullis strongswan; do
	for k in rate p50_ms p99_ms cpu_ms_per_hs client_ms_per_hs busy_pct fail rcvbuf_drops; do
		M[$gw.$k]=$(med rate $gw $k)
		M[$gw.pin$k]=$(med pinrate $gw $k)
		M[$gw.short$k]=$(med shortrate $gw $k)
	done
	for t in $TUNNELS; do
		M[$gw.mem$t]=$(med mem $gw kb_per_tunnel "$t")
		M[$gw.n$t]=$(med mem $gw ok "$t")
		M[$gw.fill$t]=$(med mem $gw rate "$t")
	done
done

echo "## IKE handshakes: Portcullis vs strongSwan 5.9"
echo
echo "Full Aggressive Mode + Xauth + Mode Config + Quick Mode dialogue, DH group 2 (DES/MD5 phase 1"
echo "and ESP, the seed's policy: the load generator proposes only that), Xauth against LOCAL users"
echo "(Portcullis) / swanctl secrets (strongSwan), addresses from a /16 pool. Client: \`bench/ikeload\`"
echo "in namespace c0, $CONC concurrent clients, each handshake from its own source address. Medians of $ROUNDS rounds"
echo "(rate) and $MEM_ROUNDS round(s) (memory);"
echo "rounds alternate which gateway goes first; each measurement starts a fresh gateway. Logging:"
echo "portcullisd \`--log-level warn\`, charon \`default = 0\`. The client does two modexps per"
echo "handshake too (with Portcullis' library: 256-bit exponents). Unpinned rows: gateway and client"
echo "share the $(nproc) CPUs (charon spreads over both, portcullisd's engine is one thread plus a DH"
echo "key-pair thread, an AAA pool and the uauth set writer). **Pinned** rows: \`taskset\` puts every"
echo "thread of the gateway on CPU 1 and the client on CPU 0, the same for both gateways."
echo
echo "| measure | Portcullis | strongSwan | ratio P/S |"
echo "|---|---:|---:|---:|"
row() { echo "| $1 | ${M[portcullis.$2]} | ${M[strongswan.$2]} | $(ratio "${M[portcullis.$2]}" "${M[strongswan.$2]}") |"; }
row "handshakes/s at saturation ($RATE_N handshakes, $CONC concurrent)" rate
row "handshake latency p50 (ms)" p50_ms
row "handshake latency p99 (ms)" p99_ms
row "gateway CPU per handshake (ms, user+system, incl. DELETE)" cpu_ms_per_hs
row "gateway CPU busy during the rate run (% of one core)" busy_pct
row "client CPU per handshake (ms, bench/ikeload, user+system)" client_ms_per_hs
row "failed handshakes per rate run (a lost packet: the client does not retransmit)" fail
row "UDP datagrams dropped by the gateway's full receive buffer per rate run" rcvbuf_drops
if [ -n "${M[strongswan.shortrate]}" ] && [ "${M[strongswan.shortrate]}" != nan ]; then
	for k in rate p99_ms cpu_ms_per_hs; do M[portcullis.short$k]=${M[portcullis.$k]}; done
	row "handshakes/s, strongSwan with short DH exponents (\`dh_exponent_ansi_x9_42 = no\`)" shortrate
	row "its p99 latency (ms)" shortp99_ms
	row "its gateway CPU per handshake (ms)" shortcpu_ms_per_hs
fi
if [ -n "${M[portcullis.pinrate]}" ] && [ "${M[portcullis.pinrate]}" != nan ]; then
	row "**pinned**: handshakes/s, gateway on CPU 1, client on CPU 0" pinrate
	row "**pinned**: handshake latency p99 (ms)" pinp99_ms
	row "**pinned**: gateway CPU per handshake (ms)" pincpu_ms_per_hs
	row "**pinned**: gateway CPU busy (% of its one CPU)" pinbusy_pct
	row "**pinned**: failed handshakes per run" pinfail
fi
for t in $TUNNELS; do
	row "memory per established tunnel (KiB), target $t tunnels" "mem$t"
	row "tunnels actually established (target $t)" "n$t"
	row "setup rate while filling up to $t tunnels (handshakes/s, last segment)" "fill$t"
done
echo
dhs=$(cat "$BENCH_WORK/dh_median_short" 2>/dev/null || echo nan)
awk -v d="$dh" -v ds="$dhs" -v p="${M[portcullis.rate]}" -v s="${M[strongswan.rate]}" -v pp="${M[portcullis.pinrate]}" -v n="$(nproc)" 'BEGIN{
	printf "DH bound on this machine (full-length exponents, the issue'"'"'s definition): %.0f modexp/s per core = %.0f handshakes/s per core (two modexp each), %.0f on all %d cores", d, d/2, d/2*n, n
	if (ds + 0 > 0) printf "; with the 256-bit exponents Portcullis draws: %.0f handshakes/s per core", ds/2
	printf ".\n"
	printf "Portcullis reaches %.0f%% of the one-core bound unpinned", p*100/(d/2)
	if (pp + 0 > 0) printf " and %.0f%% pinned to one CPU", pp*100/(d/2)
	printf ", strongSwan %.0f%% unpinned.\n", s*100/(d/2) }'
# what two CPUs allow when the client shares them: each handshake costs gateway + client CPU
awk -v n="$(nproc)" -v pg="${M[portcullis.cpu_ms_per_hs]}" -v pc="${M[portcullis.client_ms_per_hs]}" \
	-v sg="${M[strongswan.cpu_ms_per_hs]}" -v sc="${M[strongswan.client_ms_per_hs]}" 'BEGIN{
	if (pg + pc <= 0 || sg + sc <= 0) exit
	p = n * 1000 / (pg + pc); s = n * 1000 / (sg + sc)
	printf "With the client on the same %d CPUs, each handshake costs the machine the gateway'"'"'s and the client'"'"'s CPU: at most %.0f/s with Portcullis (%.3f + %.3f ms) and %.0f/s with strongSwan (%.3f + %.3f ms), so that placement cannot show more than %.2fx at these costs; 3x there would need Portcullis at %.3f ms per handshake.\n", n, p, pg, pc, s, sg, sc, p / s, (sg + sc) / 3 - pc }'
echo
echo "Targets: rate >= 3x strongSwan: **$(awk -v r="$(ratio "${M[portcullis.rate]}" "${M[strongswan.rate]}")" 'BEGIN{print (r >= 3) ? "met" : "not met"}') ($(ratio "${M[portcullis.rate]}" "${M[strongswan.rate]}")x sharing both CPUs with the client, $(ratio "${M[portcullis.pinrate]}" "${M[strongswan.pinrate]}")x with one CPU each)**;"
echo "rate >= half the DH bound (one core, full-length exponents): **$(awk -v d="$dh" -v p="${M[portcullis.rate]}" -v pp="${M[portcullis.pinrate]}" 'BEGIN{print (p >= d/4 || pp >= d/4) ? "met" : "not met"}')**;"
# memory target at the largest size both gateways actually reached
cmp_size=""
for t in $TUNNELS; do
	if [ "${M[portcullis.n$t]%.*}" -ge "$t" ] 2>/dev/null || [ "$t" -gt "$PC_MAX" ]; then
		[ "${M[strongswan.n$t]%.*}" -ge "$t" ] 2>/dev/null && cmp_size=$t
	fi
done
if [ -n "$cmp_size" ]; then
	echo "memory per tunnel <= half of strongSwan's (at $cmp_size, the largest size both reached): **$(awk -v p="${M[portcullis.mem$cmp_size]}" -v s="${M[strongswan.mem$cmp_size]}" 'BEGIN{print (p <= s/2) ? "met" : "not met (" p " vs " s " KiB)"}')**."
else
	echo "memory per tunnel: no size was reached by both gateways."
fi
echo
for t in $TUNNELS; do
	for gw in portcullis strongswan; do
		if [ "${M[$gw.n$t]%.*}" -lt "$t" ] 2>/dev/null; then
			echo "At $t: $gw established ${M[$gw.n$t]} tunnels: the fill phase stops after ${IKE_FILL_SECS:-120} s, and"
			echo "a client gives up after 3 s without an answer (no retransmission); the memory figure"
			echo "there divides by the tunnels reached, and counts half-made state too."
		fi
	done
done
echo
if [ -s "$BENCH_WORK/ike-profile.txt" ]; then
	echo "### Where Portcullis spends a handshake (perf, one extra rate run)"
	echo
	echo '```'
	cat "$BENCH_WORK/ike-profile.txt"
	echo '```'
	echo
fi
if [ -s "$BENCH_WORK/ike-massif.txt" ]; then
	echo "### Where Portcullis' memory per tunnel goes (valgrind massif, ${IKE_MASSIF_N:-300} tunnels kept)"
	echo
	echo '```'
	cat "$BENCH_WORK/ike-massif.txt"
	echo '```'
	echo
fi
bench_raw_details "$RAW"
{
	printf 'handshakes/s\tPortcullis\t%s\n' "${M[portcullis.rate]}"
	printf 'handshakes/s\tstrongSwan\t%s\n' "${M[strongswan.rate]}"
	printf 'handshakes/s\tDH bound (1 core)\t%s\n' "$(awk -v d="$dh" 'BEGIN{printf "%.0f", d/2}')"
} >"$BENCH_WORK/plot-ike-rate.tsv"
{
	for t in $TUNNELS; do
		printf '%s tunnels\tPortcullis\t%s\n' "$t" "${M[portcullis.mem$t]}"
		printf '%s tunnels\tstrongSwan\t%s\n' "$t" "${M[strongswan.mem$t]}"
	done
} >"$BENCH_WORK/plot-ike-mem.tsv"
