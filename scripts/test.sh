#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine and runs the test suite (as root).
#   scripts/test.sh                 every group: format, unit, fuzz, integration, web, vm
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
