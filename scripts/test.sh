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
echo "== tests (labels: ${labels[*]})"
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -L "$regex"
