#!/usr/bin/env bash
# A failing apply leaves the kernel as it was: the nftables batch that the kernel refuses half way
# (a rule jumping to a missing chain, injected after every valid message) changes nothing, and the
# interface/route changes made before it are undone. A rtnetlink failure undoes too. Re-applying
# under traffic loses no packet (the table is replaced in one transaction).
source "$(dirname "$0")/nat_lib.sh"

build_topology
seed_db
pcnat apply --tun 'pcx*' >/dev/null 2>&1 || { echo "FAIL: first apply" >&2; exit 1; }
ok "first apply"
listen $NS_WEB 10.89.129.131 8080 web
wait_listen $NS_WEB 8080
[ "$(connect $NS_OUT 192.168.1.11 8080)" = "hello from web" ] && ok "baseline: outside reaches web:8080" || fail "baseline connect"

before=$(ruleset)
routes_before=$(inns $NS_GW ip route show)
mtu_before=$(inns $NS_GW cat /sys/class/net/pcin/mtu)

# change the model: deny 8080 first in ACL 120, MTU 1400 on inside, one more route
sql <<'SQL'
INSERT INTO access_list_entry (id, acl_id, position, action, protocol, src_kind, dst_kind,
	dst_address, dst_netmask, dst_port_op, dst_port_low)
	VALUES (50, 2, -1, 'deny', 'tcp', 'any', 'host', '10.89.129.131', '255.255.255.255', 'eq', 8080);
UPDATE interface SET mtu = 1400 WHERE hw_name = 'ethernet1';
INSERT INTO route (interface_id, destination, netmask, gateway, metric, position)
	VALUES (2, '172.20.0.0', '255.255.0.0', '10.89.129.193', 5, 2);
SQL

# 1. the kernel refuses the last message of the batch
if out=$(pcnat apply --tun 'pcx*' --inject-failure 2>&1); then
	fail "apply with an injected invalid rule succeeded"
else
	grep -q 'refused by the kernel' <<<"$out" && ok "apply failed: $(grep -o 'nftables batch refused.*' <<<"$out" | head -n1 | cut -c1-160)" || fail "unexpected error: $out"
fi
after=$(ruleset)
[ "$before" = "$after" ] && ok "ruleset unchanged after the failed batch ($(wc -l <<<"$after") lines compared)" || {
	fail "ruleset changed"
	diff <(echo "$before") <(echo "$after") | head -20 >&2
}
[ "$(inns $NS_GW cat /sys/class/net/pcin/mtu)" = "$mtu_before" ] && ok "MTU change undone ($mtu_before)" || fail "MTU is $(inns $NS_GW cat /sys/class/net/pcin/mtu)"
[ "$(inns $NS_GW ip route show)" = "$routes_before" ] && ok "routes unchanged" || fail "routes changed: $(inns $NS_GW ip route show)"
[ "$(connect $NS_OUT 192.168.1.11 8080)" = "hello from web" ] && ok "old rules still enforced (8080 still open)" || fail "8080 closed after failed apply"

# 2. a rtnetlink failure half way (a route via an unreachable gateway) is undone as well
sql <<'SQL'
INSERT INTO route (interface_id, destination, netmask, gateway, metric, position)
	VALUES (2, '172.21.0.0', '255.255.0.0', '172.31.0.1', 5, 3);
SQL
if out=$(pcnat apply --tun 'pcx*' 2>&1); then
	fail "apply with an unreachable gateway succeeded"
else
	grep -q 'RTM_NEWROUTE 172.21.0.0/16' <<<"$out" && ok "apply failed: $(grep -o 'RTM_NEWROUTE.*' <<<"$out" | head -n1)" || fail "unexpected error: $out"
fi
[ "$(inns $NS_GW cat /sys/class/net/pcin/mtu)" = "$mtu_before" ] && ok "MTU change undone after route failure" || fail "MTU is $(inns $NS_GW cat /sys/class/net/pcin/mtu)"
[ "$(inns $NS_GW ip route show)" = "$routes_before" ] && ok "routes unchanged after route failure" || fail "routes: $(inns $NS_GW ip route show)"
[ "$before" = "$(ruleset)" ] && ok "ruleset unchanged after route failure" || fail "ruleset changed after route failure"
echo "DELETE FROM route WHERE destination = '172.21.0.0';" | sql

# 3. the same change without the injected rule goes in, and is enforced
pcnat apply --tun 'pcx*' >/dev/null 2>&1 && ok "apply of the changed model" || fail "apply of the changed model"
[ "$(inns $NS_GW cat /sys/class/net/pcin/mtu)" = 1400 ] && ok "MTU 1400 applied" || fail "MTU not applied"
contains '^172.20.0.0/16 via 10.89.129.193 dev pcin proto 80 metric 5' inns $NS_GW ip route show && ok "new route applied" || fail "new route missing"
contains 'tcp dport 8080 counter packets [0-9]+ bytes [0-9]+ drop comment "pc:acl=2:ace=50"' inns $NS_GW nft list table ip portcullis && ok "deny entry in the ruleset" || fail "deny entry missing"
[ -z "$(connect $NS_OUT 192.168.1.11 8080)" ] && ok "8080 now denied" || fail "8080 still open"
[ "$(counter 2 50)" -gt 0 ] && ok "deny entry counter moved ($(counter 2 50))" || fail "deny counter did not move"

# 4. an interface mapped to a Linux name that does not exist: refused, nothing changed
before=$(ruleset)
routes_before=$(inns $NS_GW ip route show)
"$PORTCULLIS" --db "$DB" interface map ethernet1 nosuch0 >/dev/null
if out=$(pcnat apply --tun 'pcx*' 2>&1); then
	fail "apply with a missing Linux interface succeeded"
else
	grep -q 'interface inside (ethernet1) maps to Linux interface nosuch0, which does not exist' <<<"$out" && ok "missing interface named in the error" || fail "unexpected error: $out"
fi
[ "$before" = "$(ruleset)" ] && [ "$(inns $NS_GW ip route show)" = "$routes_before" ] && ok "nothing changed" || fail "state changed after a refused apply"
"$PORTCULLIS" --db "$DB" interface map ethernet1 pcin >/dev/null

# 5. no window during replacement: a ping flood through the static survives 20 re-applies
inns $NS_OUT ping -q -i 0.01 -c 400 -W 1 192.168.1.11 >"$WORK/ping.out" 2>&1 &
ping_pid=$!
for _ in $(seq 20); do pcnat apply --tun 'pcx*' >/dev/null 2>&1 || fail "re-apply under traffic"; done
wait $ping_pid || true
loss=$(grep -o '[0-9.]*% packet loss' "$WORK/ping.out")
[ "$loss" = "0% packet loss" ] && ok "400 pings across 20 re-applies: $loss" || fail "re-apply under traffic: $loss"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed" >&2
	exit 1
fi
echo "all checks passed"
