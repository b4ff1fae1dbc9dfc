#!/usr/bin/env bash
# One entry point for every benchmark: sets up what each needs, runs them, and writes
# bench/RESULTS.md (figures, machine, date, commit). Each bench/*_bench.sh prints a Markdown
# section on stdout; comparisons with a reference system run both in the same invocation,
# alternating, several rounds, and report medians and the ratio.
#   bench/run.sh              every benchmark
#   bench/run.sh pix api      only those (names of bench/<name>_bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD

bash scripts/deps.sh >/dev/null
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
export PORTCULLISD=$TOP/build/release/portcullisd PORTCULLIS=$TOP/build/release/portcullis
export BENCH_WORK=$TOP/bench/work
mkdir -p "$BENCH_WORK"

names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
	for f in bench/*_bench.sh; do
		n=$(basename "$f" _bench.sh)
		names+=("$n")
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
	echo "- OpenSSL $(openssl version | awk '{print $2}'); strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null)"
	echo "- Build: Release (-O3), no sanitizers"
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
mv "$out" bench/RESULTS.md
echo "bench: wrote bench/RESULTS.md" >&2
