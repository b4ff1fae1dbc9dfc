#!/usr/bin/env bash
# Markdown section for bench/run.sh: importing a generated 100,000-line PIX configuration, measured
# by bench/pix_import.sh (its logic: generator, `portcullis import --apply` into a fresh database,
# hyperfine 10 runs). Environment: PIX_LINES (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-$PWD/build/release}
LINES=${PIX_LINES:-100000}
out=$(bash bench/pix_import.sh "$BUILD" "$LINES" 2>&1)
echo "## PIX import: $LINES-line configuration"
echo
echo "\`bench/pix_import.sh\`: a generated PIX 6.3 configuration (names, object-groups, access lists,"
echo "statics, routes, management lines; every line mapped), \`portcullis --db NEW import FILE --apply\`"
echo "into a fresh database, hyperfine (1 warm-up, 10 runs)."
echo
echo '```'
grep -E 'generated|lines:|Time|Range|±' <<<"$out" | sed 's/\x1b\[[0-9;]*m//g; s|/tmp/pc-pixbench-[A-Za-z0-9]*/|/tmp/.../|g'
echo '```'
echo
