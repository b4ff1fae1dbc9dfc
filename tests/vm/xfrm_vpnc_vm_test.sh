#!/usr/bin/env bash
# End to end with the kernel (xfrm) SA backend: Debian's stock 6.1 kernel under qemu runs
# `portcullisd --sa-backend xfrm` with the seed configuration (Xauth against a LOCAL user instead
# of the seed's TACACS+ server, which the VM does not have). Debian's vpnc runs on this machine in a
# network namespace whose tap device is the VM's outside NIC:
#
#   client ns: tap 192.168.1.2 (vpnc)  <->  VM eth0 192.168.1.1 (outside)  VM eth1 10.89.129.194
#                                           (inside)  <->  VM netns "in": 10.89.129.193
#
# Two rounds: plain ESP, then NAT-T forced (ESP in UDP 4500 through the IKE socket's
# UDP_ENCAP_ESPINUDP). Each round: Xauth + Mode Config, the negotiated states and policies in the
# kernel (`ip xfrm`), pings from the client to the gateway's inside address (local delivery) and to
# the host behind it (forwarded: nftables `meta secpath exists` = permit-ipsec), the kernel's
# counters through the API. The first tunnel ends with vpnc's disconnect (DELETE), which must
# remove every state, policy and route; the second is still up when the gateway shuts down, which
# must leave nothing behind either. The sanitizers must stay quiet. XV_DEBUG=1 adds a capture of
# the tap device and the VM's routes, neighbours and counters to the console.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/vmlib.sh"

command -v vpnc >/dev/null || {
	echo "vpnc not installed (apt-get install vpnc)" >&2
	exit 1
}

vm_kernel

# --- the gateway's database: the seed, Xauth against LOCAL ------------------------------------
hash=$(printf cisco | "$PORTCULLIS" --db "$T_DIR/hash.db" aaa hash --pix cisco_customer)
sed -e 's/^crypto map mymap client authentication AuthInbound$/crypto map mymap client authentication LOCAL/' \
	-e "/^aaa-server LOCAL protocol local\$/a username cisco_customer password $hash encrypted privilege 2" \
	"$PORTCULLIS_SOURCE_DIR/tests/data/seed.cfg" >"$T_DIR/gw.cfg"
grep -q "client authentication LOCAL" "$T_DIR/gw.cfg" || {
	echo "seed.cfg changed: no crypto map client authentication line to point at LOCAL" >&2
	exit 1
}
db=$T_DIR/pc.db
"$PORTCULLIS" --db "$db" db-init >/dev/null
"$PORTCULLIS" --db "$db" import "$T_DIR/gw.cfg" --apply \
	--secret 'isakmp-key:0.0.0.0/0.0.0.0=cisco1234' \
	--secret 'vpngroup:vpn3000=vpn3000secret' \
	--secret 'aaa-server:AuthInbound/10.89.129.134=secretkey' >"$T_DIR/import.txt"
printf cisco | "$PORTCULLIS" --db "$db" aaa test LOCAL cisco_customer >"$T_DIR/aaa.txt" 2>&1 || true
t_check "LOCAL user cisco_customer authenticates against the imported config" grep -q "^accept" "$T_DIR/aaa.txt"
token=$("$PORTCULLIS" --db "$db" token create vmtest | tail -n 1)

# --- the VM ---------------------------------------------------------------------------------------
root=$T_DIR/initrd
# curl for the API (busybox-static's wget crashes here)
vm_add_binary "$root" "$PORTCULLISD" /usr/sbin/nft /usr/bin/curl
cp "$db" "$root/pc.db"
# IKE's DES (the seed's policies) comes from OpenSSL's legacy provider, a loadable module
ossl_modules=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
mkdir -p "$root$ossl_modules"
cp "$ossl_modules"/legacy.so "$root$ossl_modules/"
cat >"$T_DIR/test.sh" <<SH
IP=/sbin/ip
API=http://127.0.0.1:8080/api/v1
TOKEN=$token
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
fail=0
bad() { echo "VM: FAIL: \$*"; fail=1; }
nstates() { \$IP xfrm state | grep -c '^src'; }
npolicies() { \$IP xfrm policy | grep -c '^src'; }
api() { /usr/bin/curl -s -m 5 -H "Authorization: Bearer \$TOKEN" "\$API/\$1"; }
# wait_for SECONDS COMMAND...: polls every 0.2 s
wait_for() {
	n=\$((\$1 * 5)); shift
	while [ \$n -gt 0 ]; do "\$@" && return 0; sleep 0.2; n=\$((n - 1)); done
	return 1
}
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
\$IP link set eth0 up
\$IP netns add in
\$IP link add eth1 type veth peer name r0 netns in
\$IP -n in link set lo up
\$IP -n in addr add 10.89.129.193/28 dev r0
\$IP -n in link set r0 up
\$IP -n in route add default via 10.89.129.194

