#!/usr/bin/env bash
# Object groups become nftables interval sets looked up by one rule per ACL entry: a network group
# (nested, with overlapping members) as source and a service group (a port range) as destination
# port, in the kernel, with real packets. A fixup becoming a conntrack helper assignment; shutdown.
source "$(dirname "$0")/nat_lib.sh"

build_topology
seed_db
sql <<'SQL'
INSERT INTO object_group (id, name, kind) VALUES (1, 'lab', 'network'), (2, 'blocked', 'network');
INSERT INTO object_group (id, name, kind, service_protocol) VALUES (3, 'alt', 'service', 'tcp');
INSERT INTO object_group_member (group_id, position, kind, address, netmask) VALUES
	(1, 0, 'network', '198.51.100.0', '255.255.255.0');
INSERT INTO object_group_member (group_id, position, kind, address) VALUES
	(2, 0, 'host', '192.168.1.2'), (2, 1, 'host', '198.51.100.7');
INSERT INTO object_group_member (group_id, position, kind, ref_group_id) VALUES (2, 2, 'group', 1);
INSERT INTO object_group_member (group_id, position, kind, port_op, port_low, port_high) VALUES
	(3, 0, 'port', 'range', 9000, 9010), (3, 1, 'port', 'eq', 9005, NULL);
-- first in ACL 120: deny tcp object-group blocked host 10.89.129.131 object-group alt
INSERT INTO access_list_entry (id, acl_id, position, action, protocol, src_kind, src_group_id,
	dst_kind, dst_address, dst_netmask, dst_port_group_id)
	VALUES (60, 2, -1, 'deny', 'tcp', 'group', 2, 'host', '10.89.129.131', '255.255.255.255', 3);
-- a port static: static (inside,outside) tcp 192.168.1.12 8443 10.89.129.131 9011
INSERT INTO nat_static (real_interface_id, mapped_interface_id, protocol, mapped_address,
	mapped_port, real_address, real_port, netmask, position)
	VALUES (2, 1, 'tcp', '192.168.1.12', 8443, '10.89.129.131', 9011, '255.255.255.255', 1);
SQL
pcnat apply --tun 'pcx*' >/dev/null 2>&1 || { echo "FAIL: apply" >&2; exit 1; }
ok "apply with object groups"

table=$(inns $NS_GW nft list table ip portcullis)
grep -A4 'set og_blocked' <<<"$table" | tr -s ' \t\n' ' ' | grep -q 'type ipv4_addr flags interval elements = { 192.168.1.2, 198.51.100.0/24 }' &&
	ok "og_blocked: nested group flattened, 198.51.100.7 merged into the /24" || fail "og_blocked: $(grep -A4 'set og_blocked' <<<"$table")"
grep -A4 'set og_alt' <<<"$table" | tr -s ' \t\n' ' ' | grep -q 'type inet_service flags interval elements = { 9000-9010 }' &&
	ok "og_alt: 9005 absorbed by 9000-9010" || fail "og_alt: $(grep -A4 'set og_alt' <<<"$table")"
grep -q 'ip saddr @og_blocked ip daddr 10.89.129.131 tcp dport @og_alt counter packets 0 bytes 0 drop comment "pc:acl=2:ace=60"' <<<"$table" &&
	ok "one rule for the entry, two set lookups" || fail "rule: $(grep 'ace=60' <<<"$table")"

listen $NS_WEB 10.89.129.131 9005 web9005
listen $NS_WEB 10.89.129.131 9011 web9011
wait_listen $NS_WEB 9005
wait_listen $NS_WEB 9011
r=$(inns $NS_OUT timeout 5 nc -w 2 -s 192.168.1.2 192.168.1.11 9005 </dev/null 2>/dev/null || true)
[ -z "$r" ] && ok "192.168.1.2 (in og_blocked) -> :9005 (in og_alt) denied" || fail "blocked source passed"
r=$(inns $NS_OUT timeout 5 nc -w 2 -s 192.168.1.3 192.168.1.11 9005 </dev/null 2>/dev/null || true)
[ "$r" = "hello from web9005" ] && ok "192.168.1.3 (not in the group) -> :9005 permitted by the next entry" || fail "192.168.1.3 -> 9005 (got '$r')"
r=$(inns $NS_OUT timeout 5 nc -w 2 -s 192.168.1.2 192.168.1.11 9011 </dev/null 2>/dev/null || true)
[ "$r" = "hello from web9011" ] && ok "192.168.1.2 -> :9011 (outside og_alt) permitted" || fail "192.168.1.2 -> 9011 (got '$r')"
r=$(connect $NS_OUT 192.168.1.12 8443)
[ "$r" = "hello from web9011" ] && ok "port static: 192.168.1.12:8443 -> 10.89.129.131:9011" || fail "port static (got '$r')"
r=$(connect $NS_OUT 192.168.1.12 9011)
[ -z "$r" ] && ok "port static maps only its port (192.168.1.12:9011 not forwarded)" || fail "192.168.1.12:9011 answered"
[ "$(counter 2 60)" -gt 0 ] && ok "deny entry counted $(counter 2 60) packet(s)" || fail "deny counter"

# fixup protocol ftp 21: new connections to port 21 get the kernel's ftp conntrack helper
listen $NS_WEB 10.89.129.131 21 web21
wait_listen $NS_WEB 21
r=$(connect $NS_OUT 192.168.1.11 21)
[ "$r" = "hello from web21" ] && ok "outside -> 192.168.1.11:21 answered" || fail "ftp port (got '$r')"
contains 'dport=21 .*helper=ftp' inns $NS_GW conntrack -L -p tcp --dport 21 &&
	ok "conntrack entry for port 21 carries helper=ftp" || fail "no ftp helper: $(inns $NS_GW conntrack -L -p tcp 2>&1)"

# shutdown: the mapped Linux interface goes down, and comes back up
echo "UPDATE interface SET shutdown = 1 WHERE hw_name = 'ethernet1';" | sql
pcnat apply --tun 'pcx*' >/dev/null 2>&1 || fail "apply with shutdown"
contains '<BROADCAST,MULTICAST>' inns $NS_GW ip link show pcin && ok "shutdown: pcin is down" || fail "pcin: $(inns $NS_GW ip link show pcin)"
echo "UPDATE interface SET shutdown = 0 WHERE hw_name = 'ethernet1';" | sql
pcnat apply --tun 'pcx*' >/dev/null 2>&1 || fail "apply without shutdown"
contains '<BROADCAST,MULTICAST,UP' inns $NS_GW ip link show pcin && ok "no shutdown: pcin is up" || fail "pcin: $(inns $NS_GW ip link show pcin)"
contains '^10.89.129.128/25 via 10.89.129.193 dev pcin proto 80 metric 1' inns $NS_GW ip route show && ok "inside route back after up" || fail "routes after up: $(inns $NS_GW ip route)"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed" >&2
	exit 1
fi
echo "all checks passed"
