#!/usr/bin/env bash
# The seed's NAT/ACL behaviour with real packets between network namespaces: `portcullis nat
# apply` programs interfaces, routes, proxy ARP and one nftables table from the seed's model rows;
# listeners in the namespaces see who connected.
source "$(dirname "$0")/nat_lib.sh"

build_topology
seed_db

if ! pcnat apply --tun 'pcx*' --uauth-port 1645; then
	echo "FAIL: nat apply" >&2
	exit 1
fi
ok "nat apply"

# interfaces, addresses, routes from the model (interface map ethernet0 -> pcout)
contains 'inet 192.168.1.1/24' inns $NS_GW ip -4 addr show dev pcout && ok "pcout has 192.168.1.1/24" || fail "pcout address"
contains 'inet 10.89.129.194/28' inns $NS_GW ip -4 addr show dev pcin && ok "pcin has 10.89.129.194/28" || fail "pcin address"
contains '^default via 192.168.1.3 dev pcout proto 80 metric 1' inns $NS_GW ip route show && ok "default route" || fail "default route: $(inns $NS_GW ip route)"
contains '^10.89.129.128/25 via 10.89.129.193 dev pcin proto 80 metric 1' inns $NS_GW ip route show && ok "inside route" || fail "inside route: $(inns $NS_GW ip route)"
contains '10.89.129.200 dev pcin' inns $NS_GW ip neigh show proxy && ok "proxy neighbour for 10.89.129.200" || fail "proxy neighbour: $(inns $NS_GW ip neigh show proxy)"
[ "$(inns $NS_GW ip neigh show proxy | grep -c 'dev pcin')" = 5 ] && ok "5 proxy entries (pool .200-.204)" || fail "proxy entry count"
# the tunnelled client's address is reached through pcx0 (the SA backend's route)
inns $NS_GW ip route add 10.89.129.200/32 dev pcx0

listen $NS_WEB 10.89.129.131 8080 web
WEB_LOG=$WORK/web.log
listen $NS_WEB 10.89.129.131 80 web80
WEB80_LOG=$WORK/web80.log
listen $NS_OUT 0.0.0.0 7000 out
OUT_LOG=$WORK/out.log
listen $NS_VPN 10.89.129.200 9000 vpn
VPN_LOG=$WORK/vpn.log
listen $NS_RTR 10.89.129.193 7001 rtr
RTR_LOG=$WORK/rtr.log
listen $NS_GW 0.0.0.0 1645 uauth
UAUTH_LOG=$WORK/uauth.log
wait_listen $NS_WEB 8080; wait_listen $NS_WEB 80; wait_listen $NS_OUT 7000
wait_listen $NS_VPN 9000; wait_listen $NS_RTR 7001; wait_listen $NS_GW 1645

# ICMP from outside to the static's mapped address reaches the web server (ACL 120 line 1)
icmp_before=$(counter 2 2)
if inns $NS_OUT ping -c 2 -W 2 192.168.1.11 >/dev/null; then ok "ping 192.168.1.11 answered by 10.89.129.131"; else fail "ping 192.168.1.11"; fi
icmp_after=$(counter 2 2)
[ "$icmp_after" -gt "$icmp_before" ] && ok "ACL 120 icmp entry counter $icmp_before -> $icmp_after" || fail "icmp counter did not move ($icmp_before -> $icmp_after)"

# TCP from outside to 192.168.1.11:8080 reaches the listener on 10.89.129.131, source kept
tcp_before=$(counter 2 3)
reply=$(connect $NS_OUT 192.168.1.11 8080)
[ "$reply" = "hello from web" ] && ok "outside -> 192.168.1.11:8080 answered by web" || fail "outside -> 192.168.1.11:8080 (got '$reply')"
grep -qx 192.168.1.2 "$WEB_LOG" && ok "web server saw 192.168.1.2" || fail "web log: $(cat "$WEB_LOG")"
tcp_after=$(counter 2 3)
[ "$tcp_after" -gt "$tcp_before" ] && ok "ACL 120 tcp entry counter $tcp_before -> $tcp_after" || fail "tcp counter did not move"

# the API's JSON view of the same counters
contains '\{"acl_id": ?2, ?"entry_id": ?3, ?"packets": ?[1-9][0-9]*, ?"bytes": ?[1-9]' "$PORTCULLIS" --json nat counters --netns $NS_GW && ok "counters as JSON (engine op)" || fail "JSON counters: $("$PORTCULLIS" --json nat counters --netns $NS_GW)"