$PORTCULLISD --db /pc.db --allow-host-network --sa-backend xfrm --api 127.0.0.1:8080 \\
	--log-level info,ipsec=debug >/tmp/gw.log 2>&1 &
GW=\$!
wait_for 60 sh -c "grep -q 'running; API on' /tmp/gw.log || ! kill -0 \$GW"
if ! grep -q "IKE listening" /tmp/gw.log || ! grep -q "running; API on" /tmp/gw.log; then
	echo "VM: FAIL: portcullisd did not start listening"
	sed 's/^/VM-GW: /' /tmp/gw.log
	exit 1
fi
echo "VM: health \$(/usr/bin/curl -sS -m 5 \$API/health 2>&1 | tr -d '\n')"
echo "VM: permit-ipsec rule: \$(/usr/sbin/nft list chain ip portcullis forward | grep permit-ipsec)"
echo VM_READY
for round in plain natt; do
	if ! wait_for 60 sh -c '[ \$(/sbin/ip xfrm state | grep -c "^src") -ge 2 ]'; then
		echo "VM: FAIL: \$round: no SAs in the kernel"
		sed 's/^/VM-GW: /' /tmp/gw.log
		exit 1
	fi
	echo "VM: round \$round: \$(nstates) states, \$(npolicies) policies"
	\$IP xfrm state | sed "s/^/VM-STATE-\$round: /"
	\$IP xfrm policy | sed "s/^/VM-POLICY-\$round: /"
	\$IP route show proto 158 | sed "s/^/VM-ROUTE-\$round: /"
	echo "VM_SA_UP \$round"
	# the client pings 4 times each to two addresses: wait for the kernel's inbound counter (a
	# lost echo must not hang the test: at least 4 of the 8)
	wait_for 30 sh -c "/usr/bin/curl -s -m 5 -H 'Authorization: Bearer \$TOKEN' \$API/sa/ipsec | tr -d ' \\n' | grep -Eq '\"packets_in\":([4-9]|[1-9][0-9])'" ||
		bad "\$round: fewer than 4 inbound packets counted"
	\$IP -s xfrm state | grep -A1 'lifetime current' | sed "s/^/VM-COUNTERS-\$round: /"
	awk '\$2 != 0' /proc/net/xfrm_stat | sed "s/^/VM-XFRM-STAT-\$round: /"
	if [ -n "${XV_DEBUG:-}" ]; then
		\$IP route get 10.89.129.200 from 10.89.129.194 | sed "s/^/VM-DEBUG: /"
		\$IP route | sed "s/^/VM-DEBUG: /"
		\$IP neigh | sed "s/^/VM-DEBUG: /"
		/usr/sbin/nft list ruleset | grep -E 'packets [1-9]' | sed "s/^/VM-DEBUG: /"
		\$IP -s xfrm policy | sed "s/^/VM-DEBUG: /"
		cat /proc/sys/net/ipv4/conf/*/rp_filter | tr '\n' ' ' | sed "s/^/VM-DEBUG: rp_filter /"
	fi
	echo "VM-API-SA-\$round: \$(api sa/ipsec | tr -d '\\n')"
	echo "VM-API-STATS-\$round: \$(api stats | tr -d '\\n')"
	echo "VM-NFT-\$round: \$(/usr/sbin/nft list chain ip portcullis forward | grep permit-ipsec:xfrm)"
	echo "VM_STATS_DONE \$round"
	[ \$round = natt ] && break
	wait_for 60 sh -c '[ \$(/sbin/ip xfrm state | grep -c "^src") -eq 0 ] && [ \$(/sbin/ip xfrm policy | grep -c "^src") -eq 0 ]' ||
		bad "\$round: states or policies left after the client's DELETE"
	echo "VM: round \$round torn down: \$(nstates) states, \$(npolicies) policies, \$(\$IP route show proto 158 | grep -c .) routes"
done
# the second tunnel is still up: shutting down must remove it all the same
kill -TERM \$GW
wait \$GW
echo "VM: portcullisd exit code \$?"
echo "VM: after shutdown with a tunnel up: \$(nstates) states, \$(npolicies) policies, \$(\$IP route show proto 158 | grep -c .) routes, nft table: \$(/usr/sbin/nft list tables | grep -c portcullis)"
grep -Eq "192.168.1.2:4500: SA [0-9]+ [(]vpn3000/cisco_customer[)] deleted: shutdown" /tmp/gw.log &&
	echo "VM: shutdown deleted the live tunnel"
echo VM_SHUTDOWN_DONE
sed 's/^/VM-GW: /' /tmp/gw.log
exit \$fail
SH
vm_initramfs "$root" "$T_DIR/initrd.gz" "$T_DIR/test.sh"

t_netns ns cl
tap=pcxt$$
ip -n "$ns" tuntap add dev "$tap" mode tap
ip -n "$ns" addr add 192.168.1.2/24 dev "$tap"
ip -n "$ns" link set "$tap" up
console=$T_DIR/console.log
if [ -n "${XV_DEBUG:-}" ]; then
	ip netns exec "$ns" tcpdump -U -n -i "$tap" -w "$T_DIR/tap.pcap" >/dev/null 2>&1 &
	T_PIDS+=($!)
fi
: >"$console"
VM_NETNS=$ns vm_boot "$T_DIR/initrd.gz" "$console" \
	-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device virtio-net-pci,netdev=n0 &
vm_pid=$!
T_PIDS+=("$vm_pid")

# wait_console TEXT SECONDS
wait_console() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		grep -aq "$1" "$console" && return 0
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 0.2
	done
	grep -aq "$1" "$console"
}

# vpnc's script only sets the tunnel address and the route to the inside network (never the
# default vpnc-script: it rewrites resolv.conf).
cat >"$T_DIR/vpnc-script.sh" <<'EOS'
#!/bin/sh
env | grep -E '^(reason|INTERNAL_IP4_ADDRESS|TUNDEV)=' >>"$VPNC_ENV_LOG"
case "$reason" in
connect)
	ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
	ip link set "$TUNDEV" up mtu 1300
	ip route add 10.89.129.192/28 dev "$TUNDEV"
	;;
esac
exit 0
EOS
chmod +x "$T_DIR/vpnc-script.sh"
cat >"$T_DIR/vpnc.conf" <<EOC
IPSec gateway 192.168.1.1
IPSec ID vpn3000
IPSec secret vpn3000secret
Xauth username cisco_customer
Xauth password cisco
EOC

# stop_early: the VM gave up (its console says why): no point in waiting for the rest
stop_early() {
	grep -a -E '^VM' "$console" | sed 's/^/# /' | tail -n 80
	t_fail "$1"
	t_done
	exit 1
}
wait_console VM_READY 120 || stop_early "VM booted and the gateway listens"
t_pass "VM booted and the gateway listens"
grep -a "VM: health" "$console" | sed 's/^/# /'
t_check "health reports the xfrm backend" grep -aq '"sa_backend": *"xfrm"' "$console"
t_check "permit-ipsec matches decrypted traffic (meta secpath exists)" \
	grep -aEq 'VM: permit-ipsec rule: .*meta (secpath|ipsec) exists' "$console"

for round in plain natt; do
	extra=()
	[ "$round" = natt ] && extra=(--natt-mode force-natt)
	ip netns exec "$ns" env VPNC_ENV_LOG="$T_DIR/vpnc-env-$round" vpnc --no-detach --debug 1 \
		--non-inter --enable-weak-encryption --enable-weak-authentication --dpd-idle 0 \
		--script "$T_DIR/vpnc-script.sh" --pid-file "$T_DIR/vpnc-$round.pid" "${extra[@]}" \
		"$T_DIR/vpnc.conf" >"$T_DIR/vpnc-$round.log" 2>&1 &
	vpnc_pid=$!
	T_PIDS+=("$vpnc_pid")
	wait_console "VM_SA_UP $round" 60 || {
		cat "$T_DIR/vpnc-$round.log" | sed 's/^/# vpnc: /' | tail -n 30
		stop_early "$round: SAs installed in the VM's kernel"
	}
	t_pass "$round: SAs installed in the VM's kernel"
	for _ in $(seq 50); do
		ip -n "$ns" -4 addr show | grep -q "10.89.129.200" && break
		sleep 0.2
	done
	t_check "$round: vpnc got 10.89.129.200 by Mode Config" grep -q "INTERNAL_IP4_ADDRESS=10.89.129.200" "$T_DIR/vpnc-env-$round"
	t_check "$round: ping the gateway's inside address through the tunnel" \
		ip netns exec "$ns" ping -c 4 -i 0.3 -W 3 10.89.129.194
	t_check "$round: ping the host behind the gateway through the tunnel (forwarded)" \
		ip netns exec "$ns" ping -c 4 -i 0.3 -W 3 10.89.129.193
	t_check "$round: the VM read the kernel's counters through the API" wait_console "VM_STATS_DONE $round" 60
	if [ "$round" = natt ]; then
		# this one stays up while the gateway shuts down
		t_check "natt: gateway shut down with the tunnel up" wait_console VM_SHUTDOWN_DONE 60
	fi
	kill -TERM "$vpnc_pid" 2>/dev/null || true
	wait "$vpnc_pid" 2>/dev/null || true
	if [ "$round" = plain ]; then
		t_check "plain: vpnc's DELETE removed every state, policy and route" \
			wait_console "VM: round plain torn down: 0 states, 0 policies, 0 routes" 60
	fi
done

rc=0
wait "$vm_pid" || rc=$?
grep -a -E '^VM(:|-STATE|-POLICY|-ROUTE|-API|-NFT)' "$console" | sed 's/^/# /'

# the negotiated algorithms (seed: esp-des esp-md5-hmac) in the kernel's states
t_check "plain: ESP tunnel states with DES and HMAC-MD5-96" \
	grep -aq 'VM-STATE-plain: .*enc cbc(des)' "$console"
t_check "plain: auth hmac(md5) truncated to 96 bits" grep -aq 'VM-STATE-plain: .*auth-trunc hmac(md5) .* 96' "$console"
t_check "plain: in, out and fwd policies for 10.89.129.200" bash -c "
	grep -aq 'VM-POLICY-plain: src 10.89.129.200/32 dst 0.0.0.0/0' '$console' &&
	grep -aq 'VM-POLICY-plain: .*dir fwd' '$console' && grep -aq 'VM-POLICY-plain: .*dir out' '$console'"
t_check "plain: the client's address routed out of the outside interface (not the proxy-ARP lo route)" \
	grep -aq 'VM-ROUTE-plain: 10.89.129.200 dev eth0' "$console"
t_check "natt: states carry UDP encapsulation (espinudp 4500)" \
	grep -aq 'VM-STATE-natt: .*encap type espinudp sport 4500' "$console"
t_check "plain: no UDP encapsulation" bash -c "! grep -aq 'VM-STATE-plain: .*encap' '$console'"
t_check "API: inbound and outbound packets from the kernel's counters" bash -c "
	grep -a 'VM-API-SA-plain' '$console' | grep -Eq '\"packets_out\": *([4-9]|[1-9][0-9])'"
t_check "API: stats name the xfrm backend and count bytes" bash -c "
	grep -a 'VM-API-STATS-natt' '$console' | grep -q '\"sa_backend\": *\"xfrm\"'"
t_check "permit-ipsec counted forwarded decrypted packets" \
	grep -aEq 'VM-NFT-plain: .*packets [1-9]' "$console"
t_check "gateway logs the xfrm choice" grep -aq 'VM-GW: .*SA backend: xfrm backend configured' "$console"
t_check "Xauth accepted cisco_customer via LOCAL" grep -aq "VM-GW: .*Xauth: user 'cisco_customer' authenticated by LOCAL" "$console"
t_check "Mode Config and the IKE exchanges on 4500 (non-ESP marker) reached IKE under UDP_ENCAP" \
	grep -aq 'VM-GW: .*192.168.1.2:4500: ISAKMP (0): Creating IPsec SAs: .*UDP-encapsulated' "$console"
t_check "portcullisd exited cleanly" grep -aq 'VM: portcullisd exit code 0' "$console"
t_check "shutdown with a tunnel up left no state, policy, route or nftables table" \
	grep -aq 'VM: after shutdown with a tunnel up: 0 states, 0 policies, 0 routes, nft table: 0' "$console"
t_check "shutdown deleted the live tunnel (IKE DELETE, accounting stop)" \
	grep -aq 'VM: shutdown deleted the live tunnel' "$console"
t_check "sanitizers quiet in the VM" bash -c "! grep -aqE 'VM-GW: .*(AddressSanitizer|LeakSanitizer|runtime error)' '$console'"
t_check "the VM's own checks passed (exit $rc)" test "$rc" -eq 0
t_done
