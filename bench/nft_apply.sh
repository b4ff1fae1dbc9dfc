#!/usr/bin/env bash
# Benchmark: applying a 10,000-entry ACL and a 1,000-entry static table, Portcullis (libnftnl, one
# netlink batch: `portcullis nat apply --no-net`) side by side with `nft -f` loading the equivalent
# ruleset, both generated from the same model (the text comes from `portcullis nat show`).
# Time (hyperfine, or repeated /usr/bin/time) and peak memory (max RSS). Runs in its own network
# namespace; needs root. Usage: bench/nft_apply.sh [BUILD_DIR] (default build/bench, configured
# here as a Release build without sanitizers).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${1:-build/bench}
ACES=${ACES:-10000}
STATICS=${STATICS:-1000}
RUNS=${RUNS:-10}

if [ ! -x "$BUILD/portcullis" ]; then
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build "$BUILD" -j2 --target portcullis >/dev/null
fi
PC=$PWD/$BUILD/portcullis
NS=pc-nat-bench-$$
WORK=$(mktemp -d /tmp/pc-nat-bench.XXXXXX)
trap 'ip netns del $NS 2>/dev/null || true; rm -rf "$WORK"' EXIT

DB=$WORK/bench.db
"$PC" --db "$DB" db-init >/dev/null
python3 "$SRC/tests/integration/nat_sql.py" "$DB" "$SRC/tests/integration/nat_seed.sql"
python3 - "$ACES" "$STATICS" >"$WORK/big.sql" <<'PY'
import sys
aces, statics = int(sys.argv[1]), int(sys.argv[2])
print("BEGIN;")
# ACL 120 grows to ACES entries: tcp/udp to hosts with ports, some networks, some denies
for i in range(aces):
    host = "10.2.%d.%d" % (i // 250, i % 250 + 1)
    proto = "tcp" if i % 3 else "udp"
    action = "deny" if i % 10 == 9 else "permit"
    src = ("'network', '172.%d.%d.0', '255.255.255.0'" % (16 + (i % 16), i % 256)) if i % 4 == 0 else "'any', NULL, NULL"
    print("INSERT INTO access_list_entry (acl_id, position, action, protocol, src_kind, src_address,"
          " src_netmask, dst_kind, dst_address, dst_netmask, dst_port_op, dst_port_low) VALUES"
          " (2, %d, '%s', '%s', %s, 'host', '%s', '255.255.255.255', 'eq', %d);"
          % (10 + i, action, proto, src, host, 1000 + i % 5000))
for i in range(statics):
    print("INSERT INTO nat_static (real_interface_id, mapped_interface_id, mapped_address,"
          " real_address, netmask, position) VALUES (2, 1, '198.18.%d.%d', '10.3.%d.%d',"
          " '255.255.255.255', %d);" % (i // 250, i % 250 + 1, i // 250, i % 250 + 1, 10 + i))
print("COMMIT;")
PY
python3 "$SRC/tests/integration/nat_sql.py" "$DB" "$WORK/big.sql"

ip netns add $NS
ip netns exec $NS ip link add eth0 type veth peer name eth0p
ip netns exec $NS ip link add eth1 type veth peer name eth1p
"$PC" --db "$DB" nat show --netns $NS >"$WORK/rules.nft" 2>/dev/null
rules=$(grep -c 'comment "pc:' "$WORK/rules.nft" || true)
echo "model: $ACES ACL entries + $STATICS statics (+ seed); nft text: $(wc -l <"$WORK/rules.nft") lines, $(stat -c %s "$WORK/rules.nft") bytes, $rules commented rules"

apply_pc() { "$PC" --db "$DB" nat apply --no-net --netns $NS >/dev/null 2>&1; }
apply_nft() { ip netns exec $NS nft -f "$WORK/rules.nft"; }
clear_table() { ip netns exec $NS nft delete table ip portcullis 2>/dev/null || true; }

# both produce the same table: compare rule counts once
apply_pc
n_pc=$(ip netns exec $NS nft -a list table ip portcullis | grep -c '# handle' || true)
clear_table
apply_nft
n_nft=$(ip netns exec $NS nft -a list table ip portcullis | grep -c '# handle' || true)
echo "objects with handles in the table: portcullis $n_pc, nft -f $n_nft"

measure() { # label command...
	local label=$1 times=() rss=() t m
	shift
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >/dev/null 2>&1
		read -r t m <"$WORK/time"
		times+=("$t")
		rss+=("$m")
	done
	printf '%-34s median %6.3f s  min %6.3f s  max RSS %7d KB  (%d runs)\n' "$label" \
		"$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
		"$(printf '%s\n' "${times[@]}" | sort -n | head -n1)" \
		"$(printf '%s\n' "${rss[@]}" | sort -n | tail -n1)" "$RUNS"
}

export -f apply_pc apply_nft
export PC DB NS WORK
measure "portcullis nat apply (replace)" bash -c apply_pc
measure "nft -f (replace)" bash -c apply_nft
# the same from an empty namespace (table absent)
measure "portcullis nat apply (fresh)" bash -c 'ip netns exec $NS nft delete table ip portcullis 2>/dev/null; apply_pc'
measure "nft -f (fresh)" bash -c 'ip netns exec $NS nft delete table ip portcullis 2>/dev/null; apply_nft'
if command -v hyperfine >/dev/null; then
	hyperfine -N -w 2 -r "$RUNS" --export-markdown "$WORK/hf.md" \
		"$PC --db $DB nat apply --no-net --netns $NS" \
		"ip netns exec $NS nft -f $WORK/rules.nft" 2>/dev/null | grep -E 'Time|±|Benchmark' || true
	cat "$WORK/hf.md"
fi