# inside host without a static: dynamic NAT to the global range 192.168.1.6-10
reply=$(connect $NS_RTR 192.168.1.2 7000)
[ "$reply" = "hello from out" ] && ok "inside router -> outside listener" || fail "inside router -> outside (got '$reply')"
src=$(tail -n1 "$OUT_LOG")
case "$src" in
192.168.1.6 | 192.168.1.7 | 192.168.1.8 | 192.168.1.9 | 192.168.1.10) ok "inside router appears as $src (global 1)" ;;
*) fail "inside router appeared as '$src', expected 192.168.1.6-10" ;;
esac
# the web server goes out through its static, both directions
connect $NS_WEB 192.168.1.2 7000 >/dev/null
[ "$(tail -n1 "$OUT_LOG")" = 192.168.1.11 ] && ok "web server appears as 192.168.1.11 (static)" || fail "web server appeared as $(tail -n1 "$OUT_LOG")"

# inside -> VPN pool: nat 0 access-list 101, the source is kept; proxy ARP answers for .200
reply=$(connect $NS_WEB 10.89.129.200 9000)
[ "$reply" = "hello from vpn" ] && ok "web -> 10.89.129.200 (VPN pool) answered" || fail "web -> pool (got '$reply')"
grep -qx 10.89.129.131 "$VPN_LOG" && ok "VPN client saw 10.89.129.131 (no translation)" || fail "vpn log: $(cat "$VPN_LOG")"
gwmac=$(inns $NS_GW cat /sys/class/net/pcin/address)
contains "lladdr $gwmac" inns $NS_RTR ip neigh show 10.89.129.200 && ok "router resolved 10.89.129.200 to the gateway (proxy ARP)" || fail "router neigh: $(inns $NS_RTR ip neigh show 10.89.129.200)"

# sysopt connection permit-ipsec: traffic from the tunnel reaches inside without an ACL
reply=$(connect $NS_VPN 10.89.129.131 8080)
[ "$reply" = "hello from web" ] && ok "VPN client -> web server (permit-ipsec, tun)" || fail "vpn -> web (got '$reply')"

# outside traffic not permitted: to the inside router (not in ACL 120), and to the web server's
# real address (ACL 120 permits it, but there is no translation for it)
inns $NS_OUT ip route add 10.89.129.128/25 via 192.168.1.1
deny_before=$(counter 2 0)
reply=$(connect $NS_OUT 10.89.129.193 7001)
[ -z "$reply" ] && ! grep -q . "$RTR_LOG" && ok "outside -> 10.89.129.193 dropped" || fail "outside reached the inside router"
reply=$(connect $NS_OUT 10.89.129.131 8080)
[ -z "$reply" ] && [ "$(grep -c '^192.168.1.2$' "$WEB_LOG")" = 1 ] && ok "outside -> 10.89.129.131 (untranslated) dropped" || fail "outside reached the untranslated real address"
if inns $NS_OUT ping -c 1 -W 1 10.89.129.193 >/dev/null 2>&1; then fail "ping to inside router passed"; else ok "ping to inside router dropped"; fi

# cut-through proxy hook: HTTP to the static from a source not in @uauth goes to the listener
reply=$(connect $NS_OUT 192.168.1.11 80)
[ "$reply" = "hello from uauth" ] && ok "unauthenticated HTTP redirected to :1645" || fail "HTTP redirect (got '$reply')"
pcnat uauth add 192.168.1.2 120
contains '^192.168.1.2 timeout 120s' pcnat uauth list && ok "uauth list shows 192.168.1.2" || fail "uauth list: $(pcnat uauth list)"
reply=$(connect $NS_OUT 192.168.1.11 80)
[ "$reply" = "hello from web80" ] && ok "authenticated source passes to the web server" || fail "after uauth add (got '$reply')"
# a re-apply keeps the authenticated source
pcnat apply --tun 'pcx*' --uauth-port 1645 >/dev/null
contains '^192.168.1.2 ' pcnat uauth list && ok "uauth entry survives re-apply" || fail "uauth entry lost on re-apply"
pcnat uauth del 192.168.1.2
reply=$(connect $NS_OUT 192.168.1.11 80)
[ "$reply" = "hello from uauth" ] && ok "after uauth del: redirected again" || fail "after uauth del (got '$reply')"

# nothing outside our table: a foreign table survives apply
inns $NS_GW nft add table ip other
pcnat apply --tun 'pcx*' >/dev/null
contains 'table ip other' inns $NS_GW nft list tables && ok "foreign table untouched" || fail "foreign table removed"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed" >&2
	exit 1
fi
echo "all checks passed"
