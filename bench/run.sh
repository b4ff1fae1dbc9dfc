#!/usr/bin/env bash
# One entry point for every benchmark: sets up what each needs, runs them, and writes
# bench/RESULTS.md (figures, machine, date, commit). Each bench/*_bench.sh prints a Markdown
# section on stdout; comparisons with a reference system run both in the same invocation,
# alternating, several rounds, and report medians and the ratio.
#   bench/run.sh              every benchmark (8-12 minutes on 2 cores)
#   bench/run.sh pix api      only those (names of bench/<name>_bench.sh)
# Sizes come from environment variables (see each script's header), e.g. a quick run:
#   IKE_ROUNDS=1 IKE_RATE_N=300 IKE_TUNNELS="200 1000" ESP_ROUNDS=1 ESP_SECS=2 ESP_MULTI=2 \
#   API_RECORDS=100000 API_DURATION=2s PIX_LINES=20000 ACES=2000 STATICS=200 RUNS=3 AAA_N=50 bench/run.sh
# Everything runs in network namespaces (pcb-*, pc-*) linked only to each other, removed at exit.
# Writes bench/RESULTS.md and the plots bench/*.svg (from $BENCH_WORK/plot-*.tsv, bench/plot.py).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD

bash scripts/deps.sh >/dev/null
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (network namespaces)" >&2; exit 1; }
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j2 --target portcullisd portcullis portcullis_lib >/dev/null
export PORTCULLISD=$TOP/build/release/portcullisd PORTCULLIS=$TOP/build/release/portcullis
export BENCH_WORK=$TOP/bench/work BENCH_BUILD=$TOP/build/release
rm -rf "$BENCH_WORK"
mkdir -p "$BENCH_WORK"
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
	# the comparisons first, then the rest in name order
	for n in dh ike esp esp1 espscale esptransform pix nft api aaa; do
		[ -f "bench/${n}_bench.sh" ] && names+=("$n")
	done
	for f in bench/*_bench.sh; do
		n=$(basename "$f" _bench.sh)
		[[ " ${names[*]} " == *" $n "* ]] || names+=("$n")
	done
fi

out=$BENCH_WORK/RESULTS.md.new
{
	echo "# Portcullis benchmark results"
	echo
	echo "Written by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\`."
	echo
	echo "## Machine"
	echo
	echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
	echo "- Memory: $(free -g | awk '/Mem:/{print $2}') GiB; kernel $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "- OpenSSL $(openssl version | awk '{print $2}'); strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null); vpnc $(dpkg-query -W -f='${Version}' vpnc 2>/dev/null); iperf3 $(dpkg-query -W -f='${Version}' iperf3 2>/dev/null)"
	echo "- Build: Release (-O3), no sanitizers"
	echo "- Load average when the run started: $load_start (the machine is shared: other jobs ran during the run, so"
	echo "  wall-clock figures are noisy; CPU-time figures less so)"
	echo
} >"$out"
for n in "${names[@]}"; do
	[ -f "bench/${n}_bench.sh" ] || {
		echo "bench: no bench/${n}_bench.sh" >&2
		exit 2
	}
	echo "bench: running $n" >&2
	if ! bash "bench/${n}_bench.sh" >>"$out"; then
		echo "bench: $n failed" >&2
		printf '\n## %s\n\nFAILED: see the output of bench/%s_bench.sh.\n\n' "$n" "$n" >>"$out"
	fi
done
plots=()
plot() { # tsv title unit svg
	[ -s "$BENCH_WORK/$1" ] || return 0
	python3 bench/plot.py "$2" "$3" "$BENCH_WORK/$1" "bench/$4" && plots+=("$4")
}
plot plot-ike-rate.tsv "IKE handshakes per second (median)" "/s" ike_rate.svg
plot plot-ike-mem.tsv "Gateway memory per established tunnel (median)" "KiB" ike_mem.svg
plot plot-esp.tsv "ESP throughput, iperf3 TCP through vpnc (median; 1 tunnel: gateway on one CPU capped at 25%; 8 tunnels: shared CPUs)" "Mbit/s" esp_throughput.svg
if [ "${#plots[@]}" -gt 0 ]; then
	{
		echo "## Plots"
		echo
		for p in "${plots[@]}"; do echo "![$p]($p)"; done
		echo
	} >>"$out"
fi
# the hand-written analysis of the profiles (dated; re-check it against new figures)
if [ -f bench/FINDINGS.md ] && [ "${#names[@]}" -gt 2 ]; then
	{
		cat bench/FINDINGS.md
		echo
	} >>"$out"
fi
echo "Total run time: $((($(date +%s) - t_start) / 60)) min $((($(date +%s) - t_start) % 60)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$out"
mv "$out" bench/RESULTS.md
echo "bench: wrote bench/RESULTS.md" >&2
