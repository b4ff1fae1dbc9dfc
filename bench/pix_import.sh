#!/usr/bin/env bash
# Benchmark: import a generated 100,000-line PIX 6.3 configuration with `portcullis import --apply`
# into a fresh database, timed with hyperfine. Not a test; record the figure in bench/README.md.
#   bench/pix_import.sh [BUILD_DIR] [LINES]
# Use an optimised build without sanitizers for the figure, e.g.
#   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release && cmake --build build/rel -j2
#   bench/pix_import.sh build/rel
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/rel}
LINES=${2:-100000}
PORTCULLIS=$BUILD/portcullis
[ -x "$PORTCULLIS" ] || { echo "pix_import.sh: $PORTCULLIS not built" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "pix_import.sh: hyperfine not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/pc-pixbench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cfg=$work/big.cfg

# The generator: a realistic mix (names, object-groups, access lists using them, statics, routes,
# management access), every line valid so all of them are mapped.
python3 - "$LINES" > "$cfg" <<'PY'
import sys
target = int(sys.argv[1])
out = []
w = out.append
w(": Saved")
w("PIX Version 6.3(5)")
w("interface ethernet0 100full")
w("interface ethernet1 100full")
w("interface ethernet2 100full")
w("nameif ethernet0 outside security0")
w("nameif ethernet1 inside security100")
w("nameif ethernet2 dmz security50")
w("hostname bench")
w("fixup protocol ftp 21")
w("names")
def ip(n, base=10):
    return "%d.%d.%d.%d" % (base, (n >> 16) & 255, (n >> 8) & 255, n & 255)
budget = target - 40
n_names = budget // 10
n_groups = budget // 100
n_static = budget // 10
n_routes = budget // 20
n_mgmt = budget // 50
for i in range(n_names):
    w("name %s host-%d" % (ip(i + 1, 172), i))
for g in range(n_groups):
    w("object-group network grp-%d" % g)
    for k in range(4):
        w("  network-object host %s" % ip(g * 4 + k + 1, 10))
# fixed lines after the access lists: 3 ip address, statics, access-group, routes, telnet, 3 tail
n_acl_lines = target - len(out) - (3 + n_static + 1 + n_routes + n_mgmt + 3)
for i in range(n_acl_lines):
    acl = "acl-%d" % (i % 100)
    kind = i % 4
    if kind == 0:
        w("access-list %s permit tcp any host host-%d eq www" % (acl, i % n_names))
    elif kind == 1:
        w("access-list %s permit udp %s 255.255.255.0 object-group grp-%d range 1000 2000" % (acl, ip(i, 10), i % n_groups))
    elif kind == 2:
        w("access-list %s deny ip any %s 255.255.0.0 log" % (acl, ip(i * 256, 192)))
    else:
        w("access-list %s permit icmp any any echo-reply" % acl)
w("ip address outside 198.51.100.2 255.255.255.0")
w("ip address inside 10.0.0.1 255.0.0.0")
w("ip address dmz 172.16.0.1 255.240.0.0")
for i in range(n_static):
    w("static (inside,outside) %s %s netmask 255.255.255.255 0 0" % (ip(i + 1, 100), ip(i + 1, 10)))
w("access-group acl-0 in interface outside")
for i in range(n_routes):
    w("route inside %s 255.255.255.0 10.0.0.254 1" % ip(i * 256, 11))
for i in range(n_mgmt):
    w("telnet %s 255.255.255.255 inside" % ip(i + 1, 10))
w("telnet timeout 5")
w("terminal width 80")
w(": end")
print("\n".join(out))
PY
echo "generated $(wc -l < "$cfg") lines ($(du -h "$cfg" | cut -f1)) in $cfg"
"$PORTCULLIS" --db "$work/check.db" import "$cfg" --apply > "$work/report.txt"
head -1 "$work/report.txt"
hyperfine --warmup 1 --runs 10 --prepare "rm -f $work/b.db $work/b.db-wal $work/b.db-shm" \
	"$PORTCULLIS --db $work/b.db import $cfg --apply"
