#!/usr/bin/env bash
# Markdown section for bench/run.sh: replacing the Portcullis nftables table (10,000 ACL entries +
# 1,000 statics) with `portcullis nat apply` (one libnftnl batch) vs `nft -f` on the same ruleset,
# measured by bench/nft_apply.sh (its logic; both in a namespace of its own).
# Environment: ACES, STATICS, RUNS (defaults 10000, 1000, 10).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-$PWD/build/release}
# nft_apply.sh takes the build directory relative to the source root
out=$(bash bench/nft_apply.sh "$(realpath --relative-to=. "$BUILD")" 2>&1)
echo "## nftables: portcullis nat apply vs nft -f"
echo
echo "\`bench/nft_apply.sh\`: the same table (from one model: ${ACES:-10000} ACL entries + ${STATICS:-1000} statics"
echo "on top of the seed) loaded by Portcullis as one libnftnl/libmnl batch (process start, SQLite"
echo "load, plan and netlink included) and by \`nft -f\` from the text \`portcullis nat show\` prints."
echo "Wall time per run (median) and peak RSS, RUNS runs of each in the same invocation, then"
echo "hyperfine over both."
echo
pc=$(grep -m1 'portcullis nat apply (replace)' <<<"$out" | sed -E 's/.*median +([0-9.]+).*/\1/')
nf=$(grep -m1 'nft -f (replace)' <<<"$out" | sed -E 's/.*median +([0-9.]+).*/\1/')
echo '```'
grep -vE '^\|' <<<"$out" | sed 's|/tmp/pc-nat-bench[.A-Za-z0-9]*/|/tmp/.../|g'
echo '```'
echo
echo "Median replace time Portcullis / nft -f: $pc s / $nf s = $(awk -v a="$pc" -v b="$nf" 'BEGIN{if (b > 0) printf "%.2f", a/b; else print "n/a"}')."
echo
