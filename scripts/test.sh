#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine and runs the test suite (as root).
#   scripts/test.sh                 every group: format, unit (and a gcc -Werror build), fuzz,
#                                   integration, web, vm
#   scripts/test.sh unit fuzz       only those ctest labels
# Builds with clang, AddressSanitizer + UndefinedBehaviorSanitizer, -Werror, and libFuzzer targets.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

labels=("$@")
if [ "${#labels[@]}" -eq 0 ]; then
	labels=(unit fuzz integration web vm)
fi
for l in "${labels[@]}"; do
	case "$l" in
	unit | fuzz | integration | web | vm) ;;
	*)
		echo "test.sh: unknown group '$l' (expected unit, fuzz, integration, web or vm)" >&2
		exit 2
		;;
	esac
done

echo "== format check (.clang-format)"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^tests/fuzz/corpus/' || true)
if [ "${#sources[@]}" -gt 0 ]; then
	clang-format --dry-run --Werror "${sources[@]}"
fi

# With the unit group: the release compiler (gcc, -O2, which warns about more than clang -O0,
# e.g. snprintf output that may be cut) must build everything without a warning.
if [[ " ${labels[*]} " == *" unit "* ]]; then
	echo "== gcc -O2 -Werror build (build/gcc-check)"
	CC=gcc cmake -S . -B build/gcc-check -DCMAKE_BUILD_TYPE=Release -DPORTCULLIS_WERROR=ON >/dev/null
	cmake --build build/gcc-check -j"$(nproc)" >/dev/null
fi

BUILD=${PORTCULLIS_TEST_BUILD:-build/test}
echo "== build ($BUILD)"
CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DPORTCULLIS_SANITIZE=ON \
	-DPORTCULLIS_WERROR=ON -DPORTCULLIS_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

regex="^($(
	IFS='|'
	echo "${labels[*]}"
))\$"
# Tests run in network namespaces they create and must leave nothing behind: processes still
# running in a namespace other than ours, and namespaces, that were not there before fail the run.
netns_procs() { # "pid cmdline" of processes outside this shell's network namespace
	local own d ns
	own=$(readlink /proc/$$/ns/net)
	for d in /proc/[0-9]*; do
		ns=$(readlink "$d/ns/net" 2>/dev/null) || continue
		[ "$ns" = "$own" ] && continue
		echo "${d#/proc/} $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-160)"
	done
}
procs_before=$(netns_procs | awk '{print $1}' | sort)
netns_before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort)
leftovers() {
	netns_procs | sort | join -v1 - <(echo "$procs_before")
	ip netns list 2>/dev/null | awk '{print $1}' | sort | comm -23 - <(echo "$netns_before") |
		sed 's/^/namespace /'
}

echo "== tests (labels: ${labels[*]})"
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -L "$regex"

for _ in $(seq 10); do
	[ -z "$(leftovers)" ] && break
	sleep 0.5
done
if [ -n "$(leftovers)" ]; then
	echo "test.sh: the tests left these behind (processes in other network namespaces, namespaces):" >&2
	leftovers >&2
	exit 1
fi
echo "== nothing left behind (no new namespaces, no processes in them)"
